"""Issue 12 item 4: stored deadlines the calendar can only estimate, and their recompute.

The years are computed, never hard-coded: ``LAST`` is the last year the installed ``chinesecalendar``
knows and ``NEXT`` the year after it, which nobody has entered in a fresh test database. The clock is
frozen with time_machine, so the tests pass at any hour and on any date.
"""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient

from apps.alerts import services as alerts
from apps.alerts.choices import Colour
from apps.alerts.models import Warning
from apps.alerts.tests.conftest import phq9
from apps.assistance import services as assistance
from apps.assistance.models import HelpRequest
from apps.assistance.tests.conftest import Association
from apps.audit.models import AuditEntry
from apps.clients.services import do_register_client
from apps.core.scoping import unscoped
from apps.notifications.models import Notification
from apps.outreach import services as outreach
from apps.outreach.models import RemoteInquiry
from apps.workdays import services
from apps.workdays.choices import DeadlineKind
from apps.workdays.deadlines import RECOMPUTE_PURPOSE, deadline_sources, estimate_reason
from apps.workdays.models import CalendarOverride
from apps.workdays.services import PACKAGE_YEARS, WorkCalendar
from conftest import make_user

SH = ZoneInfo("Asia/Shanghai")
LAST = max(PACKAGE_YEARS)  # the last year chinesecalendar knows
NEXT = LAST + 1  # unknown until an administrator enters it
REASON = f"{NEXT} 年节假日尚未录入"
ONE_DAY = dt.timedelta(days=1)


def moment(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SH)


def frozen(day: dt.date, hour: int = 11):
    return time_machine.travel(moment(day, hour), tick=False)


def first_weekday_on_or_after(day: dt.date, weekday: int) -> dt.date:
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


# A Thursday of NEXT away from New Year: three working days on Monday–Friday end on the Tuesday after.
THURSDAY = first_weekday_on_or_after(dt.date(NEXT, 1, 8), 3)
SATURDAY = THURSDAY + 2 * ONE_DAY


@pytest.fixture
def calendar_admin(tree):
    return make_user("calendar_admin", tree.city, "system_admin", full_name="日历管理员")


def browser(user):
    http = HttpClient()
    http.force_login(user)
    return http


def record_inquiry(actor, unit, received: dt.datetime) -> RemoteInquiry:
    return outreach.do_record_inquiry(
        actor=actor, unit=unit, channel="phone", received_at=received, question="孩子最近不愿上学怎么办"
    )


def fresh(model, pk):
    with unscoped("test assertion"):
        return model.objects.get(pk=pk)


def recompute_entries(obj):
    return AuditEntry.objects.filter(
        object_id=str(obj.pk), purpose=RECOMPUTE_PURPOSE, object_type__endswith=obj._meta.model_name
    )


def state(inquiry):
    row = fresh(RemoteInquiry, inquiry.pk)
    return row.reply_due, row.reply_due_estimated, row.reply_due_estimate_reason


def enter(how: str, admin, day: dt.date, is_workday: bool, name: str):
    """Enter one day of NEXT's holiday notice, by hand or through the notice import."""
    if how == "override":
        return services.do_create_override(actor=admin, date=day, is_workday=is_workday, name=name)
    return services.do_import_holiday_notice(actor=admin, text=f"{day:%Y-%m-%d},{'班' if is_workday else '休'},{name}")


def test_reason_text(db):
    """S-FLOW-4, issue 12 item 4: the reason names the unknown years, as the issue words it."""
    assert estimate_reason([2028, 2027, 2027]) == "2027、2028 年节假日尚未录入"
    assert estimate_reason([]) == ""
    deadline = services.compute_deadline(dt.date(LAST, 12, 30), 3)
    assert deadline.estimated and deadline.estimate_reason == REASON and NEXT in deadline.assumed_years


