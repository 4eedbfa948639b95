"""Sending notifications and keeping the inbox: the rules of X-7 live here.

``notify_user`` writes the inbox row and one ``Delivery`` per channel in one transaction; SMS and
e-mail go out from a huey task only after that transaction commits, so a rolled-back change never
sends anything. ``notify_contact`` does the same for someone without an account (an applicant):
the row has no recipient, the mobile number / e-mail address is stored encrypted on it, and its
deliveries go through the same task, retries and backends. Each attempt is recorded; a failed one is retried until
``NOTIFY_MAX_ATTEMPTS`` attempts have been made, then the delivery is marked failed.
"""

import logging
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.links import absolute_url
from apps.identity.masks import mask_mobile
from apps.identity.phones import normalize_mobile
from apps.vault.crypto import VaultError

from .backends import SmsError, SmsMessage, get_sms_backend
from .catalog import render
from .choices import Channel, DeliveryStatus
from .models import Delivery, Notification, SentReminder, validate_internal_path
from .reminders import as_due_reminder, reminder_providers

logger = logging.getLogger(__name__)

TITLE_MAX = 200
ERROR_MAX = 500
TOPIC_MAX = 100
CONTACT_MAX = {Channel.SMS: 40, Channel.EMAIL: 254}


def mask_email(email: str) -> str:
    """z***@example.org."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def check_channels(channels: Iterable[str]) -> tuple[str, ...]:
    """Validate the channel names; the inbox is always included and comes first."""
    if isinstance(channels, str):
        channels = (channels,)
    wanted = list(dict.fromkeys(channels or ()))
    unknown = [c for c in wanted if c not in Channel.values]
    if unknown:
        raise ValidationError(
            f"未知的通知渠道：{'、'.join(map(str, unknown))}。可用渠道：inapp、sms、email。", code="unknown_channel"
        )
    return (Channel.INAPP, *[c for c in wanted if c != Channel.INAPP])


def _payload(channel: str, rendered, url: str) -> dict:
    """What goes out on ``channel``, rendered once so that a retry sends the same words."""
    if channel == Channel.SMS:
        return {"text": rendered.sms, "template": rendered.template.code, "params": rendered.sms_params}
    return {"subject": f"【心援】{rendered.title}", "body": _email_body(rendered.body, url)}


def _title(rendered) -> str:
    return rendered.title if len(rendered.title) <= TITLE_MAX else rendered.title[: TITLE_MAX - 1] + "…"


def _plan_delivery(notification: Notification, channel: str, rendered, now) -> Delivery:
    """The delivery row for one channel: sent (inbox), queued, or skipped with the reason."""
    user = notification.recipient
    delivery = Delivery(notification=notification, channel=channel, created_at=now)
    if channel == Channel.INAPP:
        delivery.address = "站内信"
        delivery.status = DeliveryStatus.SENT
        delivery.attempts = 1
        delivery.sent_at = now
        return delivery
    delivery.payload = _payload(channel, rendered, notification.url)
    if channel == Channel.SMS:
        address, masked, missing = user.mobile, mask_mobile(user.mobile or ""), "未登记手机号码，未发送短信。"
    else:
        address, masked, missing = user.email, mask_email(user.email or ""), "未登记电子邮箱，未发送邮件。"
    if not user.is_active:
        delivery.status, delivery.error = DeliveryStatus.SKIPPED, "账号已停用，未发送。"
    elif not address:
        delivery.status, delivery.error = DeliveryStatus.SKIPPED, missing
    else:
        delivery.status, delivery.address = DeliveryStatus.QUEUED, masked
    return delivery


def _email_body(body: str, url: str) -> str:
    parts = [body]
    if url and settings.SITE_URL:
        parts.append(f"查看详情：{absolute_url(url)}")
    parts.append("—— 心援社会心理服务平台（系统自动发送，请勿直接回复）")
    return "\n\n".join(p for p in parts if p)


def _enqueue(delivery_ids: list[int]) -> None:
    from .tasks import send_delivery

    for delivery_id in delivery_ids:
        send_delivery(delivery_id)


def notify_user(*, user, template: str, context: dict, channels=(Channel.INAPP,), url: str = "") -> Notification:
    """Put a notification in ``user``'s inbox and queue it on the other ``channels``.

    ``template`` is a code from ``apps.notifications.catalog``; ``context`` fills it. ``url`` is a
    path on this site. The inbox row is always written; "sms" and "email" each get a delivery
    record — queued, or skipped with the reason when the account has no mobile number or e-mail
    or is disabled. Queued deliveries are sent by a huey task after the surrounding transaction
    commits. An unknown template, a missing variable, an unknown channel or an external URL is
    refused and nothing is written.
    """
    wanted = check_channels(channels)
    url = (url or "").strip()
    validate_internal_path(url)
    rendered = render(template, context, url)
    now = timezone.now()
    with transaction.atomic():
        notification = Notification.objects.create(
            recipient=user,
            category=rendered.template.category,
            template=rendered.template.code,
            title=_title(rendered),
            body=rendered.body,
            url=url,
            created_at=now,
        )
        queued = []
        for channel in wanted:
            delivery = _plan_delivery(notification, channel, rendered, now)
            delivery.save()
            if delivery.status == DeliveryStatus.QUEUED:
                queued.append(delivery.pk)
        if queued:
            transaction.on_commit(partial(_enqueue, queued), robust=True)
    return notification


def _check_contact(channel: str, value) -> tuple[str | None, str, str]:
    """A contact address given for someone without an account: (value to store, masked, problem).

    Nothing given: (None, "", ""). A mobile number is normalised (11 digits); an address that
    is not a usable mainland mobile number or e-mail address is kept (encrypted, it is what the
    person gave) with the reason it cannot be used, and its delivery is recorded as skipped.
    """
    text = str(value or "").strip()
    if not text:
        return None, "", ""
    text = text[: CONTACT_MAX[channel]]
    if channel == Channel.SMS:
        try:
            number = normalize_mobile(text)
        except ValidationError:
            return text, "", "手机号码无效，未发送短信。"
        return number, mask_mobile(number), ""
    try:
        validate_email(text)
    except ValidationError:
        return text, "", "电子邮箱地址无效，未发送邮件。"
    return text, mask_email(text), ""


def notify_contact(*, template: str, context: dict, phone: str = "", email: str = "", url: str = "", topic: str = ""):
    """Send a notification to someone without an account, at the mobile number and/or e-mail given.

    The channels follow the addresses: a mobile number gets an SMS, an e-mail address an e-mail.
    The row has no recipient and is in nobody's inbox; the addresses are stored encrypted on it and
    each delivery shows only the masked form. An address that cannot be used (not a mainland
    mobile number, not an e-mail address) gets a delivery skipped with the reason, so the caller's
    own change still goes through. ``topic`` is the caller's key for the matter (at most 100
    characters, e.g. "membership.application:12"). Queued deliveries are sent by the same huey
    task as ``notify_user``'s, after the surrounding transaction commits. No address at all, an
    unknown template, a missing variable or an external URL is refused and nothing is written.
    """
    url = (url or "").strip()
    validate_internal_path(url)
    topic = (topic or "").strip()
    if len(topic) > TOPIC_MAX:
        raise ValidationError(f"关联事项标识不能超过 {TOPIC_MAX} 个字符。", code="topic")
    rendered = render(template, context, url)
    contacts = {Channel.SMS: _check_contact(Channel.SMS, phone), Channel.EMAIL: _check_contact(Channel.EMAIL, email)}
    if all(stored is None for stored, _masked, _problem in contacts.values()):
        raise ValidationError("没有可用的联系方式，请提供手机号码或电子邮箱。", code="no_contact")
    now = timezone.now()
    with transaction.atomic():
        notification = Notification.objects.create(
            recipient=None,
            contact_phone=contacts[Channel.SMS][0],
            contact_email=contacts[Channel.EMAIL][0],
            topic=topic,
            category=rendered.template.category,
            template=rendered.template.code,
            title=_title(rendered),
            body=rendered.body,
            url=url,
            created_at=now,
        )
        queued = []
        for channel, (stored, masked, problem) in contacts.items():
            if stored is None:
                continue
            delivery = Delivery(
                notification=notification, channel=channel, created_at=now, payload=_payload(channel, rendered, url)
            )
            if problem:
                delivery.status, delivery.error = DeliveryStatus.SKIPPED, problem
            else:
                delivery.status, delivery.address = DeliveryStatus.QUEUED, masked
            delivery.save()
            if delivery.status == DeliveryStatus.QUEUED:
                queued.append(delivery.pk)
        if queued:
            transaction.on_commit(partial(_enqueue, queued), robust=True)
    return notification


def _current_address(delivery: Delivery) -> tuple[str, str]:
    """(address to send to now, reason not to send): from the account, or the notification's contact."""
    notification = delivery.notification
    user = notification.recipient
    if user is None:
        address = notification.contact_phone if delivery.channel == Channel.SMS else notification.contact_email
        return (address, "") if address else ("", "没有联系方式，未发送。")
    if not user.is_active:
        return "", "账号已停用，未发送。"
    address = user.mobile if delivery.channel == Channel.SMS else user.email
    return (address, "") if address else ("", "发送时账号已无联系方式，未发送。")


