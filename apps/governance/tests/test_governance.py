"""Meetings, attendance, leave, written work reports and duty reports (H-ORG-5)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.governance import reminders, selectors, services
from apps.governance.choices import Attendance, Body, LeaveStatus, MeetingStatus
from apps.governance.demo import seed_demo_governance
from apps.governance.models import DutyReport, Invitation, Meeting
from apps.orgs.choices import UnitKind
from apps.orgs.services import do_create_unit
from conftest import make_user


class Assoc:
    def __init__(self, suffix=""):
        self.root = do_create_unit(
            actor=None, parent=None, kind=UnitKind.ASSOCIATION, name=f"测试心理援助协会{suffix}", code=f"GA{suffix}"
        )
        self.dept = do_create_unit(
            actor=None, parent=self.root, kind=UnitKind.DEPARTMENT, name=f"会员工作部{suffix}", code=f"GA{suffix}-D1"
        )
        self.committee = do_create_unit(
            actor=None, parent=self.root, kind=UnitKind.COMMITTEE, name=f"危机干预专委会{suffix}", code=f"GA{suffix}-C1"
        )


@pytest.fixture
def assoc(db):
    return Assoc()


@pytest.fixture
def other_assoc(db):
    return Assoc("X")


@pytest.fixture
def sec(assoc):
    return make_user("g_sec", assoc.root, "association_secretariat", full_name="秘书长孙")


@pytest.fixture
def board(assoc):
    return make_user("g_board", assoc.root, "board_member", full_name="理事王")


@pytest.fixture
def member(assoc):
    return make_user("g_member", assoc.committee, "member", full_name="会员陈")


@pytest.fixture
def other_sec(other_assoc):
    return make_user("g_other_sec", other_assoc.root, "association_secretariat", full_name="外会秘书长")


def browser(user):
    http = HttpClient()
    http.force_login(user)
    return http


def soon(days=3):
    return timezone.now() + dt.timedelta(days=days)


def make_meeting(assoc, sec, invitees, *, body=Body.BOARD, unit=None, starts_at=None, work=True, days=7):
    return services.do_create_meeting(
        actor=sec, unit=unit or assoc.root, body=body, title="第三次理事会", starts_at=starts_at or soon(),
        place="协会会议室", is_work_meeting=work, work_report_days=days, agenda=["工作总结", "", "项目计划"],
        invitees=invitees,
    )  # fmt: skip


def backdate(meeting, days_ago):
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() - dt.timedelta(days=days_ago))
    meeting.refresh_from_db()
    return meeting


def inv(meeting, user):
    return Invitation.objects.get(meeting=meeting, user=user)


# --- meetings_for_user --------------------------------------------------------------------------


def test_meetings_for_user_lists_upcoming_and_reports_owed(assoc, sec, member, board):
    """H-ORG-5: the self-service selector returns my upcoming meetings and the work reports I owe."""
    upcoming = make_meeting(assoc, sec, [member, board])
    past = make_meeting(assoc, sec, [member, board])
    services.do_request_leave(actor=member, invitation=inv(past, member), reason="外出培训")
    services.do_decide_leave(actor=sec, invitation=inv(past, member), approve=True)
    backdate(past, 2)
    mine = selectors.meetings_for_user(member)
    assert [i.meeting_id for i in mine["upcoming"]] == [upcoming.pk]
    assert [i.meeting_id for i in mine["reports_owed"]] == [past.pk]
    assert selectors.meetings_for_user(board)["reports_owed"] == []
    from django.contrib.auth.models import AnonymousUser

    assert selectors.meetings_for_user(AnonymousUser()) == {"upcoming": [], "reports_owed": [], "duty_reports_owed": []}


# --- scheduling ---------------------------------------------------------------------------------


def test_create_meeting_writes_agenda_invitations_and_audit(assoc, sec, member):
    """H-ORG-5: a meeting of a body, with agenda items and invitees, is audited."""
    meeting = make_meeting(assoc, sec, [member, sec])
    assert [a.title for a in meeting.agenda.all()] == ["工作总结", "项目计划"]
    assert meeting.invitations.count() == 2 and meeting.unit_path == assoc.root.path
    assert AuditEntry.objects.filter(
        object_type="governance.meeting", object_id=str(meeting.pk), action="create"
    ).exists()


@pytest.mark.parametrize(
    ("body", "unit_key", "code"),
    [(Body.BOARD, "dept", "body"), (Body.UNIT, "root", "body"), ("nonsense", "root", "body")],
)
def test_body_must_match_unit(assoc, sec, member, body, unit_key, code):
    """H-ORG-1, H-ORG-5: bodies meet at the association root, departments and committees as themselves."""
    with pytest.raises(ValidationError) as error:
        make_meeting(assoc, sec, [member], body=body, unit=getattr(assoc, unit_key))
    assert error.value.code == code
    assert not Meeting.objects.exists()


def test_committee_meeting_allowed_and_invitees_must_belong_to_the_association(
    assoc, other_assoc, sec, member, other_sec
):
    """H-ORG-5: a committee meets on its own; people of another association cannot be invited."""
    assert make_meeting(assoc, sec, [member], body=Body.UNIT, unit=assoc.committee).pk
    with pytest.raises(ValidationError, match="本协会"):
        make_meeting(assoc, sec, [member, other_sec])
    with pytest.raises(ValidationError, match="至少选择一名"):
        make_meeting(assoc, sec, [])
    assert Meeting.objects.count() == 1


def test_only_managers_in_scope_schedule(assoc, other_assoc, sec, board, other_sec, member):
    """H-ORG-5, S-ORG-2: a board member cannot schedule; another association's secretariat cannot either."""
    with pytest.raises(ValidationError, match="本单位"):
        make_meeting(assoc, board, [member])
    with pytest.raises(ValidationError, match="本单位"):
        make_meeting(assoc, other_sec, [member])
    assert not Meeting.objects.exists()


