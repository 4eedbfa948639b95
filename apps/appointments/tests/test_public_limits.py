"""Public booking cannot be drained (issue 14 item 4) and client addresses cannot be forged (item 5).

S-FLOW-1: a member of the public books a free hour on /book/. An anonymous caller once took every
free hour of the next 14 days from one address with invented phone numbers; now an hour is held
only after the one-time SMS code sent to that phone is entered, codes and requests are limited per
phone, per client address and per unit in the shared cache, and requests left unconfirmed expire.
"""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.test import RequestFactory
from django.utils import timezone

from apps.appointments import services
from apps.appointments.choices import Status
from apps.appointments.models import Appointment, PublicBookingCheck
from apps.appointments.tasks import expire_public_bookings
from apps.audit.models import AuditEntry
from apps.audit.services import client_ip
from apps.core.scoping import unscoped

from .conftest import booking, last_code

pytestmark = pytest.mark.django_db


def appointments():
    with unscoped("test assertion"):
        return list(Appointment.objects.order_by("id"))


def form(starts_at, phone="13912345678", **extra) -> dict:
    return {
        "slot": starts_at.isoformat(), "channel": "onsite", "contact_name": "王小明",
        "contact_phone": phone, "needs_symptoms": "孩子厌学，想咨询", "agree": "on", **extra,
    }  # fmt: skip


def free_hours(unit) -> list:
    return [hour for hours in services.free_slots(unit).values() for hour in hours]


def hours_from(unit, first) -> list:
    """Free hours from ``first`` on (days ahead, so a midnight during the test changes nothing)."""
    return [hour for hour in free_hours(unit) if hour >= first]


def start(unit, starts_at, phone="13912345678", ip="198.51.100.7"):
    return services.do_start_public_booking(unit=unit, data=booking(None, starts_at, contact_phone=phone), ip=ip)


def book(unit, starts_at, outbox, phone="13912345678", ip="198.51.100.7"):
    check = start(unit, starts_at, phone, ip)
    return services.do_verify_public_booking(check_id=check.pk, code=outbox[-1].params["code"], ip=ip)


# --- item 4: the SMS code ------------------------------------------------------------------------
def test_a_booking_without_the_code_never_holds_a_slot(tree, counsellor_a, hours_a, monday_10, sms_outbox):
    """S-FLOW-1, issue 14 item 4: details alone send a code and hold nothing; the hour stays free for others."""
    web = HttpClient(REMOTE_ADDR="198.51.100.7")
    for i in range(3):  # three different invented numbers for the same hour: none of them holds it
        response = web.post(f"/book/{tree.c1.pk}/", form(monday_10, phone=f"1391234567{i}"))
        assert response.status_code == 302 and response["Location"] == "/book/verify/"
    assert len(sms_outbox) == 3 and sms_outbox[0].phone == "+8613912345670"
    assert sms_outbox[0].params["code"] in sms_outbox[0].text and len(sms_outbox[0].params["code"]) == 6
    assert appointments() == [] and monday_10 in free_hours(tree.c1)
    # the code is stored only as a salted hash; the contact data only encrypted
    check = PublicBookingCheck.objects.order_by("id").first()
    assert sms_outbox[0].params["code"] not in check.code_hash
    # someone who has the code for their own phone takes the hour; the other pending checks cannot any more
    other = HttpClient(REMOTE_ADDR="203.0.113.9")
    other.post(f"/book/{tree.c1.pk}/", form(monday_10, phone="13700001111"))
    assert other.post("/book/verify/", {"code": last_code(sms_outbox, "+8613700001111")}).status_code == 302
    assert monday_10 not in free_hours(tree.c1)
    taken = web.post("/book/verify/", {"code": last_code(sms_outbox, "+8613912345672")})
    assert taken.status_code == 200 and "该时段已约满" in taken.content.decode()
    assert len(appointments()) == 1 and appointments()[0].contact_phone == "+8613700001111"


