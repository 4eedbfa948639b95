"""Scale import from Excel behind the upload defences (issue 12 items 2 and 3, X-5, S-WARN-6): zip check,
child process under the limits, formula cells and oversized sheets refused; a valid workbook still reads."""

import io
import re
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.urls import reverse

from apps.assessments.importers import read_definition_file
from apps.assessments.models import Scale
from apps.screening.tests import hostile

from .conftest import scale_workbook


def with_formula(content: bytes, member: str, ref: str) -> bytes:
    """``content`` with cell ``ref`` of sheet ``member`` turned into a formula with a cached result."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == member:
                pattern = re.compile(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', re.S)
                data, count = pattern.subn(f'<c r="{ref}"><f>1+1</f><v>2</v></c>'.encode(), data, count=1)
                assert count == 1
            target.writestr(info.filename, data)
    return out.getvalue()


def test_valid_scale_workbook_still_reads():
    """S-WARN-6 (issue 12 item 2): a valid workbook reads (in the child process) into the same definition."""
    data = read_definition_file("sds.xlsx", scale_workbook())
    assert data["code"] == "SDS" and len(data["items"]) == 20 and data["items"][1]["reverse"] is True


def test_scale_workbook_with_formula_is_refused_with_sheet_and_cell(district_admin, tree):
    """S-WARN-6 (issue 12 item 3): a formula cell (cached result 2) is refused naming 分段!C3; nothing saved."""
    content = with_formula(scale_workbook(), "xl/worksheets/sheet4.xml", "C3")
    with pytest.raises(ValidationError) as caught:
        read_definition_file("sds.xlsx", content)
    assert caught.value.code == "formula" and "分段!C3" in caught.value.message
    http = HttpClient()
    http.force_login(district_admin)
    upload = io.BytesIO(content)
    upload.name = "sds.xlsx"
    page = http.post(reverse("assessments:scale-import"), {"file": upload})
    assert page.status_code == 200 and "分段!C3" in page.content.decode()
    assert not Scale.objects.filter(code="SDS").exists()


def test_scale_workbook_bombs_and_oversized_sheets_are_refused(settings):
    """X-5 (issue 12 item 2): a workbook declaring 1.5 GB is refused by the zip check (even named .xls),
    a sheet past the row cap by the streaming scan; the parser runs under the child's time limit."""
    for name in ("sds.xlsx", "sds.xls"):
        with pytest.raises(ValidationError) as caught:
            read_definition_file(name, hostile.declared_bomb())
        assert "100 MB 的上限" in caught.value.message
    settings.UPLOAD_MAX_ROWS = 10
    with pytest.raises(ValidationError) as caught:
        read_definition_file("sds.xlsx", scale_workbook(items=20))
    assert caught.value.code == "too_many_rows" and "超过 10 行的上限" in caught.value.message
    settings.UPLOAD_MAX_ROWS = 100_000
    settings.UPLOAD_PARSER_TIMEOUT_SECONDS = 0.01  # the child cannot even start in that time
    with pytest.raises(ValidationError) as caught:
        read_definition_file("sds.xlsx", scale_workbook())
    assert caught.value.code == "parser_timeout" and "0.01 秒" in caught.value.message
