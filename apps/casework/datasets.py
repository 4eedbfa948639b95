"""Casework lists as exportable datasets (X-3): the case list and the reception list.

The client's name is read as the lists show it, and nothing else of the client; session notes,
diagnoses, reception notes and crisis actions (encrypted free text) are never read.
"""

from django.utils import timezone

from apps.core.perms import Perm
from apps.exports.registry import Dataset, register

from . import selectors
from .choices import CaseState

CHUNK = 2000
STATES = dict(CaseState.choices)


def case_rows(user, filters):
    """The case list's rows for its ``state`` filter (an unknown state shows all), every page."""
    rows = selectors.list_cases(user, filters or {}).order_by("-pk")
    fields = ("pk", "client__name", "state", "counsellor__full_name", "unit__name", "opened_at")
    for pk, name, state, counsellor, unit, opened_at in rows.values_list(*fields).iterator(chunk_size=CHUNK):
        yield (pk, name, STATES.get(state, state), counsellor or "未指派", unit, timezone.localdate(opened_at))


def reception_rows(user, filters):
    """Every reception of the reception list (it takes no filters), newest first like the list."""
    rows = selectors.visible_receptions(user).order_by("-pk")
    fields = ("pk", "client__name", "received_at", "receptionist__full_name", "unit__name", "crisis", "case_id")
    for pk, name, received_at, receptionist, unit, crisis, case_id in rows.values_list(*fields).iterator(
        chunk_size=CHUNK
    ):
        received = timezone.localtime(received_at).strftime("%Y-%m-%d %H:%M")
        yield (pk, name, received, receptionist, unit, "危机" if crisis else "", case_id or "")


CASES = register(
    Dataset(
        key="cases",
        label="个案名单",
        view_permission=Perm.CLIENT_VIEW,
        columns=("个案编号", "来访者", "状态", "咨询师", "所属单位", "建档日期"),
        rows=case_rows,
    )
)
RECEPTIONS = register(
    Dataset(
        key="receptions",
        label="咨询接待记录",
        view_permission=Perm.CLIENT_VIEW,
        columns=("编号", "来访者", "接待时间", "接待人", "接待单位", "危机", "个案编号"),
        rows=reception_rows,
    )
)
