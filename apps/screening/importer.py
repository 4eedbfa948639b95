"""Screening spreadsheet import (S-CLIENT-3, X-5): read with python-calamine, check every row,
then write everything in one transaction or nothing.

Phases, each visible on the batch's progress bar: *validating* (parse, check each row, find
duplicates inside the file and in the register) and *importing* (bulk inserts in chunks of
1,000). A file with any bad row writes nothing and gets a row-by-row report. Rows whose person
is already in the register (in the uploader's scope) link to that client; a row whose client
already has a screening record on the same date is skipped as "已导入", so re-importing a file
creates no duplicates.
"""

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone
from python_calamine import CalamineError, CalamineWorkbook

from apps.audit.choices import AuditAction
from apps.audit.services import log_event
from apps.clients.choices import Gender
from apps.clients.models import Client, ServiceTargetCategory
from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.identity.names import pinyin_keys
from apps.identity.phones import normalize_phone
from apps.identity.resident_id import validate_resident_id
from apps.vault.normalizers import normalize_text

from .choices import ImportStatus, RiskLevel, ScreeningSource
from .models import ImportBatch, ScreeningRecord
from .selectors import Person, find_register_matches, screened_pairs
from .services import FINDING_LIMIT, MAX_ROWS, batch_path

logger = logging.getLogger(__name__)

WRITE_CHUNK = 1000
PROGRESS_EVERY = 1000
REPORT_LIMIT = 5000  # errors kept in the report; the count says how many there were

# (key, header, required)
COLUMNS = [
    ("name", "姓名", True),
    ("id_number", "身份证号码", False),
    ("gender", "性别", False),
    ("birth_date", "出生日期", False),
    ("phone", "联系电话", False),
    ("address", "住址", False),
    ("categories", "服务对象类别", False),
    ("screened_on", "排查日期", True),
    ("finding", "发现情况", False),
    ("risk_level", "风险等级", False),
]
HEADERS = {key: header for key, header, _ in COLUMNS}
TEMPLATE_HEADERS = [f"{header}*" if required else header for _, header, required in COLUMNS]
GENDERS = {"男": Gender.MALE, "女": Gender.FEMALE, "未说明": Gender.UNKNOWN, "": Gender.UNKNOWN}
RISKS = {
    "": RiskLevel.LOW,
    "低": RiskLevel.LOW, "低风险": RiskLevel.LOW, "low": RiskLevel.LOW,
    "中": RiskLevel.MEDIUM, "中风险": RiskLevel.MEDIUM, "medium": RiskLevel.MEDIUM,
    "高": RiskLevel.HIGH, "高风险": RiskLevel.HIGH, "high": RiskLevel.HIGH,
}  # fmt: skip
CATEGORY_SEPARATORS = re.compile(r"[;；,，/\n]+")
DATE_TEXT = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


class ImportFailed(Exception):
    """The file as a whole cannot be imported (unreadable, too many rows, missing columns)."""


@dataclass
class Row:
    number: int
    name: str = ""
    id_number: str = ""
    gender: str = Gender.UNKNOWN
    birth_date: dt.date | None = None
    phone: str = ""
    address: str = ""
    categories: list = field(default_factory=list)
    screened_on: dt.date | None = None
    finding: str = ""
    risk_level: str = RiskLevel.LOW
    client_id: int | None = None
    skip: bool = False


def error(row: int, column: str, message: str) -> dict:
    return {"row": row, "column": column, "message": message}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _date(value) -> dt.date | None:
    """A date from an Excel date cell or a "YYYY-MM-DD" text; ValueError otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    if not DATE_TEXT.match(text):
        raise ValueError
    year, month, day = (int(part) for part in text.split("-"))
    return dt.date(year, month, day)


def _first_message(exc: ValidationError) -> str:
    return exc.messages[0] if exc.messages else "格式不正确。"


def read_sheet(path) -> list[list]:
    """The first sheet's cells from A1, or ImportFailed with a Chinese reason."""
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        if sheet.height > MAX_ROWS + 1:
            raise ImportFailed(
                f"文件有 {sheet.height - 1} 行数据，超过单次导入上限 {MAX_ROWS:,} 行，请拆分后分别导入。"
            )
        return sheet.to_python(skip_empty_area=False)
    except (CalamineError, ValueError, OSError) as exc:
        logger.info("unreadable screening upload: %s", type(exc).__name__)
        raise ImportFailed("无法读取该文件，请确认是用模板填写的 .xlsx 文件。") from None


