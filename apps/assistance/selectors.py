"""Reads of the association's services, scoped to the user's subtree unless they are the user's own.

``hours_for_user``, ``tasks_for_user`` and ``hours_summary`` are the module's public face: the
membership module's self-service page and dashboard call them.
"""

import datetime as dt
from decimal import Decimal

from django.db.models import DecimalField, Exists, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.core.access import active_grant, scope
from apps.core.perms import Perm
from apps.core.scoping import unscoped

from .choices import (
    UNASSIGNED_STATUSES,
    Availability,
    DispatchStatus,
    HelpStatus,
    HoursKind,
    HoursStatus,
)
from .models import Dispatch, HelpRequest, HotlineShift, HoursRecord, Responder, ResponderSkill, StressEvent
from .services import DEFAULT_EDUCATION_MINIMUM, SHANGHAI, settings_for, today

ZERO = Decimal("0.0")
# The three totals a member sees: continuing education (training + case practice), supervision, volunteering.
HOUR_GROUPS = {
    "continuing_education": (HoursKind.TRAINING, HoursKind.CASE_PRACTICE),
    "supervision": (HoursKind.SUPERVISION,),
    "volunteer": (HoursKind.VOLUNTEER,),
}
EDUCATION_GROUPS = ("continuing_education", "supervision")
TASK_LIMIT = 20


def _sum(prefix: str = "", **conditions):
    return Coalesce(
        Sum(f"{prefix}hours", filter=Q(**{f"{prefix}{k}": v for k, v in conditions.items()})),
        Value(ZERO),
        output_field=DecimalField(max_digits=9, decimal_places=1),
    )


# --- the public face ---------------------------------------------------------------------------


def hours_for_user(user, year: int | None = None) -> dict:
    """H-SVC-2, H-SVC-4: the user's own confirmed hours, this year and all time, in one query.

    Returns ``{"year": 2026, "this_year": {...}, "all_time": {...}, "pending": n}`` where each
    totals dict has Decimal ``continuing_education`` (training + case practice), ``supervision``,
    ``volunteer`` and ``education_total`` (continuing education + supervision, the figure the
    yearly minimum applies to). Unconfirmed (self-reported) hours are not counted, only ``pending``.
    """
    year = year or today().year
    aggregates = {}
    for group, kinds in HOUR_GROUPS.items():
        aggregates[f"year_{group}"] = _sum(status=HoursStatus.CONFIRMED, kind__in=kinds, date__year=year)
        aggregates[f"all_{group}"] = _sum(status=HoursStatus.CONFIRMED, kind__in=kinds)
    rows = HoursRecord.objects.filter(member=user).aggregate(
        **aggregates, pending=Coalesce(Sum(Value(1), filter=Q(status=HoursStatus.PENDING)), Value(0))
    )

    def totals(prefix):
        values = {group: rows[f"{prefix}_{group}"] for group in HOUR_GROUPS}
        values["education_total"] = sum((values[g] for g in EDUCATION_GROUPS), ZERO)
        return values

    return {"year": year, "this_year": totals("year"), "all_time": totals("all"), "pending": rows["pending"]}


def tasks_for_user(user, now: dt.datetime | None = None) -> dict:
    """H-SVC-1, H-SVC-3: what the user has to do: open help requests assigned to them (awaiting
    acceptance or in progress), and their upcoming or current hotline shifts and crisis dispatches.

    Returns ``{"help_requests": [...], "shifts": [...], "dispatches": [...]}``, each at most 20 rows,
    soonest first. Help requests carry no identity here (only number, specialty, urgency, status).
    """
    now = now or timezone.now()
    with unscoped("a user's own assigned help requests"):
        help_requests = list(
            HelpRequest.objects.filter(assignee=user, status__in=(HelpStatus.ASSIGNED, HelpStatus.ACCEPTED))
            .select_related("committee")
            .only("id", "specialty", "urgency", "status", "assigned_at", "received_at", "committee__name")
            .order_by("assigned_at", "id")[:TASK_LIMIT]
        )
    shifts = list(
        HotlineShift.objects.filter(responder__user=user, ends_at__gte=now)
        .select_related("unit")
        .order_by("starts_at", "id")[:TASK_LIMIT]
    )
    dispatches = list(
        Dispatch.objects.filter(responder__user=user, status=DispatchStatus.DISPATCHED, ends_at__gte=now)
        .select_related("event")
        .order_by("starts_at", "id")[:TASK_LIMIT]
    )
    return {"help_requests": help_requests, "shifts": shifts, "dispatches": dispatches}


