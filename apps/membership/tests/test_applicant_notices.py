"""The applicant without an account is told every outcome by SMS and e-mail (H-MEM-1, H-MEM-2, X-7)."""

import json

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from huey.contrib.djhuey import HUEY

from apps.core.scoping import unscoped
from apps.membership import notices, services
from apps.membership.choices import ApplicationStatus, CertificateKind
from apps.membership.models import Certificate
from apps.notifications.backends import SmsError, sms_outbox
from apps.notifications.models import Delivery, Notification

from .conftest import resident_id, submit

pytestmark = pytest.mark.django_db

PHONE, MASKED_PHONE = "13800138000", "138****8000"
EMAIL, MASKED_EMAIL = "zhang@example.com", "z***@example.com"
SITE = "https://xinyuan.example.gov.cn"
STATUS = SITE + "/membership/status/"  # issue 13 item 10: the full address, never a bare path


@pytest.fixture(autouse=True)
def sms_file(settings):
    """Huey runs its tasks in this process; SMS are kept whole in memory (MemorySmsBackend — the file backend masks
    numbers since issue 14), e-mail goes to mail.outbox."""
    settings.NOTIFY_SMS_BACKEND = "apps.notifications.backends.MemorySmsBackend"
    settings.SITE_URL = SITE
    settings.NOTIFY_RETRY_DELAY = 0
    settings.NOTIFY_MAX_ATTEMPTS = 3
    sms_outbox.clear()
    previous, HUEY.immediate = HUEY.immediate, True
    yield sms_outbox
    HUEY.immediate = previous


def sms_lines(outbox) -> list[dict]:
    return [{"phone": m.phone, "text": m.text, "template": m.template, "params": m.params} for m in outbox]


def told(application) -> list[Notification]:
    return list(Notification.objects.filter(topic=notices.topic_of(application)).order_by("id"))


def by_channel(notification) -> dict[str, Delivery]:
    return {d.channel: d for d in notification.deliveries.all()}


def assert_notice(notification, application, outcome: str, *in_email: str):
    """The right channels, masked addresses, minimal SMS, and no identifier beyond the reference."""
    assert notification.recipient is None
    rows = by_channel(notification)
    assert set(rows) == {"sms", "email"}
    assert rows["sms"].address == MASKED_PHONE and rows["email"].address == MASKED_EMAIL
    sms = rows["sms"].payload["text"]
    assert sms == f"您的入会申请{application.reference}{outcome}。请凭申请编号和查询码在{STATUS}查看。"
    assert rows["sms"].payload["params"] == {
        "reference": application.reference,
        "outcome": outcome,
        "link": STATUS,
    }
    assert application.reference in notification.title and outcome in notification.title
    body = rows["email"].payload["body"]
    for text in (application.reference, *in_email):
        assert text in body
    everything = json.dumps([notification.title, notification.body, rows["sms"].payload, rows["email"].payload])
    assert application.id_number not in everything and application.name not in everything
    return rows


def test_submitted_application_is_acknowledged(assoc, sms_file, django_capture_on_commit_callbacks):
    """H-MEM-1, X-7: on submission the applicant gets the reference and how to check the status, by SMS and e-mail."""
    with django_capture_on_commit_callbacks(execute=True):
        application, _secret = submit(assoc, 1)
    [note] = told(application)
    rows = assert_notice(note, application, "已收到", "查询码", STATUS)
    assert rows["sms"].status == "sent" and rows["email"].status == "sent"
    [line] = sms_lines(sms_file)
    assert line["phone"] == PHONE and application.reference in line["text"] and STATUS in line["text"]
    [message] = mail.outbox
    assert message.to == [EMAIL] and application.reference in message.subject


