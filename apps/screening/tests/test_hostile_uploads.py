"""Issue 12 items 2 and 3 (X-5, S-CLIENT-3): hostile spreadsheets fail their own batch with a Chinese
message through the real background worker, which then serves the next import; columns and cells the
import does not understand are refused by column letter and cell reference; the uploaded file is deleted
in every outcome; a batch that stops without finishing is marked failed."""

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from huey.contrib.djhuey import HUEY
from openpyxl import Workbook

from apps.clients.models import Client
from apps.core.scoping import unscoped
from apps.screening import importer, services, tasks
from apps.screening.importer import TEMPLATE_HEADERS
from apps.screening.models import ImportBatch, ScreeningRecord

from . import hostile
from .factories import people, person_row, workbook_bytes

GB = 1024 * 1024 * 1024
SHANGHAI = ZoneInfo("Asia/Shanghai")


def counts():
    with unscoped("test assertion"):
        return Client.objects.count(), ScreeningRecord.objects.count()


def stored_files() -> list[Path]:
    return list(services.upload_dir().iterdir())


def start_import(worker, unit, content: bytes, name="排查表.xlsx") -> ImportBatch:
    return services.do_upload_import(actor=worker, unit=unit, upload=SimpleUploadedFile(name, content))


def refreshed(batch) -> ImportBatch:
    with unscoped("test assertion"):
        return ImportBatch.objects.get(pk=batch.pk)


def run_through_worker(wait, worker, unit, content: bytes) -> ImportBatch:
    """Upload as the page does (the task is queued when the upload commits) and wait for the worker."""
    batch = start_import(worker, unit, content)
    assert wait(batch.pk) == "complete"  # the task itself ends normally: the failure is the batch's
    return refreshed(batch)


def assert_worker_goes_on(wait, worker, unit, start: int) -> None:
    """The same worker completes a valid import after the hostile one, and leaves no file behind."""
    before = counts()
    batch = run_through_worker(wait, worker, unit, people(3, start=start))
    assert batch.status == "done", (batch.message, batch.error_report[:3])
    assert counts() == (before[0] + 3, before[1] + 3)
    assert stored_files() == []


def assert_failed_cleanly(batch, *phrases) -> None:
    assert batch.status == "failed" and batch.finished_at is not None
    for phrase in phrases:
        assert phrase in batch.message, batch.message
    assert "未导入" in batch.message or "未做处理" in batch.message
    assert counts() == (0, 0)
    assert stored_files() == []


# --- through the real background worker ---


@pytest.mark.django_db(transaction=True)
def test_zip_bombs_at_the_default_limits_fail_their_batch_and_the_worker_goes_on(tree, worker, huey_consumer):
    """X-5, S-CLIENT-3 (issue 12 item 2): a 5 KB file declaring 1.5 GB, and a 500 KB file expanding to
    3 million rows (155 MB of sheet XML), are refused by the zip check at the default limits (100 MB,
    100:1) through a real huey worker thread; no rows, no file; the worker then completes a valid import."""
    bomb = hostile.declared_bomb()
    assert len(bomb) < 10_000
    batch = run_through_worker(huey_consumer, worker, tree.c1, bomb)
    assert_failed_cleanly(batch, "1.5 GB", "超过 100 MB 的上限")
    rows = hostile.many_rows(3_000_000)
    assert len(rows) < 1_000_000
    batch = run_through_worker(huey_consumer, worker, tree.c1, rows)
    assert_failed_cleanly(batch, "超过 100 MB 的上限")
    assert_worker_goes_on(huey_consumer, worker, tree.c1, start=0)


@pytest.mark.django_db(transaction=True)
def test_millions_of_rows_are_refused_while_streaming(tree, worker, huey_consumer, settings):
    """X-5, S-CLIENT-3 (issue 12 item 2): with the zip limits out of the way, the 3-million-row file is
    refused at the row cap (default 100,000) while the sheet is streamed — long before the end — and
    the worker goes on."""
    settings.UPLOAD_MAX_UNPACKED_BYTES = 4 * GB
    settings.UPLOAD_MAX_COMPRESSION_RATIO = 1_000_000
    batch = run_through_worker(huey_consumer, worker, tree.c1, hostile.many_rows(3_000_000))
    assert_failed_cleanly(batch, "超过 100,000 行的上限")
    stopped_at = int(batch.message.split("读到第 ")[1].split(" 行")[0].replace(",", ""))
    assert 100_001 < stopped_at < 500_000  # stopped within a chunk of the cap, not at 3,000,001
    assert_worker_goes_on(huey_consumer, worker, tree.c1, start=10)


