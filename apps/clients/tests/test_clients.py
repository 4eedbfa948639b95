"""Client register basics: scoped by construction, encrypted identifiers, audited reads, break the glass."""

import json
import time

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient

from apps.audit.models import AuditEntry
from apps.clients import services
from apps.clients.models import Client, EmergencyAccess, ServiceTargetCategory
from apps.clients.selectors import search_clients
from apps.core.perms import Perm
from apps.core.scoping import ScopeError, unscoped
from apps.notifications.models import Notification
from conftest import make_user

ID_A = "33010619850612418X"
ID_B = "330106198506124534"


@pytest.fixture
def clients(tree, counsellor_a):
    a = services.do_register_client(
        actor=None, unit=tree.c1, data={"name": "张三丰", "id_number": ID_A, "phone": "13800138000"}
    )
    b = services.do_register_client(actor=None, unit=tree.c3, data={"name": "曾小贤", "id_number": ID_B})
    return a, b


def browser(user, reauth=True):
    http = HttpClient()
    http.force_login(user)
    if not reauth:
        session = http.session
        session["xinyuan_reauth_at"] = int(time.time()) - 3600
        session.save()
    return http


def test_unscoped_queries_of_client_data_raise(clients):
    """S-ORG-2: a query of client data that skips the scope fails loudly instead of leaking."""
    with pytest.raises(ScopeError):
        list(Client.objects.all())
    with pytest.raises(ScopeError):
        Client.objects.filter(gender="male").count()
    with unscoped("test set-up"):
        assert Client.objects.count() == 2


def test_scope_and_search(clients, counsellor_a, street_manager, district_admin):
    """S-ORG-2, X-2: search by name, pinyin initials, phone and ID number — inside the scope only."""
    a, b = clients
    assert list(search_clients(counsellor_a)) == [a]
    assert list(search_clients(counsellor_a, "张三丰")) == [a]
    assert list(search_clients(counsellor_a, "zsf")) == [a]
    assert list(search_clients(counsellor_a, "138-0013-8000")) == [a]
    assert list(search_clients(counsellor_a, ID_A.lower())) == [a]
    assert list(search_clients(counsellor_a, ID_B)) == []  # exists, but in another street
    assert list(search_clients(district_admin, "zxx")) == [b]  # 曾 read as zeng


def test_identifiers_are_validated_and_derived(tree):
    """X-2: ID checksum validated; birth date and gender derived."""
    with pytest.raises(ValidationError, match="校验"):
        services.do_register_client(actor=None, unit=tree.c1, data={"name": "错号", "id_number": "330106198506124535"})
    client = services.do_register_client(actor=None, unit=tree.c1, data={"name": "李四", "id_number": ID_B})
    assert client.gender == "male" and str(client.birth_date) == "1985-06-12"
    with pytest.raises(ValidationError):
        services.do_register_client(actor=None, unit=tree.c1, data={"name": ""})


def test_identifiers_are_encrypted_at_rest(clients):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT name, id_number, phone FROM clients_client")
        raw = " ".join(str(v) for row in cursor.fetchall() for v in row)
    assert "张三丰" not in raw and ID_A not in raw and "13800138000" not in raw


def test_detail_reads_are_audited_and_masked(clients, counsellor_a):
    """X-4: opening a client record writes an audit entry; screens show masked identifiers."""
    a, _ = clients
    before = AuditEntry.objects.filter(action="read_sensitive").count()
    page = browser(counsellor_a).get(f"/clients/{a.pk}/").content.decode()
    assert "3301**********418X" in page and "138****8000" in page and ID_A not in page
    assert AuditEntry.objects.filter(action="read_sensitive").count() == before + 1


def test_out_of_scope_client_is_404(clients, counsellor_b):
    a, _ = clients
    assert browser(counsellor_b).get(f"/clients/{a.pk}/").status_code == 404


def test_unmasking_needs_its_permission_and_reauthentication(clients, counsellor_a, street_manager):
    """Unmasking needs its own permission, re-authentication, and is audited."""
    a, _ = clients
    assert browser(counsellor_a).get(f"/clients/{a.pk}/unmask/").status_code == 403
    stale = browser(street_manager, reauth=False).get(f"/clients/{a.pk}/unmask/")
    assert stale.url.startswith("/accounts/reauth/")
    page = browser(street_manager).get(f"/clients/{a.pk}/unmask/").content.decode()
    assert ID_A in page
    assert AuditEntry.objects.filter(action="unmask", object_id=str(a.pk)).count() == 1


