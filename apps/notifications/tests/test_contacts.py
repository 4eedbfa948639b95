"""Notifications to people without an account: encrypted contact, masked deliveries, same sending (X-7)."""

import json

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from apps.notifications import selectors, services
from apps.notifications.backends import SmsError
from apps.notifications.models import Delivery, Notification
from apps.notifications.tasks import send_delivery

from .test_sending import CountingBackend, counting, deliveries, sms_lines  # noqa: F401 - fixture

PHONE = "13912345678"
EMAIL = "applicant.wang@example.org"


def tell(phone=PHONE, email=EMAIL, **extra):
    return services.notify_contact(
        template="generic",
        context={"title": "申请 SQ1 已收到", "body": "您的申请已收到。"},
        phone=phone,
        email=email,
        url=extra.pop("url", "/membership/status/"),
        topic=extra.pop("topic", "test:1"),
    )


def raw_rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names from the test
        return cursor.fetchall()


def test_contact_gets_sms_and_email_through_the_huey_task(db, quiet_sms, django_capture_on_commit_callbacks):
    """X-7: someone without an account gets an SMS (mobile) and an e-mail (address) through the same task."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        note = tell()
    assert len(callbacks) == 1
    assert note.recipient is None and note.topic == "test:1"
    rows = deliveries(note)
    assert set(rows) == {"sms", "email"}  # no inbox row for nobody's inbox
    assert rows["sms"].status == "sent" and rows["sms"].attempts == 1 and rows["sms"].address == "139****5678"
    assert rows["email"].status == "sent" and rows["email"].address == "a***@example.org"
    [line] = sms_lines(quiet_sms)
    assert line["phone"] == "139****5678"
    assert line["text"] == f"申请 SQ1 已收到。请登录心援平台查看：{settings.SITE_URL}/membership/status/"
    [message] = mail.outbox
    assert message.to == [EMAIL] and message.subject == "【心援】申请 SQ1 已收到"


def test_contact_addresses_are_encrypted_in_the_database(db, quiet_sms, django_capture_on_commit_callbacks):
    """X-7, X-4: the raw notification and delivery rows hold no plaintext phone or e-mail, only masked forms."""
    with django_capture_on_commit_callbacks(execute=True):
        note = tell()
    dumped = json.dumps(raw_rows("notifications_notification") + raw_rows("notifications_delivery"), default=str)
    assert PHONE not in dumped and EMAIL not in dumped and "applicant.wang" not in dumped
    assert "139****5678" in dumped and "a***@example.org" in dumped
    with connection.cursor() as cursor:
        cursor.execute("SELECT contact_phone, contact_email FROM notifications_notification WHERE id = %s", [note.pk])
        phone_raw, email_raw = cursor.fetchone()
    assert phone_raw.startswith("v1:") and email_raw.startswith("v1:")
    fresh = Notification.objects.get(pk=note.pk)
    assert (fresh.contact_phone, fresh.contact_email) == (PHONE, EMAIL)  # decrypted for the sender only


def test_contact_notifications_stay_out_of_every_inbox(alice, client_of, django_capture_on_commit_callbacks):
    """X-7: an account-less notification is in nobody's inbox, bell or API list, and nobody can mark it read."""
    with django_capture_on_commit_callbacks(execute=True):
        note = tell()
    assert not selectors.my_notifications(alice).exists()
    assert selectors.unread_count(alice) == 0
    client = client_of(alice)
    assert client.get("/api/notifications/").json()["results"] == []
    assert client.get(f"/api/notifications/{note.pk}/").status_code == 404
    with pytest.raises(ValidationError):
        services.do_mark_read(actor=alice, notification=note)
    assert list(selectors.contact_notifications("test:1")) == [note]
    assert list(selectors.contact_notifications("test:2")) == []


def test_failing_backend_retries_then_fails(db, counting, django_capture_on_commit_callbacks):  # noqa: F811
    """X-7: a failing provider is retried NOTIFY_MAX_ATTEMPTS times for a contact, as for an account."""
    counting.outcomes = [SmsError("网络超时")] * 10
    with django_capture_on_commit_callbacks(execute=True):
        note = tell(email="")
    sms = deliveries(note)["sms"]
    assert len(counting.calls) == 3 and counting.calls[0].phone == PHONE
    assert sms.status == "failed" and sms.attempts == 3 and sms.error == "网络超时" and sms.sent_at is None
    send_delivery(sms.pk)  # a late duplicate changes nothing
    assert len(counting.calls) == 3


def test_invalid_contact_is_recorded_as_skipped(db, quiet_sms, django_capture_on_commit_callbacks):
    """X-7: an unusable mobile number or e-mail address is kept (encrypted) and its delivery skipped with a reason."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        note = tell(phone="0571-8765432", email="not-an-address")
    assert callbacks == []  # nothing to send
    rows = deliveries(note)
    assert rows["sms"].status == "skipped" and rows["sms"].error == "手机号码无效，未发送短信。"
    assert rows["email"].status == "skipped" and rows["email"].error == "电子邮箱地址无效，未发送邮件。"
    assert rows["sms"].address == "" and rows["email"].address == ""
    assert sms_lines(quiet_sms) == [] and mail.outbox == []


def test_one_channel_only_follows_the_address_given(db, quiet_sms, django_capture_on_commit_callbacks):
    """X-7: only the channels whose address was given get a delivery (mobile → SMS, e-mail → e-mail)."""
    with django_capture_on_commit_callbacks(execute=True):
        note = tell(phone="+86 139-1234-5678", email="")
    assert set(deliveries(note)) == {"sms"}
    assert Notification.objects.get(pk=note.pk).contact_phone == PHONE  # normalised before storing


def test_no_address_or_bad_input_writes_nothing(db):
    """X-7: no address at all, an unknown template or an external link is refused and nothing is written."""
    with pytest.raises(ValidationError, match="没有可用的联系方式"):
        tell(phone="", email="  ")
    with pytest.raises(ValidationError, match="未知的通知模板"):
        services.notify_contact(template="nope", context={}, phone=PHONE)
    with pytest.raises(ValidationError, match="本站内的路径"):
        tell(url="https://evil.example/")
    with pytest.raises(ValidationError, match="关联事项"):
        tell(topic="x" * 101)
    assert not Notification.objects.exists() and not Delivery.objects.exists()


def test_rolled_back_change_sends_nothing(db, quiet_sms, django_capture_on_commit_callbacks):
    """X-7: a notification written in a transaction that rolls back never goes out."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                tell()
                raise RuntimeError("business error")
        except RuntimeError:
            pass
    assert callbacks == [] and sms_lines(quiet_sms) == []
    assert not Notification.objects.exists()


def test_database_refuses_a_notification_without_addressee(alice):
    """X-7: every notification has an account or an encrypted contact, never neither and never both."""
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(recipient=None, title="无人")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(recipient=alice, contact_phone=PHONE, title="两者")
    assert Notification.objects.create(recipient=None, contact_email=EMAIL, title="只有邮箱").pk