@pytest.mark.django_db(transaction=True)
def test_parser_killed_by_memory_limit_or_time_limit_fails_the_batch_only(tree, worker, huey_consumer, settings):
    """X-5, S-CLIENT-3 (issue 12 item 2): a tiny file whose sheet spans 1,000,000 × 10 cells makes the
    parser ask for 320 MB; under a 256 MB limit the child dies, the batch fails naming the limit, and
    the worker goes on. A parse over the time limit is killed the same way."""
    settings.UPLOAD_MAX_UNPACKED_BYTES = 4 * GB
    settings.UPLOAD_MAX_COMPRESSION_RATIO = 1_000_000
    settings.UPLOAD_MAX_ROWS = 10_000_000
    settings.UPLOAD_PARSER_MEMORY_BYTES = 256 * 1024 * 1024
    batch = run_through_worker(huey_consumer, worker, tree.c1, hostile.sparse_rows(1_000_000))
    assert_failed_cleanly(batch, "256 MB")
    assert "内存" in batch.message
    assert_worker_goes_on(huey_consumer, worker, tree.c1, start=20)
    with unscoped("test cleanup"):
        ScreeningRecord.objects.all().delete()
        Client.objects.all().delete()

    settings.UPLOAD_PARSER_MEMORY_BYTES = GB
    settings.UPLOAD_PARSER_TIMEOUT_SECONDS = 0.2  # starting the child alone takes about that; the scan, seconds
    batch = run_through_worker(huey_consumer, worker, tree.c1, hostile.many_rows(3_000_000))
    assert_failed_cleanly(batch, "超过 0.2 秒仍未完成")
    settings.UPLOAD_PARSER_TIMEOUT_SECONDS = 300
    assert_worker_goes_on(huey_consumer, worker, tree.c1, start=30)


# --- file deleted in every outcome (immediate mode: the task runs when the upload commits) ---


@pytest.fixture
def immediate(settings, tmp_path):
    settings.SCREENING_UPLOAD_DIR = str(tmp_path / "uploads")
    previous = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = previous


def imported(worker, unit, content: bytes, capture) -> ImportBatch:
    with capture(execute=True):
        batch = start_import(worker, unit, content)
    return refreshed(batch)


@pytest.mark.usefixtures("immediate")
def test_the_file_is_deleted_on_success_refusal_and_crash(
    tree, worker, django_capture_on_commit_callbacks, monkeypatch, settings
):
    """X-5 (issue 12 item 2): success, a refused file (bad rows; a zip the check refuses), a parser crash
    and a parser timeout each leave the upload directory empty."""
    batch = imported(worker, tree.c1, people(2), django_capture_on_commit_callbacks)
    assert batch.status == "done" and stored_files() == []
    batch = imported(worker, tree.c1, people(1, phone="12345"), django_capture_on_commit_callbacks)
    assert batch.status == "failed" and stored_files() == []
    batch = imported(worker, tree.c1, b"PK\x03\x04" + b"\0" * 200, django_capture_on_commit_callbacks)
    assert batch.status == "failed" and "不是有效的 .xlsx 文件" in batch.message and stored_files() == []
    settings.UPLOAD_PARSER_MEMORY_BYTES = 256 * 1024 * 1024
    settings.UPLOAD_MAX_ROWS = 10_000_000
    batch = imported(worker, tree.c1, hostile.sparse_rows(1_000_000), django_capture_on_commit_callbacks)
    assert batch.status == "failed" and "256 MB" in batch.message and stored_files() == []
    settings.UPLOAD_PARSER_TIMEOUT_SECONDS = 0.01
    batch = imported(worker, tree.c1, people(2, start=5), django_capture_on_commit_callbacks)
    assert batch.status == "failed" and "0.01 秒" in batch.message and stored_files() == []
    assert counts() == (2, 2)


# --- item 3: columns and cells the import does not understand ---


def report(batch) -> list[tuple]:
    return [(e["row"], e["column"]) for e in batch.error_report]


