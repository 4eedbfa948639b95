"""Who may do what, where: the one module every view, API endpoint and selector asks.

A user acts through one *active assignment* (a role at a unit), chosen in the top bar; without a
choice the first assignment is active. A permission of that role covers the assigned unit and all
its descendants, never siblings or ancestors. No assignment, an inactive account or an inactive
unit means nothing is visible.

``can(user, perm, obj)`` answers one question; ``scope(queryset, user, perm)`` filters a
queryset to what the user may see; ``access_by_id`` fetches one row and answers 404 both when it
is missing and when it is outside scope, so existence never leaks.
"""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404


@dataclass(frozen=True)
class Grant:
    """The active assignment, resolved: where it applies and what it allows."""

    assignment_id: int
    unit_id: int
    unit_path: str
    unit_name: str
    role_code: str
    role_name: str
    permissions: frozenset[str]


def user_assignments(user) -> list:
    """The user's assignments at active units, with unit and role, loaded once per request."""
    cached = getattr(user, "_xinyuan_assignments", None)
    if cached is None:
        from apps.accounts.models import Assignment

        cached = list(
            Assignment.objects.select_related("unit", "role").filter(user=user, unit__is_active=True).order_by("id")
        )
        user._xinyuan_assignments = cached
    return cached


def _load_grant(user) -> Grant | None:
    assignments = user_assignments(user)
    wanted = getattr(user, "active_assignment_id", None)
    assignment = next((a for a in assignments if a.pk == wanted), None) if wanted else None
    if assignment is None:
        assignment = assignments[0] if assignments else None
    if assignment is None:
        return None
    return Grant(
        assignment_id=assignment.pk,
        unit_id=assignment.unit_id,
        unit_path=assignment.unit.path,
        unit_name=assignment.unit.name,
        role_code=assignment.role.code,
        role_name=assignment.role.name,
        permissions=frozenset(assignment.role.permissions),
    )


def active_grant(user) -> Grant | None:
    """Return the user's active grant, loaded once per request and cached on the user object."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    cached = getattr(user, "_xinyuan_grant", False)
    if cached is False or getattr(user, "_xinyuan_grant_for", None) != getattr(user, "active_assignment_id", None):
        cached = _load_grant(user)
        user._xinyuan_grant = cached
        user._xinyuan_grant_for = getattr(user, "active_assignment_id", None)
    return cached


def forget_grant(user) -> None:
    """Drop the cached grant, e.g. after the user's assignments changed."""
    for attr in ("_xinyuan_grant", "_xinyuan_grant_for", "_xinyuan_assignments"):
        if hasattr(user, attr):
            delattr(user, attr)


def path_of(obj) -> str:
    """Return the org-unit path an object belongs to, by its model's ``scope_path_field``."""
    field = getattr(type(obj), "scope_path_field", None)
    if field is None:
        raise TypeError(f"{type(obj).__name__} declares no scope_path_field")
    value = obj
    for part in field.split("__"):
        value = getattr(value, part)
        if value is None:
            return ""
    return value


def can(user, perm: str, obj=None) -> bool:
    """Whether ``user`` holds ``perm`` — at all, or over ``obj`` when one is given."""
    grant = active_grant(user)
    if grant is None or perm not in grant.permissions:
        return False
    if obj is None:
        return True
    path = path_of(obj)
    return bool(path) and path.startswith(grant.unit_path)


def can_in_unit(user, perm: str, unit) -> bool:
    """Whether ``user`` holds ``perm`` over org unit ``unit`` (a unit, not an object in it)."""
    grant = active_grant(user)
    return grant is not None and perm in grant.permissions and unit.path.startswith(grant.unit_path)


def scope(queryset: QuerySet, user, perm: str, path_field: str | None = None) -> QuerySet:
    """Filter ``queryset`` to the rows ``user`` may see with ``perm``; nothing by default."""
    grant = active_grant(user)
    if grant is None or perm not in grant.permissions:
        return queryset.none()
    field = path_field or getattr(queryset.model, "scope_path_field", None)
    if field is None:
        raise TypeError(f"{queryset.model.__name__} declares no scope_path_field")
    rows = queryset.filter(**{f"{field}__startswith": grant.unit_path})
    # Client-data querysets (apps.core.scoping) refuse to run until marked as scoped.
    return rows.mark_scoped() if hasattr(rows, "mark_scoped") else rows


def access_by_id(queryset: QuerySet, pk, user, perm: str):
    """Fetch one row in scope or raise 404 — the same answer for missing and forbidden."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    obj = scope(queryset, user, perm).filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj
