import pytest
from django.urls import reverse

from apps.audit.choices import AuditAction, AuditOutcome
from apps.audit.models import AuditEntry
from apps.audit.signals import on_locked_out
from conftest import PASSWORD


def _only(action) -> AuditEntry:
    return AuditEntry.objects.get(action=action)


def test_login_logout_and_failed_login_are_logged(client, tree, counsellor_a):
    """X-4: logins, logouts and failed logins are in the log; a failed login names the attempted username."""
    login_url = reverse("accounts:login")
    client.post(login_url, {"username": "counsellor_a", "password": "wrong-password"}, REMOTE_ADDR="198.51.100.4")
    failed = _only(AuditAction.LOGIN_FAILED)
    assert failed.actor_id is None and failed.object_label == "counsellor_a"
    assert failed.outcome == AuditOutcome.FAILURE and failed.ip_address == "198.51.100.4"
    assert failed.unit_path == "" and "wrong-password" not in str(failed.changes)

    response = client.post(login_url, {"username": "counsellor_a", "password": PASSWORD})
    assert response.status_code == 302
    login = _only(AuditAction.LOGIN)
    assert login.actor_id == counsellor_a.pk and login.unit_id == tree.c1.pk and login.role_code == "counsellor"
    assert login.ip_address == "127.0.0.1"

    client.post(reverse("accounts:logout"))
    logout = _only(AuditAction.LOGOUT)
    assert logout.actor_id == counsellor_a.pk and logout.seq == login.seq + 1


def test_logout_without_session_logs_nothing(client, db):
    """X-4: a logout with nobody logged in changes nothing and records nothing."""
    client.post(reverse("accounts:logout"))
    assert not AuditEntry.objects.filter(action=AuditAction.LOGOUT).exists()


def test_lockout_receiver(rf, db):
    """X-4: a django-axes lockout is recorded with the username and the IP axes saw."""
    on_locked_out(sender=None, request=rf.get("/"), username="victim", ip_address="192.0.2.1")
    entry = _only(AuditAction.LOCKOUT)
    assert (entry.object_label, entry.ip_address, entry.outcome) == ("victim", "192.0.2.1", AuditOutcome.DENIED)


def test_403_is_logged_as_permission_denied(client, tree, counsellor_a):
    """X-4: a page refused with 403 leaves a permission_denied entry with the route and the path."""
    client.force_login(counsellor_a)
    response = client.get(reverse("audit:entry-list"))
    assert response.status_code == 403
    entry = _only(AuditAction.PERMISSION_DENIED)
    assert entry.actor_id == counsellor_a.pk and entry.outcome == AuditOutcome.DENIED
    assert entry.object_type == "audit:entry-list" and entry.object_label == "403 GET /audit/"
    assert entry.unit_id == tree.c1.pk


def test_404_on_a_matched_route_is_a_denial(client, tree, street_manager):
    """X-4: an object id outside the user's scope (answered 404) is logged; an unknown URL is not."""
    client.force_login(street_manager)
    assert client.get(reverse("orgs:unit-detail", args=[tree.s2.pk])).status_code == 404
    entry = _only(AuditAction.PERMISSION_DENIED)
    assert (entry.object_type, entry.object_id) == ("orgs:unit-detail", str(tree.s2.pk))
    assert client.get("/no-such-page/").status_code == 404
    assert client.get(reverse("orgs:unit-detail", args=[tree.c1.pk])).status_code == 200
    assert AuditEntry.objects.filter(action=AuditAction.PERMISSION_DENIED).count() == 1


def test_api_denial_records_the_token_user(client, tree, counsellor_a):
    """X-4: for token calls the denial names the user DRF authenticated, not an anonymous one."""
    from apps.accounts.tokens import do_create_token

    _token, key = do_create_token(actor=counsellor_a, name="测试")
    response = client.get("/api/audit-entries/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 403
    entry = _only(AuditAction.PERMISSION_DENIED)
    assert entry.actor_id == counsellor_a.pk and entry.object_label == "403 GET /api/audit-entries/"


@pytest.mark.parametrize("status", [200, 302])
def test_allowed_requests_are_not_denials(client, tree, district_admin, status):
    """X-4: ordinary requests add no denial entries."""
    client.force_login(district_admin)
    url = reverse("orgs:unit-detail", args=[tree.s1.pk]) if status == 200 else reverse("orgs:home")
    assert client.get(url).status_code == status
    assert not AuditEntry.objects.filter(action=AuditAction.PERMISSION_DENIED).exists()
