"""Reads of appointments, rooms and duty hours, always scoped."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from apps.core.access import scope
from apps.core.perms import Perm
from apps.orgs.models import OrgUnit

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
