"""Rules of meetings, attendance, leave, written work reports and duty reports (H-ORG-5).

Every ``do_*`` runs in one transaction, checks that the actor may act on the unit or row,
validates its input (bad input changes nothing) and writes an audit entry for what it changed.
``actor=None`` is the system (demo data, imports).
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.services import log_change, snapshot
from apps.core.access import can, can_in_unit
from apps.core.perms import Perm
from apps.notifications.services import notify_user
from apps.orgs.choices import UnitKind
from apps.workdays.services import add_days

from .choices import ASSOCIATION_BODIES, AgendaKind, Attendance, Body, LeaveStatus, MeetingStatus
from .models import AgendaItem, DutyReport, Invitation, Meeting
from .selectors import SHANGHAI, group_members, today

MAX_REPORT_DAYS = 60
MAX_AGENDA_ITEMS = 30
MAX_INVITEES = 500
UNIT_KINDS = (UnitKind.DEPARTMENT, UnitKind.COMMITTEE)


# --- shared checks -----------------------------------------------------------------------------


def check_text(value, label: str, *, max_length: int, required: bool = True, code: str = "text") -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(f"请填写{label}。", code=code)
    if len(text) > max_length:
        raise ValidationError(f"{label}不能超过 {max_length} 个字符。", code=code)
    return text


def check_moment(value, label: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValidationError(f"请填写{label}。", code="time")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, SHANGHAI)
    return value


def check_version(obj, version) -> None:
    """Optimistic locking: refuse an edit made on a stale copy."""
    if version is None or int(version) != obj.version:
        raise ValidationError("该记录已被他人修改，请刷新页面后重新填写。", code="stale")


def meeting_day(meeting: Meeting) -> dt.date:
    return meeting.starts_at.astimezone(SHANGHAI).date()


def association_root_path(unit) -> str:
    """The path of the association (tree root) ``unit`` belongs to."""
    return "/" + unit.path.strip("/").split("/")[0] + "/"


def _require_in(actor, perm, unit) -> None:
    if actor is not None and not (unit.is_active and can_in_unit(actor, perm, unit)):
        raise ValidationError("您只能在本单位及下级单位办理。", code="forbidden")


def _require(actor, perm, obj) -> None:
    if actor is not None and not can(actor, perm, obj):
        raise ValidationError("您无权办理这条记录。", code="forbidden")


def eligible_people(unit):
    """Active accounts of ``unit``'s association: home unit or an assignment in that tree, minus members
    whose membership there is revoked (or otherwise not active) and who hold no staff role there."""
    from apps.accounts.models import User
    from apps.membership.selectors import lapsed_member_users

    root = association_root_path(unit)
    return (
        User.objects.filter(is_active=True)
        .filter(Q(unit__path__startswith=root) | Q(assignments__unit__path__startswith=root))
        .exclude(pk__in=lapsed_member_users(root))
        .distinct()
    )


def check_people(unit, people, label: str) -> list:
    people = list({p.pk: p for p in people}.values())
    if len(people) > MAX_INVITEES:
        raise ValidationError(f"{label}不能超过 {MAX_INVITEES} 人。", code="too_many")
    ids = {p.pk for p in people}
    if ids and eligible_people(unit).filter(pk__in=ids).count() != len(ids):
        raise ValidationError(f"{label}须是本协会在册的人员。", code="people")
    return people


def check_start(starts_at: dt.datetime, recorded_after_held: bool = False) -> dt.datetime:
    """H-ORG-5: a meeting is scheduled in the future; a start in the past only for a meeting recorded after it
    was held (marked so). The current minute still counts as now (the form has minute precision)."""
    now = timezone.now()
    local = starts_at.astimezone(SHANGHAI)
    if recorded_after_held and starts_at > now:
        raise ValidationError(
            {
                "recorded_after_held": f"开始时间 {local:%Y-%m-%d %H:%M} 尚未到来，不能作为已召开的会议补录；"
                "安排会议请不要勾选此项。"
            }
        )
    if not recorded_after_held and starts_at < now.replace(second=0, microsecond=0):
        raise ValidationError(
            {
                "starts_at": f"开始时间 {local:%Y-%m-%d %H:%M} 已经过去，不能安排过去的会议。"
                "如是登记已经召开的会议，请勾选“补录已召开的会议”。"
            }
        )
    return starts_at


def expand_groups(unit, groups) -> list:
    """The people of the chosen invitation groups (``selectors.group_members`` keys) of ``unit``'s association,
    minus those not eligible (lapsed members), so a group never blocks the meeting."""
    root = association_root_path(unit)
    people = []
    for key in dict.fromkeys(groups or ()):
        association, members = group_members(key)
        if association is None or association.path != root:
            raise ValidationError({"groups": "只能邀请本协会的理事会、常务理事会、秘书处、部门或专业委员会。"})
        people.extend(members)
    eligible = set(eligible_people(unit).filter(pk__in=[p.pk for p in people]).values_list("pk", flat=True))
    return [p for p in people if p.pk in eligible]


def check_body(unit, body: str) -> str:
    """The four bodies meet at the association root; a department or committee meets as ``unit``."""
    if body not in Body.values:
        raise ValidationError("请选择会议类别。", code="body")
    if body in ASSOCIATION_BODIES and unit.kind != UnitKind.ASSOCIATION:
        raise ValidationError("会员大会、理事会、常务理事会和秘书处会议须以协会名义召开。", code="body")
    if body == Body.UNIT and unit.kind not in UNIT_KINDS:
        raise ValidationError("部门或专业委员会会议须选择一个部门或专业委员会。", code="body")
    return body


def check_report_days(value) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ValidationError("请填写书面报告期限（天）。", code="report_days") from None
    if not 1 <= days <= MAX_REPORT_DAYS:
        raise ValidationError(f"书面报告期限应在 1 到 {MAX_REPORT_DAYS} 天之间。", code="report_days")
    return days


def check_agenda(agenda) -> list[tuple[str, str]]:
    """``agenda``: titles, or ``(title, kind)`` pairs; blank lines are dropped."""
    items = []
    for entry in agenda or ():
        title, kind = (entry, AgendaKind.ITEM) if isinstance(entry, str) else entry
        title = (title or "").strip()
        if not title:
            continue
        if kind not in AgendaKind.values:
            raise ValidationError("议程类型无效。", code="agenda")
        items.append((check_text(title, "议题", max_length=200), kind))
    if len(items) > MAX_AGENDA_ITEMS:
        raise ValidationError(f"议程不能超过 {MAX_AGENDA_ITEMS} 项。", code="agenda")
    return items


def _write_agenda(meeting, items) -> None:
    meeting.agenda.all().delete()
    AgendaItem.objects.bulk_create(
        AgendaItem(meeting=meeting, position=i, title=title, kind=kind) for i, (title, kind) in enumerate(items, 1)
    )


def _invite(meeting, people) -> None:
    Invitation.objects.bulk_create(Invitation(meeting=meeting, user=p, unit_path=meeting.unit_path) for p in people)


# --- meetings ----------------------------------------------------------------------------------


@transaction.atomic
def do_create_meeting(
    *,
    actor,
    unit,
    body: str,
    title: str,
    starts_at: dt.datetime,
    place: str,
    is_work_meeting: bool = True,
    work_report_days=7,
    agenda=(),
    invitees=(),
    groups=(),
    recorded_after_held: bool = False,
) -> Meeting:
    """H-ORG-5: schedule a meeting of a body or unit, with agenda and invitees — people and whole groups
    (``groups``: keys of ``selectors.invitation_groups``). A meeting in the past is accepted only as one
    recorded after it was held (``recorded_after_held``), and stays marked so."""
    _require_in(actor, Perm.GOVERNANCE_MANAGE, unit)
    body = check_body(unit, body)
    title = check_text(title, "会议名称", max_length=100)
    starts_at = check_start(check_moment(starts_at, "开始时间"), bool(recorded_after_held))
    place = check_text(place, "地点", max_length=100)
    days = check_report_days(work_report_days)
    items = check_agenda(agenda)
    people = check_people(unit, [*expand_groups(unit, groups), *invitees], "参会人员")
    if not people:
        raise ValidationError({"invitees": "请至少选择一名参会人员或一个参会群体。"})
    meeting = Meeting.objects.create(
        unit=unit,
        unit_path=unit.path,
        body=body,
        title=title,
        starts_at=starts_at,
        place=place,
        is_work_meeting=bool(is_work_meeting),
        recorded_after_held=bool(recorded_after_held),
        work_report_days=days,
        created_by=actor,
    )
    _write_agenda(meeting, items)
    _invite(meeting, people)
    log_change(
        actor,
        meeting,
        {},
        {
            **snapshot(meeting),
            "agenda": [t for t, _ in items],
            "invitees": sorted(p.pk for p in people),
            "groups": list(dict.fromkeys(groups or ())),
        },
    )
    return meeting


@transaction.atomic
def do_update_meeting(
    *,
    actor,
    meeting: Meeting,
    version,
    title: str,
    starts_at: dt.datetime,
    place: str,
    is_work_meeting: bool,
    work_report_days,
    agenda=(),
    invitees=(),
    groups=(),
) -> Meeting:
    """Change a scheduled meeting before it starts (not into the past); groups add their members; invitees
    who asked for leave cannot be dropped."""
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    _require(actor, Perm.GOVERNANCE_MANAGE, meeting)
    check_version(meeting, version)
    if meeting.status != MeetingStatus.SCHEDULED or meeting.starts_at <= timezone.now():
        raise ValidationError("会议已开始或已取消，不能再修改安排。", code="started")
    title = check_text(title, "会议名称", max_length=100)
    starts_at = check_start(check_moment(starts_at, "开始时间"))
    place = check_text(place, "地点", max_length=100)
    days = check_report_days(work_report_days)
    items = check_agenda(agenda)
    people = check_people(meeting.unit, [*expand_groups(meeting.unit, groups), *invitees], "参会人员")
    if not people:
        raise ValidationError("请至少选择一名参会人员。", code="invitees")
    wanted = {p.pk for p in people}
    current = {i.user_id: i for i in meeting.invitations.all()}
    dropped = [i for uid, i in current.items() if uid not in wanted]
    if any(i.leave_status != LeaveStatus.NONE for i in dropped):
        raise ValidationError("已请假的参会人员不能移出，请先处理其请假。", code="invitees")
    before = {
        **snapshot(meeting),
        "agenda": list(meeting.agenda.values_list("title", flat=True)),
        "invitees": sorted(current),
    }
    Invitation.objects.filter(pk__in=[i.pk for i in dropped]).delete()
    _invite(meeting, [p for p in people if p.pk not in current])
    meeting.title, meeting.starts_at, meeting.place = title, starts_at, place
    meeting.is_work_meeting, meeting.work_report_days = bool(is_work_meeting), days
    meeting.version += 1
    meeting.save()
    _write_agenda(meeting, items)
    log_change(
        actor, meeting, before, {**snapshot(meeting), "agenda": [t for t, _ in items], "invitees": sorted(wanted)}
    )
    return meeting


@transaction.atomic
def do_cancel_meeting(*, actor, meeting: Meeting, reason: str) -> Meeting:
    """Cancel a scheduled meeting that has not started; invitees are told."""
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    _require(actor, Perm.GOVERNANCE_MANAGE, meeting)
    reason = check_text(reason, "取消原因", max_length=200)
    if meeting.status != MeetingStatus.SCHEDULED or meeting.starts_at <= timezone.now():
        raise ValidationError("只能取消尚未开始的会议。", code="started")
    before = snapshot(meeting)
    meeting.status = MeetingStatus.CANCELLED
    meeting.version += 1
    meeting.save(update_fields=["status", "version"])
    log_change(actor, meeting, before, snapshot(meeting), purpose=reason)
    for invitation in meeting.invitations.select_related("user"):
        notify_user(
            user=invitation.user,
            template="generic",
            context={"title": "会议取消", "body": f"“{meeting.title}”已取消：{reason}"},
            url="/governance/mine/",
        )
    return meeting


@transaction.atomic
def do_record_attendance(*, actor, meeting: Meeting, marks: dict) -> Meeting:
    """H-ORG-5: record present / excused / absent per invitation id once the meeting has started.

    ``excused`` is accepted only for an approved leave; recording ``present`` for someone excused
    withdraws the work report they would owe.
    """
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    _require(actor, Perm.GOVERNANCE_MANAGE, meeting)
    if meeting.status == MeetingStatus.CANCELLED:
        raise ValidationError("会议已取消，不能登记出席情况。", code="cancelled")
    if meeting.starts_at > timezone.now():
        raise ValidationError("会议尚未开始，不能登记出席情况。", code="not_started")
    rows = {i.pk: i for i in meeting.invitations.select_for_update()}
    changes = []
    for key, value in (marks or {}).items():
        invitation = rows.get(int(key))
        if invitation is None:
            raise ValidationError("出席登记中有不属于本次会议的人员。", code="invitation")
        if value not in (Attendance.PRESENT, Attendance.EXCUSED, Attendance.ABSENT):
            raise ValidationError("出席情况只能是出席、请假或缺席。", code="attendance")
        if value == Attendance.EXCUSED and invitation.leave_status != LeaveStatus.APPROVED:
            raise ValidationError("没有获批请假的人员不能登记为请假，请登记为缺席。", code="excused")
        changes.append((invitation, value))
    for invitation, value in changes:
        if invitation.attendance == value:
            continue
        before = snapshot(invitation)
        invitation.attendance = value
        if value == Attendance.EXCUSED and invitation.report_due is None and meeting.is_work_meeting:
            invitation.report_due = report_due_for(meeting)
        if value != Attendance.EXCUSED and not invitation.report_received_at:
            invitation.report_due = None
        invitation.version += 1
        invitation.save()
        log_change(actor, invitation, before, snapshot(invitation))
    if meeting.status == MeetingStatus.SCHEDULED:
        before = snapshot(meeting)
        meeting.status = MeetingStatus.HELD
        meeting.save(update_fields=["status"])
        log_change(actor, meeting, before, snapshot(meeting))
    return meeting


@transaction.atomic
def do_record_minutes(*, actor, meeting: Meeting, version, minutes: str, resolutions: str = "") -> Meeting:
    """Record the minutes and resolutions of a meeting that has started."""
    meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    _require(actor, Perm.GOVERNANCE_MANAGE, meeting)
    check_version(meeting, version)
    if meeting.status == MeetingStatus.CANCELLED or meeting.starts_at > timezone.now():
        raise ValidationError("会议召开后才能登记纪要。", code="not_started")
    minutes = check_text(minutes, "会议纪要", max_length=20000)
    resolutions = check_text(resolutions, "决议", max_length=10000, required=False)
    before = snapshot(meeting)
    meeting.minutes, meeting.resolutions, meeting.status = minutes, resolutions, MeetingStatus.HELD
    meeting.version += 1
    meeting.save(update_fields=["minutes", "resolutions", "status", "version"])
    log_change(actor, meeting, before, snapshot(meeting))
    return meeting


# --- leave and written work reports ------------------------------------------------------------


def report_due_for(meeting: Meeting, decided_on: dt.date | None = None) -> dt.date:
    """The work report is due ``work_report_days`` calendar days after the meeting (or after a late approval)."""
    start = max(meeting_day(meeting), decided_on or today())
    return add_days(start, meeting.work_report_days)


@transaction.atomic
def do_request_leave(*, actor, invitation: Invitation, reason: str) -> Invitation:
    """H-ORG-5: ask for leave with a reason, before the meeting starts (the invitee, or the secretariat for them)."""
    invitation = Invitation.objects.select_for_update().select_related("meeting").get(pk=invitation.pk)
    if actor is not None and actor.pk != invitation.user_id:
        _require(actor, Perm.GOVERNANCE_MANAGE, invitation)
    reason = check_text(reason, "请假事由", max_length=1000)
    meeting = invitation.meeting
    if meeting.status == MeetingStatus.CANCELLED:
        raise ValidationError("会议已取消，无需请假。", code="cancelled")
    if meeting.starts_at <= timezone.now():
        raise ValidationError("会议已经开始，不能再请假；请在会前提出请假。", code="too_late")
    if invitation.leave_status in (LeaveStatus.REQUESTED, LeaveStatus.APPROVED):
        raise ValidationError("已经提出过请假，请等待秘书处审批。", code="duplicate")
    before = snapshot(invitation)
    invitation.leave_status, invitation.leave_reason = LeaveStatus.REQUESTED, reason
    invitation.leave_requested_at = timezone.now()
    invitation.leave_decided_by, invitation.leave_decided_at, invitation.leave_decision_note = None, None, ""
    invitation.version += 1
    invitation.save()
    log_change(actor, invitation, before, snapshot(invitation))
    return invitation


@transaction.atomic
def do_decide_leave(*, actor, invitation: Invitation, approve: bool, note: str = "") -> Invitation:
    """H-ORG-5: the secretariat approves or refuses a leave request.

    Approval marks the invitee excused; for a work meeting it stores the written report's due day
    (``work_report_days`` after the meeting, or after today if approved late). A refusal needs a note.
    """
    invitation = Invitation.objects.select_for_update().select_related("meeting", "user").get(pk=invitation.pk)
    _require(actor, Perm.GOVERNANCE_MANAGE, invitation)
    if invitation.leave_status != LeaveStatus.REQUESTED:
        raise ValidationError("没有待审批的请假。", code="state")
    note = check_text(note, "审批意见", max_length=200, required=not approve)
    meeting = invitation.meeting
    before = snapshot(invitation)
    invitation.leave_decided_by, invitation.leave_decided_at = actor, timezone.now()
    invitation.leave_decision_note = note
    if approve:
        invitation.leave_status, invitation.attendance = LeaveStatus.APPROVED, Attendance.EXCUSED
        invitation.report_due = report_due_for(meeting) if meeting.is_work_meeting else None
    else:
        invitation.leave_status = LeaveStatus.REFUSED
    invitation.version += 1
    invitation.save()
    log_change(actor, invitation, before, snapshot(invitation))
    if approve and invitation.report_due:
        body = f"“{meeting.title}”请假已批准。请于 {invitation.report_due:%Y年%m月%d日} 前提交书面工作报告。"
    elif approve:
        body = f"“{meeting.title}”请假已批准。"
    else:
        body = f"“{meeting.title}”请假未获批准：{note}"
    notify_user(
        user=invitation.user,
        template="generic",
        context={"title": "请假审批结果", "body": body},
        url="/governance/mine/",
    )
    return invitation


@transaction.atomic
def do_submit_work_report(*, actor, invitation: Invitation, text: str) -> Invitation:
    """H-ORG-5: the excused invitee submits the written work report (received on submission)."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if actor is None or actor.pk != invitation.user_id:
        raise ValidationError("只有请假本人可以提交书面工作报告。", code="forbidden")
    if not invitation.report_owed:
        raise ValidationError("这次会议没有待提交的书面工作报告。", code="state")
    text = check_text(text, "书面工作报告", max_length=20000)
    before = snapshot(invitation)
    invitation.report_text, invitation.report_received_at, invitation.report_received_by = text, timezone.now(), actor
    invitation.version += 1
    invitation.save()
    log_change(actor, invitation, before, snapshot(invitation))
    return invitation


