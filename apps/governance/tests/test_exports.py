"""X-3 (every list exports to Excel) for governance (H-ORG-5): meetings, attendance, work reports, duty reports."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.exports.models import ExportJob
from apps.exports.registry import get_dataset
from apps.exports.testing import export_rows, export_through_http, fresh_client
from apps.governance import selectors, services
from apps.governance.choices import Body
from apps.governance.models import Invitation
from conftest import make_user

from .test_governance import Assoc


@pytest.fixture(autouse=True)
def _exports_run_at_once(immediate_exports):
    return immediate_exports


class World:
    def __init__(self):
        self.assoc, self.other = Assoc(), Assoc("X")
        self.sec = make_user("g_sec", self.assoc.root, "association_secretariat", full_name="秘书长孙")
        self.board = make_user("g_board", self.assoc.root, "board_member", full_name="理事王")
        self.member = make_user("g_member", self.assoc.committee, "member", full_name="会员陈")
        self.other_sec = make_user("g_osec", self.other.root, "association_secretariat", full_name="外会秘书长")
        self.other_member = make_user("g_omember", self.other.committee, "member", full_name="外会员周")
        starts = timezone.now() + dt.timedelta(days=3)
        self.board_meeting = self.meeting(
            self.sec, self.assoc, "本会理事会", Body.BOARD, [self.member, self.board], starts
        )
        self.meeting(self.sec, self.assoc, "本会秘书处会议", Body.SECRETARIAT, [self.board], starts)
        self.other_meeting = self.meeting(
            self.other_sec, self.other, "外会理事会", Body.BOARD, [self.other_member], starts
        )
        excused = ((self.sec, self.board_meeting, self.member), (self.other_sec, self.other_meeting, self.other_member))
        for sec, meeting, user in excused:
            invitation = Invitation.objects.get(meeting=meeting, user=user)
            services.do_request_leave(actor=user, invitation=invitation, reason="外出培训")
            services.do_decide_leave(actor=sec, invitation=invitation, approve=True)
        due = selectors.today() + dt.timedelta(days=30)
        services.do_request_duty_report(
            actor=self.sec, unit=self.assoc.root, year=2026, leader=self.board, position_title="理事", due_date=due
        )
        services.do_request_duty_report(
            actor=self.other_sec, unit=self.other.root, year=2026, leader=self.other_sec, position_title="秘书长",
            due_date=due,
        )  # fmt: skip

    @staticmethod
    def meeting(sec, assoc, title, body, invitees, starts):
        return services.do_create_meeting(
            actor=sec, unit=assoc.root, body=body, title=title, starts_at=starts, place="协会会议室",
            is_work_meeting=True, work_report_days=7, agenda=["工作总结"], invitees=invitees,
        )  # fmt: skip


@pytest.fixture
def world(db):
    return World()


def test_meeting_export_scoped_and_filtered_like_the_list(world):
    """X-3, H-ORG-5: the association's meetings only; ``body`` and ``state`` narrow as on the list."""
    http = fresh_client(world.sec)
    titles = ("本会理事会", "本会秘书处会议", "外会理事会")
    for filters in ({}, {"body": Body.BOARD}, {"state": "cancelled"}, {"state": "upcoming"}, {"state": "junk"}):
        exported = {row[0] for row in export_rows("governance_meetings", world.sec, **filters)}
        page = http.get("/governance/meetings/", filters).content.decode()
        for title in titles:
            assert (title in exported) == (title in page), (filters, title)
    assert {row[0] for row in export_rows("governance_meetings", world.sec)} == {"本会理事会", "本会秘书处会议"}
    row = export_rows("governance_meetings", world.sec, body=Body.BOARD)[0]
    assert row[:3] == ("本会理事会", "理事会", "是") and row[6:] == ("", 2, "未召开")


def test_attendance_export_needs_the_meeting_in_scope(world):
    """X-3, H-ORG-5: one meeting's invitees; another association's meeting or junk gives nothing."""
    rows = export_rows("governance_meeting_attendance", world.sec, meeting=str(world.board_meeting.pk))
    assert {(r[1], r[3]) for r in rows} == {("会员陈", "已批准"), ("理事王", "未请假")}
    assert [r[5] for r in rows if r[1] == "会员陈"] == ["待提交"]
    assert export_rows("governance_meeting_attendance", world.sec, meeting=str(world.other_meeting.pk)) == []
    assert export_rows("governance_meeting_attendance", world.sec, meeting="1 OR 1") == []


def test_reports_owed_and_duty_report_exports(world):
    """X-3, H-ORG-5: work reports owed and duty reports of the association only, with the list's filters."""
    assert [r[0] for r in export_rows("governance_reports_owed", world.sec)] == ["会员陈"]
    assert export_rows("governance_reports_owed", world.sec, state="overdue") == []
    Invitation.objects.filter(user=world.member).update(report_due=selectors.today() - dt.timedelta(days=1))
    assert [r[4] for r in export_rows("governance_reports_owed", world.sec, state="overdue")] == ["逾期"]
    duty = export_rows("governance_duty_reports", world.sec)
    assert [(r[0], r[1], r[2], r[6]) for r in duty] == [(2026, "理事王", "理事", "待提交")]
    assert export_rows("governance_duty_reports", world.sec, year="2025") == []
    assert export_rows("governance_duty_reports", world.sec, state="received") == []
    assert len(export_rows("governance_duty_reports", world.sec, year="twenty")) == 1


def test_meeting_list_shows_export_buttons_to_the_secretariat_only(world):
    """X-3, H-ORG-5: the secretariat sees the buttons (with filters); a board member without export right does not."""
    page = fresh_client(world.sec).get("/governance/meetings/?body=board").content.decode()
    assert "/exports/new/xlsx/governance_meetings/?body=board" in page
    assert "export-governance" not in fresh_client(world.board).get("/governance/meetings/").content.decode()
    detail = fresh_client(world.sec).get(f"/governance/meetings/{world.board_meeting.pk}/").content.decode()
    assert f"/exports/new/xlsx/governance_meeting_attendance/?meeting={world.board_meeting.pk}" in detail
    for url, key in (
        ("/governance/work-reports/", "governance_reports_owed"),
        ("/governance/duty-reports/", "governance_duty_reports"),
    ):
        assert f'data-testid="export-{key}-xlsx"' in fresh_client(world.sec).get(url).content.decode()


def test_meeting_export_end_to_end(world, django_capture_on_commit_callbacks):
    """X-3, H-ORG-5: the meeting list arrives as an encrypted xlsx with the association's meetings."""
    rows = export_through_http(
        fresh_client(world.sec),
        django_capture_on_commit_callbacks,
        "governance_meetings",
        "?body=board",
        reason="年度会议台账归档",
    )
    assert ExportJob.objects.get().row_count == 1
    assert rows[0] == get_dataset("governance_meetings").columns
    assert [row[0] for row in rows[1:]] == ["本会理事会"]
