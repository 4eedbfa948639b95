"""H-SVC-2 continuing education and supervision hours, H-SVC-4 volunteer hours."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.assistance import selectors, services
from apps.assistance.models import HoursRecord

from .conftest import browser


def record(assoc, member, kind, hours, date=None, actor=None):
    return services.do_record_hours(
        actor=actor or assoc.secretariat, member=member, kind=kind, activity=f"{kind}活动",
        date=date or services.today(), hours=hours,
    )  # fmt: skip


def test_hours_for_user_totals_this_year_and_all_time(assoc):
    """H-SVC-2, H-SVC-4: confirmed hours by group, this year and all time; pending self-reports not counted."""
    member = assoc.counsellor_x
    last_year = services.today().replace(year=services.today().year - 1, month=6, day=1)
    record(assoc, member, "training", "6")
    record(assoc, member, "case_practice", "2.5")
    record(assoc, member, "supervision", "3")
    record(assoc, member, "volunteer", "4")
    record(assoc, member, "training", "10", date=last_year)
    services.do_report_hours(actor=member, kind="training", activity="自学", date=services.today(), hours="8")
    totals = selectors.hours_for_user(member)
    assert totals["this_year"] == {
        "continuing_education": Decimal("8.5"),
        "supervision": Decimal("3.0"),
        "volunteer": Decimal("4.0"),
        "education_total": Decimal("11.5"),
    }
    assert totals["all_time"]["continuing_education"] == Decimal("18.5")
    assert totals["pending"] == 1
    assert selectors.hours_for_user(assoc.counsellor_y)["all_time"]["volunteer"] == Decimal("0")


def test_hours_summary_is_per_association(assoc):
    """H-SVC-2, H-SVC-4: the association's totals by kind leave the neighbouring association out."""
    record(assoc, assoc.counsellor_x, "training", "6")
    record(assoc, assoc.crisis_member, "volunteer", "5")
    services.do_record_hours(
        actor=assoc.other_secretariat, member=assoc.other_member, kind="volunteer", activity="邻市活动",
        date=services.today(), hours="9",
    )  # fmt: skip
    summary = selectors.hours_summary(assoc.root)
    assert summary["training"] == Decimal("6.0") and summary["volunteer"] == Decimal("5.0")
    assert summary["members"] == 2 and summary["education_total"] == Decimal("6.0")
    assert selectors.hours_summary(assoc.other)["volunteer"] == Decimal("9.0")


def test_self_report_is_confirmed_by_someone_else(assoc):
    """H-SVC-2: a self-report counts only once the secretariat confirms it; nobody confirms their own."""
    row = services.do_report_hours(
        actor=assoc.counsellor_x, kind="supervision", activity="个案督导", date=services.today(), hours="2"
    )
    assert row.status == "pending" and row.unit == assoc.youth
    own = services.do_report_hours(
        actor=assoc.secretariat, kind="training", activity="秘书长培训", date=services.today(), hours="2"
    )
    with pytest.raises(ValidationError, match="不能确认本人申报"):
        services.do_confirm_hours(actor=assoc.secretariat, record=own, approve=True)
    with pytest.raises(ValidationError, match="请填写退回原因"):
        services.do_confirm_hours(actor=assoc.secretariat, record=row, approve=False)
    row = services.do_confirm_hours(actor=assoc.secretariat, record=row, approve=True, version=1)
    assert row.status == "confirmed" and row.confirmed_by == assoc.secretariat
    assert selectors.hours_for_user(assoc.counsellor_x)["this_year"]["supervision"] == Decimal("2.0")
    with pytest.raises(ValidationError, match="只有待确认"):
        services.do_confirm_hours(actor=assoc.secretariat, record=row, approve=True)


@pytest.mark.parametrize(
    ("hours", "date_offset", "kind", "message"),
    [
        ("0", 0, "training", "须大于 0"),
        ("25", 0, "training", "不能超过 24"),
        ("abc", 0, "training", "须是数字"),
        ("2", -3, "training", "不能晚于今天"),
        ("2", 0, "sleeping", "请选择类别"),
    ],
)
def test_bad_hours_are_refused_and_nothing_saved(assoc, hours, date_offset, kind, message):
    """H-SVC-2: zero, too many, non-numeric hours, future dates and unknown kinds are refused in Chinese."""
    date = services.today() - dt.timedelta(days=date_offset)
    with pytest.raises(ValidationError, match=message):
        services.do_record_hours(
            actor=assoc.secretariat, member=assoc.counsellor_x, kind=kind, activity="培训", date=date, hours=hours
        )
    assert not HoursRecord.objects.exists()


