"""Reads of meetings, invitations and duty reports, always scoped to the acting user.

``meetings_for_user`` is the exception by design: it returns only the user's *own* invitations
and reports (self-service), so it needs no permission, only the user.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.utils import timezone

from apps.core.access import scope
from apps.core.perms import Perm

from .choices import Attendance, MeetingStatus
from .models import DutyReport, Invitation, Meeting

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> dt.date:
    """Today in Asia/Shanghai: deadlines follow the Chinese calendar day."""
    return timezone.now().astimezone(SHANGHAI).date()


def meetings_for_user(user) -> dict:
    """H-ORG-5: what ``user`` has to act on — upcoming meetings and work reports still owed.

    ``upcoming``: the user's invitations to scheduled meetings that have not started yet, soonest
    first (``invitation.meeting`` is loaded). ``reports_owed``: invitations where the user was
    excused from a work meeting and the written work report has not been received yet, oldest
    deadline first. ``duty_reports_owed``: the user's duty reports not yet received. Anonymous or
    inactive users get empty lists.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return {"upcoming": [], "reports_owed": [], "duty_reports_owed": []}
    mine = Invitation.objects.filter(user=user).select_related("meeting", "meeting__unit")
    upcoming = mine.filter(meeting__status=MeetingStatus.SCHEDULED, meeting__starts_at__gte=timezone.now()).order_by(
        "meeting__starts_at", "id"
    )
    owed = mine.filter(
        attendance=Attendance.EXCUSED, report_due__isnull=False, report_received_at__isnull=True
    ).order_by("report_due", "id")
    duty = (
        DutyReport.objects.filter(leader=user, received_at__isnull=True)
        .select_related("unit", "meeting")
        .order_by("due_date", "id")
    )
    return {"upcoming": list(upcoming[:50]), "reports_owed": list(owed[:50]), "duty_reports_owed": list(duty[:50])}


def my_invitation(user, pk) -> Invitation | None:
    """The user's own invitation ``pk`` (None for anyone else's or a missing one)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return Invitation.objects.filter(user=user, pk=pk).select_related("meeting", "meeting__unit").first()


def my_duty_report(user, pk) -> DutyReport | None:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return DutyReport.objects.filter(leader=user, pk=pk).select_related("unit").first()


def meetings(user, *, state: str = "", body: str = ""):
    """Meetings in the user's scope; ``state`` upcoming|past|cancelled, ``body`` one of Body."""
    rows = scope(Meeting.objects.all(), user, Perm.GOVERNANCE_VIEW).select_related("unit")
    now = timezone.now()
    if state == "upcoming":
        rows = rows.filter(status=MeetingStatus.SCHEDULED, starts_at__gte=now)
    elif state == "past":
        rows = rows.filter(starts_at__lt=now).exclude(status=MeetingStatus.CANCELLED)
    elif state == "cancelled":
        rows = rows.filter(status=MeetingStatus.CANCELLED)
    if body:
        rows = rows.filter(body=body)
    return rows.annotate(
        invited=Count("invitations", distinct=True),
        present=Count("invitations", filter=Q(invitations__attendance=Attendance.PRESENT), distinct=True),
    )


def invitations(user, perm=Perm.GOVERNANCE_VIEW):
    return scope(Invitation.objects.all(), user, perm).select_related("meeting", "user")


def reports_owed(user, *, overdue_only: bool = False):
    """H-ORG-5: work reports owed after an excused absence, in scope; ``overdue_only`` past the due day."""
    rows = invitations(user).filter(
        attendance=Attendance.EXCUSED, report_due__isnull=False, report_received_at__isnull=True
    )
    if overdue_only:
        rows = rows.filter(report_due__lt=today())
    return rows.order_by("report_due", "id")


