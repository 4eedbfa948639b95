"""Reads of appointments, rooms and duty hours, always scoped."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from apps.core.access import scope
from apps.core.perms import Perm
from apps.orgs.models import OrgUnit

from .choices import Status
from .models import Appointment, Availability, Room


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


@dataclass(frozen=True)
class ListFilters:
    """The appointment list's filters, validated: what the page echoes and what the query uses."""

    status: str
    date: str
    day: date | None
    reference: str


def list_filters(params) -> ListFilters:
    """Read ``status``, ``date`` and ``reference`` as the appointment list does: an unknown status is
    ignored, a junk date means today, the reference is cut to 12 characters."""
    status = params.get("status", "")
    status = status if status in Status.values else ""
    day = params.get("date", "")
    reference = params.get("reference", "").strip()[:12]
    return ListFilters(status=status, date=day, day=parse_day(day) if day else None, reference=reference)


def list_appointments(user, params):
    """The appointment list's rows (every page) for its GET parameters."""
    filters = list_filters(params)
    return search_appointments(user, filters.status, filters.day, filters.reference)


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
