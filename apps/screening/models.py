from django.conf import settings
from django.db import models

from apps.core.scoping import ScopedManager
from apps.vault.fields import EncryptedTextField

from .choices import RUNNING_STATUSES, ImportStatus, RiskLevel, ScreeningSource


class ImportBatch(models.Model):
    """One uploaded screening spreadsheet and how far its background import got (S-CLIENT-3, X-5).

    The error report is a list of ``{"row", "column", "message"}``; messages never repeat the
    cell values, so the report carries no personal data.
    """

    scope_path_field = "unit_path"

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="导入单位")
    unit_path = models.CharField(max_length=255, editable=False)
    scope_path = models.CharField("上传人权限范围", max_length=255, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="上传人"
    )
    file_name = models.CharField("文件名", max_length=200)
    stored_name = models.CharField(max_length=100, editable=False)
    status = models.CharField("状态", max_length=20, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    total_rows = models.PositiveIntegerField("总行数", default=0)
    processed_rows = models.PositiveIntegerField("已处理行数", default=0)
    created_clients = models.PositiveIntegerField("新登记人数", default=0)
    linked_clients = models.PositiveIntegerField("关联已有人数", default=0)
    created_records = models.PositiveIntegerField("新增排查记录", default=0)
    skipped_rows = models.PositiveIntegerField("已导入跳过", default=0)
    error_count = models.PositiveIntegerField("错误数", default=0)
    error_report = models.JSONField("错误报告", default=list, blank=True)
    message = models.CharField("说明", max_length=300, blank=True)
    created_at = models.DateTimeField("上传时间", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "排查导入批次"
        verbose_name_plural = "排查导入批次"
        indexes = [models.Index(fields=["unit_path", "id"], name="screening_batch_scope")]

    def __str__(self):
        return f"排查导入 #{self.pk}"

    @property
    def is_running(self) -> bool:
        return self.status in RUNNING_STATUSES

    @property
    def percent(self) -> int:
        """Validation fills the first half of the bar, writing the second; a finished batch is full."""
        if self.status in (ImportStatus.DONE, ImportStatus.FAILED):
            return 100
        if not self.total_rows:
            return 0
        share = min(self.processed_rows, self.total_rows) * 50 // self.total_rows
        return 50 + share if self.status == ImportStatus.IMPORTING else share


class ScreeningRecord(models.Model):
    """A person found in routine screening (日常排查/摸排) on a date, with the finding and risk."""

    scope_path_field = "unit_path"

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="排查单位")
    unit_path = models.CharField(max_length=255, editable=False)
    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="screening_records", verbose_name="来访者"
    )
    screened_on = models.DateField("排查日期")
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="排查人"
    )
    source = models.CharField("来源", max_length=30, choices=ScreeningSource.choices, default=ScreeningSource.ROUTINE)
    finding = EncryptedTextField("发现情况", blank=True)
    risk_level = models.CharField("风险等级", max_length=10, choices=RiskLevel.choices, default=RiskLevel.LOW)
    import_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="records", verbose_name="导入批次"
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "排查记录"
        verbose_name_plural = "排查记录"
        indexes = [
            models.Index(fields=["unit_path", "id"], name="screening_scope_id"),
            models.Index(fields=["client", "screened_on"], name="screening_client_date"),
        ]

    def __str__(self):
        return f"排查记录 #{self.pk}"
