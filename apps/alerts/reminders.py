"""Reminder providers (apps.notifications.reminders) of the three-colour warning.

Both are queries over stored deadlines. A reminder's dedupe key carries the day for overdue items,
so an overdue feedback or cycle is reminded once a day until it is done.
"""

import datetime as dt

from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.notifications.reminders import DueReminder

from .choices import TRACKED_STATES, Colour
from .models import Warning
from .services import local_date, users_holding


def feedback_due(now):
    """S-WARN-3: feedback due tomorrow or overdue: remind whoever set the colour, else the centre's managers."""
    day = local_date(now)
    tomorrow = day + dt.timedelta(days=1)
    with unscoped("reminder scan over every unit's warnings"):
        rows = list(
            Warning.objects.filter(state__in=TRACKED_STATES, feedback_sent_at__isnull=True, feedback_due__lte=tomorrow)
            .select_related("colour_set_by")
            .order_by("id")
        )
    managers = {}
    for warning in rows:
        people = [warning.colour_set_by] if warning.colour_set_by else []
        if not people:
            if warning.centre_id not in managers:
                managers[warning.centre_id] = users_holding(Perm.ALERT_MANAGE, [warning.centre_id])
            people = managers[warning.centre_id]
        stamp = day.isoformat() if warning.feedback_due < day else "due"
        for user in people:
            yield DueReminder(
                user,
                "warning_feedback_due",
                {"colour": Colour(warning.colour).label, "due_date": warning.feedback_due},
                f"/alerts/warnings/{warning.pk}/",
                f"{warning.pk}:{warning.feedback_due.isoformat()}:{stamp}:{user.pk}",
            )


def cycles_due(now):
    """S-WARN-4: the current cycle ends tomorrow or has ended: remind the assigned counsellor."""
    day = local_date(now)
    tomorrow = day + dt.timedelta(days=1)
    with unscoped("reminder scan over every unit's warnings"):
        rows = list(
            Warning.objects.filter(state__in=TRACKED_STATES, cycle_due__lte=tomorrow, counsellor__isnull=False)
            .select_related("counsellor")
            .order_by("id")
        )
    for warning in rows:
        stamp = day.isoformat() if warning.cycle_due < day else "due"
        yield DueReminder(
            warning.counsellor,
            "home_visit_due",
            {"due_date": warning.cycle_due},
            f"/alerts/warnings/{warning.pk}/",
            f"{warning.pk}:c{warning.cycle_number}:{stamp}",
        )
