import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from apps.audit import services
from apps.audit.choices import AuditAction, AuditOutcome
from apps.audit.models import AuditEntry
from apps.audit.services import log_change, log_event
from apps.core.menu import menu_for
from apps.core.pagination import keyset_page

from . import helpers


@pytest.fixture
def entries(tree, counsellor_a, counsellor_b, outsider, street_manager):
    """Entries in C1, C2, S1, the other tree and without a unit."""
    return {
        "c1": log_event(actor=counsellor_a, action=AuditAction.READ_SENSITIVE, obj=tree.c1, purpose="回访"),
        "c2": log_change(counsellor_b, tree.c2, {"name": "旧", "mobile": "13812345678"}, {"name": "新", "mobile": ""}),
        "s1": log_event(actor=street_manager, action=AuditAction.EXPORT, outcome=AuditOutcome.DENIED),
        "other": log_event(actor=outsider, action=AuditAction.DELETE, obj=tree.other),
        "system": log_event(actor=None, action=AuditAction.LOGIN_FAILED, label="counsellor_a"),
    }


def _seqs(response) -> list[int]:
    return [entry.seq for entry in response.context["page"]]


def test_auditor_sees_own_subtree_only(client, entries, auditor):
    """X-4: an auditor of district A sees A's entries, not another tree's, not unit-less ones."""
    client.force_login(auditor)
    response = client.get(reverse("audit:entry-list"))
    assert response.status_code == 200
    seqs = set(_seqs(response))
    assert {entries["c1"].seq, entries["c2"].seq, entries["s1"].seq} <= seqs
    assert entries["other"].seq not in seqs and entries["system"].seq not in seqs


def test_root_auditor_also_sees_entries_without_unit(client, entries, root_auditor):
    """X-4: entries without a unit are visible only to auditors assigned at a root unit."""
    client.force_login(root_auditor)
    seqs = set(_seqs(client.get(reverse("audit:entry-list"))))
    assert entries["system"].seq in seqs and entries["c1"].seq in seqs and entries["other"].seq not in seqs


def test_non_auditors_are_refused(client, entries, district_admin):
    """X-4: without audit.view every audit page answers 403, and the API too."""
    client.force_login(district_admin)
    for url in (reverse("audit:entry-list"), reverse("audit:entry-detail", args=[entries["c1"].pk])):
        assert client.get(url).status_code == 403
    assert client.post(reverse("audit:entry-export"), {"format": "csv"}).status_code == 403
    assert client.post(reverse("audit:verify")).status_code == 403
    assert client.get("/api/audit-entries/").status_code == 403
    client.logout()
    assert client.get(reverse("audit:entry-list")).status_code == 302


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"user": "counsellor_b"}, ["c2"]),
        ({"action": "read_sensitive"}, ["c1"]),
        ({"outcome": "denied"}, ["s1"]),
        ({"object_type": "orgs.orgunit"}, ["c1", "c2"]),
        ({"object_type": "orgs.orgunit", "object_id": "__c2__"}, ["c2"]),
        ({"user": "counsellor_a"}, ["c1", "system"]),
    ],
)
def test_filters(client, entries, root_auditor, tree, params, expected):
    """X-4: search by user (including failed logins under that name), action, outcome, object type and id."""
    params = {k: str(tree.c2.pk) if v == "__c2__" else v for k, v in params.items()}
    client.force_login(root_auditor)
    ours = {entry.seq for entry in entries.values()}  # the tree fixture's services log entries too
    seqs = set(_seqs(client.get(reverse("audit:entry-list"), params))) & ours
    assert seqs == {entries[key].seq for key in expected}