def test_the_code_is_for_this_check_only_and_expires(tree, counsellor_a, hours_a, monday_10, sms_outbox):
    """S-FLOW-1, issue 14 item 4: another check's code, or a code after its minutes, creates nothing."""
    first = start(tree.c1, monday_10, phone="13912345678")
    first_code = sms_outbox[-1].params["code"]
    second = start(tree.c1, monday_10, phone="13700001111")
    if sms_outbox[-1].params["code"] != first_code:
        with pytest.raises(ValidationError):
            services.do_verify_public_booking(check_id=second.pk, code=first_code, ip="198.51.100.7")
    later = timezone.now() + timedelta(minutes=django_settings.PUBLIC_BOOKING_CODE_MINUTES, seconds=1)
    with pytest.raises(ValidationError) as error:
        services.do_verify_public_booking(check_id=first.pk, code=first_code, ip="198.51.100.7", now=later)
    assert "验证码已失效" in str(error.value)
    assert appointments() == [] and not PublicBookingCheck.objects.filter(pk=first.pk).exists()
    assert services.do_expire_public_bookings(now=later) == (1, 0)  # the periodic task purges the rest
    assert not PublicBookingCheck.objects.exists()


class BrokenSmsBackend:
    def send(self, message):
        from apps.notifications.backends import SmsError

        raise SmsError("provider down")


def test_a_code_that_cannot_be_sent_leaves_nothing(tree, counsellor_a, hours_a, monday_10, settings):
    """S-FLOW-1, issue 14 item 4: when the SMS provider fails, the form says so and no pending check remains."""
    settings.NOTIFY_SMS_BACKEND = f"{__name__}.BrokenSmsBackend"
    with pytest.raises(ValidationError) as error:
        start(tree.c1, monday_10)
    assert "验证码短信发送失败" in str(error.value)
    assert not PublicBookingCheck.objects.exists() and appointments() == []


def test_wrong_code_attempts_are_limited(tree, counsellor_a, hours_a, monday_10, sms_outbox, settings):
    """S-FLOW-1, issue 14 item 4: each wrong code counts; the last allowed one voids the check for good."""
    settings.PUBLIC_BOOKING_CODE_ATTEMPTS = 5
    web = HttpClient(REMOTE_ADDR="198.51.100.7")
    web.post(f"/book/{tree.c1.pk}/", form(monday_10))
    code = last_code(sms_outbox)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        page = web.post("/book/verify/", {"code": wrong}).content.decode()
        assert f"还可以再试 {left} 次" in page
        assert PublicBookingCheck.objects.get().attempts == 5 - left  # counted although the call was refused
    last = web.post("/book/verify/", {"code": wrong})
    assert "输错次数过多" in last.content.decode() and not PublicBookingCheck.objects.exists()
    assert web.post("/book/verify/", {"code": code})["Location"] == "/book/"  # the right code is too late
    assert appointments() == [] and monday_10 in free_hours(tree.c1)


def test_codes_are_limited_per_phone_and_per_address(tree, counsellor_a, hours_a, monday_10, sms_outbox, settings):
    """S-FLOW-1, issue 14 item 4: invented numbers cost the caller an SMS each, and SMS are limited."""
    settings.PUBLIC_BOOKING_SMS_PER_PHONE = 3
    settings.PUBLIC_BOOKING_SMS_PER_IP = 5
    for i in range(3):
        start(tree.c1, monday_10, phone="13912345678", ip=f"198.51.100.{i}")
    with pytest.raises(ValidationError) as error:  # a fourth code to the same phone, from yet another address
        start(tree.c1, monday_10, phone="13912345678", ip="198.51.100.99")
    assert "该号码获取验证码次数过多" in str(error.value) and len(sms_outbox) == 3
    for i in range(5):
        start(tree.c1, monday_10, phone=f"1370000000{i}", ip="203.0.113.9")
    with pytest.raises(ValidationError) as error:  # a sixth code from one address, to a new number
        start(tree.c1, monday_10, phone="13700000009", ip="203.0.113.9")
    assert "获取验证码过于频繁" in str(error.value) and len(sms_outbox) == 8