def test_update_meeting_with_stale_version_is_refused(assoc, sec, member, board):
    """H-ORG-5: optimistic locking — an edit on a stale copy changes nothing."""
    meeting = make_meeting(assoc, sec, [member])
    kwargs = dict(title="改名", starts_at=soon(4), place="新地点", is_work_meeting=True, work_report_days=7,
                  agenda=["一"], invitees=[member, board])  # fmt: skip
    services.do_update_meeting(actor=sec, meeting=meeting, version=1, **kwargs)
    meeting.refresh_from_db()
    assert meeting.version == 2 and meeting.invitations.count() == 2 and meeting.title == "改名"
    with pytest.raises(ValidationError) as error:
        services.do_update_meeting(actor=sec, meeting=meeting, version=1, **{**kwargs, "title": "再改"})
    assert error.value.code == "stale"
    meeting.refresh_from_db()
    assert meeting.title == "改名"


def test_invitee_with_leave_cannot_be_dropped(assoc, sec, member, board):
    """H-ORG-5: an invitee who asked for leave stays on the list until the leave is handled."""
    meeting = make_meeting(assoc, sec, [member, board])
    services.do_request_leave(actor=member, invitation=inv(meeting, member), reason="出差")
    with pytest.raises(ValidationError, match="已请假"):
        services.do_update_meeting(
            actor=sec, meeting=meeting, version=meeting.version, title="x", starts_at=soon(), place="y",
            is_work_meeting=True, work_report_days=7, invitees=[board],
        )  # fmt: skip
    assert meeting.invitations.count() == 2


def test_cancel_only_before_start_and_notifies(assoc, sec, member):
    """H-ORG-5: a scheduled meeting can be cancelled before it starts; invitees are told."""
    from apps.notifications.models import Notification

    meeting = make_meeting(assoc, sec, [member])
    services.do_cancel_meeting(actor=sec, meeting=meeting, reason="场地冲突")
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.CANCELLED
    assert Notification.objects.filter(recipient=member, title="会议取消").exists()
    with pytest.raises(ValidationError):
        services.do_cancel_meeting(actor=sec, meeting=meeting, reason="再取消")
    past = backdate(make_meeting(assoc, sec, [member]), 1)
    with pytest.raises(ValidationError, match="尚未开始"):
        services.do_cancel_meeting(actor=sec, meeting=past, reason="太迟")


# --- leave --------------------------------------------------------------------------------------


def test_leave_after_the_meeting_started_is_refused(assoc, sec, member):
    """H-ORG-5: leave is asked before the meeting; afterwards it is refused and nothing changes."""
    meeting = backdate(make_meeting(assoc, sec, [member]), 0)
    with pytest.raises(ValidationError) as error:
        services.do_request_leave(actor=member, invitation=inv(meeting, member), reason="忘了请假")
    assert error.value.code == "too_late"
    assert inv(meeting, member).leave_status == LeaveStatus.NONE


