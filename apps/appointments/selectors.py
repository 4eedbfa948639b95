"""Reads of appointments, rooms and duty hours, always scoped."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.core.access import scope
from apps.core.pagination import KeysetPage
from apps.core.perms import Perm
from apps.orgs.models import OrgUnit

from .choices import Status
from .models import Appointment, Availability, OpeningHours, Room


def visible_appointments(user, perm: str = Perm.CLIENT_VIEW):
    return Appointment.objects.visible_to(user, perm).select_related("unit", "counsellor", "room")


def day_bounds(day) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, start + timedelta(days=1)


def day_appointments(user, day, mine: bool = False):
    """The appointments of ``day`` in the user's scope (or only the user's own), in time order."""
    start, end = day_bounds(day)
    rows = visible_appointments(user).filter(starts_at__gte=start, starts_at__lt=end)
    if mine:
        rows = rows.filter(counsellor=user)
    return rows.order_by("starts_at", "id")


def parse_day(value) -> date:
    """A ``YYYY-MM-DD`` parameter as a date; anything else (missing, junk) means today."""
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return timezone.localdate()


# The manage list's day filters (issue 13 item 1): upcoming is the default, from today on.
WHEN_CHOICES = [
    ("upcoming", "今天及以后"),
    ("today", "今天"),
    ("tomorrow", "明天"),
    ("week", "本周"),
    ("all", "全部日期"),
]


@dataclass(frozen=True)
class ListFilters:
    """The appointment list's filters, validated: what the page echoes and what the query uses."""

    status: str
    date: str
    day: date | None
    reference: str
    when: str = "upcoming"
    start: datetime | None = None  # the span of starts the list shows, [start, end)
    end: datetime | None = None


def list_filters(params, today: date | None = None) -> ListFilters:
    """Read ``status``, ``when``, ``date`` and ``reference`` as the appointment list does: an unknown
    status is ignored, a junk date means today, a date wins over ``when``, an unknown ``when`` is
    "upcoming"; a reference looks through every date; the reference is cut to 12 characters."""
    today = today or timezone.localdate()
    status = params.get("status", "")
    status = status if status in Status.values else ""
    day_text = params.get("date", "")
    reference = params.get("reference", "").strip()[:12]
    when = params.get("when", "")
    when = when if when in dict(WHEN_CHOICES) else ("all" if reference else "upcoming")
    day = parse_day(day_text) if day_text else None
    start = end = None
    if day is not None:
        when = "date"
        start, end = day_bounds(day)
    elif when == "today":
        start, end = day_bounds(today)
    elif when == "tomorrow":
        start, end = day_bounds(today + timedelta(days=1))
    elif when == "week":
        monday = week_start(today)
        start, end = day_bounds(monday)[0], day_bounds(monday + timedelta(days=6))[1]
    elif when == "upcoming":
        start = day_bounds(today)[0]
    return ListFilters(status=status, date=day_text, day=day, reference=reference, when=when, start=start, end=end)


def list_appointments(user, params):
    """The appointment list's rows (every page) for its GET parameters."""
    filters = list_filters(params)
    rows = search_appointments(user, filters.status, None, filters.reference)
    if filters.start is not None:
        rows = rows.filter(starts_at__gte=filters.start)
    if filters.end is not None:
        rows = rows.filter(starts_at__lt=filters.end)
    return rows


def _start_cursor(value) -> tuple[datetime, int] | None:
    """``<epoch seconds>_<id>`` → (aware start, id); junk → None."""
    try:
        seconds, pk = (int(part) for part in str(value).split("_"))
        return datetime.fromtimestamp(seconds, tz=UTC), pk
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _cursor_of(row) -> str:
    return f"{int(row.starts_at.timestamp())}_{row.pk}"


