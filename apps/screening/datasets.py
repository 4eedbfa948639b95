"""Screening lists as exportable datasets (X-3): the records list and the import batches list.

The records list shows the client's name (read and decrypted alone, never the finding, which is
encrypted free text, nor any identifier); the batches list shows no personal data at all.
"""

from django.utils import timezone

from apps.core.perms import Perm
from apps.exports.registry import Dataset, register

from . import selectors
from .choices import ImportStatus, RiskLevel, ScreeningSource

CHUNK = 2000
SOURCES = dict(ScreeningSource.choices)
RISKS = dict(RiskLevel.choices)
STATUSES = dict(ImportStatus.choices)


def record_rows(user, filters):
    """Every screening record the list shows (it takes no filters), newest first like the list."""
    rows = selectors.visible_records(user).order_by("-pk")
    fields = ("screened_on", "client_id", "client__name", "unit__name", "source", "risk_level", "import_batch_id")
    for screened_on, client_id, name, unit, source, risk, batch in rows.values_list(*fields).iterator(chunk_size=CHUNK):
        yield (screened_on, client_id, name, unit, SOURCES.get(source, source), RISKS.get(risk, risk), batch or "")


def batch_rows(user, filters):
    """Every import batch the list shows (no filters), newest first like the list."""
    rows = selectors.visible_batches(user).order_by("-pk")
    fields = ("pk", "file_name", "unit__name", "status", "total_rows", "created_at")
    for pk, file_name, unit, status, total, created_at in rows.values_list(*fields).iterator(chunk_size=CHUNK):
        yield (
            pk,
            file_name,
            unit,
            STATUSES.get(status, status),
            total,
            timezone.localtime(created_at).strftime("%Y-%m-%d %H:%M"),
        )


RECORDS = register(
    Dataset(
        key="screening_records",
        label="排查记录",
        view_permission=Perm.SCREENING_MANAGE,
        columns=("排查日期", "来访者编号", "来访者", "排查单位", "来源", "风险等级", "导入批次"),
        rows=record_rows,
    )
)
IMPORTS = register(
    Dataset(
        key="screening_imports",
        label="排查导入记录",
        view_permission=Perm.SCREENING_MANAGE,
        columns=("编号", "文件名", "导入单位", "状态", "行数", "上传时间"),
        rows=batch_rows,
    )
)