def test_returned_application_tells_reason_and_how_to_amend(assoc, officer, django_capture_on_commit_callbacks):
    """H-MEM-1, X-7: a return for changes sends the reason and how to amend (a new application)."""
    application, _ = submit(assoc, 1)
    with django_capture_on_commit_callbacks(execute=True):
        services.do_review_application(
            actor=officer, application=application, passed=False, note="身份证复印件不清晰，请补正。"
        )
    note = told(application)[-1]
    rows = assert_notice(
        note,
        application,
        "被退回，需修改后重新提交",
        "身份证复印件不清晰，请补正。",
        f"/membership/apply/{assoc.root.pk}/",
    )
    assert rows["sms"].status == "sent" and "身份证复印件" not in rows["sms"].payload["text"]


def test_first_review_refusal_tells_the_reason(assoc, officer, client, django_capture_on_commit_callbacks):
    """H-MEM-1, X-7: a first-review refusal (不予通过) needs a reason, is sent as 未获通过, shown on the status page."""
    cache.clear()  # the status page's rate limit counts in the cache
    application, secret = submit(assoc, 1)
    with pytest.raises(Exception, match="不予通过须写明理由"):
        services.do_review_application(actor=officer, application=application, passed=False, note="", final=True)
    with django_capture_on_commit_callbacks(execute=True):
        refused = services.do_review_application(
            actor=officer, application=application, passed=False, note="不符合章程规定的入会条件。", final=True
        )
    assert refused.status == ApplicationStatus.REJECTED
    assert_notice(told(application)[-1], application, "未获通过", "不符合章程规定的入会条件。")
    page = client.post("/membership/status/", {"reference": application.reference, "secret": secret})
    assert "初审不予通过。理由：不符合章程规定的入会条件。" in page.content.decode()


def test_rejected_by_the_board_vote(assoc, officer, secretariat, board, client, django_capture_on_commit_callbacks):
    """H-MEM-2, X-7: a failed board vote is told as 未获通过, with the result but not who voted how."""
    cache.clear()
    application, secret = submit(assoc, 1)
    services.do_review_application(actor=officer, application=application, passed=True, note="")
    for user, choice in zip(board, ["approve", "reject", "abstain"], strict=True):
        services.do_cast_ballot(actor=user, application=application, choice=choice)
    with django_capture_on_commit_callbacks(execute=True):
        services.do_close_vote(actor=secretariat, application=application)
    note = told(application)[-1]
    rows = assert_notice(note, application, "未获通过", services.VOTE_REJECTED_REASON)
    assert "理事" not in note.body.replace("理事会", "")  # no voter names
    assert rows["email"].status == "sent"
    page = client.post("/membership/status/", {"reference": application.reference, "secret": secret})
    assert services.VOTE_REJECTED_REASON in page.content.decode()


def test_admitted_by_vote_is_told_how_to_set_the_password(
    assoc, officer, secretariat, board, django_capture_on_commit_callbacks
):
    """H-MEM-2, X-7: admission tells the member number and how to set the first password on the status page."""
    application, _ = submit(assoc, 1)
    services.do_review_application(actor=officer, application=application, passed=True, note="")
    for user in board[:2]:
        services.do_cast_ballot(actor=user, application=application, choice="approve")
    with django_capture_on_commit_callbacks(execute=True):
        application = services.do_close_vote(actor=secretariat, application=application)
    assert application.status == ApplicationStatus.ADMITTED
    note = told(application)[-1]
    assert_notice(note, application, "已获批准", application.member.number, "设置首次登录密码")
    assert [n.title for n in told(application)][0].endswith("已收到")


def test_simplified_admission_is_told_too(assoc, officer, django_capture_on_commit_callbacks):
    """H-MEM-2, X-7: the simplified procedure admits and tells the applicant the same way."""
    cert = {"kind": CertificateKind.COUNSELLOR, "number": "C-1", "issuer": "人社部"}
    application, _ = submit(assoc, 1, certificates=[cert])
    with unscoped("test"):
        licence = Certificate.objects.get(application=application)
    with django_capture_on_commit_callbacks(execute=True):
        services.do_admit_simplified(actor=officer, application=application, licence=licence)
    assert [n.title.split()[-1] for n in told(application)] == ["已收到", "已获批准"]


