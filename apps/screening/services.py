"""Screening rules (S-CLIENT-3): record one person found in screening, or queue a spreadsheet import."""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit.services import log_change, snapshot
from apps.clients.models import Client
from apps.clients.services import check_client_data, do_register_minor_aware
from apps.core.access import can, can_in_unit
from apps.core.perms import Perm
from apps.orgs.models import OrgUnit

from .choices import ImportStatus, RiskLevel, ScreeningSource
from .models import ImportBatch, ScreeningRecord
from .selectors import Person, find_register_matches, scope_path_of

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
FINDING_LIMIT = 2000
OTHER_UNIT_MESSAGE = "该人员已在其他单位登记，请联系上级单位。"


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