def _send(delivery: Delivery, address: str) -> tuple[str, str]:
    """Send one queued delivery to ``address`` now; return (provider reference, masked address)."""
    if delivery.channel == Channel.SMS:
        message = SmsMessage(
            phone=address,
            text=delivery.payload.get("text", ""),
            template=delivery.payload.get("template", ""),
            params=delivery.payload.get("params", {}),
        )
        return get_sms_backend().send(message), mask_mobile(address)
    email = EmailMessage(
        subject=delivery.payload.get("subject", delivery.notification.title),
        body=delivery.payload.get("body", delivery.notification.body),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
    )
    try:
        email.send(fail_silently=False)
    except OSError as exc:  # smtplib errors are OSErrors
        raise SmsError(f"邮件发送失败：{exc}") from exc
    return "", mask_email(address)


def _finish(delivery: Delivery, **changes) -> Delivery:
    Delivery.objects.filter(pk=delivery.pk).update(updated_at=timezone.now(), **changes)
    delivery.refresh_from_db()
    return delivery


def do_send_delivery(*, delivery_id: int) -> Delivery | None:
    """Make one attempt at a queued SMS or e-mail delivery (run by the huey worker, no actor).

    Returns the delivery; it is still ``queued`` when the attempt failed and another is allowed,
    ``failed`` after the last allowed attempt or an error no retry can fix. Anything not queued is
    left alone, so a duplicate task does nothing.
    """
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .filter(pk=delivery_id, status=DeliveryStatus.QUEUED)
            .exclude(channel=Channel.INAPP)
            .first()
        )
        if delivery is None:
            return Delivery.objects.filter(pk=delivery_id).first()
        delivery.attempts += 1
        delivery.save(update_fields=["attempts", "updated_at"])
    # The network call happens outside the transaction: no row or database lock is held meanwhile.
    try:
        delivery = Delivery.objects.select_related("notification__recipient").get(pk=delivery.pk)
    except VaultError:  # the contact of an account-less notification did not decrypt: keys are wrong
        logger.exception("Delivery %s: contact address does not decrypt", delivery.pk)
        return _finish(delivery, status=DeliveryStatus.FAILED, error="联系方式无法解密，未发送（请检查加密密钥配置）。")
    address, reason = _current_address(delivery)
    if reason:
        return _finish(delivery, status=DeliveryStatus.SKIPPED, error=reason)
    try:
        reference, masked = _send(delivery, address)
    except Exception as exc:  # every failure is recorded, whatever raised it
        retryable = getattr(exc, "retryable", True)
        if not isinstance(exc, SmsError):
            logger.exception("Delivery %s failed unexpectedly", delivery.pk)
        final = not retryable or delivery.attempts >= settings.NOTIFY_MAX_ATTEMPTS
        status = DeliveryStatus.FAILED if final else DeliveryStatus.QUEUED
        logger.warning("Delivery %s attempt %s failed: %s", delivery.pk, delivery.attempts, exc)
        return _finish(delivery, status=status, error=str(exc)[:ERROR_MAX] or type(exc).__name__)
    return _finish(
        delivery,
        status=DeliveryStatus.SENT,
        sent_at=timezone.now(),
        error="",
        provider_ref=(reference or "")[:100],
        address=masked,
    )


