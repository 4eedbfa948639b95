"""Exportable lists of association governance (X-3, H-ORG-5): meetings, one meeting's attendance,
work reports owed after an excused absence, and duty reports.

Each dataset reads its page's GET filters through the same selector the page uses, scoped to
the requester; junk filter values are ignored. Minutes, leave reasons and report texts are
free text and stay on the pages.
"""

from django.utils import timezone

from apps.core.access import scope
from apps.core.perms import Perm
from apps.exports.registry import Dataset, register

from . import selectors
from .choices import Attendance, Body, LeaveStatus, MeetingStatus
from .models import Meeting

CHUNK = 2000
BODIES = dict(Body.choices)
ATTENDANCE = dict(Attendance.choices)
LEAVE = dict(LeaveStatus.choices)


def _day(value) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _meeting_state(status, starts_at, now) -> str:
    """The list's status badge: cancelled, held, awaiting attendance, or not yet held."""
    if status == MeetingStatus.CANCELLED:
        return "已取消"
    if status == MeetingStatus.HELD:
        return "已召开"
    return "待登记" if starts_at < now else "未召开"


def _meetings(user, filters):
    now = timezone.now()
    rows = selectors.meetings(
        user, state=str(filters.get("state", "")).strip(), body=str(filters.get("body", "")).strip()
    ).order_by("-id")
    for title, body, work, starts_at, place, unit, invited, present, status in rows.values_list(
        "title", "body", "is_work_meeting", "starts_at", "place", "unit__name", "invited", "present", "status"
    ).iterator(chunk_size=CHUNK):
        held = starts_at < now
        yield (
            title,
            BODIES.get(body, body),
            "是" if work else "否",
            _when(starts_at),
            place,
            unit,
            present if held else "",
            invited,
            _meeting_state(status, starts_at, now),
        )


def _attendance(user, filters):
    """One meeting's invitees (the meeting page's 参会人员 table); nothing for a meeting out of scope."""
    try:
        pk = int(str(filters.get("meeting", "")).strip())
    except ValueError:
        return
    meeting = scope(Meeting.objects.all(), user, Perm.GOVERNANCE_VIEW).filter(pk=pk).first()
    if meeting is None:
        return
    rows = meeting.invitations.order_by("id").values_list(
        "user__full_name", "attendance", "leave_status", "report_due", "report_received_at"
    )
    for name, attendance, leave, due, received in rows.iterator(chunk_size=CHUNK):
        if received:
            report = "已收到"
        elif attendance == Attendance.EXCUSED and due:
            report = "逾期未交" if due < selectors.today() else "待提交"
        else:
            report = ""
        yield (
            meeting.title,
            name,
            ATTENDANCE.get(attendance, attendance),
            LEAVE.get(leave, leave),
            _day(due),
            report,
            _when(received),
        )


def _reports_owed(user, filters):
    today = selectors.today()
    rows = selectors.reports_owed(user, overdue_only=filters.get("state") == "overdue")
    for name, title, starts_at, due in rows.values_list(
        "user__full_name", "meeting__title", "meeting__starts_at", "report_due"
    ).iterator(chunk_size=CHUNK):
        yield (name, title, _day(timezone.localtime(starts_at)), _day(due), "逾期" if due < today else "待提交")


def _duty_reports(user, filters):
    try:
        year = int(str(filters.get("year", "")).strip() or 0) or None
    except ValueError:
        year = None
    today = selectors.today()
    rows = (
        selectors.duty_reports(user, year=year, state=str(filters.get("state", "")).strip())
        .order_by("-id")
        .values_list(
            "year",
            "leader__full_name",
            "position_title",
            "unit__name",
            "due_date",
            "meeting__title",
            "submitted_at",
            "received_at",
        )
    )
    for year_, leader, title, unit, due, meeting, submitted, received in rows.iterator(chunk_size=CHUNK):
        if received:
            state = "已收到"
        elif submitted:
            state = "已提交"
        else:
            state = "逾期未交" if due < today else "待提交"
        yield (year_, leader, title, unit, _day(due), meeting or "", state, _when(submitted), _when(received))


register(
    Dataset(
        key="governance_meetings",
        label="会议",
        view_permission=Perm.GOVERNANCE_VIEW,
        columns=(
            "会议名称",
            "会议类别",
            "阶段性工作会议",
            "开始时间",
            "地点",
            "召开单位",
            "出席人数",
            "应到人数",
            "状态",
        ),
        rows=_meetings,
    )
)
register(
    Dataset(
        key="governance_meeting_attendance",
        label="会议出席情况",
        view_permission=Perm.GOVERNANCE_VIEW,
        columns=("会议名称", "姓名", "出席情况", "请假", "书面报告期限", "书面报告", "报告收到时间"),
        rows=_attendance,
    )
)
register(
    Dataset(
        key="governance_reports_owed",
        label="请假后应交的书面工作报告",
        view_permission=Perm.GOVERNANCE_VIEW,
        columns=("姓名", "会议", "会议日期", "提交期限", "状态"),
        rows=_reports_owed,
    )
)
register(
    Dataset(
        key="governance_duty_reports",
        label="述职报告",
        view_permission=Perm.GOVERNANCE_VIEW,
        columns=("年度", "述职人", "职务", "单位", "提交期限", "述职会议", "状态", "提交时间", "收到时间"),
        rows=_duty_reports,
    )
)