def map_headers(header_row: list) -> dict[str, int]:
    """{column key: index}; ImportFailed naming missing required columns or unknown duplicates."""
    by_header = {header: key for key, header, _ in COLUMNS}
    found: dict[str, int] = {}
    for index, cell in enumerate(header_row):
        text = _text(cell).replace("*", "").replace("＊", "").replace(" ", "").replace("\u3000", "")
        key = by_header.get(text)
        if key is None:
            continue
        if key in found:
            raise ImportFailed(f"表头中“{text}”出现了两次，请只保留一列。")
        found[key] = index
    missing = [header for key, header, required in COLUMNS if required and key not in found]
    if missing:
        raise ImportFailed(f"缺少必填列：{'、'.join(missing)}。请使用下载的模板，不要修改第一行表头。")
    return found


class Validator:
    def __init__(self, columns: dict[str, int], today: dt.date):
        self.columns = columns
        self.today = today
        categories = list(ServiceTargetCategory.objects.filter(is_active=True))
        self.categories = {c.name: c.pk for c in categories} | {c.code: c.pk for c in categories}

    def cell(self, cells: list, key: str):
        index = self.columns.get(key)
        return cells[index] if index is not None and index < len(cells) else None

    def row(self, number: int, cells: list) -> tuple[Row, list[dict]]:
        row, errors = Row(number), []

        def bad(key, message):
            errors.append(error(number, HEADERS[key], message))

        name = _text(self.cell(cells, "name"))
        if not name:
            bad("name", "请填写姓名。")
        elif len(name) > 50:
            bad("name", "姓名不能超过 50 个字符。")
        row.name = name
        gender_text = _text(self.cell(cells, "gender"))
        if gender_text not in GENDERS:
            bad("gender", "性别只能填写“男”“女”或“未说明”。")
        else:
            row.gender = GENDERS[gender_text]
        try:
            row.birth_date = _date(self.cell(cells, "birth_date"))
            if row.birth_date and row.birth_date > self.today:
                bad("birth_date", "出生日期不能晚于今天。")
        except ValueError:
            bad("birth_date", "日期格式应为 YYYY-MM-DD，如 1980-05-01。")
        id_text = _text(self.cell(cells, "id_number"))
        if id_text:
            try:
                resident = validate_resident_id(id_text, today=self.today)
            except ValidationError as exc:
                bad("id_number", _first_message(exc))
            else:
                row.id_number = resident.number
                if row.birth_date and row.birth_date != resident.birth_date:
                    bad("birth_date", "出生日期与身份证号码不一致。")
                row.birth_date = resident.birth_date
                row.gender = Gender.MALE if resident.gender == "male" else Gender.FEMALE
        phone_text = _text(self.cell(cells, "phone"))
        if phone_text:
            try:
                row.phone = normalize_phone(phone_text)
            except ValidationError as exc:
                bad("phone", _first_message(exc))
        row.address = _text(self.cell(cells, "address"))
        if len(row.address) > 200:
            bad("address", "住址不能超过 200 个字符。")
        for part in CATEGORY_SEPARATORS.split(_text(self.cell(cells, "categories"))):
            part = part.strip()
            if not part:
                continue
            pk = self.categories.get(part)
            if pk is None:
                bad("categories", f"没有名为“{part[:20]}”的服务对象类别，多个类别请用分号分隔。")
            elif pk not in row.categories:
                row.categories.append(pk)
        try:
            row.screened_on = _date(self.cell(cells, "screened_on"))
            if row.screened_on is None:
                bad("screened_on", "请填写排查日期。")
            elif row.screened_on > self.today:
                bad("screened_on", "排查日期不能晚于今天。")
        except ValueError:
            bad("screened_on", "日期格式应为 YYYY-MM-DD，如 2026-03-15。")
        row.finding = _text(self.cell(cells, "finding"))
        if len(row.finding) > FINDING_LIMIT:
            bad("finding", f"发现情况不能超过 {FINDING_LIMIT} 个字。")
        risk_text = _text(self.cell(cells, "risk_level")).lower()
        if risk_text not in RISKS:
            bad("risk_level", "风险等级只能填写“低”“中”或“高”。")
        else:
            row.risk_level = RISKS[risk_text]
        return row, errors


def duplicates_in_file(rows: list[Row]) -> list[dict]:
    """The later of two rows naming the same person (ID number, phone, or name + birth date)."""
    errors = []
    seen: dict[tuple, int] = {}
    for row in rows:
        keys = []
        if row.id_number:
            keys.append((("id", row.id_number), "身份证号码", "身份证号码相同"))
        if row.phone:
            keys.append((("phone", row.phone), "联系电话", "联系电话相同"))
        if row.name and row.birth_date:
            keys.append((("nb", normalize_text(row.name), row.birth_date), "姓名", "姓名和出生日期相同"))
        for key, column, what in keys:
            first = seen.get(key)
            if first is not None:
                errors.append(error(row.number, column, f"与第 {first} 行{what}，同一人员只能填写一行。"))
                break
        for key, _, _ in keys:
            seen.setdefault(key, row.number)
    return errors