@transaction.atomic
def do_receive_work_report(*, actor, invitation: Invitation, note: str = "") -> Invitation:
    """H-ORG-5: the secretariat records a written work report handed in on paper."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    _require(actor, Perm.GOVERNANCE_MANAGE, invitation)
    if not invitation.report_owed:
        raise ValidationError("这次会议没有待收的书面工作报告。", code="state")
    note = check_text(note, "说明", max_length=2000, required=False)
    before = snapshot(invitation)
    invitation.report_text = note or "（纸质报告已收到）"
    invitation.report_received_at, invitation.report_received_by = timezone.now(), actor
    invitation.version += 1
    invitation.save()
    log_change(actor, invitation, before, snapshot(invitation))
    return invitation


# --- duty reports ------------------------------------------------------------------------------


@transaction.atomic
def do_request_duty_report(
    *, actor, unit, year, leader, position_title: str, due_date: dt.date, meeting: Meeting | None = None
) -> DutyReport:
    """H-ORG-5: ask a leader for the year's duty report (述职报告), optionally to be given at a meeting."""
    _require_in(actor, Perm.GOVERNANCE_MANAGE, unit)
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise ValidationError("请填写年度。", code="year") from None
    if not 2000 <= year <= 2100:
        raise ValidationError("年度应在 2000 到 2100 之间。", code="year")
    position_title = check_text(position_title, "职务", max_length=50)
    if not isinstance(due_date, dt.date):
        raise ValidationError("请填写提交期限。", code="due_date")
    check_people(unit, [leader], "述职人")
    if meeting is not None and not meeting.unit_path.startswith(association_root_path(unit)):
        raise ValidationError("述职会议须是本协会的会议。", code="meeting")
    if DutyReport.objects.filter(unit=unit, year=year, leader=leader).exists():
        raise ValidationError("该负责人本年度的述职报告已经布置过了。", code="duplicate")
    report = DutyReport.objects.create(
        unit=unit, unit_path=unit.path, year=year, leader=leader, position_title=position_title,
        due_date=due_date, meeting=meeting, created_by=actor,
    )  # fmt: skip
    if meeting is not None:
        position = (meeting.agenda.order_by("-position").values_list("position", flat=True).first() or 0) + 1
        AgendaItem.objects.create(
            meeting=meeting,
            position=position,
            title=f"{leader.full_name}（{position_title}）述职",
            kind=AgendaKind.DUTY_REPORT,
        )
    log_change(actor, report, {}, snapshot(report))
    notify_user(
        user=leader,
        template="generic",
        context={"title": "请提交述职报告", "body": f"请于 {due_date:%Y年%m月%d日} 前提交 {year} 年度述职报告。"},
        url="/governance/mine/",
    )
    return report


