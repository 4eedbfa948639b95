"""Hostile spreadsheets built in memory for the upload-defence tests (issue 12): a zip that declares more
than a gigabyte, sheets that expand to millions of rows, sparse sheets, formula cells, merged headers.

Every builder starts from a real template-shaped workbook written by openpyxl (``factories.people``)
and changes only the part under test, so the files are otherwise what Excel users upload.
"""

import io
import re
import struct
import zipfile

from .factories import people

SHEET = "xl/worksheets/sheet1.xml"


def _members(content: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return [(info, archive.read(info)) for info in archive.infolist()]


def replace_sheet(content: bytes, sheet_xml: bytes) -> bytes:
    """``content`` with its first sheet's XML replaced (every other member copied as it is)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in _members(content):
            archive.writestr(info.filename, sheet_xml if info.filename == SHEET else data)
    return out.getvalue()


def sheet_xml(content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return archive.read(SHEET)


def declared_bomb(declared: int = 1536 * 1024 * 1024) -> bytes:
    """A small valid workbook whose sheet XML declares ``declared`` bytes uncompressed (1.5 GB), in both
    the local header and the central directory — what a zip bomb looks like to its reader."""
    data = bytearray(people(2))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(SHEET)
    local = info.header_offset
    assert data[local : local + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, local + 22, declared)
    entry = data.rfind(SHEET.encode()) - 46  # the central directory (at the end) names the member last
    assert data[entry : entry + 4] == b"PK\x01\x02"
    struct.pack_into("<I", data, entry + 24, declared)
    return bytes(data)


def many_rows(
    rows: int, row: bytes = b'<row><c t="inlineStr"><is><t>\xe5\xbc\xa0\xe4\xb8\x89</t></is></c></row>'
) -> bytes:
    """A workbook whose sheet holds the template header and ``rows`` identical data rows without row
    numbers, streamed into the zip: a few hundred KB that expand to millions of rows."""
    base = people(1)
    xml = sheet_xml(base)
    head, tail = xml.split(b"</sheetData>")
    head = re.sub(rb"<row r=\"2\".*?</row>", b"", head, flags=re.S)  # keep only the header row
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for info, data in _members(base):
            if info.filename != SHEET:
                archive.writestr(info.filename, data)
                continue
            with archive.open(SHEET, "w", force_zip64=True) as stream:
                stream.write(head)
                block = row * 10_000
                for _ in range(rows // 10_000):
                    stream.write(block)
                stream.write(row * (rows % 10_000))
                stream.write(b"</sheetData>" + tail)
    return out.getvalue()


def sparse_rows(last_row: int) -> bytes:
    """The template header and one cell at J<last_row>: a tiny file whose sheet spans ``last_row`` rows
    by 10 columns, so a parser that builds the whole grid allocates tens of millions of cells."""
    base = people(1)
    xml = sheet_xml(base)
    head, tail = xml.split(b"</sheetData>")
    head = re.sub(rb"<row r=\"2\".*?</row>", b"", head, flags=re.S)
    far = f'<row r="{last_row}"><c r="J{last_row}" t="inlineStr"><is><t>x</t></is></c></row>'.encode()
    return replace_sheet(base, head + far + b"</sheetData>" + tail)


def with_cells(content: bytes, cells: dict[str, bytes]) -> bytes:
    """``content`` with the XML of some cells (by reference, e.g. "I2") replaced by the given XML."""
    xml = sheet_xml(content)
    for ref, cell in cells.items():
        pattern = re.compile(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', re.S)
        xml, count = pattern.subn(cell, xml, count=1)
        assert count == 1, ref
    return replace_sheet(content, xml)


def with_merge(content: bytes, ref: str) -> bytes:
    """``content`` with the range ``ref`` merged (a <mergeCells> element after the sheet data)."""
    xml = sheet_xml(content)
    merge = f'<mergeCells count="1"><mergeCell ref="{ref}"/></mergeCells>'.encode()
    return replace_sheet(content, xml.replace(b"</sheetData>", b"</sheetData>" + merge, 1))
