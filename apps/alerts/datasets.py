"""Exportable lists of the three-colour warning (X-3, S-WARN): the key-person list and the dashboard table.

The key-person list reads the page's filters (``unit``, ``colour``, ``flag``, ``mine``, ``closed``)
through the same selector, and shows the client's name masked as the page does. The dashboard
export is the page's table of counts per child unit, small cells suppressed the same way.
"""

from django.http import Http404
from django.utils import timezone

from apps.core.access import scope
from apps.core.perms import Perm
from apps.exports.registry import Dataset, register
from apps.identity.masks import mask_name
from apps.orgs.models import OrgUnit

from . import selectors
from .choices import Colour, Proposal, State

COLOURS = dict(Colour.choices)
STATES = dict(State.choices)
PROPOSALS = dict(Proposal.choices)


def _day(value) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _unit(user, value, perm):
    """The ``unit`` filter: None when absent or junk; False when it names a unit out of scope."""
    try:
        pk = int(str(value or "").strip())
    except ValueError:
        return None
    return scope(OrgUnit.objects.all(), user, perm, "path").filter(pk=pk).first() or False


def _warnings(user, filters):
    unit = _unit(user, filters.get("unit"), Perm.ALERT_VIEW) if filters.get("unit") else None
    if unit is False:  # the page answers 404 for a unit outside the user's scope: no rows
        return
    rows = selectors.warnings_list(
        user,
        unit,
        colour=str(filters.get("colour", "")),
        flag=str(filters.get("flag", "")),
        mine=bool(filters.get("mine")),
        closed=bool(filters.get("closed")),
    )
    values = rows.order_by("-id").values_list(
        "pk",
        "client__name",
        "unit__name",
        "colour",
        "proposed_colour",
        "state",
        "proposal",
        "counsellor__full_name",
        "tagged_at",
        "feedback_due",
        "feedback_sent_at",
        "cycle_number",
        "cycle_due",
    )
    for (
        pk,
        name,
        unit_name,
        colour,
        proposed,
        state,
        proposal,
        counsellor,
        tagged_at,
        feedback_due,
        feedback_sent_at,
        cycle_number,
        cycle_due,
    ) in values.iterator(chunk_size=2000):
        yield (
            f"预警 #{pk}",
            mask_name(name),
            unit_name,
            COLOURS.get(colour, ""),
            COLOURS.get(proposed, "") if state == State.REPORTED else "",
            STATES.get(state, state),
            PROPOSALS.get(proposal, "") if proposal else "",
            counsellor or "",
            _when(tagged_at),
            _day(feedback_due),
            _when(feedback_sent_at),
            cycle_number if cycle_due and state != State.CLOSED else "",
            _day(cycle_due) if state != State.CLOSED else "",
        )


def _dashboard(user, filters):
    try:
        unit = selectors.dashboard_unit(user, str(filters.get("unit", "")).strip() or None)
    except Http404:  # a unit outside the user's scope: the page answers 404, the export is empty
        return
    if unit is None:
        return
    board = selectors.dashboard(user, unit)
    for row in board.rows:
        yield (row.label, *(row.cells[key] for key in selectors.METRICS))
    yield ("合计", *(board.totals[key] for key in selectors.METRICS))


register(
    Dataset(
        key="alerts_warnings",
        label="重点人员",
        view_permission=Perm.ALERT_VIEW,
        columns=(
            "档案",
            "来访者",
            "所属单位",
            "颜色",
            "建议颜色",
            "状态",
            "系统建议",
            "负责咨询师",
            "上报时间",
            "反馈期限",
            "反馈时间",
            "当前周期",
            "本周期截止",
        ),
        rows=_warnings,
    )
)
register(
    Dataset(
        key="alerts_dashboard",
        label="三色预警看板",
        view_permission=Perm.ALERT_STATS,
        columns=("单位", *(selectors.METRIC_LABELS[key] for key in selectors.METRICS)),
        rows=_dashboard,
    )
)