@transaction.atomic
def do_submit_duty_report(*, actor, report: DutyReport, content: str) -> DutyReport:
    """The leader submits (or revises, until received) the duty report."""
    report = DutyReport.objects.select_for_update().get(pk=report.pk)
    if actor is None or actor.pk != report.leader_id:
        raise ValidationError("只有述职人本人可以提交述职报告。", code="forbidden")
    if report.received_at:
        raise ValidationError("述职报告已由秘书处收讫，不能再修改。", code="state")
    content = check_text(content, "述职内容", max_length=20000)
    before = snapshot(report)
    report.content, report.submitted_at = content, timezone.now()
    report.version += 1
    report.save()
    log_change(actor, report, before, snapshot(report))
    return report


@transaction.atomic
def do_receive_duty_report(*, actor, report: DutyReport) -> DutyReport:
    """H-ORG-5: the secretariat marks a duty report received (online or on paper)."""
    report = DutyReport.objects.select_for_update().get(pk=report.pk)
    _require(actor, Perm.GOVERNANCE_MANAGE, report)
    if report.received_at:
        raise ValidationError("述职报告已经登记收到。", code="state")
    before = snapshot(report)
    report.received_at, report.received_by = timezone.now(), actor
    report.version += 1
    report.save()
    log_change(actor, report, before, snapshot(report), purpose="登记收到述职报告")
    return report
