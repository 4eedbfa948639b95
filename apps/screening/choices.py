from django.db import models


class ScreeningSource(models.TextChoices):
    ROUTINE = "routine", "日常排查"
    MOPAI = "mopai", "摸排"
    REFERRAL_FROM_OTHER = "referral_from_other", "其他单位转来"


class RiskLevel(models.TextChoices):
    LOW = "low", "低"
    MEDIUM = "medium", "中"
    HIGH = "high", "高"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "排队中"
    VALIDATING = "validating", "正在校验"
    FAILED = "failed", "未导入"
    IMPORTING = "importing", "正在导入"
    DONE = "done", "已完成"


RUNNING_STATUSES = (ImportStatus.QUEUED, ImportStatus.VALIDATING, ImportStatus.IMPORTING)
