"""Exportable lists of the association's services (X-3; H-SVC-1 … H-SVC-4): help requests and the
overdue ones, hours records, yearly totals, the volunteer ranking, the responder roster, stress
events, one event's dispatches and the hotline rota.

Each dataset reads its page's GET filters through the page's selector, scoped to the requester;
junk values are ignored. A help seeker's name is masked as on the pages; the seeker's phone and
the request's topic, leave notes and service summaries are never exported.
"""

import datetime as dt

from django.utils import timezone

from apps.core.access import can
from apps.core.perms import Perm
from apps.exports.registry import Dataset, register
from apps.identity.masks import mask_name
from apps.workdays.deadlines import ESTIMATE_COLUMN, estimate_note

from . import selectors, services
from .choices import (
    UNASSIGNED_STATUSES,
    Availability,
    DispatchRole,
    DispatchStatus,
    EventKind,
    EventStatus,
    HelpChannel,
    HelpStatus,
    HoursKind,
    HoursStatus,
    ServiceKind,
    Severity,
    Skill,
    Specialty,
    Urgency,
)

CHUNK = 2000


def _label(choices):
    mapping = dict(choices.choices)
    return lambda value: mapping.get(value, value or "")


CHANNEL = _label(HelpChannel)
SPECIALTY = _label(Specialty)
URGENCY = _label(Urgency)
HELP_STATUS = _label(HelpStatus)
HOURS_KIND = _label(HoursKind)
HOURS_STATUS = _label(HoursStatus)
SKILL = _label(Skill)
AVAILABILITY = _label(Availability)
EVENT_KIND = _label(EventKind)
SEVERITY = _label(Severity)
EVENT_STATUS = _label(EventStatus)
ROLE = _label(DispatchRole)
DISPATCH_STATUS = _label(DispatchStatus)
SERVICE = _label(ServiceKind)


def _day(value) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _hours(value) -> float:
    return float(value or 0)


def _year(filters) -> int:
    """The ``year`` filter as the pages read it: digits in 2000–2100, else this year."""
    value = str(filters.get("year", "")).strip()
    year = int(value) if value.isdigit() else services.today().year
    return year if 2000 <= year <= 2100 else services.today().year


# --- help requests (H-SVC-1) ------------------------------------------------------------------


def _help_requests(user, filters):
    today = services.today()
    rows = selectors.help_requests(user, str(filters.get("status", "")).strip()).order_by("-id")
    for pk, received, name, channel, specialty, urgency, committee, assignee, due, status, estimate in rows.values_list(
        "pk",
        "received_at",
        "seeker_name",
        "channel",
        "specialty",
        "urgency",
        "committee__name",
        "assignee__full_name",
        "assign_due",
        "status",
        "assign_due_estimate_reason",
    ).iterator(chunk_size=CHUNK):
        label = HELP_STATUS(status)
        if status in UNASSIGNED_STATUSES and due < today:
            label += " · 逾期"
        yield (
            f"#{pk}",
            _when(received),
            mask_name(name),
            CHANNEL(channel),
            SPECIALTY(specialty),
            URGENCY(urgency),
            committee or "",
            assignee or "",
            _day(due),
            label,
            estimate_note(estimate),
        )


def _help_overdue(user, filters):
    today = services.today()
    rows = selectors.overdue_help(user, today)
    for pk, received, name, specialty, urgency, unit, due, estimate in rows.values_list(
        "pk",
        "received_at",
        "seeker_name",
        "specialty",
        "urgency",
        "unit__name",
        "assign_due",
        "assign_due_estimate_reason",
    ).iterator(chunk_size=CHUNK):
        yield (
            f"#{pk}",
            _when(received),
            mask_name(name),
            SPECIALTY(specialty),
            URGENCY(urgency),
            unit,
            _day(due),
            (today - due).days,
            estimate_note(estimate),
        )


# --- hours (H-SVC-2, H-SVC-4) -----------------------------------------------------------------


def _hours_records(user, filters):
    rows = selectors.hours_records(
        user, kind=str(filters.get("kind", "")), status=str(filters.get("status", ""))
    ).order_by("-id")
    for day, member, unit, kind, activity, hours, dispatch, self_reported, status in rows.values_list(
        "date", "member__full_name", "unit__name", "kind", "activity", "hours", "dispatch_id", "self_reported", "status"
    ).iterator(chunk_size=CHUNK):
        source = "应急调派" if dispatch else "本人申报" if self_reported else "秘书处登记"
        yield (_day(day), member, unit, HOURS_KIND(kind), activity, _hours(hours), source, HOURS_STATUS(status))


def _hours_totals(user, filters):
    if not can(user, Perm.ASSISTANCE_VIEW):
        return
    year = _year(filters)
    minimum = selectors.education_minimum_for(user)
    if filters.get("below") == "1":
        rows = selectors.below_minimum(user, year, minimum)
    else:
        rows = selectors.member_totals(user, year)
    for name, education, supervision, total, volunteer in (
        rows.order_by("id")
        .values_list("full_name", "continuing_education", "supervision", "education_total", "volunteer")
        .iterator(chunk_size=CHUNK)
    ):
        yield (
            year,
            name,
            _hours(education),
            _hours(supervision),
            _hours(total),
            "是" if total >= minimum else "否",
            _hours(volunteer),
        )


def _volunteer_ranking(user, filters):
    if not can(user, Perm.ASSISTANCE_VIEW):
        return
    year = _year(filters)
    # The page shows the first 100; the export ranks everyone with confirmed volunteer hours.
    for rank, member in enumerate(selectors.volunteer_ranking(user, year, limit=None), start=1):
        yield (year, rank, member.full_name, _hours(member.volunteer))


