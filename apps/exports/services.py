"""Bulk exports: asked for with a reason after re-authentication, built in the background inside
the requester's scope, delivered as an AES-encrypted ZIP whose one-time password is shown once.

The password never passes through the task queue (huey's SQLite file or Redis keep task arguments
in clear): the request stores it vault-encrypted in ``ExportJob.archive_secret`` and queues only
the job's id; the worker empties the column in the same statement that claims the job, then builds
the archive with it. The list's filters are stored encrypted (``ExportJob.filters_encrypted``).
"""

import csv
import io
import os
import secrets
import string
from datetime import timedelta
from pathlib import Path

import pyzipper
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit.choices import AuditAction
from apps.audit.services import log_event
from apps.core.access import active_grant, can
from apps.core.spreadsheets import csv_row, xlsx_row

from .choices import ExportFormat, ExportStatus
from .models import ExportJob
from .registry import get_dataset

FORMAT_PERMISSION = {ExportFormat.XLSX: "export.xlsx", ExportFormat.CSV: "export.csv"}
PASSWORD_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
PASSWORD_LENGTH = 16
REASON_MIN = 5


def export_dir() -> Path:
    path = Path(settings.EXPORT_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def make_password() -> str:
    """A random one-time password (16 characters, no look-alike letters)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN:
        raise ValidationError(f"请说明导出理由（至少 {REASON_MIN} 个字），将记入审计日志。", code="reason")
    if len(reason) > 500:
        raise ValidationError("导出理由不能超过 500 个字。", code="reason")
    return reason


@transaction.atomic
def do_request_export(*, actor, dataset_key: str, fmt: str, reason: str, filters: dict | None = None):
    """Create the job and queue its build; return ``(job, password)``.

    The password waits for the worker encrypted on the job (``archive_secret``); only the job's id
    is queued.
    """
    dataset = get_dataset(dataset_key)
    if fmt not in ExportFormat.values:
        raise ValidationError("不支持的导出格式。", code="format")
    if not can(actor, FORMAT_PERMISSION[fmt]) or not can(actor, dataset.view_permission):
        raise ValidationError("您无权导出该数据。", code="forbidden")
    reason = check_reason(reason)
    password = make_password()
    grant = active_grant(actor)
    job = ExportJob.objects.create(
        requested_by=actor,
        assignment_id=grant.assignment_id,
        unit_id=grant.unit_id,
        unit_path=grant.unit_path,
        dataset=dataset.key,
        format=fmt,
        reason=reason,
        filters={k: str(v) for k, v in (filters or {}).items() if v},
        archive_secret=password,
        expires_at=timezone.now() + timedelta(days=settings.EXPORT_RETENTION_DAYS),
    )
    from .tasks import build_export_task

    # Only the id goes into the queue; the worker reads (and wipes) the encrypted password itself.
    transaction.on_commit(lambda: build_export_task(job.pk))
    _audit(actor, job, "申请导出")
    return job, password


def _write_table(fmt: str, columns, rows, on_row) -> bytes:
    if fmt == ExportFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(csv_row(row))
            on_row()
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel opens Chinese CSV correctly
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("数据")
    sheet.append(list(columns))
    for row in rows:
        sheet.append(xlsx_row(sheet, row))
        on_row()
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def build_export(job_id: int) -> ExportJob:
    """Run the dataset as the requester (same assignment, same scope) and write the archive.

    The job is claimed and its encrypted password wiped in one UPDATE, so a second worker finds
    nothing to do and the password is gone from the row whatever happens next.
    """
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    if job.status != ExportStatus.QUEUED:
        return job
    password = job.archive_secret
    claimed = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, archive_secret=""
    )
    if not claimed:
        job.refresh_from_db()
        return job
    user = job.requested_by
    user.active_assignment_id = job.assignment_id
    dataset = get_dataset(job.dataset)
    try:
        grant = active_grant(user)
        if grant is None or grant.assignment_id != job.assignment_id or not can(user, FORMAT_PERMISSION[job.format]):
            raise ValidationError("申请人的岗位或权限已变化，导出已取消。", code="grant_changed")
        if not password:
            raise ValidationError("解压密码已失效，请重新申请导出。", code="no_password")
        count = 0

        def tick():
            nonlocal count
            count += 1
            if count % 5000 == 0:
                ExportJob.objects.filter(pk=job.pk).update(row_count=count)

        content = _write_table(job.format, dataset.columns, dataset.rows(user, job.filters), tick)
        stamp = timezone.localtime(job.created_at).strftime("%Y%m%d-%H%M%S")
        inner_name = f"{dataset.label}-{stamp}.{job.format}"
        file_name = f"export-{job.pk}-{secrets.token_hex(8)}.zip"
        path = export_dir() / file_name
        with pyzipper.AESZipFile(path, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
            archive.setpassword(password.encode())
            archive.setencryption(pyzipper.WZ_AES, nbits=256)
            archive.writestr(inner_name, content)
        os.chmod(path, 0o600)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.READY,
            progress=100,
            row_count=count,
            file_name=file_name,
            file_size=path.stat().st_size,
            finished_at=timezone.now(),
        )
    except Exception as error:  # noqa: BLE001 - any failure is recorded on the job for the requester
        message = error.messages[0] if isinstance(error, ValidationError) else "生成失败，请稍后重试或联系管理员。"
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED, error=message, finished_at=timezone.now()
        )
        if not isinstance(error, ValidationError):
            raise
    job.refresh_from_db()
    return job


def archive_path(job: ExportJob) -> Path:
    return export_dir() / job.file_name


@transaction.atomic
def do_record_download(*, actor, job: ExportJob) -> Path:
    """Check the job is the actor's, ready and not expired; count and audit the download."""
    if job.requested_by_id != actor.pk:
        raise ValidationError("只能下载自己申请的导出文件。", code="forbidden")
    if job.status != ExportStatus.READY or job.expires_at <= timezone.now():
        raise ValidationError("该导出文件尚未生成或已被清除。", code="not_ready")
    path = archive_path(job)
    if not path.exists():
        raise ValidationError("该导出文件已不存在。", code="missing")
    ExportJob.objects.filter(pk=job.pk).update(download_count=job.download_count + 1)
    _audit(actor, job, "下载导出文件")
    return path


def purge_expired(now=None) -> int:
    """Delete archives past their retention; return how many were purged."""
    now = now or timezone.now()
    purged = 0
    for job in ExportJob.objects.filter(expires_at__lte=now).exclude(status=ExportStatus.PURGED):
        if job.file_name:
            archive_path(job).unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.PURGED, file_name="", file_size=0, archive_secret=""
        )
        purged += 1
    return purged


def _audit(actor, job, purpose_prefix: str) -> None:
    """Record the export in the audit log, in the caller's transaction."""
    log_event(actor=actor, action=AuditAction.EXPORT, obj=job, purpose=f"{purpose_prefix}：{job.reason}")