@pytest.mark.parametrize("how", ["override", "import"])
def test_inquiry_of_dec_30_is_estimated_then_recomputed(tree, counsellor_a, calendar_admin, how):
    """S-FLOW-4, X-7, issue 12 item 4: an inquiry received on 12-30 of the last known year shows an estimated
    reply deadline on its page, in the list and in the API; entering the next year's holidays moves it
    (audited), clears the flag, and tells the unit's staff when it moved earlier."""
    received = dt.date(LAST, 12, 30)
    with frozen(received):
        inquiry = record_inquiry(counsellor_a, tree.c1, moment(received))
        estimated_due = WorkCalendar().add_working_days(received, 3)
        assert state(inquiry) == (estimated_due, True, REASON)
        http = browser(counsellor_a)
        page = http.get(f"/outreach/inquiries/{inquiry.pk}/").content.decode()
        assert 'data-testid="deadline-estimated"' in page and REASON in page
        listing = http.get("/outreach/inquiries/").content.decode()
        assert f'data-testid="deadline-estimated" title="{REASON}' in listing and ">预估</span>" in listing
        api = http.get(f"/api/outreach/inquiries/{inquiry.pk}/").json()
        assert api["reply_due"] == estimated_due.isoformat()
        assert api["deadline_estimated"] is True and api["deadline_estimate_reason"] == REASON
        rows = http.get("/api/outreach/inquiries/").json()
        rows = rows["results"] if isinstance(rows, dict) else rows
        assert [r["deadline_estimated"] for r in rows if r["id"] == inquiry.pk] == [True]

        # NEXT's notice: a weekend inside the counted days becomes a working day (the deadline moves
        # earlier); without such a weekend New Year's Day is a weekday in the span and becomes a day off.
        span = [received + ONE_DAY * i for i in range(1, (estimated_due - received).days + 1)]
        weekend = [d for d in span if d.year == NEXT and d.weekday() >= 5]
        if weekend:
            enter(how, calendar_admin, weekend[0], True, "元旦调休")
        else:
            enter(how, calendar_admin, dt.date(NEXT, 1, 1), False, "元旦")
        new_due = WorkCalendar().add_working_days(received, 3)
        assert new_due != estimated_due
        assert state(inquiry) == (new_due, False, "")
        entry = recompute_entries(inquiry).get()
        assert entry.changes["reply_due"] == {"before": str(estimated_due), "after": str(new_due)}
        assert entry.changes["reply_due_estimated"] == {"before": True, "after": False}
        told = Notification.objects.filter(recipient=counsellor_a, url=f"/outreach/inquiries/{inquiry.pk}/")
        assert told.exists() == (new_due < estimated_due)
        page = http.get(f"/outreach/inquiries/{inquiry.pk}/").content.decode()
        assert 'data-testid="deadline-estimated"' not in page and new_due.isoformat() in page
        assert http.get(f"/api/outreach/inquiries/{inquiry.pk}/").json()["deadline_estimated"] is False


@pytest.mark.parametrize("how", ["override", "import"])
def test_deadline_moved_earlier_tells_the_staff(tree, counsellor_a, calendar_admin, how):
    """S-FLOW-4, X-7, issue 12 item 4: a Saturday of the unknown year entered as a working day brings the
    reply deadline one day earlier; the unit's staff get an in-app notice naming both dates."""
    with frozen(THURSDAY):
        inquiry = record_inquiry(counsellor_a, tree.c1, moment(THURSDAY))
        tuesday = THURSDAY + 5 * ONE_DAY
        assert state(inquiry) == (tuesday, True, REASON)
        enter(how, calendar_admin, SATURDAY, True, "调休上班")
    monday = THURSDAY + 4 * ONE_DAY
    assert state(inquiry) == (monday, False, "")
    notice = Notification.objects.get(recipient=counsellor_a, url=f"/outreach/inquiries/{inquiry.pk}/")
    assert (
        "提前" in notice.title and f"{monday:%Y年%m月%d日}" in notice.body and f"{tuesday:%Y年%m月%d日}" in notice.body
    )
    assert recompute_entries(inquiry).count() == 1


