"""End-to-end: a community worker imports a screening spreadsheet — first with a bad row, then fixed."""

import pytest
from django.core.management import call_command
from huey.contrib.djhuey import HUEY

from apps.screening.tests.factories import person_row, workbook_bytes

from .conftest import shot
from .test_scoped_login import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def immediate_jobs(settings, tmp_path):
    settings.SCREENING_UPLOAD_DIR = str(tmp_path / "uploads")
    previous = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = previous


def test_worker_imports_screening_file(live_server, page_factory, immediate_jobs, tmp_path):
    """S-CLIENT-3, X-5: a bad row is reported row by row and nothing is written; the fixed file imports."""
    call_command("seed_demo", part="service")
    rows = [person_row(i, screened_on="2026-03-02") for i in range(1, 40)]
    bad = list(rows)
    bad[4] = person_row(5, screened_on="2026/03/02", phone="12345")
    (tmp_path / "bad.xlsx").write_bytes(workbook_bytes(bad))
    (tmp_path / "good.xlsx").write_bytes(workbook_bytes(rows))
    base = live_server.url
    page = page_factory()
    login(page, base, "worker")
    page.click("text=日常排查")
    page.wait_for_selector("[data-testid=screening-records]")
    page.click("text=批量导入")
    page.select_option("select[name=unit]", index=1)
    page.set_input_files("input[name=file]", str(tmp_path / "bad.xlsx"))
    shot(page, "60-screening-upload")
    page.click("button:has-text('上传并导入')")
    page.wait_for_selector("[data-testid=import-failed]")
    report = page.inner_text("[data-testid=error-report]")
    assert "排查日期" in report and "联系电话" in report and "6" in report
    assert page.get_attribute("[data-testid=batch-status]", "data-status") == "failed"
    shot(page, "61-screening-error-report")

    page.goto(f"{base}/screening/imports/")
    page.select_option("select[name=unit]", index=1)
    page.set_input_files("input[name=file]", str(tmp_path / "good.xlsx"))
    page.click("button:has-text('上传并导入')")
    page.wait_for_selector("[data-testid=import-done]")
    assert "100%" in page.inner_text("[data-testid=batch-status]")
    assert "新登记来访者 39 人" in page.inner_text("[data-testid=import-done]")
    shot(page, "62-screening-import-done")
    page.click("text=查看排查记录")
    page.wait_for_selector("[data-testid=screening-records]")
    shot(page, "63-screening-records")
