"""Appointment lists as exportable datasets (X-3): the appointment list, the day view, rooms and
duty hours — each with the page's own selector, filters and columns.

Contact names are shown as the lists show them; phones are masked; basic information, needs and
change/cancel reasons (encrypted free text) are never read.
"""

from django.utils import timezone

from apps.core.perms import Perm
from apps.exports.registry import Dataset, register
from apps.identity.masks import mask_mobile

from . import selectors
from .choices import Channel, RoomKind, Status, Weekday

CHUNK = 2000
CHANNELS = dict(Channel.choices)
STATUSES = dict(Status.choices)
KINDS = dict(RoomKind.choices)
WEEKDAYS = dict(Weekday.choices)
APPOINTMENT_FIELDS = (
    "reference",
    "starts_at",
    "ends_at",
    "contact_name",
    "contact_phone",
    "channel",
    "counsellor__full_name",
    "room__name",
    "unit__name",
    "status",
)


def _local(moment, fmt: str) -> str:
    return timezone.localtime(moment).strftime(fmt) if moment else ""


def _appointments(rows):
    return rows.values_list(*APPOINTMENT_FIELDS).iterator(chunk_size=CHUNK)


def appointment_rows(user, filters):
    """The appointment list's rows for its ``status``, ``date`` and ``reference`` filters, every page."""
    rows = selectors.list_appointments(user, filters or {}).order_by("starts_at", "pk")  # as the list
    for reference, starts, _, name, phone, channel, counsellor, _, unit, status in _appointments(rows):
        yield (
            reference,
            _local(starts, "%Y-%m-%d %H:%M"),
            name,
            mask_mobile(phone) if phone else "",
            CHANNELS.get(channel, channel),
            counsellor or "待安排",
            unit,
            STATUSES.get(status, status),
        )


def day_rows(user, filters):
    """The day view's rows: ``date`` (default today) and ``who`` ("all", otherwise only mine)."""
    day, mine = selectors.day_filters(filters or {})
    rows = selectors.day_appointments(user, day, mine=mine)
    for reference, starts, ends, name, phone, channel, counsellor, room, unit, status in _appointments(rows):
        yield (
            _local(starts, "%Y-%m-%d"),
            f"{_local(starts, '%H:%M')}–{_local(ends, '%H:%M')}",
            name,
            mask_mobile(phone) if phone else "",
            CHANNELS.get(channel, channel),
            unit,
            room or "",
            counsellor or "待安排",
            reference,
            STATUSES.get(status, status),
        )


def room_rows(user, filters):
    """Every room of the rooms page (which takes no filters), in the page's order."""
    rows = selectors.visible_rooms(user).order_by("unit_path", "name")
    for unit, name, kind, capacity, active in rows.values_list(
        "unit__name", "name", "kind", "capacity", "active"
    ).iterator(chunk_size=CHUNK):
        yield (unit, name, KINDS.get(kind, kind), capacity, "启用" if active else "停用")


def hour_rows(user, filters):
    """Every weekly duty slot of the rooms page (no filters), in the page's order."""
    rows = selectors.visible_availability(user).order_by("unit_path", "weekday", "start")
    for unit, counsellor, weekday, start, end in rows.values_list(
        "unit__name", "counsellor__full_name", "weekday", "start", "end"
    ).iterator(chunk_size=CHUNK):
        yield (unit, counsellor, WEEKDAYS.get(weekday, weekday), f"{start:%H:%M}–{end:%H:%M}")


APPOINTMENTS = register(
    Dataset(
        key="appointments",
        label="预约名单",
        view_permission=Perm.CLIENT_VIEW,
        columns=("预约号", "时间", "联系人", "电话（已脱敏）", "方式", "咨询师", "单位", "状态"),
        rows=appointment_rows,
    )
)
APPOINTMENTS_DAY = register(
    Dataset(
        key="appointments_day",
        label="当日预约",
        view_permission=Perm.CLIENT_VIEW,
        columns=("日期", "时间", "联系人", "电话（已脱敏）", "方式", "单位", "咨询室", "咨询师", "预约号", "状态"),
        rows=day_rows,
    )
)
ROOMS = register(
    Dataset(
        key="appointment_rooms",
        label="咨询室",
        view_permission=Perm.CLIENT_VIEW,
        columns=("单位", "名称", "类型", "容纳人数", "状态"),
        rows=room_rows,
    )
)
HOURS = register(
    Dataset(
        key="duty_hours",
        label="咨询师值班时间",
        view_permission=Perm.CLIENT_VIEW,
        columns=("单位", "咨询师", "星期", "时间"),
        rows=hour_rows,
    )
)
