"""Reads of the three-colour warning: scoped lists, one-query dashboards, overdue queries.

The dashboard runs one grouped aggregate over the active warnings of a subtree (served by the
partial covering index ``warning_active_dash``) and folds the per-unit rows into the child units
in Python; no query per unit or per warning. Cells of 1–4 people at street or community level are
suppressed for users who may not see identities (``alert.view``), with the reports' helper.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q

from apps.core.access import access_by_id, active_grant, can, can_in_unit, scope
from apps.core.perms import Perm
from apps.orgs.models import OrgUnit
from apps.reports.selectors import SMALL_CELL, suppress

from .choices import TRACKED_STATES, Colour, State
from .models import Warning
from .services import today

METRICS = ("red", "orange", "yellow", "pending", "total", "new", "overdue_feedback", "overdue_cycle", "control")
METRIC_LABELS = {
    "red": "红色",
    "orange": "橙色",
    "yellow": "黄色",
    "pending": "待定色",
    "total": "合计",
    "new": "本周新增",
    "overdue_feedback": "反馈逾期",
    "overdue_cycle": "随访逾期",
    "control": "管控流程",
}
FLAGS = {
    "new": "本周新增",
    "overdue_feedback": "反馈逾期",
    "overdue_cycle": "随访逾期",
    "control": "管控流程",
    "pending": "待定色",
    "proposal": "有待处理的系统建议",
}


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def overdue_feedback_q(day: dt.date) -> Q:
    """S-WARN-3: feedback not sent and its stored deadline passed."""
    return Q(state__in=TRACKED_STATES, feedback_sent_at__isnull=True, feedback_due__lt=day)


def overdue_cycle_q(day: dt.date) -> Q:
    """S-WARN-4: the current follow-up cycle ended before today without being completed."""
    return Q(state__in=TRACKED_STATES, cycle_due__lt=day)


def flag_q(flag: str, day: dt.date) -> Q | None:
    import zoneinfo

    if flag == "new":
        start = dt.datetime.combine(week_start(day), dt.time.min, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
        return Q(created_at__gte=start)
    if flag == "overdue_feedback":
        return overdue_feedback_q(day)
    if flag == "overdue_cycle":
        return overdue_cycle_q(day)
    if flag == "control":
        return Q(state=State.CONTROL)
    if flag == "pending":
        return Q(state=State.REPORTED)
    if flag == "proposal":
        return Q(state=State.OPEN) & ~Q(proposal="")
    return None


def metric_counts(day: dt.date) -> dict:
    return {
        "red": Count("unit_path", filter=Q(colour=Colour.RED)),
        "orange": Count("unit_path", filter=Q(colour=Colour.ORANGE)),
        "yellow": Count("unit_path", filter=Q(colour=Colour.YELLOW)),
        "pending": Count("unit_path", filter=Q(state=State.REPORTED)),
        "total": Count("unit_path"),
        "new": Count("unit_path", filter=flag_q("new", day)),
        "overdue_feedback": Count("unit_path", filter=overdue_feedback_q(day)),
        "overdue_cycle": Count("unit_path", filter=overdue_cycle_q(day)),
        "control": Count("unit_path", filter=Q(state=State.CONTROL)),
    }


def subtree(user, perm, unit: OrgUnit):
    """Warnings of ``unit``'s subtree, for a user who holds ``perm`` over ``unit`` (else none).

    One prefix condition instead of the grant's plus the unit's: the planner then estimates the
    rows right and reads the dashboard's covering index alone (counting ``unit_path``, not ``id``,
    keeps the query inside the index).
    """
    if not can_in_unit(user, perm, unit):
        return Warning.objects.none()
    return Warning.objects.filter(unit_path__startswith=unit.path).mark_scoped()


def visible_warnings(user, perm=Perm.ALERT_VIEW):
    return scope(Warning.objects.all(), user, perm)


def active_warnings(user, perm=Perm.ALERT_VIEW):
    return visible_warnings(user, perm).exclude(state=State.CLOSED)


def dashboard_unit(user, pk=None) -> OrgUnit | None:
    """The unit a dashboard is about: ``pk`` if in the user's scope (404 otherwise), else the active unit."""
    grant = active_grant(user)
    if grant is None:
        return None
    if pk not in (None, ""):
        return access_by_id(OrgUnit.objects.all(), pk, user, Perm.ALERT_STATS)
    return OrgUnit.objects.get(pk=grant.unit_id)


@dataclass
class Row:
    unit: OrgUnit | None  # None: warnings registered at the dashboard unit itself
    label: str
    cells: dict  # metric -> int or "<5"
    raw: dict = field(repr=False, default_factory=dict)
    has_children: bool = False