def duty_reports(user, *, year=None, state: str = ""):
    """Duty reports in scope; ``state`` missing (due day passed, not received) | open | received."""
    rows = scope(DutyReport.objects.all(), user, Perm.GOVERNANCE_VIEW).select_related("unit", "leader", "meeting")
    if year:
        rows = rows.filter(year=year)
    if state == "missing":
        rows = rows.filter(received_at__isnull=True, due_date__lt=today())
    elif state == "open":
        rows = rows.filter(received_at__isnull=True)
    elif state == "received":
        rows = rows.filter(received_at__isnull=False)
    return rows


# --- invitation groups (H-ORG-5: invite a body, a department or a committee at once) ----------------

GROUP_BODIES = (
    ("board", "理事会"),
    ("standing_board", "常务理事会"),
    ("secretariat", "秘书处 · 秘书长与副秘书长"),
    ("assembly", "全体会员（会员大会）"),
)


def group_members(key: str):
    """``(association unit, users)`` of an invitation group key, or ``(None, [])`` for an unknown key.

    ``board:<association id>`` (the board, standing board included), ``standing_board:<id>``,
    ``secretariat:<id>`` — the people holding a current position in that body; ``assembly:<id>`` — every
    active member; ``unit:<department or committee id>`` — its current position holders, committee members
    and staff assigned there. Only active accounts; the service drops lapsed members as for individuals.
    """
    from apps.accounts.models import User
    from apps.membership.choices import BodyKind
    from apps.membership.models import CommitteeMembership
    from apps.membership.selectors import association_of, current_holders, current_positions
    from apps.orgs.choices import UnitKind
    from apps.orgs.models import OrgUnit

    kind, _, raw_id = (key or "").partition(":")
    unit = OrgUnit.objects.filter(pk=int(raw_id), is_active=True).first() if raw_id.isdigit() else None
    if unit is None:
        return None, []
    bodies = {
        "board": BodyKind.BOARD,
        "standing_board": BodyKind.STANDING_BOARD,
        "secretariat": BodyKind.SECRETARIAT,
        "assembly": BodyKind.GENERAL_ASSEMBLY,
    }
    if kind in bodies and unit.kind == UnitKind.ASSOCIATION:
        return unit, current_holders(unit, bodies[kind])
    if kind == "unit" and unit.kind in (UnitKind.DEPARTMENT, UnitKind.COMMITTEE):
        ids = set(current_positions().filter(unit=unit).values_list("member__user_id", flat=True))
        committee = CommitteeMembership.objects.filter(committee=unit, left_on__isnull=True, member__status="active")
        ids |= set(committee.values_list("member__user_id", flat=True))
        staff = User.objects.filter(Q(unit=unit) | Q(assignments__unit=unit)).values_list("pk", flat=True)
        ids |= set(staff)
        return association_of(unit), list(User.objects.filter(pk__in=ids, is_active=True).order_by("id"))
    return None, []


def invitation_groups(user) -> list[tuple[str, str]]:
    """The groups (key, label) a meeting organiser may invite: the bodies of each association they manage and
    its departments and committees, with how many people each holds today."""
    from apps.orgs.choices import UnitKind
    from apps.orgs.models import OrgUnit

    kinds = (UnitKind.ASSOCIATION, UnitKind.DEPARTMENT, UnitKind.COMMITTEE)
    units = list(
        scope(OrgUnit.objects.filter(is_active=True, kind__in=kinds), user, Perm.GOVERNANCE_MANAGE).order_by(
            "path", "code"
        )
    )
    several = sum(u.kind == UnitKind.ASSOCIATION for u in units) > 1
    choices = []
    for unit in units:
        if unit.kind == UnitKind.ASSOCIATION:
            for kind, label in GROUP_BODIES:
                key = f"{kind}:{unit.pk}"
                prefix = f"{unit.name} · " if several else ""
                choices.append((key, f"{prefix}{label}（{len(group_members(key)[1])} 人）"))
    for unit in units:
        if unit.kind != UnitKind.ASSOCIATION:
            key = f"unit:{unit.pk}"
            kind = "部门" if unit.kind == UnitKind.DEPARTMENT else "专委会"
            choices.append((key, f"{kind} · {unit.name}（{len(group_members(key)[1])} 人）"))
    return choices
