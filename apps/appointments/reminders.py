"""X-7: remind a counsellor the day before each of their appointments."""

from datetime import timedelta

from django.utils import timezone

from apps.core.scoping import unscoped
from apps.notifications.reminders import DueReminder

from .choices import Status
from .models import Appointment
from .selectors import day_bounds


def appointments_tomorrow(now):
    """Confirmed appointments starting tomorrow (local date), one reminder each to the counsellor.

    The dedupe key carries the start time, so an appointment moved to another day is reminded again.
    """
    start, end = day_bounds(timezone.localdate(now) + timedelta(days=1))
    with unscoped("reminder scan over all units; yields only counsellor, time and place"):
        rows = list(
            Appointment.objects.filter(
                status__in=(Status.CONFIRMED, Status.CHANGED),
                counsellor__isnull=False,
                counsellor__is_active=True,
                starts_at__gte=start,
                starts_at__lt=end,
            ).select_related("counsellor", "unit", "room")
        )
    for a in rows:
        place = a.unit.name + (f" {a.room.name}" if a.room_id else "")
        yield DueReminder(
            a.counsellor,
            "appointment_reminder",
            {"start": timezone.localtime(a.starts_at), "place": place},
            f"/appointments/{a.pk}/",
            f"{a.pk}:{a.starts_at:%Y%m%d%H%M}",
            ("inapp", "sms"),
        )