def hours_summary(association_unit, year: int | None = None) -> dict:
    """H-SVC-2, H-SVC-4: confirmed hours of the association's subtree this year, by kind, in one query.

    Returns ``{"year": 2026, "training": D, "case_practice": D, "supervision": D, "volunteer": D,
    "continuing_education": D, "education_total": D, "members": n}`` (D a Decimal; ``members`` is
    how many people have confirmed hours this year).
    """
    from django.db.models import Count

    year = year or today().year
    rows = HoursRecord.objects.filter(
        unit_path__startswith=association_unit.path, status=HoursStatus.CONFIRMED, date__year=year
    ).aggregate(
        **{kind.value: _sum(kind=kind) for kind in HoursKind},
        members=Count("member", distinct=True),
    )
    result = {"year": year, **{kind.value: rows[kind.value] for kind in HoursKind}, "members": rows["members"]}
    result["continuing_education"] = result[HoursKind.TRAINING] + result[HoursKind.CASE_PRACTICE]
    result["education_total"] = result["continuing_education"] + result[HoursKind.SUPERVISION]
    return result


# --- help requests -----------------------------------------------------------------------------


def visible_help(user, perm: str = Perm.ASSISTANCE_VIEW):
    return scope(HelpRequest.objects.select_related("unit", "committee", "assignee"), user, perm)


def help_requests(user, status: str = ""):
    rows = visible_help(user)
    if status == "open":
        rows = rows.exclude(status=HelpStatus.CLOSED)
    elif status == "overdue":
        rows = rows.filter(status__in=UNASSIGNED_STATUSES, assign_due__lt=today())
    elif status in HelpStatus.values:
        rows = rows.filter(status=status)
    return rows


def overdue_help(user, on: dt.date | None = None):
    """H-SVC-1: requests not assigned within the time limit, in the user's subtree, oldest deadline first."""
    on = on or today()
    return visible_help(user).filter(status__in=UNASSIGNED_STATUSES, assign_due__lt=on).order_by("assign_due", "id")


def my_help(user):
    """Help requests ever assigned to the user that are still theirs (the assignee's own list)."""
    with unscoped("a user's own assigned help requests"):
        rows = HelpRequest.objects.filter(assignee=user).select_related("committee")
    return rows.mark_scoped()


def committee_counsellors(committee):
    """Active users assigned at the committee itself: the counsellors a request may go to."""
    from apps.accounts.models import User

    return (
        User.objects.filter(is_active=True, assignments__unit=committee, assignments__unit__is_active=True)
        .distinct()
        .order_by("full_name", "id")
    )


# --- hours -------------------------------------------------------------------------------------


def visible_hours(user, perm: str = Perm.ASSISTANCE_VIEW):
    return scope(HoursRecord.objects.select_related("member", "unit", "dispatch"), user, perm)


def hours_records(user, *, kind: str = "", status: str = "", year: int | None = None):
    rows = visible_hours(user)
    if kind in HoursKind.values:
        rows = rows.filter(kind=kind)
    if status in HoursStatus.values:
        rows = rows.filter(status=status)
    if year:
        rows = rows.filter(date__year=year)
    return rows


def scoped_members(user, perm: str = Perm.ASSISTANCE_VIEW):
    """Active users holding an assignment inside the user's subtree (the association's members there)."""
    from apps.accounts.models import Assignment, User

    grant = active_grant(user)
    if grant is None or perm not in grant.permissions:
        return User.objects.none()
    ids = Assignment.objects.filter(unit__path__startswith=grant.unit_path, unit__is_active=True).values("user_id")
    return User.objects.filter(is_active=True, pk__in=Subquery(ids))