# --- item 4: limits on requests ------------------------------------------------------------------
def test_draining_from_one_address_is_refused_after_the_limit(tree, counsellor_a, hours_a, monday_10, sms_outbox):
    """S-FLOW-1, issue 14 items 4 and 5: one address with invented numbers (and forged X-Forwarded-For
    headers) books at most PUBLIC_BOOKING_PER_IP hours a day; the refusal costs no SMS and holds nothing."""
    limit = django_settings.PUBLIC_BOOKING_PER_IP
    hours = hours_from(tree.c1, monday_10)
    for i in range(limit):
        web = HttpClient(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
        web.post(f"/book/{tree.c1.pk}/", form(hours[i], phone=f"1391234560{i}"))
        assert web.post("/book/verify/", {"code": last_code(sms_outbox)})["Location"] == "/book/done/"
    sent = len(sms_outbox)
    web = HttpClient(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="10.0.0.99")
    refused = web.post(f"/book/{tree.c1.pk}/", form(hours[limit], phone="13912345699"))
    assert refused.status_code == 200 and f"最多提交 {limit} 次网上预约" in refused.content.decode()
    assert len(sms_outbox) == sent and len(appointments()) == limit
    assert len(hours_from(tree.c1, monday_10)) == len(hours) - limit
    # a person at another address still books
    other = HttpClient(REMOTE_ADDR="203.0.113.9")
    other.post(f"/book/{tree.c1.pk}/", form(hours[limit], phone="13700001111"))
    assert other.post("/book/verify/", {"code": last_code(sms_outbox)})["Location"] == "/book/done/"


def test_the_address_limit_also_holds_at_the_code_step(tree, counsellor_a, hours_a, monday_10, sms_outbox, settings):
    """S-FLOW-1, issue 14 item 4: codes collected before the limit was reached cannot exceed it."""
    settings.PUBLIC_BOOKING_PER_IP = 2
    hours = hours_from(tree.c1, monday_10)
    checks = [(start(tree.c1, hours[i], phone=f"1391234560{i}"), sms_outbox[-1].params["code"]) for i in range(3)]
    for check, code in checks[:2]:
        services.do_verify_public_booking(check_id=check.pk, code=code, ip="198.51.100.7")
    check, code = checks[2]
    with pytest.raises(ValidationError) as error:
        services.do_verify_public_booking(check_id=check.pk, code=code, ip="198.51.100.7")
    assert "最多提交 2 次" in str(error.value) and len(appointments()) == 2 and hours[2] in free_hours(tree.c1)


def test_a_unit_takes_at_most_its_daily_public_requests(tree, counsellor_a, hours_a, monday_10, sms_outbox, settings):
    """S-FLOW-1, issue 14 item 4: many addresses together take at most PUBLIC_BOOKING_PER_UNIT hours of a unit."""
    settings.PUBLIC_BOOKING_PER_UNIT = 4
    hours = hours_from(tree.c1, monday_10)
    for i in range(4):
        book(tree.c1, hours[i], sms_outbox, phone=f"1391234560{i}", ip=f"198.51.100.{i}")
    sent = len(sms_outbox)
    with pytest.raises(ValidationError) as error:
        start(tree.c1, hours[4], phone="13912345699", ip="203.0.113.50")
    assert "网上预约名额已满" in str(error.value) and len(sms_outbox) == sent
    assert len(appointments()) == 4 and hours[4] in free_hours(tree.c1)


def test_there_is_no_public_api_around_the_code(tree, counsellor_a, hours_a, monday_10):
    """S-FLOW-1, issue 14 item 4: the appointments API needs a login; anonymous callers cannot create there."""
    data = {
        "unit": tree.c1.pk,
        "starts_at": monday_10.isoformat(),
        "contact_name": "王",
        "contact_phone": "13912345678",
    }
    response = HttpClient().post("/api/appointments/", data, content_type="application/json")
    assert response.status_code in (401, 403) and appointments() == []


# --- item 4: expiry of unconfirmed requests ------------------------------------------------------
def test_unconfirmed_requests_expire_and_free_the_slot(
    tree, counsellor_a, street_manager, hours_a, monday_10, sms_outbox, settings
):
    """S-FLOW-1, issue 14 item 4: a public request staff left unconfirmed for the set minutes is cancelled
    by the periodic task, its hour is free again, the cancellation is audited; confirmed ones stay."""
    settings.PUBLIC_BOOKING_UNCONFIRMED_MINUTES = 120
    nine = monday_10 - timedelta(hours=1)
    stale = book(tree.c1, monday_10, sms_outbox, phone="13912345678")
    kept = book(tree.c1, nine, sms_outbox, phone="13700001111", ip="203.0.113.9")
    services.do_confirm_appointment(actor=street_manager, appointment=kept, told_service=True)
    assert monday_10 not in free_hours(tree.c1)
    soon = timezone.now() + timedelta(minutes=119)
    assert services.do_expire_public_bookings(now=soon) == (0, 0)
    later = timezone.now() + timedelta(minutes=121)
    assert services.do_expire_public_bookings(now=later) == (0, 1)
    stale.refresh_from_db()
    kept.refresh_from_db()
    assert stale.status == Status.CANCELLED and "未确认" in stale.status_reason
    assert kept.status == Status.CONFIRMED
    assert monday_10 in free_hours(tree.c1)
    entry = AuditEntry.objects.filter(object_id=str(stale.pk)).order_by("-seq").first()
    assert entry.purpose == "超时未确认，自动取消"
    assert services.do_expire_public_bookings(now=later) == (0, 0)  # once only


def test_the_periodic_task_runs_the_expiry(tree, counsellor_a, hours_a, monday_10, sms_outbox, settings):
    """S-FLOW-1, issue 14 item 4: the huey task is the expiry, with the minutes from the settings."""
    settings.PUBLIC_BOOKING_UNCONFIRMED_MINUTES = 0
    stale = book(tree.c1, monday_10, sms_outbox)
    assert expire_public_bookings.call_local() == (0, 1)
    stale.refresh_from_db()
    assert stale.status == Status.CANCELLED and monday_10 in free_hours(tree.c1)


# --- item 5: client addresses ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.66", "10.0.0.2"),  # no proxy: a forged header is ignored
        (0, "", "10.0.0.2"),
        (1, "203.0.113.66, 198.51.100.7", "198.51.100.7"),  # the client forged the left entry
        (1, "198.51.100.7", "198.51.100.7"),
        (2, "203.0.113.66, 198.51.100.7, 10.0.0.9", "198.51.100.7"),
        (2, "198.51.100.7", "10.0.0.2"),  # fewer entries than proxies: not believed
        (1, "203.0.113.66, not-an-ip", "10.0.0.2"),
    ],
)
def test_client_ip_reads_the_trusted_proxies_from_the_right(settings, proxies, forwarded, expected):
    """X-4, issue 14 item 5: with N trusted proxies the Nth X-Forwarded-For entry from the right is the client."""
    settings.TRUSTED_PROXY_COUNT = proxies
    meta = {"REMOTE_ADDR": "10.0.0.2"}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/", **meta)
    assert client_ip(request) == expected


