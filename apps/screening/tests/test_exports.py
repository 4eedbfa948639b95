"""X-3: the screening record list and the import batch list export to Excel/CSV, scoped like the lists."""

import datetime as dt

import pytest

from apps.exports.registry import get_dataset
from apps.exports.testing import export_through_http, fresh_client
from apps.screening import services
from apps.screening.models import ImportBatch
from conftest import make_user

ID_C1 = "33010619850612418X"
PHONE_C1 = "13800138000"
FINDING = "情绪低落，多次提到轻生"


@pytest.fixture(autouse=True)
def _exports_run_at_once(immediate_exports):
    return immediate_exports


def screen(unit, name, risk="low", **person):
    return services.do_record_screening(
        actor=None,
        unit=unit,
        screening={"screened_on": dt.date(2026, 3, 2), "risk_level": risk, "finding": FINDING},
        person={"name": name, **person},
    )


@pytest.fixture
def records(tree):
    """One record in C1 (with full identifiers), one in C2 (same street S1), one in C3 (sibling street)."""
    return {
        "c1": screen(tree.c1, "张三丰", "high", id_number=ID_C1, phone=PHONE_C1),
        "c2": screen(tree.c2, "李四光"),
        "s2": screen(tree.c3, "王五福"),
    }


def batch(unit, user, name):
    return ImportBatch.objects.create(
        unit=unit, unit_path=unit.path, scope_path=unit.path, uploaded_by=user, file_name=name, stored_name="x"
    )


def test_record_export_is_scoped_and_shows_the_list_columns(records, street_manager):
    """X-3, S-CLIENT-3, S-ORG-2: the sibling street's record is absent; the rows carry what the list shows,
    never the finding, an ID number or a phone; filters the list does not have change nothing."""
    dataset = get_dataset("screening_records")
    rows = list(dataset.rows(street_manager, {}))
    assert [r[1] for r in rows] == [records["c2"].client_id, records["c1"].client_id]  # newest first
    assert records["s2"].client_id not in {r[1] for r in rows}
    assert rows[1] == (dt.date(2026, 3, 2), records["c1"].client_id, "张三丰", "一社区室", "日常排查", "高", "")
    assert all(len(row) == len(dataset.columns) for row in rows)
    text = repr(rows)
    for canary in (ID_C1, PHONE_C1, "轻生"):
        assert canary not in text
    assert list(dataset.rows(street_manager, {"risk_level": "<junk>", "q": "x" * 200})) == rows


def test_batch_export_is_scoped(tree, street_manager, counsellor_a):
    """X-3, S-CLIENT-3, X-5: the batch list's export holds the street's batches only."""
    mine = batch(tree.c1, counsellor_a, "一社区.xlsx")
    batch(tree.c3, counsellor_a, "三社区.xlsx")
    dataset = get_dataset("screening_imports")
    rows = list(dataset.rows(street_manager, {"page": "x"}))
    assert [r[0] for r in rows] == [mine.pk]
    assert rows[0][1:5] == ("一社区.xlsx", "一社区室", "排队中", 0)
    assert all(len(row) == len(dataset.columns) for row in rows)


def test_record_export_through_the_page(records, street_manager, django_capture_on_commit_callbacks):
    """X-3, S-CLIENT-3: the export arrives as an encrypted xlsx holding the list's rows."""
    rows = export_through_http(fresh_client(street_manager), django_capture_on_commit_callbacks, "screening_records")
    assert rows[0] == get_dataset("screening_records").columns
    assert {r[2] for r in rows[1:]} == {"张三丰", "李四光"}


def test_lists_show_export_buttons_to_managers_only(records, tree, street_manager):
    """X-3: the manager sees the buttons on both lists; a community worker (no export permission) sees the
    lists without them; a volunteer sees neither."""
    http = fresh_client(street_manager)
    assert 'data-testid="export-screening_records-xlsx"' in http.get("/screening/").content.decode()
    assert 'data-testid="export-screening_imports-csv"' in http.get("/screening/imports/").content.decode()
    worker = fresh_client(make_user("worker_c1", tree.c1, "community_worker"))
    page = worker.get("/screening/")
    assert page.status_code == 200 and "export-screening" not in page.content.decode()
    volunteer = fresh_client(make_user("volunteer_c1", tree.c1, "volunteer"))
    assert "export-screening" not in volunteer.get("/screening/").content.decode()
