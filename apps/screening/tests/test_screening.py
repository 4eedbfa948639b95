"""S-CLIENT-3 screening (one by one and by spreadsheet import) and X-5 background progress."""

import datetime as dt
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from python_calamine import CalamineWorkbook

from apps.audit.models import AuditEntry
from apps.clients.models import Client
from apps.clients.services import do_register_client
from apps.core.scoping import unscoped
from apps.screening import services
from apps.screening.importer import TEMPLATE_HEADERS
from apps.screening.models import ImportBatch, ScreeningRecord

from .factories import id_number, people, person_row, workbook_bytes

pytestmark = pytest.mark.usefixtures("immediate_imports")


def login(user) -> HttpClient:
    client = HttpClient()
    client.force_login(user)
    return client


def upload(http, unit, content: bytes, capture, name="排查表.xlsx"):
    with capture(execute=True):
        response = http.post("/screening/imports/", {"unit": unit.pk, "file": SimpleUploadedFile(name, content)})
    return response


def last_batch() -> ImportBatch:
    with unscoped("test assertion"):
        return ImportBatch.objects.order_by("-pk").first()


def counts():
    with unscoped("test assertion"):
        return Client.objects.count(), ScreeningRecord.objects.count()


def sheet_rows(content: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


def test_template_download(tree, worker):
    """S-CLIENT-3: the template has the Chinese header row and the notes sheet lists the categories."""
    response = login(worker).get("/screening/template.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    header = book.get_sheet_by_index(0).to_python()[0]
    assert header == [
        "姓名*",
        "身份证号码",
        "性别",
        "出生日期",
        "联系电话",
        "住址",
        "服务对象类别",
        "排查日期*",
        "发现情况",
        "风险等级",
    ]
    notes = str(book.get_sheet_by_name("填写说明").to_python())
    assert "失业、待业人员" in notes and "YYYY-MM-DD" in notes


def test_valid_file_imports_with_blind_indexes_and_audit(tree, worker, django_capture_on_commit_callbacks):
    """S-CLIENT-3, X-5: a valid file registers new people, links a known one, and is searchable."""
    known = do_register_client(actor=None, unit=tree.c1, data={"name": "赵已登", "phone": "13912345678"})
    rows = [person_row(i) for i in range(3)]
    rows.append(person_row(3, name="赵已登", id_number="", phone="139-1234-5678"))
    rows.append(person_row(4, id_number="", birth_date=dt.date(1990, 5, 1), screened_on=dt.date(2026, 3, 1)))
    response = upload(login(worker), tree.c1, workbook_bytes(rows), django_capture_on_commit_callbacks)
    batch = last_batch()
    assert response.status_code == 302 and response["Location"] == f"/screening/imports/{batch.pk}/"
    assert batch.status == "done", batch.error_report
    assert (batch.total_rows, batch.created_clients, batch.linked_clients, batch.created_records) == (5, 4, 1, 5)
    with unscoped("test assertion"):
        first = Client.objects.search_exact("id_number", id_number(0, dt.date(1950, 1, 1))).get()
        assert first.name == person_row(0)[0] and first.unit_id == tree.c1.pk
        assert first.name_initials and first.gender in ("male", "female")
        assert [c.name for c in first.categories.all()] == ["失业、待业人员"]
        assert Client.objects.search_exact("phone", "13900000001").count() == 1
        assert Client.objects.search_exact("name", person_row(2)[0]).count() == 1
        linked = ScreeningRecord.objects.get(client=known)
        assert linked.import_batch_id == batch.pk and linked.screened_on == dt.date(2026, 3, 2)
        dated = ScreeningRecord.objects.get(client__birth_date=dt.date(1990, 5, 1))
        assert dated.screened_on == dt.date(2026, 3, 1)
        assert ScreeningRecord.objects.filter(finding__isnull=False).count() == 5
    entry = AuditEntry.objects.get(object_type="screening.importbatch", action="create", purpose__startswith="导入")
    assert "新登记来访者 4 人" in entry.purpose and "关联已登记来访者 1 人" in entry.purpose
    assert not list(services.upload_dir().iterdir())  # the upload is deleted after processing


def test_one_bad_row_writes_nothing_and_reports_it(tree, worker, django_capture_on_commit_callbacks):
    """S-CLIENT-3: one invalid row → nothing written; the report names row, column and problem."""
    before = counts()
    bad_id = id_number(1, dt.date(1950, 1, 2))[:-1] + ("0" if id_number(1, dt.date(1950, 1, 2))[-1] != "0" else "1")
    rows = [
        person_row(0),
        person_row(1, id_number=bad_id),
        person_row(2, screened_on="2026/03/02", risk_level="很高", categories="不存在类别"),
        person_row(3, phone="12345"),
    ]
    http = login(worker)
    upload(http, tree.c1, workbook_bytes(rows), django_capture_on_commit_callbacks)
    batch = last_batch()
    assert batch.status == "failed" and "整个文件未导入" in batch.message
    assert counts() == before
    found = {(e["row"], e["column"]) for e in batch.error_report}
    assert found == {(3, "身份证号码"), (4, "服务对象类别"), (4, "排查日期"), (4, "风险等级"), (5, "联系电话")}
    assert all(e["message"] for e in batch.error_report)
    page = http.get(f"/screening/imports/{batch.pk}/").content.decode()
    assert "身份证号码" in page and "日期格式应为 YYYY-MM-DD" in page and "下载错误报告" in page
    report = sheet_rows(http.get(f"/screening/imports/{batch.pk}/report.xlsx").content)
    assert ["行号", "列", "问题"] in report
    assert any(r[0] == 3 and r[1] == "身份证号码" for r in report)
    assert not list(services.upload_dir().iterdir())


def test_duplicates_inside_the_file(tree, worker, django_capture_on_commit_callbacks):
    """S-CLIENT-3: the same person twice in one file (ID, phone, or name + birth date) is refused."""
    same_id = person_row(0)
    rows = [
        same_id,
        person_row(1, id_number=same_id[1]),
        person_row(2, phone=same_id[4]),
        person_row(3, id_number="", name="钱同名", birth_date="1980-01-01"),
        person_row(4, id_number="", name="钱同名", birth_date="1980-01-01"),
    ]
    upload(login(worker), tree.c1, workbook_bytes(rows), django_capture_on_commit_callbacks)
    batch = last_batch()
    assert batch.status == "failed" and counts() == (0, 0)
    messages = {(e["row"], e["column"]): e["message"] for e in batch.error_report}
    assert messages == {
        (3, "身份证号码"): "与第 2 行身份证号码相同，同一人员只能填写一行。",
        (4, "联系电话"): "与第 2 行联系电话相同，同一人员只能填写一行。",
        (6, "姓名"): "与第 5 行姓名和出生日期相同，同一人员只能填写一行。",
    }


def test_reimport_is_idempotent(tree, worker, django_capture_on_commit_callbacks):
    """S-CLIENT-3: importing the same file again creates no duplicate clients or records."""
    content = people(4)
    http = login(worker)
    upload(http, tree.c1, content, django_capture_on_commit_callbacks)
    assert last_batch().status == "done" and counts() == (4, 4)
    upload(http, tree.c1, content, django_capture_on_commit_callbacks)
    again = last_batch()
    assert again.status == "done" and counts() == (4, 4)
    assert (again.created_records, again.linked_clients, again.skipped_rows) == (0, 0, 4)
    assert {e["message"] for e in again.error_report} == {"已导入"}
    assert "4 行此前已导入" in http.get(f"/screening/imports/{again.pk}/status/").content.decode()
    # A later screening of the same people adds records to the existing clients.
    upload(http, tree.c1, people(4, screened_on="2026-04-01"), django_capture_on_commit_callbacks)
    assert last_batch().linked_clients == 4 and counts() == (4, 8)


def test_out_of_scope_duplicate_is_reported_without_details(tree, worker, django_capture_on_commit_callbacks):
    """S-CLIENT-3, X-4: a person registered by another unit of the tree is refused without naming it."""
    elsewhere = do_register_client(
        actor=None, unit=tree.c3, data={"name": "孙别处", "id_number": id_number(7, dt.date(1985, 6, 1))}
    )
    do_register_client(actor=None, unit=tree.other, data={"name": "外区同号", "phone": "13900000001"})
    rows = [person_row(0), person_row(1), person_row(2, name="孙别处", id_number=elsewhere.id_number)]
    http = login(worker)
    upload(http, tree.c1, workbook_bytes(rows), django_capture_on_commit_callbacks)
    batch = last_batch()
    assert batch.status == "failed"
    # Another tree's register is not searched: row 3 (phone 13900000001) is fine.
    assert batch.error_report == [{"row": 4, "column": "姓名", "message": "该人员已在其他单位登记，请联系上级单位。"}]
    page = http.get(f"/screening/imports/{batch.pk}/").content.decode()
    assert "该人员已在其他单位登记" in page
    for secret in (tree.c3.name, f"来访者 #{elsewhere.pk}", "孙别处"):
        assert secret not in page
    assert counts() == (2, 0)


def test_progress_reaches_100_and_polling_stops(tree, worker, django_capture_on_commit_callbacks):
    """X-5: the status fragment polls while running and shows 100% when done."""
    http = login(worker)
    with unscoped("test setup"):
        queued = ImportBatch.objects.create(
            unit=tree.c1, unit_path=tree.c1.path, scope_path=tree.c1.path, uploaded_by=worker,
            file_name="x.xlsx", stored_name="x.xlsx", status="validating", total_rows=10, processed_rows=5,
        )  # fmt: skip
    running = http.get(f"/screening/imports/{queued.pk}/status/").content.decode()
    assert 'hx-trigger="every 1s"' in running and "25%" in running
    upload(http, tree.c1, people(3), django_capture_on_commit_callbacks)
    batch = last_batch()
    assert batch.percent == 100 and batch.processed_rows == batch.total_rows == 3
    fragment = http.get(f"/screening/imports/{batch.pk}/status/").content.decode()
    assert "100%" in fragment and "hx-trigger" not in fragment and "导入完成" in fragment
    api = http.get(f"/api/screening-imports/{batch.pk}/").json()
    assert api["percent"] == 100 and api["status"] == "done"


def test_5000_rows_import(tree, worker, django_capture_on_commit_callbacks):
    """X-5, S-CLIENT-3: a generated 5,000-row file imports in bulk within the test."""
    content = people(5000)
    started = time.monotonic()
    upload(login(worker), tree.c1, content, django_capture_on_commit_callbacks)
    batch = last_batch()
    assert batch.status == "done", batch.error_report[:5]
    assert batch.created_clients == 5000 and counts() == (5000, 5000)
    assert time.monotonic() - started < 60
    with unscoped("test assertion"):
        assert Client.objects.search_exact("phone", "13900004999").exists()


def test_limits_and_file_type(tree, worker, django_capture_on_commit_callbacks, monkeypatch, settings):
    """S-CLIENT-3: non-xlsx, oversized files, too many rows and missing columns get clear Chinese errors."""
    http = login(worker)
    page = upload(http, tree.c1, b"name,phone\n", django_capture_on_commit_callbacks, name="list.csv")
    assert page.status_code == 200 and "只能导入" in page.content.decode()
    page = upload(http, tree.c1, b"not a zip", django_capture_on_commit_callbacks, name="fake.xlsx")
    assert "不是有效的 .xlsx 文件" in page.content.decode()
    monkeypatch.setattr(services, "MAX_UPLOAD_BYTES", 100)
    page = upload(http, tree.c1, people(2), django_capture_on_commit_callbacks)
    assert "文件超过 20 MB" in page.content.decode()
    assert last_batch() is None
    monkeypatch.setattr(services, "MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
    settings.UPLOAD_MAX_ROWS = 3
    upload(http, tree.c1, people(4), django_capture_on_commit_callbacks)
    assert last_batch().status == "failed" and "表格数据超过 3 行的上限" in last_batch().message
    settings.UPLOAD_MAX_ROWS = 100_000
    headers = [h for h in TEMPLATE_HEADERS if h != "排查日期*"]
    upload(http, tree.c1, workbook_bytes([["张三"] * 9], headers=headers), django_capture_on_commit_callbacks)
    assert last_batch().status == "failed" and "缺少必填列：排查日期" in last_batch().message
    assert counts() == (0, 0)


def test_upload_outside_scope_is_refused(tree, worker, counsellor_a, django_capture_on_commit_callbacks):
    """S-CLIENT-3, X-4: an import aims only at the uploader's subtree; a counsellor cannot import."""
    upload(login(worker), tree.c2, people(1), django_capture_on_commit_callbacks)
    assert last_batch() is None
    assert login(counsellor_a).get("/screening/imports/").status_code == 403


def test_record_one_person_with_duplicate_detection(tree, worker):
    """S-CLIENT-3: the form registers a new person, offers an in-scope match, hides an out-of-scope one."""
    http = login(worker)
    base = {
        "unit": tree.c1.pk,
        "gender": "unknown",
        "screened_on": "2026-03-05",
        "source": "mopai",
        "risk_level": "high",
    }
    response = http.post("/screening/new/", {**base, "name": "周新人", "phone": "13700000001", "finding": "独居老人"})
    assert response.status_code == 302
    with unscoped("test assertion"):
        record = ScreeningRecord.objects.get()
        assert record.client.name == "周新人" and record.finding == "独居老人" and record.source == "mopai"
    # Same phone again: the match in scope is shown with a link button; nothing is written yet.
    page = http.post("/screening/new/", {**base, "name": "周新人", "phone": "13700000001"}).content.decode()
    assert "疑似同一人员" in page and f'name="link_client" value="{record.client_id}"' in page
    assert counts() == (1, 1)
    response = http.post("/screening/new/", {**base, "name": "周新人", "link_client": record.client_id})
    assert response.status_code == 302 and counts() == (1, 2)
    # Registered by a sibling street's community: told only that it exists.
    other = do_register_client(actor=None, unit=tree.c3, data={"name": "吴外单位", "phone": "13700000002"})
    page = http.post(
        "/screening/new/", {**base, "name": "吴外单位", "phone": "13700000002", "confirm_new": "on"}
    ).content.decode()
    assert "该人员已在其他单位登记" in page and tree.c3.name not in page and f"来访者 #{other.pk}" not in page
    assert counts() == (2, 2)
    # Linking to an out-of-scope client by id is a 404.
    assert http.post("/screening/new/", {**base, "name": "x", "link_client": other.pk}).status_code == 404
    listing = http.get("/screening/").content.decode()
    assert "周新人" in listing and "吴外单位" not in listing


def test_api_records_and_upload(tree, worker, django_capture_on_commit_callbacks):
    """S-CLIENT-3, X-6: records are listed and created through the API; imports upload and report status."""
    http = login(worker)
    response = http.post(
        "/api/screening-records/",
        {"unit": tree.c1.pk, "name": "郑接口", "screened_on": "2026-03-05", "risk_level": "medium"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert http.get("/api/screening-records/").json()["results"][0]["risk_level"] == "medium"
    with django_capture_on_commit_callbacks(execute=True):
        response = http.post(
            "/api/screening-imports/", {"unit": tree.c1.pk, "file": SimpleUploadedFile("a.xlsx", people(2))}
        )
    assert response.status_code == 202
    assert http.get(f"/api/screening-imports/{response.json()['id']}/").json()["status"] == "done"
    assert counts() == (3, 3)


def test_demo_data(tree, worker):
    """S-CLIENT-3: the demo seeding adds screening records for registered clients."""
    from apps.screening.demo import seed_demo_screening

    do_register_client(actor=None, unit=tree.c1, data={"name": "演示甲"})
    do_register_client(actor=None, unit=tree.c2, data={"name": "演示乙"})
    assert seed_demo_screening({"community-1-1": tree.c1, "community-1-2": tree.c2}, {"worker": worker}) == 2
    with unscoped("test assertion"):
        assert ScreeningRecord.objects.filter(screened_by=worker).count() == 1