def match_register(batch: ImportBatch, rows: list[Row]) -> list[dict]:
    """Link rows to registered clients in scope; refuse rows matching one outside it."""
    people = [Person(r.number, r.name, r.birth_date, r.id_number, r.phone) for r in rows]
    matches = find_register_matches(batch.unit.tenant_id, batch.scope_path, people)
    errors = []
    for row in rows:
        found = matches.get(row.number)
        if not found:
            continue
        if any(not m.in_scope for m in found):
            errors.append(error(row.number, "姓名", "该人员已在其他单位登记，请联系上级单位。"))
            continue
        by_id = [m for m in found if "id_number" in m.matched_on]
        chosen = by_id if by_id else found
        if len(chosen) > 1:
            errors.append(error(row.number, "姓名", "与登记册中的多名来访者相符，请补充身份证号码后再导入。"))
            continue
        row.client_id = chosen[0].client_id
    pairs = {(r.client_id, r.screened_on) for r in rows if r.client_id}
    done = screened_pairs(pairs)
    for row in rows:
        if row.client_id and (row.client_id, row.screened_on) in done:
            row.skip = True
    return errors


class Progress:
    """Write progress so other users' pages see it while the import's own transaction is open.

    On PostgreSQL a second connection (autocommit) carries the updates; on SQLite the single
    write lock would make that wait for our own transaction, so only the phase edges show.
    """

    def __init__(self, batch: ImportBatch):
        self.batch = batch
        self.side = None
        if connections["default"].vendor == "postgresql":
            self.side = connections.create_connection("default")

    def set(self, processed: int, status: str | None = None):
        self.batch.processed_rows = processed
        if status:
            self.batch.status = status
        if self.side is not None:
            with self.side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ImportBatch._meta.db_table} SET processed_rows = %s, status = %s WHERE id = %s",  # noqa: S608 - the model's own table name; values are parameters
                    [processed, self.batch.status, self.batch.pk],
                )
        elif not connections["default"].in_atomic_block:
            ImportBatch.objects.filter(pk=self.batch.pk).update(processed_rows=processed, status=self.batch.status)

    def close(self):
        if self.side is not None:
            self.side.close()


def uploader_may_import(batch: ImportBatch) -> bool:
    """The uploader still holds, at or above the batch's unit, a role that may import there."""
    from apps.accounts.models import Assignment

    user = batch.uploaded_by
    if not user.is_active or not batch.unit.is_active:
        return False
    for assignment in Assignment.objects.filter(user=user, unit__is_active=True).select_related("unit", "role"):
        perms = set(assignment.role.permissions)
        if (
            Perm.SCREENING_MANAGE in perms
            and Perm.CLIENT_MANAGE in perms
            and batch.unit_path.startswith(assignment.unit.path)
            and batch.scope_path.startswith(assignment.unit.path)
        ):
            return True
    return False


def validate_file(batch: ImportBatch, progress: Progress) -> tuple[list[Row], list[dict]]:
    cells = read_sheet(batch_path(batch))
    if not cells:
        raise ImportFailed("文件是空的：第一行应为表头，从第二行起每行一人。")
    columns = map_headers(cells[0])
    body = [(number, row) for number, row in enumerate(cells[1:], start=2) if any(_text(c) for c in row)]
    if not body:
        raise ImportFailed("文件中没有数据行：请从第二行起每行填写一人。")
    if len(body) > MAX_ROWS:
        raise ImportFailed(f"文件有 {len(body)} 行数据，超过单次导入上限 {MAX_ROWS:,} 行，请拆分后分别导入。")
    batch.total_rows = len(body)
    ImportBatch.objects.filter(pk=batch.pk).update(total_rows=batch.total_rows)
    del cells
    validator = Validator(columns, timezone.localdate())
    rows, errors = [], []
    for done, (number, raw) in enumerate(body, start=1):
        row, row_errors = validator.row(number, raw)
        rows.append(row)
        errors.extend(row_errors)
        if done % PROGRESS_EVERY == 0:
            progress.set(done)
    bad_rows = {e["row"] for e in errors}
    errors.extend(duplicates_in_file([r for r in rows if r.number not in bad_rows]))
    bad_rows = {e["row"] for e in errors}
    errors.extend(match_register(batch, [r for r in rows if r.number not in bad_rows]))
    errors.sort(key=lambda e: (e["row"], list(HEADERS.values()).index(e["column"])))
    progress.set(len(body))
    return rows, errors


