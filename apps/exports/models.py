import json

from django.conf import settings
from django.db import models

from apps.vault.fields import EncryptedCharField, EncryptedTextField

from .choices import ExportFormat, ExportStatus


class ExportJob(models.Model):
    """One bulk export: who asked, why, for which unit's scope, and the encrypted archive made.

    The archive's password is shown once to the requester. It reaches the background worker
    through ``archive_secret`` (vault-encrypted), which the worker empties as it takes the job, so
    the password never travels through the task queue and is not kept. The list's filters (search
    text such as an ID number or phone) are stored encrypted in ``filters_encrypted``; read and set
    them through ``filters``. Files are purged after ``EXPORT_RETENTION_DAYS``.
    """

    scope_path_field = "unit_path"

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="export_jobs", verbose_name="申请人"
    )
    assignment = models.ForeignKey(
        "accounts.Assignment", null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="申请时岗位"
    )
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="数据范围")
    unit_path = models.CharField(max_length=255, editable=False)
    dataset = models.CharField("数据集", max_length=40)
    format = models.CharField("格式", max_length=8, choices=ExportFormat.choices)
    reason = models.TextField("导出理由")
    filters_encrypted = EncryptedTextField("筛选条件", blank=True, default="", editable=False)
    archive_secret = EncryptedCharField("解压密码（待生成）", max_length=64, blank=True, default="", editable=False)
    status = models.CharField("状态", max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField("进度", default=0)
    row_count = models.PositiveIntegerField("行数", default=0)
    file_name = models.CharField(max_length=100, blank=True, editable=False)
    file_size = models.PositiveBigIntegerField(default=0, editable=False)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    expires_at = models.DateTimeField("清除时间")
    download_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "导出任务"
        verbose_name_plural = "导出任务"
        indexes = [
            models.Index(fields=["requested_by", "-id"], name="export_user_recent"),
            models.Index(fields=["status", "expires_at"], name="export_status_expiry"),
        ]

    def __str__(self):
        return f"导出 #{self.pk} {self.dataset}.{self.format}"

    @property
    def filters(self) -> dict[str, str]:
        """The list's filters the export applies ({} for none), decrypted from ``filters_encrypted``."""
        return json.loads(self.filters_encrypted) if self.filters_encrypted else {}

    @filters.setter
    def filters(self, value: dict | None) -> None:
        self.filters_encrypted = json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""

    @property
    def dataset_label(self) -> str:
        """The list's Chinese name, for the job list."""
        from .registry import label_of

        return label_of(self.dataset)
