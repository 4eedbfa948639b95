"""Reads of the org tree, always scoped to the acting user."""

from django.db.models import Count, Q, QuerySet

from apps.core.access import active_grant, scope
from apps.core.perms import Perm

from .models import OrgUnit


def visible_units(user, perm: str = Perm.ORG_VIEW) -> QuerySet:
    return scope(OrgUnit.objects.all(), user, perm)


def unit_children(user, unit: OrgUnit, filters: dict | None = None) -> QuerySet:
    """Children of ``unit`` the user may see, with their own child counts (one grouped query)."""
    rows = visible_units(user).filter(parent=unit)
    filters = filters or {}
    if filters.get("q"):
        rows = rows.filter(Q(name__icontains=filters["q"]) | Q(code__icontains=filters["q"]))
    if filters.get("kind"):
        rows = rows.filter(kind=filters["kind"])
    if filters.get("status") == "active":
        rows = rows.filter(is_active=True)
    elif filters.get("status") == "inactive":
        rows = rows.filter(is_active=False)
    return rows.annotate(child_count=Count("children"))


def unit_breadcrumb(user, unit: OrgUnit) -> list[OrgUnit]:
    """Ancestors of ``unit`` down to it, cut at the top of what the user may see."""
    grant = active_grant(user)
    if grant is None:
        return []
    ids = [i for i in unit.ancestor_ids]
    ancestors = {u.pk: u for u in visible_units(user).filter(pk__in=ids)}
    return [ancestors[i] for i in ids if i in ancestors] + [unit]


def move_targets(user, unit: OrgUnit) -> QuerySet:
    """Active units the user manages that are not ``unit`` or below it."""
    return (
        scope(OrgUnit.objects.filter(is_active=True), user, Perm.ORG_MANAGE)
        .exclude(path__startswith=unit.path)
        .order_by("path")
    )