def test_leave_needs_a_reason_and_only_own_or_secretariat(assoc, sec, member, board):
    """H-ORG-5: a leave request carries a reason; another member cannot ask leave for me."""
    meeting = make_meeting(assoc, sec, [member, board])
    with pytest.raises(ValidationError, match="请假事由"):
        services.do_request_leave(actor=member, invitation=inv(meeting, member), reason="  ")
    with pytest.raises(ValidationError, match="无权"):
        services.do_request_leave(actor=board, invitation=inv(meeting, member), reason="代请")
    services.do_request_leave(actor=sec, invitation=inv(meeting, member), reason="电话请假：出差")
    assert inv(meeting, member).leave_status == LeaveStatus.REQUESTED
    with pytest.raises(ValidationError, match="已经提出过"):
        services.do_request_leave(actor=member, invitation=inv(meeting, member), reason="再请")


def test_approval_stores_report_deadline_from_the_meeting_day(assoc, sec, member):
    """H-ORG-5: approved leave from a work meeting → excused, report due N calendar days after the meeting."""
    starts = timezone.now() + dt.timedelta(days=3)
    meeting = make_meeting(assoc, sec, [member], starts_at=starts, days=7)
    services.do_request_leave(actor=member, invitation=inv(meeting, member), reason="外地培训")
    row = services.do_decide_leave(actor=sec, invitation=inv(meeting, member), approve=True)
    meeting_day = services.meeting_day(meeting)
    assert row.attendance == Attendance.EXCUSED and row.leave_status == LeaveStatus.APPROVED
    assert row.report_due == meeting_day + dt.timedelta(days=7)
    assert row.leave_decided_by == sec


def test_non_work_meeting_owes_no_report_and_late_approval_counts_from_today(assoc, sec, member, board):
    """H-ORG-5: a general assembly is not a work meeting (no report); a late approval counts from today."""
    assembly = make_meeting(assoc, sec, [member], body=Body.GENERAL_ASSEMBLY, work=False)
    services.do_request_leave(actor=member, invitation=inv(assembly, member), reason="生病")
    assert services.do_decide_leave(actor=sec, invitation=inv(assembly, member), approve=True).report_due is None
    meeting = make_meeting(assoc, sec, [board], days=5)
    services.do_request_leave(actor=board, invitation=inv(meeting, board), reason="出差")
    backdate(meeting, 3)
    row = services.do_decide_leave(actor=sec, invitation=inv(meeting, board), approve=True)
    assert row.report_due == selectors.today() + dt.timedelta(days=5)


def test_refusal_needs_a_note_and_leaves_attendance_pending(assoc, sec, member, board):
    """H-ORG-5: refusing leave needs a reason; only the secretariat decides."""
    meeting = make_meeting(assoc, sec, [member])
    services.do_request_leave(actor=member, invitation=inv(meeting, member), reason="有事")
    with pytest.raises(ValidationError, match="审批意见"):
        services.do_decide_leave(actor=sec, invitation=inv(meeting, member), approve=False)
    with pytest.raises(ValidationError, match="无权"):
        services.do_decide_leave(actor=board, invitation=inv(meeting, member), approve=True)
    row = services.do_decide_leave(actor=sec, invitation=inv(meeting, member), approve=False, note="本次会议须全员出席")
    assert row.leave_status == LeaveStatus.REFUSED and row.attendance == Attendance.PENDING and row.report_due is None
    with pytest.raises(ValidationError, match="没有待审批"):
        services.do_decide_leave(actor=sec, invitation=row, approve=True)


# --- attendance ---------------------------------------------------------------------------------


def test_attendance_rules(assoc, sec, member, board):
    """H-ORG-5: attendance after the start only; excused only with approved leave; present withdraws the report."""
    meeting = make_meeting(assoc, sec, [member, board])
    services.do_request_leave(actor=member, invitation=inv(meeting, member), reason="出差")
    services.do_decide_leave(actor=sec, invitation=inv(meeting, member), approve=True)
    with pytest.raises(ValidationError, match="尚未开始"):
        services.do_record_attendance(actor=sec, meeting=meeting, marks={inv(meeting, board).pk: "present"})
    backdate(meeting, 0)
    with pytest.raises(ValidationError, match="没有获批请假"):
        services.do_record_attendance(
            actor=sec, meeting=meeting, marks={inv(meeting, board).pk: "excused", inv(meeting, member).pk: "excused"}
        )
    assert inv(meeting, board).attendance == Attendance.PENDING
    services.do_record_attendance(
        actor=sec, meeting=meeting, marks={inv(meeting, board).pk: "absent", inv(meeting, member).pk: "present"}
    )
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.HELD
    assert inv(meeting, board).attendance == Attendance.ABSENT
    assert inv(meeting, member).attendance == Attendance.PRESENT and inv(meeting, member).report_due is None


def test_minutes_after_start_with_version(assoc, sec, member):
    """H-ORG-5: minutes and resolutions are recorded once the meeting has started, with optimistic locking."""
    meeting = make_meeting(assoc, sec, [member])
    with pytest.raises(ValidationError, match="召开后"):
        services.do_record_minutes(actor=sec, meeting=meeting, version=meeting.version, minutes="纪要")
    backdate(meeting, 1)
    services.do_record_minutes(actor=sec, meeting=meeting, version=1, minutes="纪要正文", resolutions="决议一")
    with pytest.raises(ValidationError) as error:
        services.do_record_minutes(actor=sec, meeting=meeting, version=1, minutes="覆盖")
    assert error.value.code == "stale"
    meeting.refresh_from_db()
    assert meeting.minutes == "纪要正文" and meeting.status == MeetingStatus.HELD


# --- written work reports -----------------------------------------------------------------------


@pytest.fixture
def owed(assoc, sec, member):
    meeting = make_meeting(assoc, sec, [member], days=7)
    services.do_request_leave(actor=member, invitation=inv(meeting, member), reason="出差")
    services.do_decide_leave(actor=sec, invitation=inv(meeting, member), approve=True)
    return inv(meeting, member)


def test_overdue_is_a_query_on_the_stored_deadline(assoc, sec, member, owed):
    """H-ORG-5: a report is overdue when its stored deadline has passed and it has not been received."""
    assert list(selectors.reports_owed(sec)) == [owed]
    assert not selectors.reports_owed(sec, overdue_only=True).exists()
    Invitation.objects.filter(pk=owed.pk).update(report_due=selectors.today() - dt.timedelta(days=1))
    assert list(selectors.reports_owed(sec, overdue_only=True)) == [owed]
    services.do_submit_work_report(actor=member, invitation=owed, text="近阶段完成讲座三场。")
    assert not selectors.reports_owed(sec).exists()


def test_only_the_invitee_submits_and_only_when_owed(assoc, sec, member, board, owed):
    """H-ORG-5: the excused invitee submits the report; others cannot; a second submission is refused."""
    with pytest.raises(ValidationError, match="本人"):
        services.do_submit_work_report(actor=sec, invitation=owed, text="代交")
    with pytest.raises(ValidationError, match="书面工作报告"):
        services.do_submit_work_report(actor=member, invitation=owed, text="")
    row = services.do_submit_work_report(actor=member, invitation=owed, text="报告正文")
    assert row.report_received_at and row.report_received_by == member
    with pytest.raises(ValidationError, match="没有待提交"):
        services.do_submit_work_report(actor=member, invitation=owed, text="再交")


def test_secretariat_records_a_paper_report(assoc, sec, board, owed):
    """H-ORG-5: the secretariat marks a report handed in on paper as received; a board member cannot."""
    with pytest.raises(ValidationError, match="无权"):
        services.do_receive_work_report(actor=board, invitation=owed)
    row = services.do_receive_work_report(actor=sec, invitation=owed, note="纸质报告交秘书处")
    assert row.report_received_by == sec and not row.report_owed


def test_reminders_for_work_reports_due_and_overdue(assoc, sec, member, owed):
    """H-ORG-5: the invitee is reminded the day before the deadline and daily once overdue."""
    now = timezone.now()
    today = selectors.today()
    Invitation.objects.filter(pk=owed.pk).update(report_due=today + dt.timedelta(days=1))
    due = list(reminders.work_reports_due(now))
    assert len(due) == 1 and due[0].user == member and ":due:" in due[0].dedupe_key
    Invitation.objects.filter(pk=owed.pk).update(report_due=today - dt.timedelta(days=3))
    overdue = list(reminders.work_reports_due(now))
    assert len(overdue) == 1 and "已逾期" in overdue[0].context["title"]
    Invitation.objects.filter(pk=owed.pk).update(report_received_at=now)
    assert list(reminders.work_reports_due(now)) == []