@pytest.mark.usefixtures("immediate")
def test_unknown_and_headerless_columns_are_listed_by_letter(tree, worker, django_capture_on_commit_callbacks):
    """S-CLIENT-3 (issue 12 item 3): a column whose header is not the template's, and a column with data
    but no header, are errors listed by column letter; nothing is imported (not silently dropped)."""
    headers = [*TEMPLATE_HEADERS, "备注", "", "风险等级"]
    rows = [[*person_row(0), "爱喝酒", "另一列的数据", "低"]]
    batch = imported(worker, tree.c1, workbook_bytes(rows, headers=headers), django_capture_on_commit_callbacks)
    assert batch.status == "failed"
    assert "K、L、M 列" in batch.message, batch.message
    assert report(batch) == [(1, "K 列"), (1, "L 列"), (1, "M 列")]
    messages = [e["message"] for e in batch.error_report]
    assert "不是模板中的列" in messages[0] and "没有表头" in messages[1] and "与 J 列相同" in messages[2]
    assert "爱喝酒" not in str(batch.error_report) + batch.message  # the report repeats no cell value
    assert counts() == (0, 0) and stored_files() == []
    # An empty column with no header (a formatted but unused column) is not a problem.
    batch = imported(
        worker, tree.c1, workbook_bytes([[*person_row(0), None]], headers=[*TEMPLATE_HEADERS, ""]),
        django_capture_on_commit_callbacks,
    )  # fmt: skip
    assert batch.status == "done", batch.message


@pytest.mark.usefixtures("immediate")
def test_second_half_of_a_merged_header_is_an_unknown_column(tree, worker, django_capture_on_commit_callbacks):
    """S-CLIENT-3 (issue 12 item 3): J1:K1 merged over 风险等级 hides column K (its data would have been
    dropped); the batch fails naming K and the merge."""
    headers = [*TEMPLATE_HEADERS, None]
    content = hostile.with_merge(workbook_bytes([[*person_row(0), "高"]], headers=headers), "J1:K1")
    batch = imported(worker, tree.c1, content, django_capture_on_commit_callbacks)
    assert batch.status == "failed" and "K 列" in batch.message
    assert report(batch) == [(1, "K 列")] and "与 J 列合并" in batch.error_report[0]["message"]
    assert counts() == (0, 0)
    # A merge of data cells below the header is not a header problem (the rows are checked as usual).
    content = hostile.with_merge(people(2), "I2:I3")
    assert imported(worker, tree.c1, content, django_capture_on_commit_callbacks).status == "done"


@pytest.mark.usefixtures("immediate")
def test_formula_cells_are_refused_with_their_reference(tree, worker, django_capture_on_commit_callbacks):
    """S-CLIENT-3 (issue 12 item 3): formula cells (here with cached results "高" and a phone number) are
    refused with their references, never imported as the cached value; a shared formula counts too."""
    content = hostile.with_cells(
        people(3),
        {
            "J2": b'<c r="J2" t="str"><f>IF(1=1,"\xe9\xab\x98","\xe4\xbd\x8e")</f><v>\xe9\xab\x98</v></c>',
            "E4": b'<c r="E4"><f t="shared" ref="E4:E4" si="0">13900000000+2</f><v>13900000002</v></c>',
        },
    )
    batch = imported(worker, tree.c1, content, django_capture_on_commit_callbacks)
    assert batch.status == "failed"
    assert "公式单元格：J2、E4" in batch.message, batch.message
    assert report(batch) == [(2, "J 列"), (4, "E 列")]
    assert counts() == (0, 0) and stored_files() == []


@pytest.mark.usefixtures("immediate")
def test_date_serials_accepted_only_in_date_formatted_cells(tree, worker, django_capture_on_commit_callbacks):
    """S-CLIENT-3 (issue 12 item 3, kept): an Excel date cell in 排查日期 imports as its date; the same
    serial number in a cell without a date format is refused with its row."""
    with time_machine.travel(dt.datetime(2026, 3, 20, 23, 59, tzinfo=SHANGHAI), tick=False):
        book = Workbook()
        sheet = book.active
        sheet.append(TEMPLATE_HEADERS)
        sheet.append(person_row(0, screened_on=dt.date(2026, 3, 2)))
        sheet["H2"].number_format = "yyyy-mm-dd"
        sheet.append(person_row(1, screened_on=46083))  # 2026-03-02 as a bare number
        buffer = io.BytesIO()
        book.save(buffer)
        batch = imported(worker, tree.c1, buffer.getvalue(), django_capture_on_commit_callbacks)
        assert batch.status == "failed"
        assert [(e["row"], e["column"]) for e in batch.error_report] == [(3, "排查日期")]
        sheet.delete_rows(3)
        buffer = io.BytesIO()
        book.save(buffer)
        batch = imported(worker, tree.c1, buffer.getvalue(), django_capture_on_commit_callbacks)
        assert batch.status == "done", batch.error_report
        with unscoped("test assertion"):
            assert ScreeningRecord.objects.get().screened_on == dt.date(2026, 3, 2)