def member_totals(user, year: int):
    """H-SVC-2: each member in scope with this year's confirmed totals (annotations named as in
    ``HOUR_GROUPS`` plus ``education_total``); hours recorded outside the user's subtree are left out."""
    grant = active_grant(user)
    rows = scoped_members(user)
    if grant is None:
        return rows
    base = {
        "assistance_hours__status": HoursStatus.CONFIRMED,
        "assistance_hours__date__year": year,
        "assistance_hours__unit_path__startswith": grant.unit_path,
    }
    sums = {
        group: Coalesce(
            Sum("assistance_hours__hours", filter=Q(**base, assistance_hours__kind__in=kinds)),
            Value(ZERO),
            output_field=DecimalField(max_digits=9, decimal_places=1),
        )
        for group, kinds in HOUR_GROUPS.items()
    }
    education_kinds = [k for g in EDUCATION_GROUPS for k in HOUR_GROUPS[g]]
    sums["education_total"] = Coalesce(
        Sum("assistance_hours__hours", filter=Q(**base, assistance_hours__kind__in=education_kinds)),
        Value(ZERO),
        output_field=DecimalField(max_digits=9, decimal_places=1),
    )
    return rows.annotate(**sums)


def education_minimum_for(user) -> Decimal:
    """The yearly minimum that applies at the user's active unit (inherited from above when unset)."""
    from apps.orgs.models import OrgUnit

    grant = active_grant(user)
    if grant is None:
        return DEFAULT_EDUCATION_MINIMUM
    return settings_for(OrgUnit.objects.get(pk=grant.unit_id)).education_minimum


def below_minimum(user, year: int, minimum: Decimal):
    """H-SVC-2: members in scope whose continuing education + supervision this year is under ``minimum``."""
    return member_totals(user, year).filter(education_total__lt=minimum)


def volunteer_ranking(user, year: int, limit: int = 100) -> list:
    """H-SVC-4: members in scope by confirmed volunteer hours this year, most first (for recognition)."""
    return list(member_totals(user, year).filter(volunteer__gt=0).order_by("-volunteer", "full_name", "id")[:limit])


# --- rapid crisis response ---------------------------------------------------------------------


def visible_responders(user, perm: str = Perm.ASSISTANCE_VIEW):
    return scope(Responder.objects.select_related("user", "unit").prefetch_related("skills"), user, perm)


def visible_events(user, perm: str = Perm.ASSISTANCE_VIEW):
    return scope(StressEvent.objects.select_related("unit"), user, perm)


def event_dispatch_notices(event) -> list:
    """The dispatches of ``event`` for its page, each with ``notices``: what really went out per channel."""
    from . import notices

    rows = list(
        event_dispatches(event)
        .select_related("notification", "sms_notification")
        .prefetch_related("notification__deliveries", "sms_notification__deliveries")
    )
    for row in rows:
        row.notices = notices.channel_states(row)
    return rows


def event_dispatches(event):
    return (
        Dispatch.objects.filter(event=event)
        .select_related("responder__user", "responder__unit")
        .prefetch_related("services")
        .order_by("starts_at", "id")
    )


def mobilisation_candidates(user, event, starts_at, ends_at, *, committee=None, skill: str = ""):
    """H-SVC-3: responders the user may dispatch to ``event`` for the window, as one query.

    Kept: responders in the event's association and the user's scope, marked available, whose
    weekly period covers the start (Asia/Shanghai), optionally of one committee and with one skill.
    Left out: anyone already dispatched or on hotline duty at an overlapping time, and anyone whose
    membership lapsed (revoked) or whose account is closed.
    """
    local = starts_at.astimezone(SHANGHAI)
    rows = _roster_for_event(user, event, starts_at, ends_at, committee=committee, skill=skill).filter(
        available_weekdays__contains=str(local.isoweekday()),
        available_from__lte=local.time(),
        available_to__gte=local.time(),
    )
    return rows.order_by("unit__path", "user__full_name", "id")


