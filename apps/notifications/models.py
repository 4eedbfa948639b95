from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from apps.vault.fields import EncryptedCharField

from .choices import Category, Channel, DeliveryStatus


def validate_internal_path(value: str) -> None:
    """Accept only a path on this site ("/cases/12/"); refuse other sites and "//host" tricks."""
    if not value:
        return
    if not value.startswith("/") or value.startswith("//") or "\\" in value or any(c.isspace() for c in value):
        raise ValidationError("链接只能是本站内的路径，须以“/”开头，例如 /cases/12/。", code="external_url")


class Notification(models.Model):
    """One message in a user's inbox; SMS and e-mail copies are its ``deliveries``.

    Only the recipient ever sees or changes it. ``url`` is a path on this site, never a full
    address, so a notification cannot send anyone elsewhere. ``read_at`` empty means unread.

    A notification to someone without an account (an applicant known only by a mobile number or
    an e-mail address) has no ``recipient``; its ``contact_phone`` / ``contact_email`` hold the
    address, encrypted (apps.vault), and only its deliveries show it, masked. Such a row is in
    nobody's inbox. ``topic`` is the sender's key for the matter ("membership.application:12"),
    so the sender can list what it told that person.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name="接收人",
        db_index=False,  # covered by the (recipient, id) indexes below
    )
    contact_phone = EncryptedCharField("无账号接收人手机号码（加密）", max_length=40, null=True, blank=True)
    contact_email = EncryptedCharField("无账号接收人电子邮箱（加密）", max_length=254, null=True, blank=True)
    topic = models.CharField("关联事项", max_length=100, blank=True)
    category = models.CharField("类别", max_length=20, choices=Category.choices, default=Category.SYSTEM)
    template = models.CharField("模板", max_length=60)
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    url = models.CharField("链接", max_length=500, blank=True, validators=[validate_internal_path])
    created_at = models.DateTimeField("时间", default=timezone.now)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    class Meta:
        verbose_name = "通知"
        verbose_name_plural = "通知"
        indexes = [
            # The bell and the "unread" tab: a user's unread rows only.
            models.Index(
                fields=["recipient", "id"], condition=models.Q(read_at__isnull=True), name="notification_unread"
            ),
            # The inbox and the API, newest first; ids grow with created_at.
            models.Index(fields=["recipient", "-id"], name="notification_latest"),
            # What a module told people without an account about one matter (few rows).
            models.Index(
                fields=["topic", "id"], condition=models.Q(recipient__isnull=True), name="notification_contact"
            ),
        ]
        constraints = [
            # Every notification has someone to go to: an account, or a contact address of its own.
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False)
                | models.Q(contact_phone__isnull=False)
                | models.Q(contact_email__isnull=False),
                name="notification_has_addressee",
                violation_error_message="没有账号的通知须有手机号码或电子邮箱。",
            ),
            # An account's notification never carries a contact copy: addresses are read from the account.
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=True)
                | (models.Q(contact_phone__isnull=True) & models.Q(contact_email__isnull=True)),
                name="notification_account_or_contact",
                violation_error_message="发给账号的通知不另存联系方式。",
            ),
            models.CheckConstraint(
                condition=models.Q(url="") | (models.Q(url__startswith="/") & ~models.Q(url__startswith="//")),
                name="notification_url_internal",
                violation_error_message="链接只能是本站内的路径。",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Delivery(models.Model):
    """One attempt to bring a notification to its recipient through one channel.

    Every send is recorded, including the ones that were skipped (no mobile number, no e-mail)
    with the reason in ``error``. ``address`` is masked (138****5678); the real address is read
    from the account (or, for someone without an account, decrypted from the notification's
    contact) when the message goes out. ``payload`` keeps what was rendered for the
    channel (SMS text and provider template parameters) so a retry sends the same words.
    """

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries", verbose_name="通知"
    )
    channel = models.CharField("渠道", max_length=10, choices=Channel.choices)
    address = models.CharField("地址（已脱敏）", max_length=100, blank=True)
    status = models.CharField("状态", max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    error = models.CharField("原因", max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    payload = models.JSONField("发送内容", default=dict, blank=True)
    provider_ref = models.CharField("服务商回执", max_length=100, blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)

    class Meta:
        verbose_name = "投递记录"
        verbose_name_plural = "投递记录"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_one_per_channel"),
        ]
        indexes = [
            # Operators look for what is stuck or failed: a small partial index.
            models.Index(
                fields=["status", "id"],
                condition=models.Q(status__in=[DeliveryStatus.QUEUED, DeliveryStatus.FAILED]),
                name="delivery_open",
            ),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} · {self.get_status_display()}"


class SentReminder(models.Model):
    """A periodic reminder that has gone out, so the 15-minute scan never sends it twice.

    ``key`` is "<provider name>:<dedupe key>"; it is unique, which also stops two scans running
    at once from both sending.
    """

    key = models.CharField("去重键", max_length=255, unique=True)
    notification = models.ForeignKey(
        Notification, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="通知"
    )
    created_at = models.DateTimeField("发送时间", default=timezone.now)

    class Meta:
        verbose_name = "已发送的定时提醒"
        verbose_name_plural = "已发送的定时提醒"

    def __str__(self):
        return self.key
