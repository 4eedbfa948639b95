"""Reminder providers (apps.notifications.reminders) of the association's services.

* help requests not assigned by their deadline → the committee heads (or, before routing, whoever may
  assign at the receiving unit), once a day;
* help requests assigned but not accepted for a working day → the counsellor, once a day;
* hotline shifts starting tomorrow → the responder on duty, once.
"""

import datetime as dt

from apps.core.scoping import unscoped
from apps.notifications.reminders import DueReminder

from .choices import UNASSIGNED_STATUSES, HelpStatus
from .models import HelpRequest, HotlineShift
from .services import SHANGHAI, committee_heads, shanghai_date


def _assigners(unit, cache: dict) -> list:
    """Users at ``unit`` (or the nearest unit above it with any) whose role may assign help requests."""
    if unit.pk not in cache:
        people = committee_heads(unit)
        if not people:
            from apps.orgs.models import OrgUnit

            for ancestor in OrgUnit.objects.filter(pk__in=unit.ancestor_ids).order_by("-depth"):
                people = committee_heads(ancestor)
                if people:
                    break
        cache[unit.pk] = people
    return cache[unit.pk]


def help_requests_due(now):
    """H-SVC-1: overdue unassigned requests to the assigners; unaccepted assignments to the counsellor."""
    day = shanghai_date(now)
    cache = {}
    with unscoped("reminder scan over every association's open help requests"):
        overdue = list(
            HelpRequest.objects.filter(status__in=UNASSIGNED_STATUSES, assign_due__lt=day)
            .select_related("unit")
            .order_by("id")
        )
        waiting = list(
            HelpRequest.objects.filter(status=HelpStatus.ASSIGNED, assigned_at__lt=now - dt.timedelta(days=1))
            .select_related("assignee")
            .order_by("id")
        )
    for row in overdue:
        for user in _assigners(row.unit, cache):
            yield DueReminder(
                user,
                "generic",
                {
                    "title": "个案求助逾期未分派",
                    "body": f"个案求助 #{row.pk} 的分派期限是 {row.assign_due:%Y-%m-%d}，至今尚未分派心理师。",
                },
                f"/assistance/help/{row.pk}/",
                f"help:{row.pk}:overdue:{day.isoformat()}:{user.pk}",
            )
    for row in waiting:
        if row.assignee is not None and row.assignee.is_active:
            yield DueReminder(
                row.assignee,
                "generic",
                {"title": "有分派给您的个案求助待接案", "body": f"个案求助 #{row.pk} 等待您确认接案或婉拒。"},
                f"/assistance/my/help/{row.pk}/",
                f"help:{row.pk}:accept:{day.isoformat()}:{row.assignee_id}",
            )


def shifts_tomorrow(now):
    """H-SVC-3: remind each responder of their hotline shifts starting tomorrow (Asia/Shanghai)."""
    tomorrow = shanghai_date(now) + dt.timedelta(days=1)
    start = dt.datetime.combine(tomorrow, dt.time.min, tzinfo=SHANGHAI)
    rows = (
        HotlineShift.objects.filter(starts_at__gte=start, starts_at__lt=start + dt.timedelta(days=1))
        .select_related("responder__user")
        .order_by("starts_at", "id")
    )
    for shift in rows:
        user = shift.responder.user
        if not user.is_active:
            continue
        local = shift.starts_at.astimezone(SHANGHAI)
        yield DueReminder(
            user,
            "generic",
            {"title": "明天有热线值班", "body": f"您明天 {local:%H:%M} 起在心理援助热线值班，请准时到岗。"},
            "/assistance/my/",
            f"shift:{shift.pk}:{user.pk}",
        )
