"""Reminder providers (apps.notifications.reminders): replies due and home visits due.

Each yields what is due now; the 15-minute scan sends each reminder once per dedupe key, and the
keys carry the day, so an overdue item is reminded once a day until it is done.
"""

import datetime as dt

from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.notifications.reminders import DueReminder

from .choices import VisitStatus
from .models import HomeVisit, RemoteInquiry
from .services import shanghai_date


def unit_staff(unit, cache: dict) -> list:
    """Active users who may write client records at ``unit`` itself, or — when it has none — at the
    nearest unit above it."""
    from apps.accounts.models import Assignment

    if unit.pk in cache:
        return cache[unit.pk]
    people = []
    for unit_id in [unit.pk, *reversed(unit.ancestor_ids)]:
        rows = Assignment.objects.filter(unit_id=unit_id, user__is_active=True).select_related("user", "role")
        people = sorted({a.user for a in rows if Perm.CLIENT_MANAGE in a.role.permissions}, key=lambda user: user.pk)
        if people:
            break
    cache[unit.pk] = people
    return people


def inquiry_replies_due(now):
    """S-FLOW-4: remind the unit's staff of replies due tomorrow, and daily of overdue ones."""
    day = shanghai_date(now)
    tomorrow = day + dt.timedelta(days=1)
    cache = {}
    with unscoped("reminder scan over every unit's open inquiries"):
        rows = list(
            RemoteInquiry.objects.filter(answered_at__isnull=True, reply_due__isnull=False, reply_due__lte=tomorrow)
            .exclude(reply_due=day)
            .select_related("unit")
            .order_by("id")
        )
    for inquiry in rows:
        url = f"/outreach/inquiries/{inquiry.pk}/"
        for user in unit_staff(inquiry.unit, cache):
            if inquiry.reply_due == tomorrow:
                yield DueReminder(
                    user,
                    "generic",
                    {
                        "title": "远程咨询明天到期",
                        "body": f"远程咨询 #{inquiry.pk} 应于 {inquiry.reply_due:%Y年%m月%d日} 前回复，请及时处理。",
                    },
                    url,
                    f"inquiry:{inquiry.pk}:due:{day.isoformat()}:{user.pk}",
                )
            else:
                yield DueReminder(
                    user,
                    "inquiry_reply_overdue",
                    {"due_date": inquiry.reply_due, "received_at": inquiry.received_at},
                    url,
                    f"inquiry:{inquiry.pk}:overdue:{day.isoformat()}:{user.pk}",
                )


def visits_due(now):
    """S-FLOW-6: remind the named staff (or the unit's staff) of visits due tomorrow, and daily of overdue ones."""
    day = shanghai_date(now)
    tomorrow = day + dt.timedelta(days=1)
    cache = {}
    with unscoped("reminder scan over every unit's planned visits"):
        rows = list(
            HomeVisit.objects.filter(status=VisitStatus.PLANNED, planned_for__lte=tomorrow)
            .exclude(planned_for=day)
            .select_related("unit")
            .prefetch_related("staff")
            .order_by("id")
        )
    for visit in rows:
        people = [u for u in visit.staff.all() if u.is_active] or unit_staff(visit.unit, cache)
        state = "due" if visit.planned_for == tomorrow else "overdue"
        for user in people:
            yield DueReminder(
                user,
                "home_visit_due",
                {"due_date": visit.planned_for},
                f"/outreach/visits/{visit.pk}/",
                f"visit:{visit.pk}:{state}:{day.isoformat()}:{user.pk}",
            )