# --- duty reports -------------------------------------------------------------------------------


def test_duty_report_request_submit_receive_and_missing(assoc, sec, board, member):
    """H-ORG-5: a leader's yearly duty report — requested, submitted, received; missing list; no duplicates."""
    meeting = make_meeting(assoc, sec, [board])
    report = services.do_request_duty_report(
        actor=sec, unit=assoc.root, year=2026, leader=board, position_title="副会长",
        due_date=selectors.today() + dt.timedelta(days=3), meeting=meeting,
    )  # fmt: skip
    assert meeting.agenda.filter(kind="duty_report").exists()
    with pytest.raises(ValidationError, match="布置过"):
        services.do_request_duty_report(
            actor=sec, unit=assoc.root, year=2026, leader=board, position_title="副会长", due_date=selectors.today()
        )
    with pytest.raises(ValidationError, match="本人"):
        services.do_submit_duty_report(actor=member, report=report, content="冒名")
    services.do_submit_duty_report(actor=board, report=report, content="本年度履职情况……")
    assert not selectors.duty_reports(sec, state="missing").exists()
    DutyReport.objects.filter(pk=report.pk).update(due_date=selectors.today() - dt.timedelta(days=1))
    assert list(selectors.duty_reports(sec, state="missing")) == [report]
    assert [d.pk for d in selectors.meetings_for_user(board)["duty_reports_owed"]] == [report.pk]
    with pytest.raises(ValidationError, match="无权"):
        services.do_receive_duty_report(actor=board, report=report)
    services.do_receive_duty_report(actor=sec, report=report)
    assert not selectors.duty_reports(sec, state="missing").exists()
    with pytest.raises(ValidationError, match="收讫"):
        services.do_submit_duty_report(actor=board, report=report, content="改")


def test_duty_report_reminder(assoc, sec, board):
    """H-ORG-5: a leader whose duty report is overdue gets a daily reminder until submitted."""
    report = services.do_request_duty_report(
        actor=sec, unit=assoc.root, year=2026, leader=board, position_title="副会长",
        due_date=selectors.today() - dt.timedelta(days=2),
    )  # fmt: skip
    assert [r.user for r in reminders.duty_reports_due(timezone.now())] == [board]
    services.do_submit_duty_report(actor=board, report=report, content="已交")
    assert list(reminders.duty_reports_due(timezone.now())) == []


# --- pages, scope and API -----------------------------------------------------------------------


def test_other_association_gets_404(assoc, other_assoc, sec, member, other_sec, owed):
    """S-ORG-2, H-ORG-5: another association's secretariat sees none of our meetings (404, empty lists)."""
    meeting = owed.meeting
    http = browser(other_sec)
    assert http.get(f"/governance/meetings/{meeting.pk}/").status_code == 404
    assert http.post(f"/governance/invitations/{owed.pk}/report-received/").status_code == 404
    assert "第三次理事会" not in http.get("/governance/meetings/").content.decode()
    assert http.get(f"/api/governance/meetings/{meeting.pk}/").status_code == 404
    assert http.get("/api/governance/invitations/?owed=1").json()["results"] == []
    assert not selectors.reports_owed(other_sec).exists()


def test_self_service_pages_are_own_only(assoc, sec, member, board):
    """H-ORG-5: a member asks leave on their own invitation; someone else's answers 404."""
    meeting = make_meeting(assoc, sec, [member, board])
    http = browser(member)
    page = http.get("/governance/mine/").content.decode()
    assert "第三次理事会" in page
    assert http.get(f"/governance/mine/invitations/{inv(meeting, board).pk}/leave/").status_code == 404
    response = http.post(f"/governance/mine/invitations/{inv(meeting, member).pk}/leave/", {"reason": "出差"})
    assert response.status_code == 302
    assert inv(meeting, member).leave_status == LeaveStatus.REQUESTED
    api = http.get("/api/governance/mine/").json()
    assert api["upcoming"][0]["leave_status"] == "requested"


