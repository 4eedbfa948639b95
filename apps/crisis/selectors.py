"""Read queries of crisis expressions, handlers and flags, always scoped to the acting user."""

from apps.core.access import scope
from apps.core.perms import Perm
from apps.orgs.models import OrgUnit

from .models import CrisisExpression, CrisisFlag, CrisisHandler


def flags_for(user, record):
    """The crisis flags of ``record`` (a remote inquiry or a reception) the user may see."""
    from apps.outreach.models import RemoteInquiry

    field = "inquiry" if isinstance(record, RemoteInquiry) else "reception"
    rows = CrisisFlag.objects.filter(**{field: record}).select_related("unit").prefetch_related("notified")
    return list(scope(rows, user, Perm.CLIENT_VIEW).order_by("id"))


def shipped_expressions():
    """The common expressions shipped with the platform; they apply to every unit."""
    return CrisisExpression.objects.filter(unit__isnull=True).order_by("id")


def unit_expressions(user):
    """Expressions added by units the user maintains the list for (``alert.configure``)."""
    rows = CrisisExpression.objects.filter(unit__isnull=False).select_related("unit", "created_by")
    return scope(rows, user, Perm.ALERT_CONFIGURE).order_by("unit__path", "id")


def configurable_units(user):
    return scope(OrgUnit.objects.filter(is_active=True), user, Perm.ALERT_CONFIGURE).order_by("path")


def managed_units(user):
    """Active units whose crisis handler the user may designate (``user.manage``), with the designation."""
    units = list(scope(OrgUnit.objects.filter(is_active=True), user, Perm.USER_MANAGE).order_by("path")[:500])
    handlers = {
        row.unit_id: row
        for row in scope(CrisisHandler.objects.filter(unit__in=units), user, Perm.USER_MANAGE).select_related("handler")
    }
    return [(unit, handlers.get(unit.pk)) for unit in units]
