"""Read a scale definition file (JSON or Excel) into the definition dict ``engine.check_definition`` validates.

The Excel layout (docs/assessments.md) has sheets 量表 (key–value rows), 选项, 条目, 分段 and optional
危急条目 and 因子, each with a header row. Reading only reshapes; all rules live in the engine, so a
workbook and a JSON file are refused for the same reasons with the same Chinese messages.

An Excel upload is read like every spreadsheet upload (issue 12, ``apps.core.uploads``): the zip
container is checked first, then the workbook is read in a child process under the memory and time
limits, refusing formula cells (with their sheet and cell) and sheets over the row cap.
"""

import io
import json

from django.core.exceptions import ValidationError
from python_calamine import CalamineError, CalamineWorkbook

from apps.core import uploads

MAX_BYTES = 2 * 1024 * 1024

META_KEYS = {
    "编码": "code",
    "名称": "name",
    "指导语": "instructions",
    "授权持有方": "licence_holder",
    "授权说明": "licence_terms",
    "计分方式": "method",
    "换算系数": "multiply",
    "取整": "rounding",
    "得分名称": "score_name",
}
METHOD_WORDS = {"求和": "sum", "sum": "sum", "平均": "mean", "mean": "mean"}
ROUNDING_WORDS = {"向下取整": "floor", "floor": "floor", "四舍五入": "half_up", "half_up": "half_up", "不取整": "none"}
YES = {"是", "y", "yes", "true", "1", "反向"}


def read_definition_file(name: str, content: bytes) -> dict:
    """Parse an uploaded ``.json`` or ``.xlsx`` file; raise a Chinese ``ValidationError`` for an unreadable one."""
    if len(content) > MAX_BYTES:
        raise ValidationError("文件超过 2 MB。", code="too_large")
    lower = name.lower()
    if lower.endswith(".json"):
        try:
            return json.loads(content.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValidationError("JSON 文件无法解析，请检查格式（UTF-8 编码）。", code="bad_json") from exc
    if lower.endswith((".xlsx", ".xls")):
        return read_workbook_limited(content)
    raise ValidationError("只支持 .json 或 .xlsx 文件。", code="bad_type")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _rows(workbook, sheet: str, required: bool = True) -> list[list[str]]:
    if sheet not in workbook.sheet_names:
        if required:
            raise ValidationError(f"Excel 文件缺少工作表“{sheet}”。", code="missing_sheet")
        return []
    rows = [[_cell(v) for v in row] for row in workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)]
    return [row for row in rows[1:] if any(row)]  # first row is the header


def read_workbook_limited(content: bytes) -> dict:
    """``read_workbook`` behind the upload defences: zip check, then a child process under the limits."""
    max_rows = uploads.limit("UPLOAD_MAX_ROWS")
    if content[:4] == b"PK\x03\x04":  # .xlsx (a zip), whatever the name says
        uploads.check_zip(content)
        return uploads.run_limited(_read_checked_workbook, content, max_rows)
    return uploads.run_limited(read_workbook, content)  # legacy .xls: no zip, still memory- and time-limited


def _read_checked_workbook(content: bytes, max_rows: int) -> dict:
    """In the child: refuse formula cells (calamine would read their cached results) and oversized sheets."""
    refs = uploads.workbook_formulas(content, max_rows=max_rows)
    if refs:
        raise ValidationError(uploads.formula_message(refs, len(refs)), code="formula")
    return read_workbook(content)


def read_workbook(content: bytes) -> dict:
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
    except (CalamineError, ValueError, OSError) as exc:
        raise ValidationError("Excel 文件无法读取，请确认是 .xlsx 格式。", code="bad_xlsx") from exc
    meta = {}
    for row in _rows(workbook, "量表"):
        key = META_KEYS.get(row[0])
        if key and len(row) > 1:
            meta[key] = row[1]
    options = [{"label": r[0], "score": r[1] if len(r) > 1 else ""} for r in _rows(workbook, "选项", required=False)]
    items = []
    for row in _rows(workbook, "条目"):
        row = [*row, "", "", ""]
        items.append({"number": row[0], "text": row[1], "reverse": row[2].lower() in YES})
    bands = [
        {"code": r[0], "label": r[1], "min": r[2], "max": r[3], "level": r[4]}
        for r in (row + [""] * 5 for row in _rows(workbook, "分段"))
    ]
    critical = [
        {"item": r[0], "min_score": r[1], "label": r[2]}
        for r in (row + [""] * 3 for row in _rows(workbook, "危急条目", required=False))
    ]
    factors = [
        {"code": r[0], "name": r[1], "items": [n.strip() for n in r[2].replace("，", ",").split(",") if n.strip()]}
        for r in (row + [""] * 3 for row in _rows(workbook, "因子", required=False))
    ]
    data = {
        "format": 1,
        "code": meta.get("code", ""),
        "name": meta.get("name", ""),
        "instructions": meta.get("instructions", ""),
        "licence": {"holder": meta.get("licence_holder", ""), "terms": meta.get("licence_terms", "")},
        "items": items,
        "scoring": {
            "method": METHOD_WORDS.get(meta.get("method", "求和"), meta.get("method")),
            "multiply": meta.get("multiply", "1") or "1",
            "rounding": ROUNDING_WORDS.get(meta.get("rounding", "不取整"), meta.get("rounding")),
            "score_name": meta.get("score_name") or "总分",
            "factors": factors,
        },
        "bands": bands,
        "critical_items": critical,
    }
    if options:
        data["options"] = options
    return data