def test_deadline_moved_later_is_audited_without_notice(tree, counsellor_a, calendar_admin):
    """S-FLOW-4, issue 12 item 4: a Friday entered as a day off pushes the deadline one working day later;
    audited, nobody alarmed."""
    with frozen(THURSDAY):
        inquiry = record_inquiry(counsellor_a, tree.c1, moment(THURSDAY))
        services.do_create_override(actor=calendar_admin, date=THURSDAY + ONE_DAY, is_workday=False, name="测试假日")
    assert state(inquiry) == (THURSDAY + 6 * ONE_DAY, False, "")
    assert recompute_entries(inquiry).count() == 1
    assert not Notification.objects.filter(url=f"/outreach/inquiries/{inquiry.pk}/").exists()


def test_update_and_delete_of_an_override_recompute_too(tree, counsellor_a, calendar_admin):
    """S-FLOW-4, issue 12 item 4: moving an entered day and deleting the last entry of the year recompute;
    with the year unknown again the deadline is an estimate again."""
    with frozen(THURSDAY):
        inquiry = record_inquiry(counsellor_a, tree.c1, moment(THURSDAY))
        row = services.do_create_override(actor=calendar_admin, date=SATURDAY, is_workday=True, name="调休上班")
        assert state(inquiry) == (THURSDAY + 4 * ONE_DAY, False, "")
        services.do_update_override(
            actor=calendar_admin, override=row, date=SATURDAY + 7 * ONE_DAY, is_workday=True, name="调休上班"
        )
        assert state(inquiry) == (THURSDAY + 5 * ONE_DAY, False, "")  # the year stays known, the Saturday is gone
        services.do_delete_override(actor=calendar_admin, override=fresh(CalendarOverride, row.pk))
        assert state(inquiry) == (THURSDAY + 5 * ONE_DAY, True, REASON)
    assert recompute_entries(inquiry).count() == 3


def test_answered_and_unrelated_records_are_left_alone(tree, counsellor_a, calendar_admin):
    """S-FLOW-4, issue 12 item 4: only open records whose counted days reach the changed year are touched."""
    with frozen(THURSDAY):
        answered = record_inquiry(counsellor_a, tree.c1, moment(THURSDAY))
        outreach.do_answer_inquiry(actor=counsellor_a, inquiry=answered, answer="已电话回复")
        open_one = record_inquiry(counsellor_a, tree.c1, moment(THURSDAY))
        before = state(answered)
        services.do_create_override(actor=calendar_admin, date=dt.date(NEXT + 1, 1, 1), is_workday=False, name="元旦")
        assert state(open_one)[1] is True  # NEXT is still unknown: not touched by an entry of NEXT + 1
        services.do_create_override(actor=calendar_admin, date=SATURDAY, is_workday=True, name="调休上班")
    assert state(answered) == before and not recompute_entries(answered).exists()
    assert state(open_one) == (THURSDAY + 4 * ONE_DAY, False, "")


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("forbidden", "无权维护节假日日历"),
        ("duplicate", "已有调整记录"),
        ("bad_notice", "第2行"),
    ],
)
def test_refused_calendar_change_recomputes_nothing(tree, counsellor_a, calendar_admin, how, message):
    """S-FLOW-4, issue 12 item 4: a refused entry writes nothing: deadline, flag, audit and inbox unchanged."""
    with frozen(THURSDAY):
        inquiry = record_inquiry(counsellor_a, tree.c1, moment(THURSDAY))
        services.do_create_override(actor=calendar_admin, date=SATURDAY + 7 * ONE_DAY, is_workday=True, name="调休")
        before, audits, inbox = state(inquiry), AuditEntry.objects.count(), Notification.objects.count()
        with pytest.raises(ValidationError) as refused:
            if how == "forbidden":
                services.do_create_override(actor=counsellor_a, date=SATURDAY, is_workday=True, name="调休上班")
            elif how == "duplicate":
                services.do_create_override(
                    actor=calendar_admin, date=SATURDAY + 7 * ONE_DAY, is_workday=False, name="重复"
                )
            else:
                services.do_import_holiday_notice(
                    actor=calendar_admin, text=f"{SATURDAY:%Y-%m-%d},班,调休上班\n{NEXT}-13-01,休,不存在"
                )
    assert message in " ".join(refused.value.messages)
    assert state(inquiry) == before and before[1] is False
    assert AuditEntry.objects.count() == audits and Notification.objects.count() == inbox
    assert not CalendarOverride.objects.filter(date=SATURDAY).exists()