def test_axes_uses_the_same_client_ip(settings):
    """X-4, issue 14 item 5: the login lockout reads the address through client_ip, not the raw header."""
    from axes.helpers import get_client_ip_address

    settings.TRUSTED_PROXY_COUNT = 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.66")
    assert get_client_ip_address(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.66, 198.51.100.7")
    assert get_client_ip_address(request) == "198.51.100.7"


def _import_production_settings(extra: dict) -> subprocess.CompletedProcess:
    import base64

    dropped = ("DEBUG", "CACHE_REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "TRUSTED_PROXY_COUNT")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        XINYUAN_ENV="production",
        SECRET_KEY="production-secret-key-for-the-cache-test-0123456789",
        ALLOWED_HOSTS="xinyuan.example.org",
        SITE_URL="https://xinyuan.example.org",
        XINYUAN_FIELD_KEYS="k1:" + base64.b64encode(b"f" * 32).decode(),
        XINYUAN_INDEX_KEY=base64.b64encode(b"i" * 32).decode(),
        NOTIFY_SMS_BACKEND="apps.notifications.backends.FileSmsBackend",
        NOTIFY_SMS_ALLOW_LOCAL_BACKEND="1",
        AUDIT_HMAC_KEYS="h1:" + base64.b64encode(b"h" * 32).decode(),
        **extra,
    )
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-c", "import xinyuan.settings as s; print(s.CACHES['default']['BACKEND'])"],
        cwd=Path(django_settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_a_per_process_cache():
    """X-4, issue 14 item 5: rate limits need one count for all workers, so production without
    CACHE_REDIS_URL (per-process LocMem) does not start; with it the settings load with Redis."""
    refused = _import_production_settings({})
    assert refused.returncode != 0 and "CACHE_REDIS_URL" in refused.stderr
    loaded = _import_production_settings({"CACHE_REDIS_URL": "redis://127.0.0.1:6379/9"})
    assert "CACHE_REDIS_URL" not in loaded.stderr
    assert loaded.returncode == 0 and "RedisCache" in loaded.stdout, loaded.stderr