def test_plaintext_contact_is_not_in_the_notification_tables(assoc, officer, django_capture_on_commit_callbacks):
    """H-MEM-1, X-7: the raw notification and delivery columns hold neither the phone nor the e-mail address."""
    with django_capture_on_commit_callbacks(execute=True):
        application, _ = submit(assoc, 1)
        services.do_review_application(actor=officer, application=application, passed=False, note="请补充证书。")
    assert Notification.objects.filter(topic=notices.topic_of(application)).count() == 2
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.contact_phone, n.contact_email, n.title, n.body, n.topic, d.address, d.payload, d.error "
            "FROM notifications_notification n JOIN notifications_delivery d ON d.notification_id = n.id"
        )
        rows = cursor.fetchall()
    dumped = json.dumps(rows, default=str, ensure_ascii=False)
    assert PHONE not in dumped and EMAIL not in dumped and "zhang@" not in dumped
    assert application.id_number not in dumped
    assert MASKED_PHONE in dumped and MASKED_EMAIL in dumped
    assert all(row[0].startswith("v1:") and row[1].startswith("v1:") for row in rows)


def test_invalid_email_still_saves_and_records_a_skipped_delivery(assoc, sms_file, django_capture_on_commit_callbacks):
    """H-MEM-1, X-7: an unusable e-mail address does not stop the application; its delivery is skipped with a reason."""
    with django_capture_on_commit_callbacks(execute=True):
        application, _ = submit(assoc, 1, email="zhang-at-example")
    assert application.pk and application.status == ApplicationStatus.SUBMITTED
    rows = by_channel(told(application)[0])
    assert rows["email"].status == "skipped" and rows["email"].error == "电子邮箱地址无效，未发送邮件。"
    assert rows["sms"].status == "sent" and len(sms_lines(sms_file)) == 1
    assert mail.outbox == []


def test_no_email_means_sms_only(assoc, django_capture_on_commit_callbacks):
    """H-MEM-1, X-7: the channels follow what the applicant gave: a mobile number only → SMS only."""
    with django_capture_on_commit_callbacks(execute=True):
        application, _ = submit(assoc, 2, email="")
    assert set(by_channel(told(application)[0])) == {"sms"}


class FailingSms:
    calls = 0

    def send(self, message):
        type(self).calls += 1
        raise SmsError("短信网关不可用")


def test_failing_backend_retries_then_fails(assoc, settings, django_capture_on_commit_callbacks):
    """H-MEM-1, X-7: a failing SMS provider is retried NOTIFY_MAX_ATTEMPTS times, then the delivery is failed."""
    settings.NOTIFY_SMS_BACKEND = f"{__name__}.FailingSms"
    FailingSms.calls = 0
    with django_capture_on_commit_callbacks(execute=True):
        application, _ = submit(assoc, 1)
    rows = by_channel(told(application)[0])
    assert FailingSms.calls == 3
    assert rows["sms"].status == "failed" and rows["sms"].attempts == 3 and rows["sms"].error == "短信网关不可用"
    assert rows["email"].status == "sent"  # the other channel is not held back
    assert application.status == ApplicationStatus.SUBMITTED


def test_rolled_back_submission_sends_nothing(assoc, sms_file, django_capture_on_commit_callbacks):
    """H-MEM-1, X-7: a refused submission (duplicate) writes no notification and sends nothing."""
    with django_capture_on_commit_callbacks(execute=True):
        submit(assoc, 1)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Exception, match="已有一份正在办理"):
        submit(assoc, 1)
    assert Notification.objects.filter(recipient__isnull=True).count() == 1
    assert len(sms_lines(sms_file)) == 1


def test_officer_sees_what_the_applicant_was_told(assoc, officer, client, django_capture_on_commit_callbacks):
    """H-MEM-1, X-7: the application page lists the notices with channel, masked address and status."""
    with django_capture_on_commit_callbacks(execute=True):
        application, _ = submit(assoc, 3, id_number=resident_id(3))
    client.force_login(officer)
    body = client.get(f"/membership/applications/{application.pk}/").content.decode()
    assert "对申请人的通知" in body and MASKED_PHONE in body and MASKED_EMAIL in body and "已发送" in body
    assert PHONE not in body and EMAIL not in body