def test_recompute_shares_the_calendar_change_transaction(tree, counsellor_a, calendar_admin, monkeypatch):
    """S-FLOW-4, issue 12 item 4: the recompute runs inside the transaction of the calendar change — when
    it fails, the entered day is rolled back with it, so a deadline never disagrees with the calendar."""
    from apps.workdays import deadlines

    with frozen(THURSDAY):
        inquiry = record_inquiry(counsellor_a, tree.c1, moment(THURSDAY))
        before = state(inquiry)

        def broken_log_change(*args, **kwargs):
            raise RuntimeError("audit store unavailable")

        monkeypatch.setattr(deadlines, "log_change", broken_log_change)
        with pytest.raises(RuntimeError):
            services.do_import_holiday_notice(actor=calendar_admin, text=f"{SATURDAY:%Y-%m-%d},班,调休上班")
    assert not CalendarOverride.objects.exists()
    assert state(inquiry) == before


# --- assistance: the same mechanism -------------------------------------------------------------


@pytest.fixture
def assoc(db):
    association = Association()
    assistance.do_save_settings(
        actor=association.secretariat, unit=association.root, assign_working_days=2, education_minimum=24,
        routes={"youth": association.youth},
    )  # fmt: skip
    return association


def register_help(assoc, received: dt.datetime) -> HelpRequest:
    return assistance.do_register_help_request(
        actor=assoc.secretariat, unit=assoc.root, channel="hotline", received_at=received, seeker_name="王小明",
        topic="孩子厌学，与父母冲突激烈", specialty="youth",
    )  # fmt: skip


def test_help_request_deadline_is_estimated_and_recomputed(assoc, calendar_admin):
    """H-SVC-1, X-7, issue 12 item 4: the assignment deadline (2 working days) of a request received on
    12-30 of the last known year is an estimate on its page, list and API; after a Saturday of the next
    year is entered as a working day a later request's deadline moves earlier, the committee head is
    told, the change is audited and the flag clears — even after the unit's setting changed."""
    received = dt.date(LAST, 12, 30)
    with frozen(received):
        december = register_help(assoc, moment(received))
        row = fresh(HelpRequest, december.pk)
        assert row.assign_due_estimated is True and row.assign_due_estimate_reason == REASON
        http = browser(assoc.secretariat)
        assert REASON in http.get(f"/assistance/help/{row.pk}/").content.decode()
        assert 'data-testid="deadline-estimated"' in http.get("/assistance/help/").content.decode()
        api = http.get(f"/api/assistance/help-requests/{row.pk}/").json()
        assert api["deadline_estimated"] is True and api["deadline_estimate_reason"] == REASON
    wednesday = THURSDAY - ONE_DAY
    with frozen(wednesday):
        request = register_help(assoc, moment(wednesday))  # Thursday(1), Friday(2) on Monday–Friday
        assert fresh(HelpRequest, request.pk).assign_due == THURSDAY + ONE_DAY
        assistance.do_save_settings(
            actor=assoc.secretariat, unit=assoc.root, assign_working_days=5, education_minimum=24,
            routes={"youth": assoc.youth},
        )  # fmt: skip
        services.do_create_override(actor=calendar_admin, date=THURSDAY, is_workday=False, name="测试假日")
        services.do_create_override(actor=calendar_admin, date=THURSDAY - 4 * ONE_DAY, is_workday=True, name="调休")
    row = fresh(HelpRequest, request.pk)
    # Thursday became a day off: the two working days are Friday and the next Monday (not five days).
    assert (row.assign_due, row.assign_due_estimated, row.assign_due_estimate_reason) == (
        THURSDAY + 4 * ONE_DAY,
        False,
        "",
    )
    assert recompute_entries(row).count() == 1  # the Saturday before receipt did not move it
    assert not Notification.objects.filter(title__contains="提前", url=f"/assistance/help/{row.pk}/").exists()
    december = fresh(HelpRequest, december.pk)
    assert december.assign_due_estimated is False and recompute_entries(december).count() == 1


