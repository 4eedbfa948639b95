"""Login security (MLPS level 3): lockout, two factors, timeouts, re-authentication, CSP."""

import re
import time

from django.test import Client, override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.security import AUTH_AT, SEEN_AT
from conftest import PASSWORD, make_user


def login(client, username, password=PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def current_code(user) -> str:
    device = TOTPDevice.objects.filter(user=user).order_by("-id").first()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):06d}"


def enrol(client, user) -> list[str]:
    client.get("/accounts/2fa/setup/")
    response = client.post("/accounts/2fa/setup/", {"code": current_code(user)})
    assert response.status_code == 200, response.content.decode()[:500]
    return re.findall(r'<div class="col">(\d{8})</div>', response.content.decode())


def test_lockout_after_five_failures_for_fifteen_minutes(tree, counsellor_a):
    """Five wrong passwords lock the account; even the right password is then refused."""
    client = Client()
    for _ in range(4):
        assert "登录名或密码不正确" in login(client, "counsellor_a", "wrong").content.decode()
    assert "已被锁定" in login(client, "counsellor_a", "wrong").content.decode()
    response = login(client, "counsellor_a")
    assert response.status_code == 429 and "已被锁定 15 分钟" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_security_admin_unlocks(tree, counsellor_a):
    security = make_user("security", tree.district, "security_admin")
    client = Client()
    for _ in range(5):
        login(client, "counsellor_a", "wrong")
    admin = Client()
    admin.force_login(security)
    assert "counsellor_a" in admin.get("/accounts/lockouts/").content.decode()
    admin.post("/accounts/lockouts/reset/", {"username": "counsellor_a"})
    assert login(Client(), "counsellor_a").status_code == 302


@override_settings(OTP_TOTP_THROTTLE_FACTOR=0, OTP_STATIC_THROTTLE_FACTOR=0)
def test_totp_enrolment_and_recovery_codes(tree, counsellor_a):
    """TOTP enrolment with a first code; ten single-use recovery codes."""
    client = Client()
    login(client, "counsellor_a")
    codes = enrol(client, counsellor_a)
    assert len(codes) == 10 and len(set(codes)) == 10
    # next login asks for the second factor
    other = Client()
    login(other, "counsellor_a")
    with override_settings(TWO_FACTOR_MANDATORY=True):
        assert other.get("/").url.startswith("/accounts/2fa/verify/")
        bad = other.post("/accounts/2fa/verify/", {"code": "000000"})
        assert "不正确" in bad.content.decode()
        assert other.post("/accounts/2fa/verify/", {"code": codes[0], "next": "/"}).status_code == 302
        assert other.get("/").status_code == 200
        third = Client()
        login(third, "counsellor_a")
        assert "不正确" in third.post("/accounts/2fa/verify/", {"code": codes[0]}).content.decode()  # used once


@override_settings(TWO_FACTOR_MANDATORY=True)
def test_password_only_session_reaches_no_client_data_page(tree, counsellor_a):
    """A password-only session of a role that needs two factors reaches no page and no API."""
    client = Client()
    login(client, "counsellor_a")
    for url in ("/", "/orgs/", f"/orgs/{tree.c1.pk}/", "/accounts/me/", "/accounts/me/token/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/accounts/2fa/setup/"), url
    assert client.get("/api/org-units/").status_code == 403
    enrol(client, counsellor_a)
    assert client.get("/").status_code == 200
    assert client.get("/api/org-units/").status_code == 200


@override_settings(TWO_FACTOR_MANDATORY=True)
def test_roles_without_identified_data_are_not_forced(tree):
    volunteer = make_user("vol", tree.c1, "volunteer")
    client = Client()
    login(client, volunteer.username)
    assert client.get("/").status_code == 200


def _age_session(client, key, seconds):
    session = client.session
    session[key] = int(time.time()) - seconds
    session.save()


def test_idle_timeout_is_shorter_for_note_readers(tree, counsellor_a, district_admin):
    """15 idle minutes end a counsellor's session, 30 minutes anyone else's."""
    counsellor = Client()
    login(counsellor, "counsellor_a")
    _age_session(counsellor, SEEN_AT, 16 * 60)
    response = counsellor.get("/")
    assert response.url.startswith("/accounts/login/")
    assert "_auth_user_id" not in counsellor.session

    admin = Client()
    login(admin, "district_admin")
    _age_session(admin, SEEN_AT, 16 * 60)
    assert admin.get("/").status_code == 200
    _age_session(admin, SEEN_AT, 31 * 60)
    assert admin.get("/").url.startswith("/accounts/login/")


def test_absolute_session_lifetime(tree, district_admin):
    client = Client()
    login(client, "district_admin")
    _age_session(client, AUTH_AT, 11 * 3600)
    assert client.get("/").url.startswith("/accounts/login/")


def test_reauthentication_before_sensitive_acts(tree, district_admin):
    """Creating an API token needs the password again within five minutes."""
    client = Client()
    login(client, "district_admin")
    _age_session(client, "xinyuan_reauth_at", 6 * 60)
    response = client.get("/accounts/me/token/")
    assert response.url.startswith("/accounts/reauth/")
    assert "密码不正确" in client.post("/accounts/reauth/", {"password": "nope"}).content.decode()
    response = client.post("/accounts/reauth/", {"password": PASSWORD, "next": "/accounts/me/token/"})
    assert response.url == "/accounts/me/token/"
    created = client.post("/accounts/me/token/", {"action": "create", "name": "对接系统", "days": 30})
    assert re.search(r'data-testid="token">xy_[0-9a-f]{12}_[A-Za-z0-9_-]{43}<', created.content.decode())


def test_reauthentication_asks_for_the_code_when_enrolled(tree, counsellor_a):
    client = Client()
    login(client, "counsellor_a")
    codes = enrol(client, counsellor_a)
    response = client.post("/accounts/reauth/", {"password": PASSWORD})
    assert "验证码或恢复码" in response.content.decode()
    # the TOTP code of this 30-second step was spent on enrolment; a recovery code works
    response = client.post("/accounts/reauth/", {"password": PASSWORD, "code": codes[0]})
    assert response.status_code == 302


def test_csp_and_security_headers(tree, counsellor_a):
    client = Client()
    client.force_login(counsellor_a)
    response = client.get("/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert "onclick=" not in response.content.decode() and "onchange=" not in response.content.decode()


def test_security_admin_resets_a_lost_second_factor(tree, counsellor_a):
    security = make_user("security", tree.district, "security_admin")
    client = Client()
    login(client, "counsellor_a")
    enrol(client, counsellor_a)
    admin = Client()
    admin.force_login(security)
    admin.post(f"/accounts/users/{counsellor_a.pk}/2fa-reset/")
    assert not TOTPDevice.objects.filter(user=counsellor_a).exists()