def test_secretariat_pages_flow(assoc, sec, member):
    """H-ORG-5: schedule through the form, approve leave, record attendance, see the owed report listed."""
    http = browser(sec)
    starts = timezone.localtime(soon(2)).strftime("%Y-%m-%dT%H:%M")
    response = http.post(
        "/governance/meetings/new/",
        {"unit": assoc.root.pk, "body": "board", "title": "理事会", "starts_at": starts, "place": "会议室",
         "is_work_meeting": "on", "work_report_days": 7, "agenda": "议题一\n议题二", "invitees": [member.pk, sec.pk]},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()
    meeting = Meeting.objects.get()
    services.do_request_leave(actor=member, invitation=inv(meeting, member), reason="出差")
    assert (
        http.post(f"/governance/invitations/{inv(meeting, member).pk}/leave-decision/", {"approve": "1"}).status_code
        == 302
    )
    backdate(meeting, 0)
    form = {f"inv_{inv(meeting, sec).pk}": "present", f"inv_{inv(meeting, member).pk}": "excused"}
    assert http.post(f"/governance/meetings/{meeting.pk}/attendance/", form).status_code == 302
    page = http.get("/governance/work-reports/").content.decode()
    assert "会员陈" in page and "理事会" in page
    detail = http.get(f"/governance/meetings/{meeting.pk}/").content.decode()
    assert "议题二" in detail and "待提交" in detail


def test_meeting_list_query_count_is_fixed(assoc, sec, member, board, django_assert_max_num_queries):
    """H-ORG-5: the keyset-paginated list runs a fixed number of queries however many meetings exist."""
    for _ in range(3):
        make_meeting(assoc, sec, [member, board])
    http = browser(sec)
    http.get("/governance/meetings/")
    with django_assert_max_num_queries(14) as small:
        http.get("/governance/meetings/")
    for _ in range(12):
        make_meeting(assoc, sec, [member, board])
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = http.get("/governance/meetings/")
    assert response.status_code == 200


def test_api_create_and_decide(assoc, sec, member):
    """H-ORG-5: the API schedules a meeting and decides leave with the same rules."""
    http = browser(sec)
    body = {"unit": assoc.root.pk, "body": "board", "title": "接口会议", "starts_at": soon(2).isoformat(),
            "place": "线上", "invitees": [member.pk], "agenda": ["议题"]}  # fmt: skip
    response = http.post("/api/governance/meetings/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    meeting = Meeting.objects.get(pk=response.json()["id"])
    bad = http.post("/api/governance/meetings/", {**body, "body": "unit"}, content_type="application/json")
    assert bad.status_code == 400 and Meeting.objects.count() == 1
    invitation = inv(meeting, member)
    services.do_request_leave(actor=member, invitation=invitation, reason="出差")
    refused = http.post(
        f"/api/governance/invitations/{invitation.pk}/decide-leave/",
        {"approve": False},
        content_type="application/json",
    )
    assert refused.status_code == 400
    ok = http.post(
        f"/api/governance/invitations/{invitation.pk}/decide-leave/", {"approve": True}, content_type="application/json"
    )
    assert ok.status_code == 200 and ok.json()["attendance"] == "excused"


def test_demo_seed(db):
    """H-ORG-5: the demo has past and upcoming meetings, received and owed reports, and duty reports."""
    from django.contrib.auth.hashers import make_password

    from apps.accounts.models import Assignment, Role, User
    from apps.core.management.commands.seed_demo import DEMO_LOGINS, build_demo_units

    units = build_demo_units()
    users = {}
    for username, full_name, role, unit_key in DEMO_LOGINS:
        if role not in ("association_secretariat", "membership_officer", "board_member", "committee_head", "member"):
            continue
        users[username] = User.objects.create(
            username=username, full_name=full_name, unit=units[unit_key], password=make_password(None)
        )
        Assignment.objects.create(user=users[username], unit=units[unit_key], role=Role.objects.get(code=role))
    assert seed_demo_governance(units, users) == 5
    assert seed_demo_governance(units, users) == 0
    sec = users["secretariat"]
    assert selectors.reports_owed(sec, overdue_only=True).count() == 1
    assert selectors.reports_owed(sec).count() == 2
    assert selectors.duty_reports(sec, state="missing").count() == 1
    assert Invitation.objects.filter(report_received_at__isnull=False).count() == 1
    assert len(selectors.meetings_for_user(users["member"])["upcoming"]) == 3
