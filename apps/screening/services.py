"""Screening rules (S-CLIENT-3): record one person found in screening, or queue a spreadsheet import."""

import datetime as dt
import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit.services import log_change, snapshot
from apps.clients.models import Client
from apps.clients.services import check_client_data, do_register_minor_aware
from apps.core import uploads
from apps.core.access import can, can_in_unit
from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.orgs.models import OrgUnit

from .choices import RUNNING_STATUSES, ImportStatus, RiskLevel, ScreeningSource
from .models import ImportBatch, ScreeningRecord
from .selectors import Person, find_register_matches, scope_path_of

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
FINDING_LIMIT = 2000
OTHER_UNIT_MESSAGE = "该人员已在其他单位登记，请联系上级单位。"


def max_rows() -> int:
    """Data rows one import may hold (setting UPLOAD_MAX_ROWS, shared with the other spreadsheet uploads)."""
    return uploads.limit("UPLOAD_MAX_ROWS")


def stale_minutes() -> int:
    return getattr(settings, "SCREENING_IMPORT_STALE_MINUTES", 30)


def stale_message() -> str:
    return (
        f"导入超过 {stale_minutes()} 分钟仍未完成，已停止并标记为未导入，未写入任何数据"
        "（后台任务可能已中断）。请重新上传；仍然失败时请拆分文件或联系系统管理员。"
    )


def upload_dir() -> Path:
    path = Path(getattr(settings, "SCREENING_UPLOAD_DIR", None) or Path(settings.MEDIA_ROOT) / "screening")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _require_unit(actor, unit: OrgUnit) -> None:
    if actor is None:  # the system itself (demo data, maintenance commands)
        return
    if not (
        unit.is_active
        and can_in_unit(actor, Perm.SCREENING_MANAGE, unit)
        and can_in_unit(actor, Perm.CLIENT_MANAGE, unit)
    ):
        raise ValidationError("您只能在本单位及下级单位登记排查人员。", code="forbidden")


def check_screening(data: dict) -> dict:
    """Validate the screening part: date (not in the future), source, risk level, finding."""
    screened_on = data.get("screened_on")
    if not screened_on:
        raise ValidationError({"screened_on": "请填写排查日期。"})
    if screened_on > timezone.localdate():
        raise ValidationError({"screened_on": "排查日期不能晚于今天。"})
    source = data.get("source") or ScreeningSource.ROUTINE
    if source not in ScreeningSource.values:
        raise ValidationError({"source": "请选择有效的排查来源。"})
    risk = data.get("risk_level") or RiskLevel.LOW
    if risk not in RiskLevel.values:
        raise ValidationError({"risk_level": "请选择有效的风险等级。"})
    finding = (data.get("finding") or "").strip()
    if len(finding) > FINDING_LIMIT:
        raise ValidationError({"finding": f"发现情况不能超过 {FINDING_LIMIT} 个字。"})
    return {"screened_on": screened_on, "source": source, "risk_level": risk, "finding": finding}


def find_duplicates(actor, unit: OrgUnit, person: dict) -> list:
    """Registered clients of the actor's tree that look like ``person`` (cleaned client data)."""
    candidate = Person(
        key=0,
        name=person.get("name", ""),
        birth_date=person.get("birth_date"),
        id_number=person.get("id_number", ""),
        phone=person.get("phone", ""),
    )
    return find_register_matches(unit.tenant_id, scope_path_of(actor), [candidate]).get(0, [])


@transaction.atomic
def do_record_screening(
    *, actor, unit: OrgUnit, screening: dict, person: dict | None = None, categories=(), client: Client | None = None,
    confirm_new: bool = False, guardian: dict | None = None,
) -> ScreeningRecord:  # fmt: skip
    """Add a screening record for ``client`` (an existing client in scope) or for ``person``,
    registering them first. Registering refuses while the register holds a likely duplicate: one
    outside the actor's scope always (told only that it exists), one inside unless ``confirm_new``.

    S-CLIENT-4: a new person under 14 is registered only with a guardian (name, relationship,
    phone) who consents — the client register's own rule (``do_register_minor_aware``)."""
    _require_unit(actor, unit)
    clean = check_screening(screening)
    if client is not None:
        if actor is not None and not can(actor, Perm.CLIENT_MANAGE, client):
            raise ValidationError("您无权为该来访者登记排查记录。", code="forbidden")
    else:
        data = check_client_data(person or {})
        matches = find_duplicates(actor, unit, data)
        if any(not m.in_scope for m in matches):
            raise ValidationError(OTHER_UNIT_MESSAGE, code="other_unit")
        if matches and not confirm_new:
            raise ValidationError(
                "登记册中已有疑似同一人员，请选择关联已有来访者，或确认是不同的人。", code="duplicate"
            )
        client = do_register_minor_aware(actor=actor, unit=unit, data=data, categories=categories, guardian=guardian)
    record = ScreeningRecord.objects.model(unit=unit, unit_path=unit.path, client=client, screened_by=actor, **clean)
    record.save()
    log_change(actor, record, {}, snapshot(record))
    return record


