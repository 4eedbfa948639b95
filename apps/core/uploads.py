"""Defences shared by every spreadsheet upload (issue 12, X-5): hostile .xlsx files fail with a Chinese
message instead of exhausting the server.

Three layers, in order:

1. ``check_zip`` reads only the zip directory: a file whose members declare more than
   ``UPLOAD_MAX_UNPACKED_BYTES`` in total, or an XML member (over 1 MB) compressed more than
   ``UPLOAD_MAX_COMPRESSION_RATIO``:1, or a broken zip, is refused before any parser sees it.
2. ``run_limited`` runs the parser in a child Python process with an address-space limit
   (``UPLOAD_PARSER_MEMORY_BYTES``, ``resource.RLIMIT_AS``) and a wall-clock limit
   (``UPLOAD_PARSER_TIMEOUT_SECONDS``). A parser that runs out of memory, crashes or hangs kills
   only that child; the caller gets a ``ValidationError`` and the background worker goes on.
3. ``read_xlsx_sheet`` (run in that child) streams the sheet XML once before parsing: it stops at the
   first row past the row cap (``UPLOAD_MAX_ROWS``) or a column past ``MAX_COLUMNS``, so a file that
   expands to millions of rows is refused before any row is held, and it lists formula cells (python-calamine
   would return their cached values) and merged ranges, which the import refuses with their references.

The child is a fresh interpreter (``python -c``), so it inherits no threads, database connections or
locks of the worker; it imports only this module and the parser's own module, and never Django's apps.
"""

import io
import logging
import marshal
import os
import pickle
import posixpath
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from django.core.exceptions import ValidationError

logger = logging.getLogger(__name__)

MB = 1024 * 1024
DEFAULTS = {
    "UPLOAD_MAX_UNPACKED_BYTES": 100 * MB,
    "UPLOAD_MAX_COMPRESSION_RATIO": 100,
    "UPLOAD_PARSER_MEMORY_BYTES": 1024 * MB,
    "UPLOAD_PARSER_TIMEOUT_SECONDS": 300,
    "UPLOAD_MAX_ROWS": 100_000,
}
RATIO_FLOOR_BYTES = MB  # smaller members cannot hurt whatever their ratio
MAX_MEMBERS = 10_000
MAX_COLUMNS = 64  # the widest template has 10 columns; a cell at XFD1 would make the parser allocate 16,384
SCAN_CHUNK = MB
SCAN_CARRY_LIMIT = 8 * MB  # one tag (or text run) longer than this is not a spreadsheet
FORMULA_LIST_LIMIT = 50


def limit(name: str):
    """The setting ``name`` or its default (read at call time, so tests can override it)."""
    from django.conf import settings

    return getattr(settings, name, DEFAULTS[name])


def size_text(size: int) -> str:
    """1024-based sizes the way the messages show them: "100 MB", "1.5 GB"."""
    if size >= 1024 * MB:
        return f"{size / (1024 * MB):.3g} GB"
    if size >= MB:
        return f"{size / MB:.3g} MB"
    return f"{max(size // 1024, 1)} KB"


# --- 1. the zip container ---


def check_zip(source, *, max_unpacked: int | None = None, max_ratio: int | None = None) -> None:
    """Refuse a broken zip, one that declares too much content, or one whose XML is absurdly compressed.

    ``source`` is a path, bytes or a binary file object. Only the zip's directory is read.
    """
    max_unpacked = limit("UPLOAD_MAX_UNPACKED_BYTES") if max_unpacked is None else max_unpacked
    max_ratio = limit("UPLOAD_MAX_COMPRESSION_RATIO") if max_ratio is None else max_ratio
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise ValidationError(
            "文件不是有效的 .xlsx 文件（压缩包已损坏或不是 Excel 格式），请在 Excel 中另存为 .xlsx 后重新上传。",
            code="bad_zip",
        ) from None
    if not members:
        raise ValidationError("文件不是有效的 .xlsx 文件（压缩包是空的）。", code="bad_zip")
    if len(members) > MAX_MEMBERS:
        raise ValidationError(
            f"文件中的部件超过 {MAX_MEMBERS:,} 个，不像是 Excel 表格，未做处理。", code="too_many_members"
        )
    total = sum(member.file_size for member in members)
    if total > max_unpacked:
        raise ValidationError(
            f"文件解压后的内容（{size_text(total)}）超过 {size_text(max_unpacked)} 的上限，"
            "可能已损坏或是恶意构造的文件，未做处理。请拆分为多个文件后分别导入。",
            code="unpacked_too_large",
        )
    for member in members:
        if not member.filename.lower().endswith(".xml") or member.file_size <= RATIO_FLOOR_BYTES:
            continue
        if member.file_size > max_ratio * max(member.compress_size, 1):
            ratio = member.file_size // max(member.compress_size, 1)
            raise ValidationError(
                f"文件中表格内容的压缩比（约 {ratio:,}:1）超过 {max_ratio}:1 的上限，"
                "可能是恶意构造的文件，未做处理。请用 Excel 重新另存后上传。",
                code="ratio_too_high",
            )


