from django.db import models


class Category(models.TextChoices):
    """What a notification is about; the inbox shows it as a coloured label."""

    REMINDER = "reminder", "提醒"
    TASK = "task", "待办"
    ALERT = "alert", "预警"
    APPROVAL = "approval", "审批"
    SYSTEM = "system", "系统"


class Channel(models.TextChoices):
    """Where a notification is delivered. The in-app inbox row is always written."""

    INAPP = "inapp", "站内信"
    SMS = "sms", "短信"
    EMAIL = "email", "电子邮件"


class DeliveryStatus(models.TextChoices):
    """The state of one delivery: queued until sent, failed after the last attempt, or skipped."""

    QUEUED = "queued", "待发送"
    SENT = "sent", "已发送"
    FAILED = "failed", "发送失败"
    SKIPPED = "skipped", "未发送"
