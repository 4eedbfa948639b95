"""Reads of accounts, roles and assignments, scoped to the acting user."""

from django.db.models import Q, QuerySet

from apps.core.access import active_grant, scope
from apps.core.perms import Perm
from apps.orgs.models import OrgUnit

from .models import Assignment, GrantRequest, Role, User


def visible_users(user, filters: dict | None = None) -> QuerySet:
    rows = scope(User.objects.select_related("unit"), user, Perm.USER_VIEW)
    filters = filters or {}
    if filters.get("q"):
        q = filters["q"]
        rows = rows.filter(Q(full_name__icontains=q) | Q(username__icontains=q))
    if filters.get("status") == "active":
        rows = rows.filter(is_active=True)
    elif filters.get("status") == "inactive":
        rows = rows.filter(is_active=False)
    if filters.get("unit"):
        unit = scope(OrgUnit.objects.all(), user, Perm.USER_VIEW).filter(pk=filters["unit"]).first()
        rows = rows.filter(unit__path__startswith=unit.path) if unit else rows.none()
    return rows


def user_assignments(actor, user: User) -> QuerySet:
    """The assignments of ``user`` that lie inside the actor's scope."""
    return scope(Assignment.objects.filter(user=user).select_related("unit", "role"), actor, Perm.USER_VIEW)


def my_assignments(user: User) -> QuerySet:
    return Assignment.objects.filter(user=user, unit__is_active=True).select_related("unit", "role").order_by("id")


def filter_units(actor) -> list[tuple[int, str]]:
    """(id, indented name) of the units a list can be narrowed to: the active unit and its children.

    Choosing a unit includes its whole subtree; one level keeps the select short at city scale.
    """
    grant = active_grant(actor)
    if grant is None:
        return []
    rows = (
        scope(OrgUnit.objects.filter(is_active=True), actor, Perm.USER_VIEW)
        .filter(depth__lte=OrgUnit.objects.get(pk=grant.unit_id).depth + 1)
        .order_by("path")
        .values_list("pk", "name", "depth")
    )
    top = min((depth for _, _, depth in rows), default=0)
    return [(pk, f"{'　' * (depth - top)}{name}") for pk, name, depth in rows]


def manageable_units(actor) -> QuerySet:
    return scope(OrgUnit.objects.filter(is_active=True), actor, Perm.USER_MANAGE).order_by("path")


def security_units(actor) -> QuerySet:
    """Active units where ``actor`` may grant the security and audit administrator roles."""
    return scope(OrgUnit.objects.filter(is_active=True), actor, Perm.SECURITY_MANAGE).order_by("path")


def all_roles() -> QuerySet:
    return Role.objects.all()


def nearest_unit_managers(unit: OrgUnit, *, exclude_user_id: int | None = None) -> list[User]:
    """Active users managing accounts (``user.manage``) at ``unit``, or else at its nearest ancestor that has any.

    One query over the unit and its ancestors; ``exclude_user_id`` is left out before choosing the level,
    so someone acting on their own unit reaches the level above.
    """
    ids = [*unit.ancestor_ids, unit.pk]
    depth_of = {unit_id: depth for depth, unit_id in enumerate(ids)}
    by_unit: dict[int, dict[int, User]] = {}
    assignments = Assignment.objects.filter(unit_id__in=ids, user__is_active=True, unit__is_active=True).select_related(
        "user", "role"
    )
    for assignment in assignments:
        if Perm.USER_MANAGE in assignment.role.permissions and assignment.user_id != exclude_user_id:
            by_unit.setdefault(assignment.unit_id, {})[assignment.user_id] = assignment.user
    if not by_unit:
        return []
    return list(by_unit[max(by_unit, key=depth_of.__getitem__)].values())


def grant_requests_to_review(actor) -> QuerySet:
    """Pending grant requests the security administrator may decide (issue 14, two-person rule)."""
    return (
        scope(GrantRequest.objects.filter(status=GrantRequest.PENDING), actor, Perm.SECURITY_MANAGE)
        .select_related("user", "unit", "role", "requested_by")
        .order_by("id")
    )


def pending_grant_request_count(actor) -> int:
    """How many grant requests wait for this security administrator (for a home page tile)."""
    return grant_requests_to_review(actor).count()


def recent_grant_decisions(actor, limit: int = 20) -> list:
    return list(
        scope(GrantRequest.objects.exclude(status=GrantRequest.PENDING), actor, Perm.SECURITY_MANAGE)
        .select_related("user", "unit", "role", "requested_by", "decided_by")
        .order_by("-decided_at", "-id")[:limit]
    )


def user_grant_requests(actor, user: User) -> QuerySet:
    """Grant requests for ``user`` at units in the actor's scope, newest first."""
    return (
        scope(GrantRequest.objects.filter(user=user), actor, Perm.USER_VIEW)
        .select_related("unit", "role", "requested_by", "decided_by")
        .order_by("-id")
    )


def note_reading_roles() -> QuerySet:
    from .services import reads_notes

    return Role.objects.filter(pk__in=[role.pk for role in Role.objects.all() if reads_notes(role)])


def counsellors_over(unit: OrgUnit) -> QuerySet:
    """Active users holding a counselling role (``roles.COUNSELLING_ROLES``) at ``unit`` or one of its ancestors.

    Whom a "负责咨询师" pick-list offers for work at ``unit`` (S-STAFF-2). Upwards because a counsellor of the
    street station or of the district centre serves the communities below it (the standard's tiers guide and
    take referrals downwards); never sideways or downwards, since a community room's counsellor does not
    serve the neighbouring community or the street as a whole. Managers, community workers and counselling
    assistants are not counsellors, whatever their permissions. Callers narrow it to their own scope.
    """
    from .roles import COUNSELLING_ROLES

    return (
        User.objects.filter(
            is_active=True,
            assignments__role__code__in=COUNSELLING_ROLES,
            assignments__unit_id__in=[*unit.ancestor_ids, unit.pk],
            assignments__unit__is_active=True,
        )
        .distinct()
        .order_by("full_name", "id")
    )


def is_counsellor_over(user, unit: OrgUnit) -> bool:
    """Whether ``user`` may be the responsible counsellor for work at ``unit`` (see ``counsellors_over``)."""
    return user is not None and counsellors_over(unit).filter(pk=user.pk).exists()
