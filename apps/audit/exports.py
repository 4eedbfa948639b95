"""The audit log as CSV and Excel files."""

import csv
import io
import json

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from apps.core.spreadsheets import csv_cell

from .models import AuditEntry

HEADER = (
    "序号",
    "时间",
    "操作人",
    "单位",
    "角色",
    "动作",
    "对象类型",
    "对象编号",
    "对象",
    "结果",
    "IP 地址",
    "用途",
    "变更内容",
    "本条哈希",
)


def _cell(value) -> str | int:
    """A cell value that a spreadsheet shows as text: formulas from log data must not run."""
    if isinstance(value, int):
        return value
    return csv_cell("" if value is None else str(value))


def entry_row(entry: AuditEntry) -> list:
    return [
        _cell(value)
        for value in (
            entry.seq,
            timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            entry.actor_username or "系统",
            entry.unit_name,
            entry.role_code,
            entry.get_action_display(),
            entry.object_type,
            entry.object_id,
            entry.object_label,
            entry.get_outcome_display(),
            entry.ip_address or "",
            entry.purpose,
            json.dumps(entry.changes, ensure_ascii=False, sort_keys=True) if entry.changes else "",
            entry.entry_hash,
        )
    ]


class _Echo:
    def write(self, value):
        return value


def csv_stream(rows):
    """Yield CSV lines (UTF-8 with BOM, so Excel shows the Chinese) for ``rows``."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(HEADER)
    for entry in rows.order_by("-id").iterator(chunk_size=2000):
        yield writer.writerow(entry_row(entry))


def xlsx_bytes(rows) -> bytes:
    """An .xlsx workbook with one sheet of ``rows``, newest first."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("审计日志")
    sheet.append(list(HEADER))
    for entry in rows.order_by("-id").iterator(chunk_size=2000):
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in entry_row(entry)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