# --- rapid crisis response (H-SVC-3) ----------------------------------------------------------


def _responders(user, filters):
    rows = selectors.visible_responders(user).order_by("id")
    for r in rows.iterator(chunk_size=CHUNK):
        yield (
            r.user.full_name,
            r.unit.name,
            "、".join(SKILL(s.skill) for s in r.skills.all()),
            _day(r.trained_on),
            f"周{r.available_weekdays}",
            f"{r.available_from:%H:%M}—{r.available_to:%H:%M}",
            r.contact,
            AVAILABILITY(r.status),
        )


def _events(user, filters):
    rows = selectors.visible_events(user).order_by("-id")
    for title, kind, occurred, place, scale, severity, unit, status in rows.values_list(
        "title", "kind", "occurred_at", "place", "scale", "severity", "unit__name", "status"
    ).iterator(chunk_size=CHUNK):
        yield (title, EVENT_KIND(kind), _when(occurred), place, scale, SEVERITY(severity), unit, EVENT_STATUS(status))


def _dispatches(user, filters):
    """One event's dispatches (the event page's table); nothing for an event out of scope."""
    value = str(filters.get("event", "")).strip()
    if not value.isdigit():
        return
    event = selectors.visible_events(user).filter(pk=int(value)).first()
    if event is None:
        return
    for d in selectors.event_dispatches(event).iterator(chunk_size=CHUNK):
        yield (
            event.title,
            d.responder.user.full_name,
            d.responder.unit.name,
            ROLE(d.role),
            _when(d.starts_at),
            _when(d.ends_at),
            DISPATCH_STATUS(d.status),
            _hours(d.hours) if d.hours is not None else "",
            d.people_served if d.people_served is not None else "",
            "；".join(f"{SERVICE(s.kind)} {s.people} 人次" for s in d.services.all()),
        )


def _rota(user, filters):
    try:
        day = dt.date.fromisoformat(str(filters.get("week", "")).strip())
    except ValueError:
        day = services.today()
    seen = set()
    for _, shifts in selectors.rota(user, selectors.week_start(day)):
        for shift in shifts:
            if shift.pk in seen:  # a shift over midnight shows on two days of the page, once here
                continue
            seen.add(shift.pk)
            yield (_when(shift.starts_at), _when(shift.ends_at), shift.responder.user.full_name, shift.unit.name)


register(
    Dataset(
        key="assistance_help_requests",
        label="个案求助",
        view_permission=Perm.ASSISTANCE_VIEW,
        columns=(
            "编号",
            "收到时间",
            "求助者",
            "求助渠道",
            "专业领域",
            "紧急程度",
            "专业委员会",
            "心理师",
            "分派期限",
            "状态",
            ESTIMATE_COLUMN,
        ),
        rows=_help_requests,
    )
)
register(
    Dataset(
        key="assistance_help_overdue",
        label="逾期未分派的求助",
        view_permission=Perm.ASSISTANCE_VIEW,
        columns=(
            "编号",
            "收到时间",
            "求助者",
            "专业领域",
            "紧急程度",
            "当前单位",
            "分派期限",
            "已逾期（天）",
            ESTIMATE_COLUMN,
        ),
        rows=_help_overdue,
    )
)
register(
    Dataset(
        key="assistance_hours",
        label="学时与服务时长",
        view_permission=Perm.ASSISTANCE_VIEW,
        columns=("日期", "会员", "登记单位", "类别", "活动", "时长（小时）", "来源", "状态"),
        rows=_hours_records,
    )
)
register(
    Dataset(
        key="assistance_hours_totals",
        label="会员学时统计",
        view_permission=Perm.ASSISTANCE_VIEW,
        columns=("年度", "会员", "继续教育", "督导", "合计（计入最低学时）", "达到最低学时", "志愿服务"),
        rows=_hours_totals,
    )
)
register(
    Dataset(
        key="assistance_volunteer_ranking",
        label="志愿服务时长排行",
        view_permission=Perm.ASSISTANCE_VIEW,
        columns=("年度", "名次", "会员", "志愿服务（小时）"),
        rows=_volunteer_ranking,
    )
)
register(
    Dataset(
        key="assistance_responders",
        label="应急援助人员名册",
        view_permission=Perm.ASSISTANCE_VIEW,
        columns=("姓名", "所属", "技能", "受训日期", "可调派星期", "可调派时段", "联系电话", "调派状态"),
        rows=_responders,
    )
)
register(
    Dataset(
        key="assistance_events",
        label="心理应激事件",
        view_permission=Perm.ASSISTANCE_VIEW,
        columns=("事件名称", "事件类型", "发生时间", "地点", "波及人数（约）", "严重程度", "负责单位", "状态"),
        rows=_events,
    )
)
register(
    Dataset(
        key="assistance_event_dispatches",
        label="应急调派",
        view_permission=Perm.ASSISTANCE_VIEW,
        columns=(
            "事件",
            "援助人员",
            "所属",
            "任务",
            "开始时间",
            "结束时间",
            "状态",
            "服务时长（小时）",
            "服务人次",
            "服务",
        ),
        rows=_dispatches,
    )
)
register(
    Dataset(
        key="assistance_rota",
        label="心理援助热线值班表",
        view_permission=Perm.ASSISTANCE_VIEW,
        columns=("开始时间", "结束时间", "值班人员", "排班单位"),
        rows=_rota,
    )
)