def test_help_request_moved_earlier_tells_the_committee_head(assoc, calendar_admin):
    """H-SVC-1, X-7, issue 12 item 4: a Saturday entered as a working day brings the assignment deadline
    earlier; the committee head (who assigns) is told."""
    with frozen(THURSDAY):
        request = register_help(assoc, moment(THURSDAY))  # Friday(1), Monday(2)
        services.do_import_holiday_notice(actor=calendar_admin, text=f"{SATURDAY:%Y-%m-%d},班,调休上班")
    row = fresh(HelpRequest, request.pk)
    assert (row.assign_due, row.assign_due_estimated) == (SATURDAY, False)
    assert Notification.objects.filter(
        recipient=assoc.head_youth, title__contains="提前", url=f"/assistance/help/{row.pk}/"
    ).exists()


# --- warnings: calendar days, listed but never estimated ----------------------------------------


def test_warning_deadlines_count_calendar_days_and_are_never_estimated(tree, district_admin, counsellor_a):
    """S-WARN-3, S-WARN-4, issue 12 item 4: the warnings' feedback (3 calendar days) and cycle deadlines are
    in the registry as calendar-day deadlines: one running into the unknown year is exact, and entering
    that year's holidays leaves it alone."""
    names = {s.name: s for s in deadline_sources()}
    assert {"outreach.inquiry_reply", "assistance.help_assignment"} <= set(names)
    assert names["alerts.warning_feedback"].kind == DeadlineKind.CALENDAR
    assert names["alerts.warning_cycle"].kind == DeadlineKind.CALENDAR
    worker = make_user("worker_c1", tree.c1, "community_worker", full_name="专干甲")
    client = do_register_client(actor=None, unit=tree.c1, data={"name": "王预警"})
    with frozen(dt.date(LAST, 12, 30)):
        warning = alerts.do_tag_key_person(
            actor=worker, client=client, proposed_colour=Colour.ORANGE, reason="情绪低落"
        )
        warning = alerts.do_set_colour(
            actor=district_admin, warning=warning, result=phq9(client, 22), counsellor=counsellor_a
        )
        due = fresh(Warning, warning.pk).feedback_due
        assert due.year == NEXT and due == dt.date(LAST, 12, 30) + 3 * ONE_DAY
        services.do_create_override(actor=None, date=dt.date(NEXT, 1, 2), is_workday=True, name="调休上班")
    assert fresh(Warning, warning.pk).feedback_due == due
    assert not recompute_entries(warning).exists()


# --- the administrators' home page ----------------------------------------------------------------


def test_home_page_warns_calendar_administrators_only(tree, calendar_admin, counsellor_a):
    """S-FLOW-4, issue 12 item 4: within 90 days of an unknown year the administrators' home page warns
    (as the calendar pages do); other staff do not see it; once the year is entered the warning goes."""
    with frozen(dt.date(LAST, 12, 1)):
        page = browser(calendar_admin).get("/").content.decode()
        assert 'data-testid="unknown-years"' in page and f"{NEXT}年" in page
        assert 'data-testid="unknown-years"' not in browser(counsellor_a).get("/").content.decode()
        services.do_create_override(actor=calendar_admin, date=dt.date(NEXT, 1, 1), is_workday=False, name="元旦")
        assert 'data-testid="unknown-years"' not in browser(calendar_admin).get("/").content.decode()


def test_import_page_reports_the_recomputed_deadlines(tree, counsellor_a, calendar_admin):
    """S-FLOW-4, issue 12 item 4: the notice import tells the administrator how many deadlines it moved."""
    with frozen(THURSDAY):
        record_inquiry(counsellor_a, tree.c1, moment(THURSDAY))
        response = browser(calendar_admin).post(
            "/workdays/import/", {"text": f"{SATURDAY:%Y-%m-%d},班,调休上班"}, follow=True
        )
    assert "重新计算 1 条未办结事项的期限" in response.content.decode()