def _roster_for_event(user, event, starts_at, ends_at, *, committee=None, skill: str = ""):
    """Responders of the event's association in the user's scope, available, active, not lapsed, not busy."""
    from apps.membership.selectors import lapsed_member_users, root_path_of

    rows = visible_responders(user, Perm.CRISIS_MANAGE).filter(
        unit_path__startswith=event.unit_path, status=Availability.AVAILABLE, user__is_active=True
    )
    rows = rows.exclude(user_id__in=lapsed_member_users(root_path_of(event.unit_path)))
    if committee is not None:
        rows = rows.filter(unit=committee)
    if skill:
        rows = rows.filter(Exists(ResponderSkill.objects.filter(responder=OuterRef("pk"), skill=skill)))
    dispatched = Dispatch.objects.filter(
        responder=OuterRef("pk"), status=DispatchStatus.DISPATCHED, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    on_duty = HotlineShift.objects.filter(responder=OuterRef("pk"), starts_at__lt=ends_at, ends_at__gt=starts_at)
    return rows.exclude(Exists(dispatched)).exclude(Exists(on_duty))


def next_period_start(responder, moment: dt.datetime) -> dt.datetime | None:
    """The first moment at or after ``moment`` when ``responder``'s weekly period begins (Shanghai time)."""
    local = moment.astimezone(SHANGHAI)
    for offset in range(8):
        day = local.date() + dt.timedelta(days=offset)
        if str(day.isoweekday()) not in responder.available_weekdays:
            continue
        begins = dt.datetime.combine(day, responder.available_from, tzinfo=SHANGHAI)
        if begins >= local:
            return begins
    return None


NEAREST_LIMIT = 10


def nearest_responders(user, event, starts_at, ends_at, *, committee=None, skill: str = "", limit=NEAREST_LIMIT):
    """H-SVC-3: when nobody's weekly period covers the window, the qualified people nearest to it.

    The same roster as ``mobilisation_candidates`` (association, scope, committee, skill, available,
    not busy) without the weekly-period condition, leaving out those whose period does cover the
    start. Each row carries ``next_available`` (when their own period next begins) and
    ``next_shift`` (their next hotline shift starting at or after the start); the list is sorted by
    whichever comes first. These people can be dispatched with a reason (``do_dispatch``).
    """
    from .services import available_at

    next_shift = (
        HotlineShift.objects.filter(responder=OuterRef("pk"), starts_at__gte=starts_at)
        .order_by("starts_at")
        .values("starts_at")[:1]
    )
    rows = list(
        _roster_for_event(user, event, starts_at, ends_at, committee=committee, skill=skill)
        .annotate(next_shift=Subquery(next_shift))
        .order_by("unit__path", "user__full_name", "id")
    )
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    nearest = []
    for row in rows:
        if available_at(row, starts_at):
            continue
        row.next_available = next_period_start(row, starts_at)
        row.nearest_at = min(row.next_available or far, row.next_shift or far)
        nearest.append(row)
    nearest.sort(key=lambda r: (r.nearest_at, r.next_shift or far, r.user.full_name, r.pk))
    return nearest[:limit]


def dispatch_choices(user, event, starts_at, ends_at, *, committee=None, skill: str = ""):
    """H-SVC-3: (candidates, nearest, offered, outside notes) for the mobilise page.

    ``offered`` is who may be ticked: the candidates first, then the nearest people outside their
    own period (``outside`` maps their id to a note saying when they are next available).
    """
    candidates = mobilisation_candidates(user, event, starts_at, ends_at, committee=committee, skill=skill)
    nearest = nearest_responders(user, event, starts_at, ends_at, committee=committee, skill=skill)
    outside = {r.pk: _outside_note(r) for r in nearest}
    ids = [*candidates.values_list("pk", flat=True), *outside]
    offered = _ordered(visible_responders(user, Perm.CRISIS_MANAGE).filter(pk__in=ids), ids)
    return candidates, nearest, offered, outside


def _ordered(rows, ids):
    """``rows`` ordered as ``ids`` (a CASE expression keeps it a queryset, as a form field needs)."""
    from django.db.models import Case, IntegerField, When

    if not ids:
        return rows.none()
    return rows.order_by(Case(*[When(pk=pk, then=Value(i)) for i, pk in enumerate(ids)], output_field=IntegerField()))


def _outside_note(row) -> str:
    when = row.next_available.astimezone(SHANGHAI) if row.next_available else None
    return "越时段" + (f"，最早 {when:%m-%d %H:%M}" if when else "")


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def rota(user, monday: dt.date) -> list[tuple[dt.date, list]]:
    """The hotline rota of one week (Monday–Sunday, Asia/Shanghai) in the user's scope, day by day."""
    start = dt.datetime.combine(monday, dt.time.min, tzinfo=SHANGHAI)
    end = start + dt.timedelta(days=7)
    shifts = list(
        scope(HotlineShift.objects.select_related("responder__user", "unit"), user, Perm.ASSISTANCE_VIEW)
        .filter(starts_at__lt=end, ends_at__gt=start)
        .order_by("starts_at", "id")
    )
    days = []
    for offset in range(7):
        day = monday + dt.timedelta(days=offset)
        day_start = dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)
        day_end = day_start + dt.timedelta(days=1)
        days.append((day, [s for s in shifts if s.starts_at < day_end and s.ends_at > day_start]))
    return days
