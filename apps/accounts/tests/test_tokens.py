"""API tokens obey the session rules (issue 14 item 3): hashed, named, expiring, revoked, behind two factors."""

import hashlib
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client, override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from apps.accounts import services
from apps.accounts.models import ApiToken, Assignment, Role
from apps.accounts.tokens import do_create_token, do_revoke_user_tokens
from apps.accounts.two_factor import do_reset_two_factor
from apps.audit.models import AuditEntry
from conftest import PASSWORD, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOTES_URL = "/api/counselling-sessions/"


def api(key, **headers) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}", **headers)
    return client


def confirm_device(user) -> None:
    TOTPDevice.objects.create(user=user, name="身份验证器", confirmed=True)


def test_token_is_stored_hashed_and_shown_once(tree, counsellor_a):
    """S-PRIN-3, issue 14 item 3: the database holds a SHA-256 digest, never the key or its secret part."""
    token, key = do_create_token(actor=counsellor_a, name="对接系统")
    assert re.fullmatch(r"xy_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key)
    secret = key.split("_", 2)[2]
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    stored = " ".join(str(value) for value in row.values())
    assert key not in stored and secret not in stored
    assert row["digest"] == hashlib.sha256(key.encode()).hexdigest()
    assert row["name"] == "对接系统"
    assert row["expires_at"] - row["created_at"] >= timedelta(days=89)
    assert api(key).get("/api/org-units/").status_code == 200
    assert api(key[:-1] + ("A" if key[-1] != "A" else "B")).get("/api/org-units/").status_code in (401, 403)
    # the old unhashed table of rest_framework.authtoken is gone
    assert "authtoken_token" not in connection.introspection.table_names()
    # making a token is audited, and the audit entry holds no key either
    entry = AuditEntry.objects.filter(object_type="accounts.apitoken", object_id=str(token.pk)).get()
    assert secret not in str(entry.changes) and row["digest"] not in str(entry.changes)


@override_settings(TWO_FACTOR_MANDATORY=True)
def test_token_refused_without_a_confirmed_second_factor(tree, counsellor_a):
    """S-PRIN-3, issue 14 item 3: a role that needs two factors neither makes nor uses a token without a device."""
    with pytest.raises(ValidationError) as refused:
        do_create_token(actor=counsellor_a, name="脚本")
    assert refused.value.code == "two_factor"
    assert not ApiToken.objects.exists()
    with override_settings(TWO_FACTOR_MANDATORY=False):  # made before the rule was switched on
        _token, key = do_create_token(actor=counsellor_a, name="脚本")
    for url in ("/api/org-units/", NOTES_URL, "/api/clients/"):
        response = api(key).get(url)
        assert response.status_code == 403, url
        assert "双因素认证" in response.json()["detail"]
    confirm_device(counsellor_a)
    assert api(key).get("/api/org-units/").status_code == 200
    assert api(key).get(NOTES_URL).status_code == 200


@override_settings(TWO_FACTOR_MANDATORY=True)
def test_roles_without_identified_data_use_tokens_without_a_device(tree):
    """Issue 14 item 3: the two-factor rule follows the roles, as for sessions."""
    volunteer = make_user("vol", tree.c1, "volunteer")
    _token, key = do_create_token(actor=volunteer, name="脚本")
    assert api(key).get("/api/").status_code == 200


def test_expired_token_refused(tree, counsellor_a):
    """Issue 14 item 3: a token ends at its expiry (at most API_TOKEN_LIFETIME_DAYS)."""
    start = datetime(2026, 12, 31, 23, 59, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False):
        _token, key = do_create_token(actor=counsellor_a, name="短期", days=1)
        assert api(key).get("/api/org-units/").status_code == 200
    with time_machine.travel(start + timedelta(hours=23, minutes=58), tick=False):
        assert api(key).get("/api/org-units/").status_code == 200
    with time_machine.travel(start + timedelta(days=1, minutes=1), tick=False):
        response = api(key).get("/api/org-units/")
        assert response.status_code in (401, 403) and "已过期" in response.json()["detail"]
    with pytest.raises(ValidationError):
        do_create_token(actor=counsellor_a, name="太长", days=91)


@override_settings(API_TOKEN_IDLE_DAYS=30)
def test_tokens_expire_by_days_not_session_minutes(tree, counsellor_a):
    """Issue 14 item 3: tokens have no idle minutes like sessions, but die after 30 days unused."""
    start = datetime(2028, 2, 29, 12, 0, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False):
        _token, key = do_create_token(actor=counsellor_a, name="夜间同步")
    with time_machine.travel(start + timedelta(hours=2), tick=False):  # far past the 15-minute session idle
        assert api(key).get("/api/org-units/").status_code == 200
    with time_machine.travel(start + timedelta(days=29), tick=False):
        assert api(key).get("/api/org-units/").status_code == 200
    with time_machine.travel(start + timedelta(days=59, hours=3), tick=False):
        response = api(key).get("/api/org-units/")
        assert response.status_code in (401, 403) and "未使用" in response.json()["detail"]


def test_token_revoked_when_password_is_reset_or_changed(tree, counsellor_a):
    """Issue 14 item 3: a reset by an administrator and a change by the owner both end every token."""
    security = make_user("security", tree.district, "security_admin")
    _token, key = do_create_token(actor=counsellor_a, name="甲")
    services.do_set_password(actor=security, user=counsellor_a, password="Another-Pass-2027!")
    response = api(key).get("/api/org-units/")
    assert response.status_code in (401, 403) and "作废" in response.json()["detail"]
    assert ApiToken.objects.get().revoked_reason == "密码已重设"

    counsellor_a.refresh_from_db()
    _token, key = do_create_token(actor=counsellor_a, name="乙")
    assert api(key).get("/api/org-units/").status_code == 200
    counsellor_a.set_password("Third-Pass-2027!")  # any other path: profile form, manage.py changepassword
    counsellor_a.save()
    assert api(key).get("/api/org-units/").status_code in (401, 403)


def test_token_revoked_on_two_factor_reset_deactivation_and_role_removal(tree, district_admin, counsellor_a):
    """Issue 14 item 3: 2FA reset, deactivation and role removal revoke the account's tokens."""
    security = make_user("security", tree.district, "security_admin")
    confirm_device(counsellor_a)
    _token, key = do_create_token(actor=counsellor_a, name="一")
    do_reset_two_factor(user=counsellor_a, actor=security)
    assert api(key).get("/api/org-units/").status_code in (401, 403)

    _token, key = do_create_token(actor=counsellor_a, name="二")
    services.do_set_active(actor=district_admin, user=counsellor_a, active=False)
    assert api(key).get("/api/org-units/").status_code in (401, 403)
    counsellor_a.refresh_from_db()
    services.do_set_active(actor=district_admin, user=counsellor_a, active=True)
    assert api(key).get("/api/org-units/").status_code in (401, 403)  # re-enabling revives nothing

    counsellor_a.refresh_from_db()
    extra = Assignment.objects.create(user=counsellor_a, unit=tree.c1, role=Role.objects.get(code="volunteer"))
    _token, key = do_create_token(actor=counsellor_a, name="三")
    services.do_revoke_assignment(actor=district_admin, assignment=extra)
    assert api(key).get("/api/org-units/").status_code in (401, 403)
    reasons = set(ApiToken.objects.values_list("revoked_reason", flat=True))
    assert reasons == {"双因素认证已重置", "账号已停用", "岗位已撤销"}


def test_security_admin_revokes_tokens_through_the_guard(tree, counsellor_a):
    """Issue 14 items 2 and 3: a security administrator revokes another account's tokens, never their own."""
    security = make_user("security", tree.district, "security_admin")
    _token, key = do_create_token(actor=counsellor_a, name="泄露")
    client = Client()
    client.force_login(security)
    assert "作废其全部 API 令牌" in client.get(f"/accounts/users/{counsellor_a.pk}/").content.decode()
    response = client.post(f"/accounts/users/{counsellor_a.pk}/tokens-revoke/")
    assert response.status_code == 302
    assert api(key).get("/api/org-units/").status_code in (401, 403)
    _token, own_key = do_create_token(actor=security, name="自己的")
    with pytest.raises(ValidationError):
        do_revoke_user_tokens(actor=security, user=security)
    assert ApiToken.objects.get(user=security).revoked_at is None
    manager = make_user("manager", tree.district, "district_admin")
    with pytest.raises(ValidationError):
        do_revoke_user_tokens(actor=manager, user=counsellor_a)
    assert Client().post(f"/accounts/users/{counsellor_a.pk}/tokens-revoke/").status_code == 302  # to login


def test_foreign_or_invalid_assignment_header_is_refused(tree, counsellor_a, counsellor_b):
    """Issue 14 item 3: X-Xinyuan-Assignment naming a foreign, revoked or malformed assignment answers 403."""
    own = Assignment.objects.get(user=counsellor_a)
    foreign = Assignment.objects.get(user=counsellor_b)
    _token, key = do_create_token(actor=counsellor_a, name="岗位")
    assert api(key, HTTP_X_XINYUAN_ASSIGNMENT=str(own.pk)).get("/api/org-units/").status_code == 200
    for header in (str(foreign.pk), "abc", "", "99999999999999999999999", "١", f"{own.pk},{foreign.pk}"):
        response = api(key, HTTP_X_XINYUAN_ASSIGNMENT=header).get("/api/org-units/")
        assert response.status_code == 403, header
        assert "岗位" in response.json()["detail"]
    # the session path too
    session = APIClient()
    session.force_login(counsellor_a)
    assert session.get("/api/org-units/", HTTP_X_XINYUAN_ASSIGNMENT=str(foreign.pk)).status_code == 403
    assert session.get("/api/org-units/").status_code == 200


def test_token_page_lists_creates_and_revokes(tree, counsellor_a):
    """X-6, issue 14 item 3: the personal page lists name, dates and state; the key appears only once."""
    client = Client()
    assert client.post("/accounts/login/", {"username": "counsellor_a", "password": PASSWORD}).status_code == 302
    page = client.post("/accounts/me/token/", {"action": "create", "name": "随访系统", "days": 30}).content.decode()
    key = re.search(r'data-testid="token">([^<]+)<', page).group(1)
    assert api(key).get("/api/org-units/").status_code == 200
    listing = client.get("/accounts/me/token/").content.decode()
    assert "随访系统" in listing and key not in listing and key.split("_", 2)[2] not in listing
    assert "有效" in listing
    refused = client.post("/accounts/me/token/", {"action": "create", "name": "", "days": 500}).content.decode()
    assert "请填写" in refused or "必填" in refused or "这个字段是必填项" in refused
    assert ApiToken.objects.count() == 1
    token = ApiToken.objects.get()
    other = make_user("other", tree.c1, "counsellor")
    _other_token, other_key = do_create_token(actor=other, name="别人的")
    client.post("/accounts/me/token/", {"action": "revoke", "token": _other_token.pk})
    assert api(other_key).get("/api/org-units/").status_code == 200  # nobody revokes another's token here
    client.post("/accounts/me/token/", {"action": "revoke", "token": token.pk})
    assert api(key).get("/api/org-units/").status_code in (401, 403)
    assert "已作废" in client.get("/accounts/me/token/").content.decode()


def test_api_lists_and_revokes_only_own_tokens(tree, counsellor_a, counsellor_b):
    """X-6, issue 14 item 3: /api/me/tokens/ shows the caller's tokens (no digest), revokes them, makes none."""
    mine, key = do_create_token(actor=counsellor_a, name="我的")
    theirs, their_key = do_create_token(actor=counsellor_b, name="别人的")
    client = api(key)
    rows = client.get("/api/me/tokens/").json()["results"]
    assert [(r["id"], r["name"], r["state"]) for r in rows] == [(mine.pk, "我的", "active")]
    assert "digest" not in rows[0] and "password_mark" not in rows[0]
    assert client.get(f"/api/me/tokens/{theirs.pk}/").status_code == 404
    assert client.delete(f"/api/me/tokens/{theirs.pk}/").status_code == 404
    assert api(their_key).get("/api/org-units/").status_code == 200
    assert client.post("/api/me/tokens/", {"name": "续命"}).status_code in (403, 405)
    assert ApiToken.objects.count() == 2
    assert client.delete(f"/api/me/tokens/{mine.pk}/").status_code == 204
    assert client.get("/api/me/tokens/").status_code in (401, 403)  # it revoked itself