def test_break_the_glass(clients, counsellor_a, tree):
    """Emergency access: reason, re-authentication, two hours, manager notified, reads audited, expiry."""
    _, b = clients
    manager = make_user("s2_manager", tree.s2, "street_manager")
    http = browser(counsellor_a)
    assert http.get(f"/clients/{b.pk}/").status_code == 404
    short = http.post("/clients/emergency/", {"identifier": ID_B, "reason": "suicide_risk", "reason_text": "太短"})
    assert "至少 10 个字" in short.content.decode()
    response = http.post(
        "/clients/emergency/",
        {"identifier": ID_B, "reason": "suicide_risk", "reason_text": "家属来电称其留下遗书后离家，需立即联系"},
    )
    assert response.status_code == 302
    page = http.get(f"/clients/{b.pk}/").content.decode()
    assert 'data-testid="emergency-banner"' in page
    assert AuditEntry.objects.filter(action="emergency_access", object_id=str(b.pk)).exists()
    assert AuditEntry.objects.filter(action="read_sensitive", object_id=str(b.pk), purpose="紧急调阅").exists()
    note = Notification.objects.get(recipient=manager)
    assert "紧急调阅" in note.title and "曾小贤" not in note.body and ID_B not in note.body
    # the window closes
    EmergencyAccess.objects.update(expires_at=EmergencyAccess.objects.get().granted_at)
    assert http.get(f"/clients/{b.pk}/").status_code == 404


def test_break_the_glass_needs_reauthentication_and_the_permission(clients, counsellor_a, tree):
    volunteer = make_user("vol", tree.c1, "volunteer")
    assert browser(volunteer).get("/clients/emergency/").status_code == 403
    assert browser(counsellor_a, reauth=False).get("/clients/emergency/").url.startswith("/accounts/reauth/")


def test_standard_categories_are_seeded(db):
    """S-CLIENT-2: the standard's twelve service-target categories."""
    assert ServiceTargetCategory.objects.count() == 12
    assert ServiceTargetCategory.objects.filter(name="社区矫正人员").exists()


def test_api_lists_masked_and_scoped(clients, counsellor_a):
    from rest_framework.test import APIClient

    a, b = clients
    api = APIClient()
    api.force_authenticate(counsellor_a)
    rows = api.get("/api/clients/").json()["results"]
    assert [r["id"] for r in rows] == [a.pk] and rows[0]["id_number"] == "3301**********418X"
    assert api.get(f"/api/clients/{b.pk}/").status_code == 404
    created = api.post("/api/clients/", {"unit": counsellor_a.unit_id, "name": "王五", "phone": "13900139000"})
    assert created.status_code == 201, created.json()
    bad = api.post("/api/clients/", {"unit": counsellor_a.unit_id, "name": "王六", "id_number": "123"})
    assert bad.status_code == 400


def test_counsellor_has_client_permissions(counsellor_a):
    from apps.core.access import can

    assert can(counsellor_a, Perm.CLIENT_VIEW) and can(counsellor_a, Perm.EMERGENCY_ACCESS)


def test_audit_never_holds_encrypted_values_in_clear(clients):
    """X-4, S-PRIN-3: the audit row of a registration hides every field the vault encrypts."""
    a, _ = clients
    entry = AuditEntry.objects.filter(object_type="clients.client", object_id=str(a.pk), action="create").get()
    text = str(entry.changes)
    assert "张三丰" not in text and ID_A not in text and "13800138000" not in text
    assert entry.changes["name"]["after"] == "***"
    assert entry.changes["id_number"]["after"] == "3301**********418X"


@pytest.mark.django_db(transaction=True)
def test_canary_client_leaves_no_plaintext_anywhere(tree, street_manager, caplog, tmp_path):
    """X-4, S-PRIN-3: a client registered, read and unmasked through the real pages leaves 0 plaintext
    hits in the whole database (every table, the audit log included) and in the logs."""
    from apps.vault.tests.test_canary import database_bytes

    canary_name, canary_phone = "金丝雀甲乙丙", "13912345678"
    canary_address = "CANARY-ADDRESS-7731"
    http = browser(street_manager)
    response = http.post(
        "/clients/new/",
        {
            "unit": tree.c1.pk,
            "name": canary_name,
            "id_number": ID_A,
            "phone": canary_phone,
            "address": canary_address,
            "gender": "unknown",
        },
    )
    assert response.status_code == 302, response.content.decode()[:300]
    client_url = response.url
    assert canary_name in http.get(client_url).content.decode()
    assert ID_A in http.get(f"{client_url}unmask/").content.decode()
    dump = database_bytes(tmp_path)
    for canary in (canary_name, ID_A, canary_phone, canary_address):
        assert canary.encode() not in dump, canary
        # JSON columns (the audit log's changes) store non-ASCII text as \uXXXX escapes
        assert json.dumps(canary)[1:-1].encode() not in dump, canary
    assert AuditEntry.objects.filter(object_type="clients.client").count() >= 3
    logs = caplog.text
    for canary in (canary_name, ID_A, canary_phone, canary_address):
        assert canary not in logs


def test_only_name_and_unit_are_required(tree, counsellor_a):
    """S-PRIN-6: staff do not probe beyond the service — every field but name and unit stays optional."""
    http = browser(counsellor_a)
    response = http.post("/clients/new/", {"unit": tree.c1.pk, "name": "只填姓名", "gender": "unknown"})
    assert response.status_code == 302
    from apps.clients.forms import ClientForm

    required = {name for name, field in ClientForm(units=None).fields.items() if field.required}
    assert required == {"unit", "name", "gender"}  # gender defaults to 未说明
