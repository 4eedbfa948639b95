"""Failed logins: a limit per address, and a per-account lock a stranger cannot hold for long (issue 14 item 10)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from axes.models import AccessAttempt
from django.test import Client, override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import PASSWORD, make_user

STRANGER = "203.0.113.7"
OFFICE = "198.51.100.20"


def login(client, username, password=PASSWORD, address=STRANGER):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def current_code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):06d}"


@override_settings(LOGIN_IP_FAILURE_LIMIT=8)
def test_one_address_trying_many_usernames_is_throttled(tree, counsellor_a):
    """S-PRIN-3, issue 14 item 10: failures spread over many usernames still stop the address, not the accounts."""
    attacker = Client()
    for n in range(8):  # one failure per username: no account reaches its own limit
        response = login(attacker, f"guess{n}", "wrong")
        assert response.status_code == 200 and "登录名或密码不正确" in response.content.decode()
    refused = login(attacker, "counsellor_a")  # even the right password, from this address
    assert refused.status_code == 429
    assert "本网络地址" in refused.content.decode()
    assert "_auth_user_id" not in attacker.session
    # the account itself is not locked: its owner logs in from the office
    office = Client()
    assert login(office, "counsellor_a", address=OFFICE).status_code == 302


@override_settings(LOGIN_IP_FAILURE_LIMIT=1000, OTP_TOTP_THROTTLE_FACTOR=0)
def test_second_factor_lets_the_owner_in_and_clears_the_lock(tree, counsellor_a):
    """S-PRIN-3, issue 14 item 10: a stranger locks a named account, its owner's second factor clears the lock."""
    device = TOTPDevice.objects.create(user=counsellor_a, name="身份验证器", confirmed=True)
    stranger = Client()
    for _ in range(5):
        login(stranger, "counsellor_a", "wrong")
    assert login(stranger, "counsellor_a", "wrong").status_code == 429  # locked for wrong passwords
    assert AccessAttempt.objects.filter(username="counsellor_a").exists()

    owner = Client()
    response = login(owner, "counsellor_a", address=OFFICE)
    assert response.status_code == 302  # past the lock, but only as far as the code
    page = owner.get("/")
    assert page.status_code == 302 and page.url.startswith("/accounts/2fa/verify/")
    assert owner.get("/api/org-units/").status_code == 403
    assert owner.get("/accounts/2fa/setup/").url.startswith("/accounts/2fa/verify/")  # no swapping the device
    assert AccessAttempt.objects.filter(username="counsellor_a").exists()  # the password alone clears nothing
    assert owner.post("/accounts/2fa/verify/", {"code": current_code(device), "next": "/"}).status_code == 302
    assert owner.get("/").status_code == 200
    assert not AccessAttempt.objects.filter(username="counsellor_a").exists()
    assert login(Client(), "counsellor_a", address=STRANGER).status_code == 302  # lock gone for everyone


@override_settings(LOGIN_IP_FAILURE_LIMIT=1000)
def test_lock_without_a_second_factor_holds_for_the_cool_off(tree):
    """Issue 14 item 10: an account without a device stays locked (15 minutes) until the administrator clears it."""
    make_user("plain", tree.c1, "volunteer")
    stranger = Client()
    for _ in range(5):
        login(stranger, "plain", "wrong")
    assert login(Client(), "plain", address=OFFICE).status_code == 429
    security = make_user("security", tree.district, "security_admin")
    admin = Client()
    admin.force_login(security)
    admin.post("/accounts/lockouts/reset/", {"username": "plain"})
    assert login(Client(), "plain", address=OFFICE).status_code == 302


def test_a_password_alone_cannot_swap_the_authenticator(tree, counsellor_a):
    """S-PRIN-3, issue 14 items 3 and 10: re-enrolment over a confirmed device needs the current code first."""
    device = TOTPDevice.objects.create(user=counsellor_a, name="身份验证器", confirmed=True)
    intruder = Client()
    assert login(intruder, "counsellor_a", address=OFFICE).status_code == 302
    response = intruder.get("/accounts/2fa/setup/")
    assert response.status_code == 302 and response.url.startswith("/accounts/2fa/verify/")
    assert intruder.post("/accounts/2fa/setup/", {"code": "123456"}).status_code == 302
    assert list(TOTPDevice.objects.filter(user=counsellor_a)) == [device]


@override_settings(LOGIN_IP_FAILURE_LIMIT=1000)
def test_attempts_during_a_lock_do_not_extend_it(tree):
    """Issue 14 item 10: trickling wrong passwords into a locked account does not keep it locked past 15 minutes."""
    make_user("plain", tree.c1, "volunteer")
    start = datetime(2026, 12, 31, 23, 50, tzinfo=ZoneInfo("Asia/Shanghai"))
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            login(Client(), "plain", "wrong")
        assert login(Client(), "plain", address=OFFICE).status_code == 429
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        assert login(Client(), "plain", "wrong").status_code == 429
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        assert login(Client(), "plain", address=OFFICE).status_code == 302
