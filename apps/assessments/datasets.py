"""Exportable lists of assessments (X-3): the results list, one client's results, the scales.

Each dataset reads the same GET filters as its page, scoped exactly like the page, and ignores
junk values instead of failing. The answers themselves are not exported (they stay on the
audited detail page); names are exported because the results list shows them.
"""

from django.utils import timezone

from apps.clients.models import Client
from apps.core.access import scope
from apps.core.perms import Perm
from apps.exports.registry import Dataset, register

from . import selectors
from .choices import BandLevel, Mode

RESULT_COLUMNS = (
    "测评时间",
    "来访者",
    "所属单位",
    "量表",
    "量表版本",
    "得分",
    "结果分级",
    "严重程度",
    "危急条目阳性",
    "方式",
    "施测人",
)
RESULT_FIELDS = (
    "administered_at",
    "client__name",
    "unit__name",
    "scale_version__scale__code",
    "scale_version__number",
    "score",
    "band_label",
    "band_level",
    "critical",
    "mode",
    "administered_by__full_name",
)
LEVELS = dict(BandLevel.choices)
MODES = dict(Mode.choices)


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _result_row(values) -> tuple:
    at, name, unit, code, number, score, label, level, critical, mode, by = values
    if not by:
        by = "本人自评" if mode == Mode.ONLINE else ""
    return (
        _when(at),
        name,
        unit,
        code,
        f"v{number}",
        float(score),
        label,
        LEVELS.get(level, level),
        "是" if critical else "否",
        MODES.get(mode, mode),
        by,
    )


def _results(user, filters):
    rows = selectors.filtered_results(user, filters).order_by("-id").values_list(*RESULT_FIELDS)
    for values in rows.iterator(chunk_size=2000):
        yield _result_row(values)


def _client_results(user, filters):
    """One client's results (the client page): the client must be in scope, else nothing."""
    try:
        client_id = int(str(filters.get("client", "")).strip())
    except ValueError:
        return
    client = scope(Client.objects.all(), user, Perm.ASSESSMENT_VIEW).filter(pk=client_id).first()
    if client is None:
        return
    rows = selectors.results_for(client).order_by("-administered_at", "-id").values_list(*RESULT_FIELDS)
    for values in rows.iterator(chunk_size=2000):
        yield _result_row(values)


def _scales(user, filters):
    for code, name, tenant_id, latest in selectors.visible_scales(user).values_list(
        "code", "name", "tenant_id", "latest"
    ):
        yield (code, name, "本体系导入" if tenant_id else "系统内置（免费量表）", f"v{latest}" if latest else "")


register(
    Dataset(
        key="assessments_results",
        label="测评记录",
        view_permission=Perm.ASSESSMENT_VIEW,
        columns=RESULT_COLUMNS,
        rows=_results,
    )
)
register(
    Dataset(
        key="assessments_client_results",
        label="来访者测评结果",
        view_permission=Perm.ASSESSMENT_VIEW,
        columns=RESULT_COLUMNS,
        rows=_client_results,
    )
)
register(
    Dataset(
        key="assessments_scales",
        label="量表",
        view_permission=Perm.ASSESSMENT_VIEW,
        columns=("编码", "名称", "来源", "当前版本"),
        rows=_scales,
    )
)
