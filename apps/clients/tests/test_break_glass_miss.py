"""Issue 14 item 9: a break-glass lookup that finds nobody is audited, without the number in clear."""

import json
import time

import pytest
from django.test import Client as HttpClient

from apps.audit.models import AuditEntry
from apps.clients import services
from apps.vault.crypto import blind_index
from apps.vault.normalizers import normalize_id_number, normalize_phone

ID_KNOWN = "330106198506124534"
ID_UNKNOWN = "11010519491231002X"
PHONE_UNKNOWN = "13912345678"
REASON = {"reason": "suicide_risk", "reason_text": "家属来电称其留下遗书后离家，需立即联系"}


@pytest.fixture
def known_client(tree):
    return services.do_register_client(actor=None, unit=tree.c3, data={"name": "曾小贤", "id_number": ID_KNOWN})


def browser(user):
    http = HttpClient()
    http.force_login(user)
    session = http.session
    session["xinyuan_reauth_at"] = int(time.time())
    session.save()
    return http


def emergency_entries():
    return AuditEntry.objects.filter(action="emergency_access").order_by("seq")


def stored_text(entry) -> str:
    return json.dumps(AuditEntry.objects.filter(pk=entry.pk).values().get(), default=str, ensure_ascii=False)


def test_a_miss_by_id_number_is_audited_masked(known_client, counsellor_a):
    """X-4, S-PRIN-5 (issue 14 item 9): a lookup that finds nobody writes an emergency_access entry
    with outcome failure, the reason, a masked number and its blind index — never the number itself."""
    before = emergency_entries().count()
    page = browser(counsellor_a).post("/clients/emergency/", {"identifier": ID_UNKNOWN, **REASON})
    assert page.status_code == 200 and "没有找到" in page.content.decode()
    entries = list(emergency_entries())
    assert len(entries) == before + 1
    entry = entries[-1]
    assert (entry.actor_id, entry.outcome, entry.object_type) == (counsellor_a.pk, "failure", "clients.client")
    assert "遗书" in entry.purpose
    lookup = entry.changes["lookup"]
    assert lookup["kind"] == "id_number" and lookup["masked"] == "1101**********002X"
    assert lookup["index"] == blind_index(ID_UNKNOWN, normalize_id_number)
    assert ID_UNKNOWN not in stored_text(entry) and ID_UNKNOWN.lower() not in stored_text(entry).lower()


def test_a_miss_by_phone_is_audited_masked(known_client, counsellor_a):
    """X-4 (issue 14 item 9): a phone lookup that finds nobody is audited with 139****5678 and the index."""
    browser(counsellor_a).post("/clients/emergency/", {"identifier": PHONE_UNKNOWN, **REASON})
    entry = emergency_entries().last()
    assert entry.outcome == "failure" and entry.changes["lookup"]["masked"] == "139****5678"
    assert entry.changes["lookup"]["index"] == blind_index("+8613912345678", normalize_phone)
    assert PHONE_UNKNOWN not in stored_text(entry)


def test_a_hit_is_still_audited_as_success(known_client, counsellor_a):
    """X-4 (issue 14 item 9): the found case keeps its successful emergency_access entry."""
    response = browser(counsellor_a).post("/clients/emergency/", {"identifier": ID_KNOWN, **REASON})
    assert response.status_code == 302
    entry = emergency_entries().last()
    assert (entry.outcome, entry.object_id) == ("success", str(known_client.pk))


def test_a_miss_with_a_bad_reason_reveals_nothing_and_writes_nothing(known_client, counsellor_a):
    """X-4 (issue 14 item 9): a too-short reason is refused before the lookup result is shown."""
    http = browser(counsellor_a)
    before = AuditEntry.objects.count()
    page = http.post(
        "/clients/emergency/", {"identifier": ID_UNKNOWN, "reason": "suicide_risk", "reason_text": "太短"}
    ).content.decode()
    assert "至少 10 个字" in page and "没有找到" not in page
    assert AuditEntry.objects.count() == before


def test_the_miss_service_refuses_without_the_permission(tree, counsellor_a):
    """X-4 (issue 14 item 9): only holders of the break-glass permission can record (and so make) a lookup."""
    from django.core.exceptions import ValidationError

    from conftest import make_user

    volunteer = make_user("vol9", tree.c1, "volunteer")
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError):
        services.do_record_break_glass_miss(actor=volunteer, identifier=ID_UNKNOWN, **REASON)
    assert AuditEntry.objects.count() == before