def test_api_of_an_answered_at_once_inquiry(tree, counsellor_a):
    """S-FLOW-4, issue 12 item 4: an inquiry answered at once has no deadline and is not an estimate."""
    with frozen(dt.date(LAST, 12, 30)):
        inquiry = outreach.do_record_inquiry(
            actor=counsellor_a, unit=tree.c1, channel="phone", received_at=moment(dt.date(LAST, 12, 30)),
            question="咨询预约方式", answer="已当场告知",
        )  # fmt: skip
        data = json.loads(browser(counsellor_a).get(f"/api/outreach/inquiries/{inquiry.pk}/").content)
    assert data["reply_due"] is None and data["deadline_estimated"] is False and data["deadline_estimate_reason"] == ""


def test_migration_flags_rows_stored_before_the_flag(tree, counsellor_a):
    """S-FLOW-4, issue 12 item 4: the data migration marks open inquiries stored without the flag (and
    leaves answered ones alone)."""
    from django.apps import apps as registry

    from apps.workdays.deadlines import flag_existing_rows

    with frozen(THURSDAY):
        open_one = record_inquiry(counsellor_a, tree.c1, moment(THURSDAY))
        answered = record_inquiry(counsellor_a, tree.c1, moment(THURSDAY))
        outreach.do_answer_inquiry(actor=counsellor_a, inquiry=answered, answer="已电话回复")
    with unscoped("simulate rows stored before the migration"):
        RemoteInquiry.objects.update(reply_due_estimated=False, reply_due_estimate_reason="")
    run = flag_existing_rows(
        "outreach.RemoteInquiry",
        "reply_due",
        {"answered_at__isnull": True},
        lambda row: row.received_at.astimezone(SH).date(),
    )
    run(registry, None)
    assert state(open_one)[1:] == (True, REASON)
    assert state(answered)[1:] == (False, "")


def test_calendar_api_recomputes_and_reports(tree, counsellor_a, calendar_admin):
    """S-FLOW-4, issue 12 item 4: the calendar API goes through the same services: creating a day recomputes,
    and the import answer says how many deadlines it recomputed."""
    with frozen(THURSDAY):
        inquiry = record_inquiry(counsellor_a, tree.c1, moment(THURSDAY))
        http = browser(calendar_admin)
        answer = http.post(
            "/api/calendar-overrides/import/",
            {"text": f"{SATURDAY:%Y-%m-%d},班,调休上班"},
            content_type="application/json",
        )
        assert answer.status_code == 201 and answer.json()["recomputed"] == 1
        assert state(inquiry) == (THURSDAY + 4 * ONE_DAY, False, "")
        created = http.post(
            "/api/calendar-overrides/",
            {"date": str(THURSDAY + ONE_DAY), "is_workday": False, "name": "测试假日"},
            content_type="application/json",
        )
        assert created.status_code == 201
    assert state(inquiry) == (THURSDAY + 5 * ONE_DAY, False, "")  # Friday off: Saturday, Monday, Tuesday


def test_exported_lists_say_which_deadlines_are_estimates(tree, counsellor_a, assoc):
    """S-FLOW-4, H-SVC-1, X-3, issue 12 item 4: the exported inquiry and help-request lists end with a
    "期限说明" column naming the estimate, as the pages show the badge."""
    from apps.exports.registry import get_dataset

    with frozen(THURSDAY):
        record_inquiry(counsellor_a, tree.c1, moment(THURSDAY))
        register_help(assoc, moment(THURSDAY))
        for key, user in [("remote_inquiries", counsellor_a), ("assistance_help_requests", assoc.secretariat)]:
            dataset = get_dataset(key)
            rows = list(dataset.rows(user, {}))
            assert dataset.columns[-1] == "期限说明" and [r[-1] for r in rows] == [f"预估：{REASON}"], key
    with frozen(THURSDAY + 10 * ONE_DAY):  # now overdue: the overdue lists carry the note too
        for key, user in [("remote_inquiries_overdue", counsellor_a), ("assistance_help_overdue", assoc.secretariat)]:
            assert [r[-1] for r in get_dataset(key).rows(user, {})] == [f"预估：{REASON}"], key