# --- 2. the child process ---

CHILD_CODE = "from apps.core.uploads import _child_main; _child_main()"


def _child_main() -> None:
    """Entry of the child: read (memory limit, function, args) from stdin, write the outcome to stdout."""
    import resource

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    memory, func, args = pickle.load(stdin)  # noqa: S301 - written by run_limited in the parent
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        outcome = ("ok", func(*args))
    except ValidationError as exc:
        outcome = ("refused", exc.messages[0] if exc.messages else "", exc.code)
    except MemoryError:
        outcome = ("memory",)
    except Exception as exc:  # noqa: BLE001 - reported to the parent by type; the parent logs and fails the job
        outcome = ("error", type(exc).__name__)
    try:
        try:
            # marshal is ten times faster than pickle for rows of strings and numbers; dates need pickle.
            data = b"M" + marshal.dumps(outcome)
        except ValueError:
            data = b"P" + pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        data = b"P" + pickle.dumps(("memory",))
    stdout.write(data)
    stdout.flush()


def _project_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def run_limited(func, *args, memory_bytes: int | None = None, timeout: float | None = None):
    """``func(*args)`` in a child process under a memory and a time limit; its result, or ValidationError.

    ``func`` must be a module-level function importable without Django's app registry, and its
    arguments and result picklable. A ``ValidationError`` raised by ``func`` comes back as the same
    message and code; running out of memory, crashing or overrunning the time gives a Chinese message
    naming the limit. The child is killed at the time limit.
    """
    memory_bytes = limit("UPLOAD_PARSER_MEMORY_BYTES") if memory_bytes is None else memory_bytes
    timeout = limit("UPLOAD_PARSER_TIMEOUT_SECONDS") if timeout is None else timeout
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_project_root(), env.get("PYTHONPATH", "")]))
    env["RUST_BACKTRACE"] = "0"  # a Rust parser that cannot allocate prints one line, not a backtrace
    payload = pickle.dumps((memory_bytes, func, args), protocol=pickle.HIGHEST_PROTOCOL)
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and code, no shell
        [sys.executable, "-c", CHILD_CODE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=_project_root(),
        close_fds=True,
    )
    try:
        out, err = process.communicate(payload, timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        logger.warning("upload parser %s killed after %s s", getattr(func, "__name__", func), timeout)
        raise ValidationError(
            f"解析文件超过 {timeout:g} 秒仍未完成，已中止，未导入任何数据。"
            "文件可能过大或是恶意构造的，请拆分后重新上传。",
            code="parser_timeout",
        ) from None
    memory_text = size_text(memory_bytes) if memory_bytes else "系统"
    try:
        # Both written by our own child process (the file's contents only ever become strings and numbers).
        body = memoryview(out)[1:]
        if not out:
            outcome = None
        elif out[:1] == b"M":
            outcome = marshal.loads(body)  # noqa: S302
        else:
            outcome = pickle.loads(body)  # noqa: S301
    except Exception:  # noqa: BLE001 - a child killed while writing leaves truncated output
        outcome = None
    if outcome is None or process.returncode != 0:
        logger.warning("upload parser exited with %s: %s", process.returncode, err[-2000:].decode("utf-8", "replace"))
        if any(sign in err for sign in (b"memory allocation", b"MemoryError", b"Cannot allocate memory")):
            outcome = ("memory",)
        else:
            raise ValidationError(
                f"解析文件时解析程序异常退出（可能超出 {memory_text} 的内存上限），未导入任何数据。"
                "请确认是用模板填写的 .xlsx 文件，过大的文件请拆分后重新上传。",
                code="parser_crashed",
            )
    kind = outcome[0]
    if kind == "ok":
        return outcome[1]
    if kind == "refused":
        raise ValidationError(outcome[1], code=outcome[2])
    if kind == "memory":
        raise ValidationError(
            f"解析文件需要的内存超过 {memory_text} 的上限，已中止，未导入任何数据。"
            "文件可能过大或是恶意构造的，请拆分后重新上传。",
            code="parser_memory",
        )
    logger.warning("upload parser raised %s", outcome[1])
    raise ValidationError("无法读取该文件，请确认是用模板填写的 .xlsx 文件。", code="unreadable")


# --- 3. reading a sheet (in the child) ---

_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
ROOT = re.compile(rb"<([A-Za-z_][\w.-]*:)?worksheet[\s>/]")
CELL_REF = re.compile(rb"<" + _PREFIX + rb"c\s[^>]*?\br=[\"']([A-Za-z]{1,3})(\d+)[\"']")
TAG_ENDS = b" >/\t\r\n"


class _Tags:
    """Searches for one sheet's tags, spelled with its namespace prefix ("" or e.g. "x:").

    Each starts with a literal (``<row r="``, ``<c r="``), which the regex engine finds fast; a 50 MB
    sheet of 100,000 rows is scanned in about a second. Excel, LibreOffice, WPS and openpyxl all write
    ``r`` as a cell's and a row's first attribute."""

    def __init__(self, prefix: bytes):
        p = re.escape(prefix)
        self.row = b"<" + prefix + b"row"
        self.formula = b"<" + prefix + b"f"
        self.row_ref = re.compile(b"<" + p + rb"row r=[\"'](\d+)")
        # Only columns of two or three letters (AA and beyond) can pass the cap; one-letter ones are skipped.
        self.wide = re.compile(b"<" + p + rb"c r=[\"']([A-Za-z]{2,3})\d")
        self.merge = re.compile(b"<" + p + rb"mergeCell ref=[\"']([A-Za-z]+\d+(?::[A-Za-z]+\d+)?)")

    def formulas(self, piece: bytes):
        """Positions of formula elements (``<f>``, ``<f t="shared" …/>``), not of ``<filterColumn>`` etc."""
        at = piece.find(self.formula)
        size = len(self.formula)
        while at >= 0:
            following = piece[at + size : at + size + 1]
            if following and following in TAG_ENDS:
                yield at
            at = piece.find(self.formula, at + size)


REF_PARTS = re.compile(r"^([A-Za-z]+)(\d+)$")
UNREADABLE = "无法读取该文件，请确认是用模板填写的 .xlsx 文件。"


def column_number(letters: str) -> int:
    """ "A" → 1, "Z" → 26, "AA" → 27."""
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number


def column_letter(number: int) -> str:
    """1 → "A", 27 → "AA" (the spreadsheet's column letters)."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _sheet_paths(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """[(sheet name, member path)] in workbook order (the order python-calamine numbers sheets)."""
    try:
        workbook = ET.fromstring(archive.read("xl/workbook.xml"))  # noqa: S314 - bounded by check_zip; expat refuses entity bombs
        rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))  # noqa: S314
    except (KeyError, ET.ParseError, zipfile.BadZipFile, OSError) as exc:
        raise ValidationError(UNREADABLE, code="unreadable") from exc
    targets = {}
    for rel in rels.iter():
        if _local(rel.tag) == "Relationship":
            targets[rel.get("Id")] = rel.get("Target", "")
    sheets = []
    for element in workbook.iter():
        if _local(element.tag) != "sheet":
            continue
        rel_id = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
        target = targets.get(rel_id)
        if not target:
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        sheets.append((element.get("name", ""), path))
    return sheets


def scan_sheet(archive: zipfile.ZipFile, member: str, *, max_rows: int, header_rows: int = 0) -> dict:
    """Stream one sheet's XML: row count, formula cells, merged ranges; refuse too many rows or columns.

    Refuses (ValidationError) at the first row beyond ``max_rows`` data rows (after ``header_rows``) or
    column beyond MAX_COLUMNS, so nothing more of a huge sheet is read. Python's zipfile stops at the
    declared size and checks the CRC, so a member cannot expand beyond what ``check_zip`` accepted.
    """
    rows = max_row = max_column = formula_count = 0
    formulas: list[str] = []
    merged: list[str] = []
    carry = b""
    tail = b""  # the end of the previous piece, for a formula whose cell tag ended there
    tags = None
    try:
        with archive.open(member) as stream:
            while True:
                chunk = stream.read(SCAN_CHUNK)
                buffer = carry + chunk
                if chunk:
                    cut = buffer.rfind(b">") + 1
                    piece, carry = buffer[:cut], buffer[cut:]
                    if len(carry) > SCAN_CARRY_LIMIT:
                        raise ValidationError(UNREADABLE, code="unreadable")
                else:
                    piece, carry = buffer, b""
                if piece and tags is None:
                    root = ROOT.search(piece)
                    tags = _Tags((root.group(1) or b"") if root else b"")
                if piece:
                    rows += piece.count(tags.row) - piece.count(tags.row + b"Breaks")
                    numbers = tags.row_ref.findall(piece)
                    if numbers:
                        max_row = max(max_row, max(map(int, numbers)))
                    letters = set(tags.wide.findall(piece))
                    if letters:
                        max_column = max(max_column, max(column_number(x.decode()) for x in letters))
                    for found in tags.formulas(piece):
                        formula_count += 1
                        if len(formulas) < FORMULA_LIST_LIMIT:
                            before = (tail + piece[:found])[-600:]
                            refs = CELL_REF.findall(before)
                            formulas.append(b"".join(refs[-1]).decode().upper() if refs else f"第 {rows} 行")
                    merged += [ref.decode().upper() for ref in tags.merge.findall(piece)]
                    tail = piece[-600:]
                extent = max(rows, max_row)
                if extent > max_rows + header_rows:
                    raise ValidationError(
                        f"表格数据超过 {max_rows:,} 行的上限（读到第 {extent:,} 行时已停止），未导入任何数据。"
                        "请拆分为多个文件后分别导入。",
                        code="too_many_rows",
                    )
                if max_column > MAX_COLUMNS:
                    raise ValidationError(
                        f"表格超过 {MAX_COLUMNS} 列的上限（有内容或格式的单元格到了 {column_letter(max_column)} 列），"
                        "未导入任何数据。请只保留模板中的列。",
                        code="too_many_columns",
                    )
                if not chunk:
                    break
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise ValidationError(UNREADABLE, code="unreadable") from exc
    return {
        "rows": max(rows, max_row),
        "formulas": formulas,
        "formula_count": formula_count,
        "merged": merged[:1000],
    }


def read_xlsx_sheet(
    path: str, index: int = 0, max_rows: int = DEFAULTS["UPLOAD_MAX_ROWS"], header_rows: int = 1
) -> dict:
    """Run in the child: scan sheet ``index`` (see ``scan_sheet``), then read its cells with python-calamine.

    Returns the scan's facts plus ``cells`` (rows of python values from A1, as
    ``CalamineSheet.to_python(skip_empty_area=False)``). A sheet with formula cells is returned
    without reading its values, since those would be the cached results.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        with zipfile.ZipFile(path) as archive:
            sheets = _sheet_paths(archive)
            if index >= len(sheets):
                raise ValidationError("文件中没有工作表。", code="no_sheet")
            facts = scan_sheet(archive, sheets[index][1], max_rows=max_rows, header_rows=header_rows)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationError(UNREADABLE, code="unreadable") from exc
    facts["sheet"] = sheets[index][0]
    if facts["formula_count"]:
        facts["cells"] = []
        return facts
    try:
        workbook = CalamineWorkbook.from_path(path)
        facts["cells"] = workbook.get_sheet_by_index(index).to_python(skip_empty_area=False)
    except (CalamineError, ValueError, OSError) as exc:
        raise ValidationError(UNREADABLE, code="unreadable") from exc
    return facts


def workbook_formulas(source, *, max_rows: int, header_rows: int = 1) -> list[str]:
    """Formula cells of every sheet as "工作表!B3" (the first FORMULA_LIST_LIMIT), each sheet scanned as above."""
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    found = []
    try:
        with zipfile.ZipFile(source) as archive:
            for name, member in _sheet_paths(archive):
                facts = scan_sheet(archive, member, max_rows=max_rows, header_rows=header_rows)
                found += [f"{name}!{ref}" for ref in facts["formulas"]]
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationError(UNREADABLE, code="unreadable") from exc
    return found[:FORMULA_LIST_LIMIT]


def formula_message(refs: list[str], count: int) -> str:
    shown = "、".join(refs[:10])
    more = f"等 {count} 个单元格" if count > 10 else ""
    return (
        f"文件中有公式单元格：{shown}{more}。导入不接受公式（只会读到上次计算的结果），"
        "请选中这些单元格“复制”后“选择性粘贴为数值”，保存后重新上传。"
    )
