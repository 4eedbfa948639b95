"""Information aggregation (S-CLIENT-5): counts by unit, type, severity, next step and case state.

One grouped query per table, with a filtered count per unit column, all inside the user's scope.
Counts of 1–4 people in a unit below district level are shown as "<5" so nobody is singled out.
"""

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, Subquery

from apps.casework.choices import CaseState, Decision, Severity
from apps.casework.models import Case, CounsellingSession
from apps.clients.models import Client, ServiceTargetCategory
from apps.core.access import active_grant, scope
from apps.core.perms import Perm
from apps.orgs.models import OrgUnit

SMALL_CELL = 5
SUPPRESSED_LEVELS = ("B", "C")  # street stations and community rooms


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[tuple[str, list]]  # unit name, cells (int or "<5")


def report_units(user) -> list[OrgUnit]:
    """The active unit's children (or the unit itself when it has none), each a row of every table."""
    grant = active_grant(user)
    if grant is None:
        return []
    units = scope(OrgUnit.objects.filter(is_active=True), user, Perm.CLIENT_VIEW)
    children = list(units.filter(parent_id=grant.unit_id).order_by("name"))
    return children or list(units.filter(pk=grant.unit_id))


def suppress(value: int, unit: OrgUnit):
    if 0 < value < SMALL_CELL and unit.level in SUPPRESSED_LEVELS:
        return f"<{SMALL_CELL}"
    return value


def _table(title, queryset, key, labels: dict, units) -> Table:
    counts = {u.pk: Count("id", filter=Q(unit_path__startswith=u.path), distinct=True) for u in units}
    grouped = queryset.values(key).annotate(**{f"u{pk}": c for pk, c in counts.items()}).order_by()
    by_key = {row[key]: row for row in grouped}
    keys = list(labels)
    rows = []
    for unit in units:
        cells = [suppress(by_key.get(k, {}).get(f"u{unit.pk}", 0), unit) for k in keys]
        rows.append((unit.name, cells))
    return Table(title, [labels[k] for k in keys], rows)


def summary_tables(user) -> list[Table]:
    units = report_units(user)
    if not units:
        return []
    clients = Client.objects.visible_to(user, Perm.CLIENT_VIEW).filter(merged_into__isnull=True)
    categories = {c.code: c.name for c in ServiceTargetCategory.objects.filter(is_active=True)}
    cases = Case.objects.visible_to(user, Perm.CLIENT_VIEW)
    latest = CounsellingSession.objects.filter(case=OuterRef("pk")).order_by("-happened_at", "-id")
    cases = cases.annotate(
        latest_severity=Subquery(latest.values("severity")[:1]), latest_decision=Subquery(latest.values("decision")[:1])
    )
    return [
        _table("按服务对象类别（人）", clients, "categories__code", categories, units),
        _table("按严重程度（个案，最近一次咨询）", cases, "latest_severity", dict(Severity.choices), units),
        _table("按下一步措施（个案，最近一次咨询）", cases, "latest_decision", dict(Decision.choices), units),
        _table("按个案状态（个案）", cases, "state", dict(CaseState.choices), units),
    ]
