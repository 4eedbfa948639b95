"""X-3: the client register list exports to Excel/CSV with the list's scope, filters and masking."""

import datetime
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.clients import services
from apps.clients.models import Client, ServiceTargetCategory
from apps.clients.selectors import search_clients
from apps.core.scoping import unscoped
from apps.exports.models import ExportJob
from apps.exports.registry import get_dataset
from apps.exports.testing import export_through_http, fresh_client
from apps.vault import fields as vault_fields
from conftest import make_user

ID_C1 = "33010619850612418X"
ID_C2 = "330106198506124534"
PHONE_C1 = "13800138000"
PHONE_C2 = "13900139000"
PHONE_S2 = "13700137000"


@pytest.fixture(autouse=True)
def _exports_run_at_once(immediate_exports):
    return immediate_exports


@pytest.fixture
def register(tree):
    """Two clients in C1, one in C2 (same street S1), one in C3 (sibling street S2), one merged away."""
    helper = ServiceTargetCategory.objects.get(code="unemployed")
    c1 = services.do_register_client(
        actor=None,
        unit=tree.c1,
        data={"name": "张三丰", "id_number": ID_C1, "phone": PHONE_C1, "address": "东坡路 1 号"},
        categories=[helper],
    )
    c1b = services.do_register_client(
        actor=None, unit=tree.c1, data={"name": "李四光", "birth_date": datetime.date(1990, 5, 17)}
    )
    c2 = services.do_register_client(
        actor=None, unit=tree.c2, data={"name": "王五福", "id_number": ID_C2, "phone": PHONE_C2}
    )
    s2 = services.do_register_client(actor=None, unit=tree.c3, data={"name": "张三丰", "phone": PHONE_S2})
    merged = services.do_register_client(actor=None, unit=tree.c1, data={"name": "赵六安"})
    with unscoped("test set-up: merge a duplicate"):
        Client.objects.filter(pk=merged.pk).update(merged_into=c1)
    return {"c1": c1, "c1b": c1b, "c2": c2, "s2": s2, "merged": merged, "category": helper}


def rows_of(user, filters=None):
    return list(get_dataset("clients").rows(user, filters or {}))


def test_register_export_is_scoped_like_the_list(register, street_manager, counsellor_a):
    """X-3, S-CLIENT-1, S-ORG-2: the export holds exactly the list's clients (all pages): the sibling
    street's client and merged records are absent; a community user sees only the community."""
    dataset = get_dataset("clients")
    rows = rows_of(street_manager)
    assert [r[0] for r in rows] == [register["c1"].pk, register["c1b"].pk, register["c2"].pk]
    assert register["s2"].pk not in {r[0] for r in rows} and register["merged"].pk not in {r[0] for r in rows}
    assert [r[0] for r in rows] == sorted(c.pk for c in search_clients(street_manager))
    assert all(len(row) == len(dataset.columns) for row in rows)
    assert [r[0] for r in rows_of(counsellor_a)] == [register["c1"].pk, register["c1b"].pk]


def test_register_export_shows_what_the_list_shows(register, street_manager):
    """X-3, X-2, S-CLIENT-1: name as the list shows it, phone masked, birth date as year-month; no full
    ID number or phone anywhere (canary)."""
    rows = {r[0]: r for r in rows_of(street_manager)}
    assert rows[register["c1"].pk] == (register["c1"].pk, "张三丰", "女", "1985-06", "138****8000", "一社区室")
    assert rows[register["c1b"].pk][3] == "1990-05"
    text = repr(list(rows.values()))
    for canary in (ID_C1, ID_C2, PHONE_C1, PHONE_C2, "+86" + PHONE_C1, "东坡路", "1985-06-12"):
        assert canary not in text


def test_register_export_applies_the_list_filters(register, street_manager):
    """X-3, X-2, S-CLIENT-2: ``q`` (initials, full name, phone, ID number) and ``category`` narrow the
    export exactly as they narrow the list; junk values are ignored or match nothing, never raise."""
    c1, c2 = register["c1"].pk, register["c2"].pk
    assert [r[0] for r in rows_of(street_manager, {"q": "zsf"})] == [c1]  # the namesake in S2 is out of scope
    assert [r[0] for r in rows_of(street_manager, {"q": " 张三丰 "})] == [c1]
    assert [r[0] for r in rows_of(street_manager, {"q": PHONE_C2})] == [c2]
    assert [r[0] for r in rows_of(street_manager, {"q": ID_C1.lower()})] == [c1]
    assert [r[0] for r in rows_of(street_manager, {"category": "unemployed"})] == [c1]
    assert rows_of(street_manager, {"q": "zsf", "category": "drugs"}) == []
    for junk in ({"q": "<script>' OR 1=1 --"}, {"category": "无此类别"}, {"q": "x" * 200}, {"unknown": "1"}):
        q, category = junk.get("q", "").strip(), junk.get("category", "")
        expected = [c.pk for c in search_clients(street_manager, q, category).order_by("pk")]
        assert [r[0] for r in rows_of(street_manager, junk)] == expected


def test_register_export_decrypts_only_the_exported_columns_in_one_statement(register, tree, street_manager):
    """X-3, X-2: one query whatever the number of rows (no per-row reads); only name and phone are
    decrypted — never ID number, address or employer."""
    rows_of(street_manager)  # warm the grant cache
    with CaptureQueriesContext(connection) as few:
        rows_of(street_manager)
    for i in range(5):
        services.do_register_client(actor=None, unit=tree.c2, data={"name": f"测试{i}", "phone": f"1350013500{i}"})
    labels = []
    real = vault_fields.decrypt_text

    def spy(value, label):
        labels.append(label)
        return real(value, label)

    with CaptureQueriesContext(connection) as many, mock.patch.object(vault_fields, "decrypt_text", spy):
        assert len(rows_of(street_manager)) == 8
    assert len(many) == len(few)
    assert set(labels) == {"clients.client.name", "clients.client.phone"}


def test_register_export_through_the_page(register, street_manager, django_capture_on_commit_callbacks):
    """X-3, S-CLIENT-1: the list's filtered export arrives as an encrypted xlsx with the list's rows."""
    http = fresh_client(street_manager)
    rows = export_through_http(http, django_capture_on_commit_callbacks, "clients", "?q=zsf&after=3")
    assert rows[0] == get_dataset("clients").columns
    assert rows[1:] == [(register["c1"].pk, "张三丰", "女", "1985-06", "138****8000", "一社区室")]
    assert ExportJob.objects.get().filters == {"q": "zsf"}


def test_register_list_shows_export_buttons_to_managers_only(register, tree, street_manager, counsellor_a):
    """X-3: the manager sees the Excel/CSV buttons carrying the list's filters; a counsellor (no export
    permission) sees the list without them; a volunteer sees neither."""
    html = fresh_client(street_manager).get("/clients/?q=zsf&category=unemployed&after=2").content.decode()
    assert 'data-testid="export-clients-xlsx"' in html and 'data-testid="export-clients-csv"' in html
    assert "/exports/new/xlsx/clients/?q=zsf&amp;category=unemployed" in html
    assert "after=2" not in html.split('data-testid="export-clients-xlsx"')[0].rsplit("<a", 1)[1]
    page = fresh_client(counsellor_a).get("/clients/")
    assert page.status_code == 200 and "export-clients" not in page.content.decode()
    volunteer = make_user("volunteer_c1", tree.c1, "volunteer")
    page = fresh_client(volunteer).get("/clients/")
    assert "export-clients" not in page.content.decode()