def start_time_page(queryset, params, per_page: int | None = None) -> KeysetPage:
    """One page of ``queryset`` in start-time order (ties by id), driven by ``after`` / ``before``:
    keyset pagination like ``apps.core.pagination.keyset_page`` (no COUNT(*), no OFFSET)."""
    per_page = per_page or settings.PAGE_SIZE
    after, before = _start_cursor(params.get("after")), _start_cursor(params.get("before"))
    if before:
        at, pk = before
        rows = list(
            queryset.filter(Q(starts_at__lt=at) | Q(starts_at=at, pk__lt=pk)).order_by("-starts_at", "-pk")[
                : per_page + 1
            ]
        )
        has_previous, items, has_next = len(rows) > per_page, list(reversed(rows[:per_page])), True
    else:
        if after:
            at, pk = after
            queryset = queryset.filter(Q(starts_at__gt=at) | Q(starts_at=at, pk__gt=pk))
        rows = list(queryset.order_by("starts_at", "pk")[: per_page + 1])
        has_next, items, has_previous = len(rows) > per_page, rows[:per_page], after is not None
    query = params.copy()
    query.pop("after", None)
    query.pop("before", None)
    return KeysetPage(
        items=items,
        has_next=has_next and bool(items),
        has_previous=has_previous and bool(items),
        next_after=_cursor_of(items[-1]) if items else None,
        previous_before=_cursor_of(items[0]) if items else None,
        querystring=query.urlencode(),
    )


def day_filters(params) -> tuple[date, bool]:
    """The day view's ``date`` (junk means today) and ``who`` (only "all" widens it beyond "mine")."""
    return parse_day(params.get("date")), params.get("who", "me") != "all"


def search_appointments(user, status: str = "", day=None, reference: str = ""):
    rows = visible_appointments(user)
    if status:
        rows = rows.filter(status=status)
    if day:
        start, end = day_bounds(day)
        rows = rows.filter(starts_at__gte=start, starts_at__lt=end)
    if reference:
        rows = rows.filter(reference=reference.strip().upper())
    return rows


# --- the week view (issue 13 item 1): Monday–Sunday × hours for one counsellor and one room -------
FIRST_HOUR, LAST_HOUR = 8, 20  # the grid's usual rows; a booking outside them widens the grid


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_appointments(user, monday: date, *, counsellor=None, room=None) -> list:
    """The week's appointments (cancelled ones left out) of one counsellor or one room, as the user
    may see them; one query."""
    if counsellor is None and room is None:
        return []
    start, end = day_bounds(monday)[0], day_bounds(monday + timedelta(days=6))[1]
    rows = visible_appointments(user).filter(starts_at__gte=start, starts_at__lt=end).exclude(status=Status.CANCELLED)
    rows = rows.filter(counsellor=counsellor) if counsellor is not None else rows.filter(room=room)
    return list(rows.order_by("starts_at", "id"))


def week_grid(rows, monday: date) -> list[tuple[int, list[list]]]:
    """``[(hour, [appointments starting in that hour on Monday, …, on Sunday]), …]`` for the grid."""
    cells: dict[tuple[int, int], list] = {}
    hours = set(range(FIRST_HOUR, LAST_HOUR + 1))
    for row in rows:
        local = timezone.localtime(row.starts_at)
        cells.setdefault(((local.date() - monday).days, local.hour), []).append(row)
        hours.add(local.hour)
    return [(hour, [cells.get((day, hour), []) for day in range(7)]) for hour in range(min(hours), max(hours) + 1)]


def visible_rooms(user, perm: str = Perm.CLIENT_VIEW):
    return scope(Room.objects.select_related("unit"), user, perm)


def visible_availability(user, perm: str = Perm.CLIENT_VIEW):
    return scope(Availability.objects.select_related("unit", "counsellor"), user, perm)


def manageable_units(user):
    return scope(OrgUnit.objects.filter(is_active=True), user, Perm.APPOINTMENT_MANAGE).order_by("path")


def register_matches(user, appointment, limit: int = 5) -> list:
    """Register clients the user may see whose phone is the booking's contact phone (exact, blind index)."""
    from apps.clients.selectors import search_clients

    if appointment.client_id or not appointment.contact_phone:
        return []
    return list(search_clients(user, appointment.contact_phone).order_by("id")[:limit])


def visible_opening_hours(user, perm: str = Perm.CLIENT_VIEW):
    return scope(OpeningHours.objects.select_related("unit"), user, perm)


def unit_managed_units(user):
    """Units whose opening hours and contact the user may set (unit managers: ORG_MANAGE)."""
    return scope(OrgUnit.objects.filter(is_active=True), user, Perm.ORG_MANAGE).order_by("path")