@transaction.atomic
def do_mark_read(*, actor, notification: Notification) -> Notification:
    """Mark one of the actor's own notifications read; someone else's is refused."""
    if notification.recipient_id != getattr(actor, "pk", None):
        raise ValidationError("只能处理发给您本人的通知。", code="forbidden")
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


@transaction.atomic
def do_mark_all_read(*, actor) -> int:
    """Mark all of the actor's unread notifications read; return how many changed."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())


KEY_CHUNK = 500


def _already_sent(keys: list[str]) -> set[str]:
    done = set()
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = keys[start : start + KEY_CHUNK]
        done.update(SentReminder.objects.filter(key__in=chunk).values_list("key", flat=True))
    return done


def do_send_due_reminders(*, now=None) -> int:
    """Ask every registered provider what is due and send each reminder once; return how many.

    Run every 15 minutes by huey (no actor). A provider that raises is logged and skipped, the
    others still run. A reminder whose key is already in ``SentReminder`` is not sent again; a
    reminder for a disabled account or with a bad template is not recorded, so it is offered again
    next time.
    """
    now = now or timezone.now()
    sent = 0
    for name, provider in reminder_providers().items():
        try:
            due = {}
            for item in provider(now):
                reminder = as_due_reminder(item)
                due.setdefault(f"{name}:{reminder.dedupe_key}", reminder)
        except Exception:
            logger.exception("Reminder provider %s failed", name)
            continue
        done = _already_sent(list(due))
        for key, reminder in due.items():
            if key in done or not reminder.user.is_active:
                continue
            if len(key) > SentReminder._meta.get_field("key").max_length:
                logger.error("Reminder key too long, not sent: %s", key)
                continue
            try:
                with transaction.atomic():
                    record = SentReminder.objects.create(key=key, created_at=now)
                    record.notification = notify_user(
                        user=reminder.user,
                        template=reminder.template,
                        context=reminder.context,
                        channels=reminder.channels,
                        url=reminder.url,
                    )
                    record.save(update_fields=["notification"])
            except IntegrityError:
                continue  # another scan sent it a moment ago
            except ValidationError as error:
                logger.error("Reminder %s not sent: %s", key, "; ".join(error.messages))
                continue
            sent += 1
    return sent