# --- a batch that stops without finishing ---


def stuck_batch(unit, user, status: str, minutes_ago: int) -> ImportBatch:
    with unscoped("test setup"):
        batch = ImportBatch.objects.create(
            unit=unit, unit_path=unit.path, scope_path=unit.path, uploaded_by=user, file_name="a.xlsx",
            stored_name=f"{status}-{minutes_ago}.xlsx", status=status,
        )  # fmt: skip
        ImportBatch.objects.filter(pk=batch.pk).update(created_at=batch.created_at - dt.timedelta(minutes=minutes_ago))
    services.batch_path(batch).write_bytes(people(1))
    return batch


@pytest.mark.usefixtures("immediate")
def test_stuck_batches_are_failed_by_the_periodic_task_and_on_read(tree, worker, settings):
    """X-5 (issue 12 item 2): a batch still validating (or queued, importing) longer than
    SCREENING_IMPORT_STALE_MINUTES is marked failed with a message and its file deleted — by the
    periodic task, and when its page or API is read; a recent one is left alone."""
    settings.SCREENING_IMPORT_STALE_MINUTES = 30
    old = stuck_batch(tree.c1, worker, "validating", 31)
    queued = stuck_batch(tree.c1, worker, "queued", 45)
    recent = stuck_batch(tree.c1, worker, "validating", 5)
    done = stuck_batch(tree.c1, worker, "done", 600)
    tasks.fail_stale_imports.call_local()
    for batch in (old, queued):
        batch = refreshed(batch)
        assert batch.status == "failed" and "超过 30 分钟仍未完成" in batch.message and batch.finished_at
        assert not services.batch_path(batch).exists()
    assert refreshed(recent).status == "validating" and services.batch_path(recent).exists()
    assert refreshed(done).status == "done"

    http = HttpClient()
    http.force_login(worker)
    settings.SCREENING_IMPORT_STALE_MINUTES = 4
    fragment = http.get(f"/screening/imports/{recent.pk}/status/").content.decode()
    assert "超过 4 分钟仍未完成" in fragment
    assert refreshed(recent).status == "failed" and not services.batch_path(recent).exists()
    api_batch = stuck_batch(tree.c1, worker, "importing", 10)
    data = http.get(f"/api/screening-imports/{api_batch.pk}/").json()
    assert data["status"] == "failed" and "超过 4 分钟" in data["message"]
    # The worker reaching a batch the check has failed does nothing but delete its file.
    services.batch_path(old).write_bytes(b"left over")
    assert importer.process_batch(old.pk).status == "failed" and not services.batch_path(old).exists()


def test_a_batch_failed_as_stale_while_writing_writes_nothing(tree, worker, settings, tmp_path, monkeypatch):
    """X-5 (issue 12 item 2): if the stale check fails a batch while its rows are being written, the
    write is rolled back, so the message "未写入任何数据" stays true."""
    settings.SCREENING_UPLOAD_DIR = str(tmp_path / "uploads")
    batch = stuck_batch(tree.c1, worker, "queued", 0)
    services.batch_path(batch).write_bytes(people(3))

    def then_expire(real_write):
        def write(*args, **kwargs):
            real_write(*args, **kwargs)
            with unscoped("test: the stale check runs meanwhile"):
                ImportBatch.objects.filter(pk=batch.pk).update(status="failed", message=services.stale_message())

        return write

    monkeypatch.setattr(importer, "_write_orm", then_expire(importer._write_orm))
    monkeypatch.setattr(importer, "_write_copy", then_expire(importer._write_copy))
    result = importer.process_batch(batch.pk)
    assert result.status == "failed" and "仍未完成" in refreshed(batch).message
    assert counts() == (0, 0) and stored_files() == []