@dataclass
class Dashboard:
    unit: OrgUnit
    rows: list[Row]
    totals: dict
    identified: bool
    day: dt.date
    small_cell: int = SMALL_CELL

    @property
    def chart(self) -> dict:
        """Data for the ECharts bars (suppressed cells become null, never the true value)."""

        def number(v):
            return v if isinstance(v, int) else None

        return {
            "units": [r.label for r in self.rows],
            "series": [
                {"key": key, "name": METRIC_LABELS[key], "data": [number(r.cells[key]) for r in self.rows]}
                for key in ("red", "orange", "yellow", "pending")
            ],
            "totals": [
                {"key": key, "name": METRIC_LABELS[key], "value": number(self.totals[key])}
                for key in ("red", "orange", "yellow", "pending")
            ],
        }


def _cells(counts: dict, unit: OrgUnit, identified: bool) -> dict:
    if identified:
        return dict(counts)
    return {k: suppress(v, unit) for k, v in counts.items()}


def dashboard(user, unit: OrgUnit) -> Dashboard:
    """S-WARN counts of ``unit``'s subtree by colour and by child unit — one aggregate query."""
    day = today()
    identified = can(user, Perm.ALERT_VIEW)
    children = list(OrgUnit.objects.filter(parent=unit, is_active=True).order_by("name", "id"))
    grouped = (
        subtree(user, Perm.ALERT_STATS, unit)
        .exclude(state=State.CLOSED)
        .values("unit_path")
        .annotate(**metric_counts(day))
        .order_by()
    )
    zero = dict.fromkeys(METRICS, 0)
    own = dict(zero)
    by_child = {c.pk: dict(zero) for c in children}
    prefix = len(unit.path)
    for row in grouped:
        rest = row["unit_path"][prefix:]
        target = by_child.get(int(rest.split("/", 1)[0])) if rest else own
        if target is None:  # a child deactivated since: count it with the unit itself
            target = own
        for key in METRICS:
            target[key] += row[key]
    totals = {key: own[key] + sum(c[key] for c in by_child.values()) for key in METRICS}
    parents = set(
        OrgUnit.objects.filter(parent__in=children, is_active=True).values_list("parent_id", flat=True).distinct()
    )
    # Service units always get a row; other children (a leadership group) only when they hold warnings.
    rows = [
        Row(c, c.name, _cells(by_child[c.pk], c, identified), by_child[c.pk], c.pk in parents)
        for c in children
        if c.level or by_child[c.pk]["total"]
    ]
    if any(own.values()):
        rows.append(Row(None, "本级登记", _cells(own, unit, identified), own))
    return Dashboard(unit, rows, _cells(totals, unit, identified), identified, day)


def warnings_list(user, unit: OrgUnit | None, *, colour=None, flag: str = "", mine: bool = False, closed=False):
    """Warnings in scope for the drill-down list; a fixed number of queries per page."""
    rows = visible_warnings(user).select_related("client", "unit", "counsellor")
    rows = rows.filter(state=State.CLOSED) if closed else rows.exclude(state=State.CLOSED)
    if unit is not None:
        rows = rows.filter(unit_path__startswith=unit.path)
    if colour not in (None, ""):
        try:
            rows = rows.filter(colour=int(colour))
        except (TypeError, ValueError):
            rows = rows.none()
    if flag:
        condition = flag_q(flag, today())
        rows = rows.filter(condition) if condition is not None else rows.none()
    if mine:
        rows = rows.filter(counsellor=user)
    return rows


def overdue_feedback(user, day: dt.date | None = None):
    return active_warnings(user).filter(overdue_feedback_q(day or today()))


def overdue_cycles(user, day: dt.date | None = None):
    return active_warnings(user).filter(overdue_cycle_q(day or today()))


def warning_detail(warning: Warning) -> dict:
    """The file's history, in three queries: events, cycles and contacts."""
    from apps.core.scoping import unscoped

    from .models import ContactRecord, FollowUpCycle, WarningEvent

    with unscoped("history of one warning the caller was authorised to open"):
        events = list(WarningEvent.objects.filter(warning=warning).select_related("actor").order_by("at", "id"))
        cycles = list(FollowUpCycle.objects.filter(warning=warning).order_by("number"))
        contacts = list(
            ContactRecord.objects.filter(warning=warning).select_related("recorded_by").order_by("-happened_at")[:50]
        )
    return {"events": events, "cycles": cycles, "contacts": contacts}