def test_date_range_is_whole_local_days(client, tree, auditor, counsellor_a):
    """X-4: date filters cover whole days in Asia/Shanghai, both ends included."""
    local = timezone.get_current_timezone()
    start = dt.datetime(2026, 3, 1, 23, 30, tzinfo=local)  # 1 March late evening, local time
    built = helpers.build_chain(4, actor=counsellor_a, unit=tree.c1, start=start, step=dt.timedelta(hours=12))
    # seq 2 and 4 carry the unit: 2 March 23:30 and 3 March 23:30, local.
    client.force_login(auditor)
    url = reverse("audit:entry-list")
    assert _seqs(client.get(url, {"date_from": "2026-03-02", "date_to": "2026-03-02"})) == [built[1].seq]
    assert _seqs(client.get(url, {"date_from": "2026-03-03", "date_to": "2026-03-31"})) == [built[3].seq]
    assert _seqs(client.get(url, {"date_to": "2026-03-02"})) == [built[1].seq]
    response = client.get(url, {"date_from": "2026-03-04", "date_to": "2026-03-02"})
    assert "截止日期不能早于起始日期" in response.content.decode() and _seqs(response) == []


def test_list_is_newest_first_with_keyset_pages(client, tree, auditor, counsellor_a, settings):
    """X-4: newest first; next and previous pages by keyset, no gaps or repeats."""
    settings.PAGE_SIZE = 5
    made = [log_event(actor=counsellor_a, action=AuditAction.OTHER, label=f"第{i}").seq for i in range(12)]
    newest_first = made[::-1]
    client.force_login(auditor)
    url = reverse("audit:entry-list")
    first = client.get(url, {"action": "other"}).context["page"]
    assert [e.seq for e in first] == newest_first[:5] and first.has_next and not first.has_previous
    second = client.get(url, {"action": "other", "after": first.next_after}).context["page"]
    assert [e.seq for e in second] == newest_first[5:10]
    third = client.get(url, {"action": "other", "after": second.next_after}).context["page"]
    assert [e.seq for e in third] == newest_first[10:] and not third.has_next
    back = client.get(url, {"action": "other", "before": third.previous_before}).context["page"]
    assert [e.seq for e in back] == newest_first[5:10]
    assert "action=other" in second.querystring


def test_keyset_page_default_stays_ascending(tree):
    """X-4: the descending option leaves the ascending default unchanged."""
    made = [log_event(actor=None, action=AuditAction.OTHER, label=str(i)).seq for i in range(5)]
    rows = AuditEntry.objects.filter(action=AuditAction.OTHER)
    ascending = keyset_page(rows, RequestFactory().get("/"), per_page=2)
    assert [e.seq for e in ascending] == made[:2] and ascending.next_after == ascending.items[-1].pk
    later = keyset_page(rows, RequestFactory().get("/", {"after": ascending.next_after}), per_page=2)
    assert [e.seq for e in later] == made[2:4]
    newest = keyset_page(rows, RequestFactory().get("/"), per_page=2, descending=True)
    assert [e.seq for e in newest] == [made[4], made[3]]


def test_detail_shows_masked_changes_and_hides_other_scopes(client, entries, auditor):
    """X-4: the detail page shows before/after (sensitive values masked); out of scope answers 404."""
    client.force_login(auditor)
    response = client.get(reverse("audit:entry-detail", args=[entries["c2"].pk]))
    text = response.content.decode()
    assert response.status_code == 200 and "旧" in text and "新" in text
    assert "138****5678" in text and "13812345678" not in text
    assert client.get(reverse("audit:entry-detail", args=[entries["other"].pk])).status_code == 404
    assert client.get(reverse("audit:entry-detail", args=[entries["system"].pk])).status_code == 404
    assert client.get(reverse("audit:entry-detail", args=[999999])).status_code == 404


def _export(client, fmt, params=None, purpose="季度检查"):
    url = reverse("audit:entry-export")
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(url, {"format": fmt, "purpose": purpose})


