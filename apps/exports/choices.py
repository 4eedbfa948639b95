from django.db import models


class ExportFormat(models.TextChoices):
    XLSX = "xlsx", "Excel 工作簿"
    CSV = "csv", "CSV 文本"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "排队中"
    RUNNING = "running", "生成中"
    READY = "ready", "可下载"
    FAILED = "failed", "失败"
    PURGED = "purged", "已清除"