def write_rows(batch: ImportBatch, rows: list[Row], progress: Progress) -> None:
    """Insert every new client and screening record in one transaction, 1,000 rows per statement."""
    unit, actor = batch.unit, batch.uploaded_by
    through = Client.categories.through
    new_rows = [r for r in rows if not r.skip and r.client_id is None]
    linked_rows = [r for r in rows if not r.skip and r.client_id is not None]
    done = sum(1 for r in rows if r.skip)
    progress.set(done, ImportStatus.IMPORTING)
    initials: dict[str, str] = {}

    def initials_of(name: str) -> str:
        if name not in initials:
            initials[name] = pinyin_keys(name)[1][:30]
        return initials[name]

    with transaction.atomic():
        for start in range(0, len(new_rows), WRITE_CHUNK):
            chunk = new_rows[start : start + WRITE_CHUNK]
            clients = []
            for r in chunk:
                client = Client(
                    unit=unit, unit_path=unit.path, tenant_id=unit.tenant_id, created_by=actor, name=r.name,
                    name_initials=initials_of(r.name), gender=r.gender, birth_date=r.birth_date,
                    id_number=r.id_number, phone=r.phone, address=r.address,
                )  # fmt: skip
                clients.append(client)  # bulk_create runs BlindIndexField.pre_save: indexes are filled
            Client.objects.bulk_create(clients)
            links = []
            for r, client in zip(chunk, clients, strict=True):
                r.client_id = client.pk
                links.extend(through(client_id=client.pk, servicetargetcategory_id=pk) for pk in r.categories)
            through.objects.bulk_create(links)
            ScreeningRecord.objects.bulk_create([_record(batch, r) for r in chunk])
            done += len(chunk)
            progress.set(done)
        for start in range(0, len(linked_rows), WRITE_CHUNK):
            chunk = linked_rows[start : start + WRITE_CHUNK]
            ScreeningRecord.objects.bulk_create([_record(batch, r) for r in chunk])
            done += len(chunk)
            progress.set(done)
        batch.status = ImportStatus.DONE
        batch.processed_rows = len(rows)
        batch.created_clients = len(new_rows)
        batch.linked_clients = len(linked_rows)
        batch.created_records = len(new_rows) + len(linked_rows)
        batch.skipped_rows = len(rows) - batch.created_records
        batch.error_report = [error(r.number, "", "已导入") for r in rows if r.skip][:REPORT_LIMIT]
        batch.finished_at = timezone.now()
        batch.save()
        log_event(
            actor=actor,
            action=AuditAction.CREATE,
            obj=batch,
            unit=unit,
            purpose=(
                f"导入日常排查表（{batch.total_rows} 行）：新登记来访者 {batch.created_clients} 人，"
                f"关联已登记来访者 {batch.linked_clients} 人，新增排查记录 {batch.created_records} 条，"
                f"已导入跳过 {batch.skipped_rows} 行"
            ),
        )


def _record(batch: ImportBatch, row: Row) -> ScreeningRecord:
    return ScreeningRecord(
        unit=batch.unit, unit_path=batch.unit_path, client_id=row.client_id, screened_on=row.screened_on,
        screened_by=batch.uploaded_by, source=ScreeningSource.ROUTINE, finding=row.finding,
        risk_level=row.risk_level, import_batch=batch,
    )  # fmt: skip


def _fail(batch: ImportBatch, message: str, errors: list[dict] | None = None) -> None:
    errors = errors or []
    batch.status = ImportStatus.FAILED
    batch.message = message[:300]
    batch.error_count = len(errors)
    batch.error_report = errors[:REPORT_LIMIT]
    batch.finished_at = timezone.now()
    batch.save(update_fields=["status", "message", "error_count", "error_report", "finished_at"])


def process_batch(batch_id: int) -> ImportBatch:
    """Run one queued import to the end; the stored file is deleted whatever happens."""
    with unscoped("background import of a batch whose uploader was authorised at upload"):
        batch = ImportBatch.objects.select_related("unit", "uploaded_by").get(pk=batch_id)
        if batch.status != ImportStatus.QUEUED:
            return batch
        path = batch_path(batch)
        progress = Progress(batch)
        try:
            if not uploader_may_import(batch):
                _fail(batch, "上传人已不再拥有该单位的排查导入权限，未导入任何数据。")
                return batch
            batch.status = ImportStatus.VALIDATING
            batch.save(update_fields=["status"])
            try:
                rows, errors = validate_file(batch, progress)
            except ImportFailed as exc:
                _fail(batch, str(exc))
                return batch
            if errors:
                bad = len({e["row"] for e in errors})
                _fail(batch, f"共有 {bad} 行存在问题，整个文件未导入。请按错误报告修改后重新上传。", errors)
                return batch
            write_rows(batch, rows, progress)
            return batch
        except Exception:
            logger.exception("screening import %s failed", batch_id)
            _fail(batch, "导入时发生系统错误，未写入任何数据。请稍后重试或联系系统管理员。")
            raise
        finally:
            progress.close()
            path.unlink(missing_ok=True)