def test_csv_export_of_the_current_filter_is_itself_audited(client, entries, auditor, counsellor_a):
    """X-4: the CSV holds the filtered, visible rows; the export leaves an `export` entry with its purpose."""
    log_event(actor=counsellor_a, action=AuditAction.OTHER, label='=HYPERLINK("http://x")')
    client.force_login(auditor)
    response = _export(client, "csv", {"object_type": "orgs.orgunit"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][0] == "序号" and len(rows) == 3
    assert {r[0] for r in rows[1:]} == {str(entries["c1"].seq), str(entries["c2"].seq)}
    export = AuditEntry.objects.filter(action=AuditAction.EXPORT, actor=auditor).get()
    assert export.purpose == "季度检查" and "CSV，2 条" in export.object_label and "orgs.orgunit" in export.object_label
    everything = b"".join(_export(client, "csv").streaming_content).decode("utf-8")
    assert "'=HYPERLINK" in everything  # a formula from log data is shown as text, never run


def test_excel_export(client, entries, auditor):
    """X-4: the Excel export opens with openpyxl and has the same rows."""
    client.force_login(auditor)
    response = _export(client, "xlsx", {"action": "read_sensitive"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "序号" and [r[0] for r in rows[1:]] == [entries["c1"].seq]
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT, object_label__contains="XLSX，1 条").exists()


def test_export_refuses_too_many_rows_and_bad_input(client, entries, auditor, monkeypatch):
    """X-4: an oversized or invalid export changes nothing and writes no export entry."""
    monkeypatch.setattr(services, "EXPORT_MAX_ROWS", 1)
    client.force_login(auditor)
    response = _export(client, "csv")
    assert response.status_code == 302
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT, actor=auditor).exists()
    assert _export(client, "pdf").status_code == 302
    assert _export(client, "csv", {"date_from": "bad"}).status_code == 302
    assert client.get(reverse("audit:entry-export")).status_code == 405
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT, actor=auditor).exists()


def test_verify_button(client, tree, auditor, head_file):
    """X-4: the page runs the same verification as the command and shows the result, head file untouched."""
    helpers.start_empty_log()
    helpers.build_chain(30)
    call_command("verify_audit")
    client.force_login(auditor)
    assert "开始校验" in client.get(reverse("audit:verify")).content.decode()
    response = client.post(reverse("audit:verify"))
    assert response.context["result"].ok and "日志链完整" in response.content.decode()
    before = head_file.read_text()
    helpers.tamper_delete(7)
    response = client.post(reverse("audit:verify"))
    text = response.content.decode()
    assert "校验未通过" in text and "第 7 条" in text and "条目被删除" in text
    assert head_file.read_text() == before


def test_menu_entry(tree, auditor, counsellor_a):
    """X-4: the audit log appears under 安全审计 for auditors only."""
    labels = {item["label"] for section in menu_for(auditor, "/") for item in section["items"]}
    assert "审计日志" in labels
    assert "审计日志" not in {item["label"] for s in menu_for(counsellor_a, "/") for item in s["items"]}


def test_api_is_scoped_read_only_and_newest_first(client, entries, auditor):
    """X-4: the API lists and retrieves in scope only; nothing can be written through it."""
    client.force_login(auditor)
    data = client.get("/api/audit-entries/").json()
    seqs = [row["seq"] for row in data["results"]]
    assert seqs == sorted(seqs, reverse=True)
    assert entries["other"].seq not in seqs and entries["c1"].seq in seqs
    assert client.get(f"/api/audit-entries/{entries['other'].pk}/").status_code == 404
    one = client.get(f"/api/audit-entries/{entries['c2'].pk}/").json()
    assert one["changes"]["mobile"] == {"before": "138****5678", "after": ""}
    filtered = client.get("/api/audit-entries/", {"action": "read_sensitive"}).json()["results"]
    assert [row["seq"] for row in filtered] == [entries["c1"].seq]
    assert client.delete(f"/api/audit-entries/{entries['c1'].pk}/").status_code in (403, 405)
    assert client.patch(f"/api/audit-entries/{entries['c1'].pk}/", {}).status_code in (403, 405)
    assert AuditEntry.objects.filter(pk=entries["c1"].pk).exists()