def check_upload(upload) -> None:
    """Refuse what cannot be a screening spreadsheet before storing it."""
    name = (getattr(upload, "name", "") or "").strip()
    if not name.lower().endswith(".xlsx"):
        raise ValidationError("只能导入 Excel 2007 及以上版本的 .xlsx 文件，请用模板填写后上传。", code="type")
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError("文件超过 20 MB，请拆分为多个文件后分别导入。", code="size")
    if upload.size == 0:
        raise ValidationError("文件是空的，请检查后重新上传。", code="empty")
    head = upload.read(4)
    upload.seek(0)
    if head != b"PK\x03\x04":
        raise ValidationError(
            "文件不是有效的 .xlsx 文件（可能是改了扩展名的其他格式），请另存为 .xlsx 后上传。", code="type"
        )


@transaction.atomic
def do_upload_import(*, actor, unit: OrgUnit, upload) -> ImportBatch:
    """Store the upload under the var directory and queue its import in the background worker."""
    _require_unit(actor, unit)
    check_upload(upload)
    stored = f"{uuid.uuid4().hex}.xlsx"
    path = upload_dir() / stored
    try:
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    except OSError:
        path.unlink(missing_ok=True)
        raise
    try:
        batch = ImportBatch.objects.model(
            unit=unit,
            unit_path=unit.path,
            scope_path=scope_path_of(actor),
            uploaded_by=actor,
            file_name=Path(upload.name).name[:200],
            stored_name=stored,
        )
        batch.save()
        log_change(actor, batch, {}, snapshot(batch, fields=["unit", "file_name", "status"]))
    except Exception:
        path.unlink(missing_ok=True)
        raise

    from .tasks import import_screening_task

    transaction.on_commit(lambda: import_screening_task(batch.pk))
    return batch


def batch_path(batch: ImportBatch) -> Path:
    return upload_dir() / batch.stored_name


def is_finished(batch: ImportBatch) -> bool:
    return batch.status in (ImportStatus.DONE, ImportStatus.FAILED)


def _fail_stale(batch_ids) -> int:
    """Mark those of ``batch_ids`` still running as failed and delete their files."""
    with unscoped("maintenance: imports of every unit that stopped without finishing"):
        stale = list(ImportBatch.objects.filter(pk__in=batch_ids, status__in=RUNNING_STATUSES))
        changed = 0
        for batch in stale:
            with transaction.atomic():
                changed_now = ImportBatch.objects.filter(pk=batch.pk, status__in=RUNNING_STATUSES).update(
                    status=ImportStatus.FAILED, message=stale_message()[:300], finished_at=timezone.now()
                )
            if changed_now:
                changed += 1
                logger.warning("screening import %s marked failed: still %s after the limit", batch.pk, batch.status)
            batch_path(batch).unlink(missing_ok=True)
        return changed


def stale_before() -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=stale_minutes())


def fail_stale_batches() -> int:
    """X-5 (issue 12): every import still queued, validating or importing SCREENING_IMPORT_STALE_MINUTES
    after its upload (the worker died, or the task was lost) is marked failed with a message, and its file
    is deleted. Run by a periodic task and, for one batch, whenever it is read (``expire_if_stale``)."""
    with unscoped("maintenance: imports of every unit that stopped without finishing"):
        ids = list(
            ImportBatch.objects.filter(status__in=RUNNING_STATUSES, created_at__lt=stale_before()).values_list(
                "pk", flat=True
            )
        )
    return _fail_stale(ids)


def expire_if_stale(batch: ImportBatch) -> ImportBatch:
    """``batch`` as stored after the stale check: a running batch past the limit is failed first."""
    if batch.status in RUNNING_STATUSES and batch.created_at < stale_before():
        _fail_stale([batch.pk])
        batch.refresh_from_db()
    return batch
