"""apps.core.uploads (issue 12 item 2, X-5, S-CLIENT-3): the zip check, the limited child process and
the streaming sheet scan every spreadsheet upload goes through."""

import io
import os
import struct
import time
import zipfile

import pytest
from django.core.exceptions import ValidationError

from apps.core import uploads
from apps.core.tests import upload_helpers as helpers
from apps.screening.tests import hostile
from apps.screening.tests.factories import people

MB = 1024 * 1024


def refused(func, *args, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        func(*args, **kwargs)
    return caught.value


def test_zip_check_refuses_a_declared_bomb_at_the_default_limits(settings):
    """X-5 (issue 12 item 2): a 5 KB workbook declaring 1.5 GB is refused from the zip directory alone,
    naming the 100 MB limit; a real workbook passes."""
    for name in ("UPLOAD_MAX_UNPACKED_BYTES", "UPLOAD_MAX_COMPRESSION_RATIO"):
        delattr(settings, name)  # the module defaults, as a deployment without these settings has
    bomb = hostile.declared_bomb()
    assert len(bomb) < 10_000
    error = refused(uploads.check_zip, bomb)
    assert error.code == "unpacked_too_large" and "1.5 GB" in error.message and "100 MB 的上限" in error.message
    uploads.check_zip(people(50))
    settings.UPLOAD_MAX_UNPACKED_BYTES = 2 * 1024 * MB  # the limit is the setting; the ratio still refuses it
    assert refused(uploads.check_zip, bomb).code == "ratio_too_high"


def test_zip_check_refuses_absurd_ratio_and_broken_zips():
    """X-5 (issue 12 item 2): XML compressed more than 100:1 is refused naming the ratio limit; a broken
    or empty zip is refused as not an .xlsx file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<row/>" * (2 * MB))
    error = refused(uploads.check_zip, buffer.getvalue())
    assert error.code == "ratio_too_high" and "100:1 的上限" in error.message
    uploads.check_zip(buffer.getvalue(), max_ratio=100_000)
    for broken in (b"PK\x03\x04" + b"\0" * 100, people(2)[:-200], b""):
        assert refused(uploads.check_zip, broken).code == "bad_zip"
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").close()
    assert refused(uploads.check_zip, empty.getvalue()).code == "bad_zip"


def test_a_member_larger_than_declared_is_not_read_past_its_declaration(tmp_path):
    """X-5 (issue 12 item 2): a sheet that declares fewer bytes than it holds stops at the declared size
    and fails its checksum, so a lying zip cannot expand beyond what check_zip accepted."""
    content = hostile.declared_bomb(declared=1000)
    uploads.check_zip(content)
    path = tmp_path / "lying.xlsx"
    path.write_bytes(content)
    assert refused(uploads.read_xlsx_sheet, str(path)).code == "unreadable"


def test_run_limited_returns_the_result_from_another_process():
    """X-5 (issue 12 item 2): the function runs in a child process and its result comes back; a
    ValidationError comes back with its message and code, any other error as a Chinese refusal."""
    result = uploads.run_limited(helpers.add, 2, 3)
    assert result["sum"] == 5 and result["pid"] != os.getpid()
    error = refused(uploads.run_limited, helpers.refuse)
    assert error.message == "这个文件不行。" and error.code == "nope"
    error = refused(uploads.run_limited, helpers.explode)
    assert error.code == "unreadable" and "无法读取" in error.message


def test_run_limited_survives_memory_exhaustion_crash_and_hang():
    """X-5 (issue 12 item 2): a child over its memory limit, a child killed by a signal and a child
    over its time limit each give a Chinese message naming the limit; this process goes on."""
    assert uploads.run_limited(helpers.allocate, 50, memory_bytes=512 * MB) == 50 * MB
    error = refused(uploads.run_limited, helpers.allocate, 400, memory_bytes=200 * MB)
    assert error.code == "parser_memory" and "200 MB 的上限" in error.message
    error = refused(uploads.run_limited, helpers.die)
    assert error.code == "parser_crashed" and "异常退出" in error.message
    started = time.monotonic()
    error = refused(uploads.run_limited, helpers.sleep, 60, timeout=1)
    assert error.code == "parser_timeout" and "超过 1 秒仍未完成" in error.message
    assert time.monotonic() - started < 30  # killed, not waited for
    assert uploads.run_limited(helpers.sleep, 0, timeout=30) == "woke"


def test_scan_stops_at_the_row_cap_while_streaming(tmp_path):
    """X-5 (issue 12 item 2): a 500 KB file expanding to 3,000,000 rows is refused at the first chunk past
    the row cap, naming the cap, without reading the rest (well under a second's worth of the sheet)."""
    path = tmp_path / "rows.xlsx"
    path.write_bytes(hostile.many_rows(3_000_000))
    started = time.monotonic()
    error = refused(uploads.read_xlsx_sheet, str(path), 0, 100_000)
    assert error.code == "too_many_rows" and "超过 100,000 行的上限" in error.message
    stopped_at = int(error.message.split("读到第 ")[1].split(" 行")[0].replace(",", ""))
    assert 100_001 < stopped_at < 500_000
    assert time.monotonic() - started < 30
    sparse = tmp_path / "sparse.xlsx"
    sparse.write_bytes(hostile.sparse_rows(2_000_000))  # one far row counts by its number
    assert refused(uploads.read_xlsx_sheet, str(sparse), 0, 100_000).code == "too_many_rows"


def _sheet_zip(xml: bytes) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("s.xml", xml)
    return zipfile.ZipFile(buffer)


def test_scan_finds_formulas_merges_and_wide_columns_in_any_spelling():
    """S-CLIENT-3 (issue 12 item 3): formula cells are found with their references (prefixed namespaces,
    shared formulas, single quotes), merged ranges listed, and a cell past the column cap refused."""
    xml = (
        b'<x:worksheet xmlns:x="urn:main"><x:sheetData><x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c>'
        b"<x:c r='B1'><x:f>SUM(1,2)</x:f><x:v>3</x:v></x:c></x:row>"
        b'<x:row r="2"><x:c r="c2" s="1"><x:f t="shared" si="0"/><x:v>4</x:v></x:c><x:c r="D2"><x:v>5</x:v></x:c>'
        b'</x:row></x:sheetData><x:mergeCells><x:mergeCell ref="A1:B1"/></x:mergeCells></x:worksheet>'
    )
    facts = uploads.scan_sheet(_sheet_zip(xml), "s.xml", max_rows=10)
    assert facts["formulas"] == ["B1", "C2"] and facts["formula_count"] == 2
    assert facts["merged"] == ["A1:B1"] and facts["rows"] == 2
    wide = b'<worksheet><sheetData><row r="1"><c r="XFD1"><v>1</v></c></row></sheetData></worksheet>'
    error = refused(uploads.scan_sheet, _sheet_zip(wide), "s.xml", max_rows=10)
    assert error.code == "too_many_columns" and "64 列" in error.message and "XFD" in error.message


def test_formula_message_and_letters():
    """S-CLIENT-3 (issue 12 item 3): column letters both ways; the formula message lists the cells."""
    for number, letters in ((1, "A"), (26, "Z"), (27, "AA"), (702, "ZZ"), (16384, "XFD")):
        assert uploads.column_letter(number) == letters and uploads.column_number(letters) == number
    message = uploads.formula_message([f"A{n}" for n in range(2, 14)], 12)
    assert "A2、A3" in message and "等 12 个单元格" in message and "A12" not in message


def test_declared_sizes_are_what_the_bomb_declares():
    """X-5 (issue 12 item 2): the test bomb really declares 1.5 GB in its central directory and local header."""
    content = hostile.declared_bomb()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        info = archive.getinfo(hostile.SHEET)
    assert info.file_size == 1536 * MB
    assert struct.unpack_from("<I", content, info.header_offset + 22)[0] == 1536 * MB