def test_secretariat_records_only_its_own_members(assoc):
    """H-SVC-2: the neighbouring association's member cannot be given hours; a committee head cannot record."""
    with pytest.raises(ValidationError, match="不在您的管理范围"):
        record(assoc, assoc.other_member, "training", "2")
    with pytest.raises(ValidationError, match="无权"):
        record(assoc, assoc.counsellor_x, "training", "2", actor=assoc.head_youth)
    assert not HoursRecord.objects.exists()


def test_edit_with_stale_version_is_refused(assoc):
    """H-SVC-2: corrections carry the version; a stale one changes nothing."""
    row = record(assoc, assoc.counsellor_x, "training", "2")
    kwargs = {"kind": "training", "activity": "更正", "date": row.date, "hours": "3"}
    services.do_edit_hours(actor=assoc.secretariat, record=row, version=1, **kwargs)
    with pytest.raises(ValidationError, match="已被他人修改"):
        services.do_edit_hours(actor=assoc.secretariat, record=row, version=1, **{**kwargs, "hours": "9"})
    row.refresh_from_db()
    assert row.hours == Decimal("3.0") and row.version == 2


def test_members_below_the_yearly_minimum(assoc):
    """H-SVC-2: members under the configured minimum are listed, including those with no hours at all."""
    services.do_save_settings(actor=None, unit=assoc.root, assign_working_days=2, education_minimum=10, routes={})
    record(assoc, assoc.counsellor_x, "training", "6")
    record(assoc, assoc.counsellor_x, "supervision", "4")
    record(assoc, assoc.counsellor_y, "training", "9")
    record(assoc, assoc.counsellor_y, "volunteer", "20")  # volunteering does not count toward the minimum
    year = services.today().year
    minimum = selectors.education_minimum_for(assoc.secretariat)
    assert minimum == Decimal("10.0")
    below = {u.username for u in selectors.below_minimum(assoc.secretariat, year, minimum)}
    assert "cy" in below and "cx" not in below and "head_youth" in below
    assert "om" not in below and "osec" not in below
    page = browser(assoc.secretariat).get("/assistance/hours/totals/?below=1").content.decode()
    assert "心理师小杨" in page and "心理师小许" not in page and "邻市会员" not in page


def test_volunteer_ranking_orders_by_hours(assoc):
    """H-SVC-4: the yearly ranking lists members by confirmed volunteer hours, most first, own association only."""
    record(assoc, assoc.counsellor_x, "volunteer", "3")
    record(assoc, assoc.counsellor_y, "volunteer", "8")
    record(assoc, assoc.crisis_member, "volunteer", "5")
    # 1 January of this year: never in the future (issue 12 item 1: 2 January is, on 1 January)
    record(assoc, assoc.crisis_member, "volunteer", "2", date=services.today().replace(month=1, day=1))
    services.do_report_hours(
        actor=assoc.head_youth, kind="volunteer", activity="未确认", date=services.today(), hours=9
    )
    ranking = selectors.volunteer_ranking(assoc.secretariat, services.today().year)
    assert [(u.username, u.volunteer) for u in ranking] == [
        ("cy", Decimal("8.0")),
        ("cm", Decimal("7.0")),
        ("cx", Decimal("3.0")),
    ]
    assert selectors.volunteer_ranking(assoc.other_secretariat, services.today().year) == []


def test_hours_pages(assoc, settings, django_assert_max_num_queries):
    """H-SVC-2: the record list is keyset-paginated with a fixed query count; members self-report via the page."""
    settings.PAGE_SIZE = 5
    for _ in range(3):
        record(assoc, assoc.counsellor_x, "training", "1")
    http = browser(assoc.secretariat)
    with django_assert_max_num_queries(12) as small:
        http.get("/assistance/hours/")
    for _ in range(10):
        record(assoc, assoc.counsellor_y, "supervision", "1")
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert "下一页" in http.get("/assistance/hours/").content.decode()
    member = browser(assoc.counsellor_x)
    response = member.post(
        "/assistance/my/hours/new/",
        {"kind": "case_practice", "activity": "个案实践", "date": services.today().isoformat(), "hours": "0"},
    )
    assert "须大于 0" in response.content.decode() or "确保该值大于或等于" in response.content.decode()
    response = member.post(
        "/assistance/my/hours/new/",
        {"kind": "case_practice", "activity": "个案实践", "date": services.today().isoformat(), "hours": "1.5"},
    )
    assert response.status_code == 302
    assert HoursRecord.objects.filter(member=assoc.counsellor_x, status="pending").count() == 1
    assert browser(assoc.other_secretariat).get("/assistance/hours/").content.decode().count("心理师小许") == 0
