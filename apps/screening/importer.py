"""Screening spreadsheet import (S-CLIENT-3, X-5): read with python-calamine, check every row,
then write everything in one transaction or nothing.

Phases, each visible on the batch's progress bar: *validating* (parse, check each row, find
duplicates inside the file and in the register) and *importing* (encrypt and insert in chunks).
A file with any bad row writes nothing and gets a row-by-row report. Rows whose person is
already in the register (in the uploader's scope) link to that client; a row whose client
already has a screening record on the same date is skipped as "已导入", so re-importing a file
creates no duplicates.

Speed (issue 4, docs/screening.md): the rows are held as columns, not objects. Each column is
checked with cached fast paths (resident ID checksum and birth date, mainland mobile numbers,
dates, category lists) that accept only what the general rule (``Validator.row``) accepts and
give the same values; any row a fast path does not accept outright goes through ``Validator.row``,
which also writes its error messages. Blind indexes are computed once per value and serve both
the register lookup (one query per 20,000 indexes) and the insert; values are encrypted in bulk
(``apps.vault.crypto.encrypt_many``). On PostgreSQL the rows go in with COPY, clients with ids
taken from their sequence; elsewhere with ``bulk_create``.
"""

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass, field
from itertools import repeat

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone

from apps.audit.choices import AuditAction
from apps.audit.services import log_event
from apps.clients.choices import Gender
from apps.clients.models import Client, ServiceTargetCategory
from apps.clients.services import GUARDIAN_REQUIRED_BELOW, age_on
from apps.core import uploads
from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.identity import names as identity_names
from apps.identity.phones import normalize_phone
from apps.identity.resident_id import EARLIEST_BIRTH, validate_resident_id
from apps.vault.crypto import blind_index_many, encrypt_many
from apps.vault.keys import index_keys
from apps.vault.normalizers import normalize_phone as vault_normalize_phone
from apps.vault.normalizers import normalize_text

from .choices import ImportStatus, RiskLevel, ScreeningSource
from .models import ImportBatch, ScreeningRecord
from .selectors import match_digests, screened_pairs
from .services import FINDING_LIMIT, batch_path, is_finished, max_rows, stale_message

logger = logging.getLogger(__name__)

WRITE_CHUNK = 1000  # rows per bulk_create statement (the ORM path)
COPY_CHUNK = 10_000  # rows encrypted at a time before they are streamed to COPY
LOOKUP_CHUNK = 20_000  # blind indexes per register query (500 on SQLite: 999 parameters at most)
PROGRESS_SECONDS = 0.5  # the bar polls every second; write at most twice as often
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
HEADER_ORDER = {header: position for position, header in enumerate(HEADERS.values())}
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
NAME_LIMIT = 50
ADDRESS_LIMIT = 200


class ImportFailed(Exception):
    """The file as a whole cannot be imported (unreadable, too many rows, missing columns).

    ``errors`` are report lines (row, column, message) naming the cells or columns concerned."""

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.errors = errors or []


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


ROW_FIELDS = ("name", "id_number", "gender", "birth_date", "phone", "address", "categories", "screened_on",
              "finding", "risk_level")  # fmt: skip


class Table:
    """Checked rows as columns: ``table.name[i]`` is the name on the i-th data row.

    Holding 100,000 rows as a dozen lists instead of 100,000 objects is what keeps the import
    within a small multiple of parsing the file.
    """

    def __init__(self, numbers: list[int]):
        size = len(numbers)
        self.numbers = numbers
        for name in ROW_FIELDS:
            setattr(self, name, [None] * size)
        self.client_id: list[int | None] = [None] * size
        self.skip: list[bool] = [False] * size
        self.digests: dict[str, list[str | None]] = {}  # blind indexes (compute_digests)
        self.index_values: dict[str, list[str]] = {}  # the values they were computed from

    def __len__(self):
        return len(self.numbers)

    def row(self, position: int) -> Row:
        return Row(
            self.numbers[position],
            **{name: getattr(self, name)[position] for name in ROW_FIELDS},
            client_id=self.client_id[position],
            skip=self.skip[position],
        )

    def put(self, position: int, row: Row) -> None:
        for name in ROW_FIELDS:
            getattr(self, name)[position] = getattr(row, name)


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


def _texts(values: list) -> list[str]:
    """``_text`` of each cell; cells are nearly all strings, which skip the general conversion."""
    return [value.strip() if value.__class__ is str else _text(value) for value in values]


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


INVALID = object()  # a cell that is not a date


def _dates(values: list, cache: dict) -> list:
    """``_date`` of each cell, INVALID where it raises; a file repeats few distinct date cells."""
    out = []
    for value in values:
        try:
            found = cache[value]
        except KeyError:
            try:
                found = _date(value)
            except ValueError:
                found = INVALID
            cache[value] = found
        except TypeError:  # an unhashable cell: convert it without the cache
            try:
                found = _date(value)
            except ValueError:
                found = INVALID
        out.append(found)
    return out


def _first_message(exc: ValidationError) -> str:
    return exc.messages[0] if exc.messages else "格式不正确。"


def _cell_error(ref: str, message: str) -> dict:
    """A report line for the cell ``ref`` ("B3"), or for a row when the file gave no reference."""
    parts = uploads.REF_PARTS.match(ref)
    if not parts:
        return error(0, "", message)
    return error(int(parts.group(2)), f"{parts.group(1)} 列", message)


def read_sheet(path) -> list[list]:
    """The first sheet's cells from A1 (``read_sheet_facts`` without the facts), or ImportFailed."""
    return read_sheet_facts(path)["cells"]


def read_sheet_facts(path) -> dict:
    """The first sheet, read by ``apps.core.uploads.read_xlsx_sheet`` in a child process under the upload
    limits: ``cells`` (rows from A1) and ``merged`` (ranges such as "J1:K1"). ImportFailed with a
    Chinese reason for a hostile or broken file (zip limits, row cap, memory, time) and for formula cells."""
    try:
        uploads.check_zip(path)
        facts = uploads.run_limited(uploads.read_xlsx_sheet, str(path), 0, max_rows(), 1)
    except ValidationError as exc:
        logger.info("screening upload refused: %s", exc.code)
        raise ImportFailed(_first_message(exc)) from None
    if facts["formula_count"]:
        errors = [
            _cell_error(ref, f"{ref} 是公式单元格，导入不接受公式，请改为直接填写的值。") for ref in facts["formulas"]
        ]
        raise ImportFailed(uploads.formula_message(facts["formulas"], facts["formula_count"]), errors)
    return facts


def _merged_header_starts(merged) -> dict[int, int]:
    """{column index: index of the first column of its merged range} for the columns a merge of
    the header row hides (every column of the range but its first)."""
    hidden = {}
    for ref in merged:
        first, _, last = ref.partition(":")
        start, end = uploads.REF_PARTS.match(first), uploads.REF_PARTS.match(last or first)
        if not (start and end) or int(start.group(2)) > 1:
            continue  # a merge below the header is a data matter; only a merged header hides a column
        left = uploads.column_number(start.group(1)) - 1
        for index in range(left + 1, uploads.column_number(end.group(1))):
            hidden[index] = left
    return hidden


def map_headers(cells: list[list], merged=()) -> dict[str, int]:
    """{column key: index} of the header row ``cells[0]``.

    ImportFailed, with one report line per column letter, for: a column whose header is not one of
    the template's, a column hidden by a merged header cell, a column holding data under an empty
    header, a header used twice, a missing required column. Nothing is silently dropped."""
    header_row = cells[0]
    by_header = {header: key for key, header, _ in COLUMNS}
    hidden = _merged_header_starts(merged)
    width = max(map(len, cells), default=0)
    found: dict[str, int] = {}
    problems: list[tuple[str, str]] = []  # (column letter, message)
    for index in range(width):
        letter = uploads.column_letter(index + 1)
        cell = header_row[index] if index < len(header_row) else None
        text = _text(cell).replace("*", "").replace("＊", "").replace(" ", "").replace("\u3000", "")
        if index in hidden:
            left = uploads.column_letter(hidden[index] + 1)
            problems.append((letter, f"{letter} 列的表头与 {left} 列合并，不是模板中的列：请取消合并并删除该列。"))
            continue
        if not text:
            if any(index < len(row) and _text(row[index]) for row in cells[1:]):
                problems.append((letter, f"{letter} 列有内容但没有表头，不是模板中的列：请删除该列。"))
            continue
        key = by_header.get(text)
        if key is None:
            problems.append((letter, f"{letter} 列的表头不是模板中的列：请删除该列，或改用下载的模板。"))
        elif key in found:
            first = uploads.column_letter(found[key] + 1)
            problems.append((letter, f"{letter} 列的表头与 {first} 列相同（“{text}”出现了两次），请只保留一列。"))
        else:
            found[key] = index
    missing = [header for key, header, required in COLUMNS if required and key not in found]
    if not problems and not missing:
        return found
    parts = []
    if problems:
        letters = "、".join(letter for letter, _ in problems[:20])
        parts.append(f"表头中有模板以外或重复的列：{letters} 列，整个文件未导入。请删除这些列（或取消表头合并）")
    if missing:
        parts.append(f"缺少必填列：{'、'.join(missing)}")
    message = "；".join(parts) + "。请使用下载的模板，不要修改第一行表头。"
    raise ImportFailed(message, [error(1, f"{letter} 列", text) for letter, text in problems])


class Validator:
    """The rule for one row, with its Chinese messages; ``check_table`` is its fast column form."""

    def __init__(self, columns: dict[str, int], today: dt.date):
        self.columns = columns
        self.today = today
        categories = list(ServiceTargetCategory.objects.filter(is_active=True))
        self.categories = {c.name: c.pk for c in categories} | {c.code: c.pk for c in categories}
        self._category_lists: dict[str, tuple[list, list[str]]] = {}

    def cell(self, cells: list, key: str):
        index = self.columns.get(key)
        return cells[index] if index is not None and index < len(cells) else None

    def category_list(self, text: str) -> tuple[list, list[str]]:
        """(category pks without repeats, error messages) for one 服务对象类别 cell's text."""
        found = self._category_lists.get(text)
        if found is None:
            pks, messages = [], []
            for part in CATEGORY_SEPARATORS.split(text):
                part = part.strip()
                if not part:
                    continue
                pk = self.categories.get(part)
                if pk is None:
                    messages.append(f"没有名为“{part[:20]}”的服务对象类别，多个类别请用分号分隔。")
                elif pk not in pks:
                    pks.append(pk)
            found = self._category_lists[text] = (pks, messages)
        return found

    def row(self, number: int, cells: list) -> tuple[Row, list[dict]]:
        row, errors = Row(number), []

        def bad(key, message):
            errors.append(error(number, HEADERS[key], message))

        name = _text(self.cell(cells, "name"))
        if not name:
            bad("name", "请填写姓名。")
        elif len(name) > NAME_LIMIT:
            bad("name", f"姓名不能超过 {NAME_LIMIT} 个字符。")
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
        if len(row.address) > ADDRESS_LIMIT:
            bad("address", f"住址不能超过 {ADDRESS_LIMIT} 个字符。")
        pks, messages = self.category_list(_text(self.cell(cells, "categories")))
        row.categories = list(pks)
        for message in messages:
            bad("categories", message)
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


# --- fast paths: each accepts a value only where the general rule accepts it, with its result ---

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643-1999, MOD 11-2
ID_CHECK = "10X98765432"
ID_SERIALS = {
    f"{n:03d}": sum(int(d) * w for d, w in zip(f"{n:03d}", ID_WEIGHTS[14:17], strict=True)) for n in range(1000)
}


def _weighted(digits: str, weights) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


class ResidentIds:
    """18-digit resident ID numbers checked with per-region and per-birth-date partial checksums.

    A region code is known once ``validate_resident_id`` has accepted a number with it (the
    region table lookup is its costly part); the birth date test repeats the rule's own (a real
    date, not before 1900, not after today). Anything else — another length, full-width digits,
    a lower-case x, spaces, an unknown region, a wrong check character — returns None and is left
    to ``validate_resident_id``.
    """

    def __init__(self, today: dt.date):
        self.today = today
        self.regions: dict[str, int] = {}
        self.births: dict[str, tuple[dt.date, int] | None] = {}

    def learn(self, number: str) -> None:
        self.regions.setdefault(number[:6], _weighted(number[:6], ID_WEIGHTS[:6]))

    def _birth(self, text: str) -> tuple[dt.date, int] | None:
        if not (text.isascii() and text.isdigit()):
            return None
        try:
            born = dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            return None
        if born < EARLIEST_BIRTH or born > self.today:
            return None
        return born, _weighted(text, ID_WEIGHTS[6:14])

    def check(self, number: str) -> tuple[dt.date, str] | None:
        """(birth date, gender) when ``number`` is a valid, already normal 18-digit ID; else None."""
        if len(number) != 18:
            return None
        region = self.regions.get(number[:6])
        if region is None:
            return None
        key = number[6:14]
        try:
            birth = self.births[key]
        except KeyError:
            birth = self.births[key] = self._birth(key)
        serial = ID_SERIALS.get(number[14:17])
        if birth is None or serial is None or ID_CHECK[(region + birth[1] + serial) % 11] != number[17]:
            return None
        return birth[0], Gender.MALE if int(number[16]) % 2 else Gender.FEMALE


_CHINA = phonenumbers.PhoneMetadata.metadata_for_region("CN")
_MOBILE = re.compile(_CHINA.mobile.national_number_pattern)
_GENERAL = re.compile(_CHINA.general_desc.national_number_pattern)
_NATIONAL_PREFIX = re.compile(_CHINA.national_prefix_for_parsing)


def fast_mobile(text: str) -> str | None:
    """E.164 of an 11-digit mainland mobile number written plainly, exactly as ``normalize_phone``
    gives it (libphonenumber's own mobile pattern decides); None for anything else."""
    if (
        len(text) == 11
        and text.isascii()
        and text.isdigit()
        and _MOBILE.fullmatch(text)
        and _GENERAL.fullmatch(text)
        and not _NATIONAL_PREFIX.match(text)
    ):
        return "+86" + text
    return None


def _column(rows: list[list], index: int | None, width: int) -> list:
    if index is None:
        return [None] * len(rows)
    if index < width:
        return [cells[index] for cells in rows]
    return [cells[index] if index < len(cells) else None for cells in rows]


def check_table(validator: Validator, rows: list[list], numbers: list[int], progress=None) -> tuple[Table, list[dict]]:
    """Check every row; the same values and errors as ``Validator.row`` on each, column by column.

    A position lands in ``slow`` as soon as one of its cells is not accepted by a fast path; those
    rows are then checked (and reported) by ``Validator.row`` itself.
    """
    size, today = len(rows), validator.today
    table = Table(numbers)
    width = min(map(len, rows)) if rows else 0
    columns = validator.columns

    def column(key):
        return _column(rows, columns.get(key), width)

    slow: set[int] = set()
    table.name = names = _texts(column("name"))
    slow.update(i for i, name in enumerate(names) if not name or len(name) > NAME_LIMIT)
    table.gender = genders = [GENDERS.get(text) for text in _texts(column("gender"))]
    slow.update(i for i, gender in enumerate(genders) if gender is None)
    date_cache: dict = {}
    table.birth_date = births = _dates(column("birth_date"), date_cache)
    slow.update(i for i, born in enumerate(births) if born is INVALID or (born is not None and born > today))
    ids = ResidentIds(today)
    table.id_number = id_texts = _texts(column("id_number"))
    for i, text in enumerate(id_texts):
        if not text:
            continue
        found = ids.check(text)
        if found is None:
            slow.add(i)
            try:  # teach the fast path this region; the row itself is re-checked by Validator.row
                ids.learn(validate_resident_id(text, today=today).number)
            except ValidationError:
                pass
            continue
        born, gender = found
        if births[i] is not None and births[i] != born:
            slow.add(i)
        births[i] = born
        genders[i] = gender
    table.phone = phones = _texts(column("phone"))
    for i, text in enumerate(phones):
        if text:
            phone = fast_mobile(text)
            if phone is None:
                slow.add(i)
            else:
                phones[i] = phone
    table.address = addresses = _texts(column("address"))
    slow.update(i for i, address in enumerate(addresses) if len(address) > ADDRESS_LIMIT)
    lists = [validator.category_list(text) for text in _texts(column("categories"))]
    table.categories = [pks for pks, _ in lists]
    slow.update(i for i, (_, messages) in enumerate(lists) if messages)
    del lists
    table.screened_on = screened = _dates(column("screened_on"), date_cache)
    slow.update(i for i, day in enumerate(screened) if day is None or day is INVALID or day > today)
    table.finding = findings = _texts(column("finding"))
    slow.update(i for i, finding in enumerate(findings) if len(finding) > FINDING_LIMIT)
    table.risk_level = risks = [RISKS.get(text.lower()) for text in _texts(column("risk_level"))]
    slow.update(i for i, risk in enumerate(risks) if risk is None)
    if progress is not None:
        progress.set(size - len(slow))
    errors: list[dict] = []
    for i in sorted(slow):
        row, row_errors = validator.row(numbers[i], rows[i])
        table.put(i, row)
        errors.extend(row_errors)
    return table, errors


def duplicates_in_file(table: Table, exclude: set[int]) -> list[dict]:
    """The later of two rows naming the same person (ID number, phone, or name + birth date).

    Rows whose number is in ``exclude`` (already reported) take no part. When no ID number,
    phone or name-and-birth-date repeats at all, which set sizes tell at once, there is nothing
    to report; otherwise the rows are walked in order to name the first row of each pair.
    """
    numbers = table.numbers
    keep = [i for i in range(len(table)) if numbers[i] not in exclude]
    ids = [table.id_number[i] for i in keep if table.id_number[i]]
    phones = [table.phone[i] for i in keep if table.phone[i]]
    pairs = [
        (normalize_text(table.name[i]), table.birth_date[i]) for i in keep if table.name[i] and table.birth_date[i]
    ]
    if len(set(ids)) == len(ids) and len(set(phones)) == len(phones) and len(set(pairs)) == len(pairs):
        return []
    errors = []
    seen: dict[tuple, int] = {}
    for i in keep:
        name, born, id_number, phone = table.name[i], table.birth_date[i], table.id_number[i], table.phone[i]
        keys = []
        if id_number:
            keys.append((("id", id_number), "身份证号码", "身份证号码相同"))
        if phone:
            keys.append((("phone", phone), "联系电话", "联系电话相同"))
        if name and born:
            keys.append((("nb", normalize_text(name), born), "姓名", "姓名和出生日期相同"))
        for key, column, what in keys:
            first = seen.get(key)
            if first is not None:
                errors.append(error(numbers[i], column, f"与第 {first} 行{what}，同一人员只能填写一行。"))
                break
        for key, _, _ in keys:
            seen.setdefault(key, numbers[i])
    return errors


INDEXED = (("id_number", "id_number_index"), ("phone", "phone_index"), ("name", "name_index"))


def _phone_for_index(phone: str) -> str:
    """``apps.vault.normalizers.normalize_phone`` of a checked number, with a shortcut for the usual
    "+86" and 11-digit mobile form (whose normal form is the 11 digits)."""
    if len(phone) == 14 and phone.startswith("+861") and phone.isascii() and phone[1:].isdigit():
        return phone[3:]
    return vault_normalize_phone(phone)


def compute_digests(table: Table) -> None:
    """Each row's blind indexes under the current index key, for the lookup and for the insert.

    The values are normalised here as each index field's normaliser would: checked ID numbers
    are already normal (18 characters, digits and upper-case X), phones go through
    ``_phone_for_index`` and names through the name field's own normaliser.
    """
    table.index_values = {
        "id_number": table.id_number,
        "phone": [_phone_for_index(phone) if phone else "" for phone in table.phone],
        "name": [normalize_text(name) for name in table.name],
    }
    for source, _ in INDEXED:
        table.digests[source] = blind_index_many(table.index_values[source], str)


def match_register(batch: ImportBatch, table: Table, exclude: set[int]) -> list[dict]:
    """Link rows to registered clients in scope; refuse rows matching one outside it."""
    numbers = table.numbers
    keep = [i for i in range(len(table)) if numbers[i] not in exclude]
    wanted: dict[str, dict[str, list]] = {}
    previous_keys = index_keys()[1:]
    for source, _ in INDEXED:
        by_digest: dict[str, list] = {}
        digests = table.digests[source]
        chosen = [i for i in keep if table.birth_date[i]] if source == "name" else keep
        for i in chosen:
            digest = digests[i]
            if digest is not None:
                by_digest.setdefault(digest, []).append(i)
        for key in previous_keys:  # during an index-key change rows may still carry the old index
            values = table.index_values[source]
            for i, digest in zip(chosen, blind_index_many([values[i] for i in chosen], str, key=key), strict=True):
                if digest is not None and i not in by_digest.get(digest, ()):
                    by_digest.setdefault(digest, []).append(i)
        wanted[source] = by_digest
    chunk = LOOKUP_CHUNK if connections["default"].vendor == "postgresql" else 500
    births = {i: table.birth_date[i] for i in keep}
    matches = match_digests(batch.unit.tenant_id, batch.scope_path, wanted, births, chunk)
    errors = []
    for i in sorted(matches):
        found = matches[i]
        if any(not m.in_scope for m in found):
            errors.append(error(numbers[i], "姓名", "该人员已在其他单位登记，请联系上级单位。"))
            continue
        by_id = [m for m in found if "id_number" in m.matched_on]
        chosen = by_id if by_id else found
        if len(chosen) > 1:
            errors.append(error(numbers[i], "姓名", "与登记册中的多名来访者相符，请补充身份证号码后再导入。"))
            continue
        table.client_id[i] = chosen[0].client_id
    linked = [i for i in keep if table.client_id[i]]
    pairs = {(table.client_id[i], table.screened_on[i]) for i in linked}
    done = screened_pairs(pairs)
    for i in linked:
        if (table.client_id[i], table.screened_on[i]) in done:
            table.skip[i] = True
    return errors


CHILD_MESSAGE = "未满 14 周岁，请逐个登记并填写监护人及其同意。"


def children_without_guardian(table: Table, exclude: set[int]) -> list[dict]:
    """S-CLIENT-4: a row that would register a new person under 14 is refused — the template has no
    guardian columns, and a child is registered only with a consenting guardian (one by one, in the
    screening form). Linking a child already in the register stays allowed. Runs before writing, so
    the COPY and ORM paths write the same rows."""
    today = timezone.localdate()
    floor = dt.date(today.year - GUARDIAN_REQUIRED_BELOW - 1, 1, 1)  # anyone born before is 14 or older
    numbers, births, linked = table.numbers, table.birth_date, table.client_id
    errors = []
    for i in range(len(table)):
        born = births[i]
        if born is None or born < floor or numbers[i] in exclude or linked[i] is not None:
            continue
        age = age_on(born, today)
        if age is not None and age < GUARDIAN_REQUIRED_BELOW:
            errors.append(error(numbers[i], "出生日期", CHILD_MESSAGE))
    return errors


class Progress:
    """Write progress so other users' pages see it while the import's own transaction is open.

    On PostgreSQL a second connection (autocommit) carries the updates; on SQLite the single
    write lock would make that wait for our own transaction, so only the phase edges show.
    Writes are at most every PROGRESS_SECONDS, except a change of status, which is written at once.
    """

    def __init__(self, batch: ImportBatch):
        self.batch = batch
        self.side = None
        self.written_at = 0.0
        if connections["default"].vendor == "postgresql":
            self.side = connections.create_connection("default")

    def set(self, processed: int, status: str | None = None):
        changed = bool(status) and status != self.batch.status
        self.batch.processed_rows = processed
        if status:
            self.batch.status = status
        now = time.monotonic()
        if not changed and now - self.written_at < PROGRESS_SECONDS:
            return
        self.written_at = now
        self.write()

    def write(self):
        processed, status = self.batch.processed_rows, self.batch.status
        if self.side is not None:
            with self.side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ImportBatch._meta.db_table} SET processed_rows = %s, status = %s WHERE id = %s AND status <> %s",  # noqa: S608, E501 - the model's own table name; values are parameters
                    [processed, status, self.batch.pk, ImportStatus.FAILED],
                )
        elif not connections["default"].in_atomic_block:
            # A batch the stale check has failed (services.fail_stale_batches) stays failed.
            ImportBatch.objects.filter(pk=self.batch.pk).exclude(status=ImportStatus.FAILED).update(
                processed_rows=processed, status=status
            )

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


def _data_rows(cells: list[list], columns: dict[str, int]) -> tuple[list[list], list[int]]:
    """The rows below the header with any non-empty cell, and their spreadsheet row numbers."""
    name_at = columns["name"]
    rows, numbers = [], []
    for number, cells_ in enumerate(cells[1:], start=2):
        name = cells_[name_at] if name_at < len(cells_) else None
        # A name with a visible character proves the row non-empty; otherwise look at every cell.
        if (name.__class__ is str and name and not name.isspace()) or any(_text(c) for c in cells_):
            rows.append(cells_)
            numbers.append(number)
    return rows, numbers


def validate_file(batch: ImportBatch, progress: Progress) -> tuple[Table, list[dict]]:
    facts = read_sheet_facts(batch_path(batch))
    cells = facts.pop("cells")
    if not cells:
        raise ImportFailed("文件是空的：第一行应为表头，从第二行起每行一人。")
    columns = map_headers(cells, facts["merged"])
    rows, numbers = _data_rows(cells, columns)
    del cells
    if not rows:
        raise ImportFailed("文件中没有数据行：请从第二行起每行填写一人。")
    if len(rows) > max_rows():
        raise ImportFailed(f"文件有 {len(rows)} 行数据，超过单次导入上限 {max_rows():,} 行，请拆分后分别导入。")
    batch.total_rows = len(rows)
    ImportBatch.objects.filter(pk=batch.pk).update(total_rows=batch.total_rows)
    validator = Validator(columns, timezone.localdate())
    table, errors = check_table(validator, rows, numbers, progress)
    del rows
    bad_rows = {e["row"] for e in errors}
    errors.extend(duplicates_in_file(table, bad_rows))
    bad_rows = {e["row"] for e in errors}
    compute_digests(table)
    errors.extend(match_register(batch, table, bad_rows))
    errors.extend(children_without_guardian(table, {e["row"] for e in errors}))
    errors.sort(key=lambda e: (e["row"], HEADER_ORDER[e["column"]]))
    progress.set(len(table))
    return table, errors


class Initials:
    """Pinyin initials of names (``apps.identity.names.pinyin_keys(name)[1]``), cached per part.

    pypinyin costs about 0.2 ms a call, and a large file has tens of thousands of distinct names
    but far fewer distinct surnames and given names; this follows ``pinyin_syllables`` step by
    step and caches each ``lazy_pinyin`` call by its argument (a test compares both on many names).
    """

    def __init__(self):
        from pypinyin import Style, lazy_pinyin

        self.lazy_pinyin, self.normal = lazy_pinyin, Style.NORMAL
        self.surnames: dict[str, str] = {}
        self.runs: dict[str, list[str]] = {}
        self.names: dict[str, str] = {}

    def syllables(self, name: str) -> list[str]:
        surname, rest = identity_names.split_surname(name)
        syllables = []
        if surname in identity_names.COMPOUND_SURNAMES:
            syllables += identity_names.COMPOUND_SURNAMES[surname]
        elif surname:
            reading = identity_names.SURNAME_READINGS.get(surname)
            if not reading:
                reading = self.surnames.get(surname)
                if reading is None:
                    reading = self.surnames[surname] = "".join(self.lazy_pinyin(surname, style=self.normal))
            syllables.append(reading)
        for kind, run in identity_names._tokens(rest if surname else identity_names._clean(name)):
            if kind == "han":
                found = self.runs.get(run)
                if found is None:
                    found = self.runs[run] = self.lazy_pinyin(run, style=self.normal, errors="ignore")
                syllables += found
            else:
                syllables.append(run.lower())
        return [s.lower() for s in syllables if s]

    def __call__(self, name: str) -> str:
        found = self.names.get(name)
        if found is None:
            found = self.names[name] = "".join(s[0] for s in self.syllables(name))
        return found


def write_rows(batch: ImportBatch, table: Table, progress: Progress, *, use_copy: bool | None = None) -> None:
    """Insert every new client, its categories and every screening record in one transaction.

    ``use_copy`` defaults to "on PostgreSQL"; the tests set it to compare both ways of writing.
    """
    unit, actor = batch.unit, batch.uploaded_by
    positions = range(len(table))
    new = [i for i in positions if not table.skip[i] and table.client_id[i] is None]
    linked = [i for i in positions if not table.skip[i] and table.client_id[i] is not None]
    done = len(table) - len(new) - len(linked)
    progress.set(done, ImportStatus.IMPORTING)
    initials = Initials()
    with transaction.atomic():
        if use_copy is None:
            use_copy = connections["default"].vendor == "postgresql"
        if use_copy:
            _write_copy(batch, table, new, linked, initials, progress, done)
        else:
            _write_orm(batch, table, new, linked, initials, progress, done)
        # The stale check may have failed the batch meanwhile: then roll everything back. Locking the row
        # makes a later stale check wait for this commit and then find the batch done.
        current = ImportBatch.objects.select_for_update().filter(pk=batch.pk).values_list("status", flat=True)
        if current.first() == ImportStatus.FAILED:
            raise ImportFailed(stale_message())
        batch.status = ImportStatus.DONE
        batch.processed_rows = len(table)
        batch.created_clients = len(new)
        batch.linked_clients = len(linked)
        batch.created_records = len(new) + len(linked)
        batch.skipped_rows = len(table) - batch.created_records
        batch.error_report = [error(table.numbers[i], "", "已导入") for i in positions if table.skip[i]][:REPORT_LIMIT]
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


def _write_orm(batch, table: Table, new: list[int], linked: list[int], initials, progress, done: int) -> None:
    """bulk_create in chunks of WRITE_CHUNK (SQLite and any other database without COPY)."""
    unit, actor = batch.unit, batch.uploaded_by
    through = Client.categories.through
    for start in range(0, len(new), WRITE_CHUNK):
        chunk = new[start : start + WRITE_CHUNK]
        clients = [
            Client(
                unit=unit,
                unit_path=unit.path,
                tenant_id=unit.tenant_id,
                created_by=actor,
                name=table.name[i],
                name_initials=initials(table.name[i])[:30],
                gender=table.gender[i],
                birth_date=table.birth_date[i],
                id_number=table.id_number[i],
                phone=table.phone[i],
                address=table.address[i],
            )  # fmt: skip
            for i in chunk
        ]
        Client.objects.bulk_create(clients)  # runs BlindIndexField.pre_save: the indexes are filled
        links = []
        for i, client in zip(chunk, clients, strict=True):
            table.client_id[i] = client.pk
            links.extend(through(client_id=client.pk, servicetargetcategory_id=pk) for pk in table.categories[i])
        through.objects.bulk_create(links)
        ScreeningRecord.objects.bulk_create([_record(batch, table, i) for i in chunk])
        done += len(chunk)
        progress.set(done)
    for start in range(0, len(linked), WRITE_CHUNK):
        chunk = linked[start : start + WRITE_CHUNK]
        ScreeningRecord.objects.bulk_create([_record(batch, table, i) for i in chunk])
        done += len(chunk)
        progress.set(done)


def _record(batch: ImportBatch, table: Table, i: int) -> ScreeningRecord:
    return ScreeningRecord(
        unit=batch.unit, unit_path=batch.unit_path, client_id=table.client_id[i], screened_on=table.screened_on[i],
        screened_by=batch.uploaded_by, source=ScreeningSource.ROUTINE, finding=table.finding[i],
        risk_level=table.risk_level[i], import_batch=batch,
    )  # fmt: skip


def _encrypted(values: list[str], model, name: str) -> list[str]:
    """The stored form of an encrypted column: "" and None stay as they are, as in the field."""
    label = model._meta.get_field(name).vault_label
    present = [i for i, value in enumerate(values) if value]
    out = list(values)
    for i, token in zip(present, encrypt_many([values[i] for i in present], label), strict=True):
        out[i] = token
    return out


COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
COPY_NULL = "\\N"


def _copy_text(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return COPY_NULL
    if isinstance(value, str):
        return value.translate(COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.date):  # dates and aware datetimes: ISO 8601 is what PostgreSQL reads
        return value.isoformat()
    return str(value)


def _copy_column(values: list) -> list[str]:
    """``_copy_text`` of each value; ciphertexts, indexes and ids need no escaping, checked at once."""
    kinds = set(map(type, values))
    if kinds <= {str, type(None)}:
        joined = "".join([value for value in values if value])
        if not any(special in joined for special in "\\\t\n\r"):
            return [COPY_NULL if value is None else value for value in values]
    elif kinds <= {int, type(None)}:
        return [COPY_NULL if value is None else str(value) for value in values]
    return [_copy_text(value) for value in values]


def _copy_columns(model, explicit: dict, now, connection, skip_id: bool) -> tuple[list[str], list]:
    """Column names and COPY-text columns for rows of ``model``.

    ``explicit`` maps attnames to a list (one value per row) or a constant; every other concrete
    field gets what the ORM would store for a new object: ``now`` for auto_now(_add) fields, else
    its default, prepared for the database.
    """
    names, columns = [], []
    for model_field in model._meta.concrete_fields:
        name = model_field.attname
        if name == "id" and skip_id:
            continue
        if name in explicit:
            value = explicit[name]
        elif getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            value = now
        else:
            value = model_field.get_db_prep_save(model_field.get_default(), connection)
        names.append(name)
        columns.append(_copy_column(value) if isinstance(value, list) else repeat(_copy_text(value)))
    return names, columns


def _copy_sql(connection, model, names: list[str]) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in names)
    return f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"


def _copy_block(columns: list) -> str:
    rows = zip(*columns, strict=False)  # constants are endless repeats; the lists set the length
    return "".join([line + "\n" for line in map("\t".join, rows)])


def _write_copy(batch, table: Table, new: list[int], linked: list[int], initials, progress, done: int) -> None:
    """PostgreSQL: the same rows as ``_write_orm``, sent with COPY.

    Client ids come from the table's own sequence first (so records and categories can point at
    them); values are encrypted a chunk at a time and streamed while the server stores the last.
    """
    from psycopg.copy import QueuedLibpqWriter

    connection = connections["default"]
    unit, actor = batch.unit, batch.uploaded_by
    now = timezone.now()
    constants = {"unit_id": unit.pk, "unit_path": unit.path, "tenant_id": unit.tenant_id, "created_by_id": actor.pk}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [connection.ops.quote_name(Client._meta.db_table), len(new)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
        for i, pk in zip(new, ids, strict=True):
            table.client_id[i] = pk
        names = [f.attname for f in Client._meta.concrete_fields]
        # A writer thread sends each block while this thread encrypts the next, so the server stores and
        # indexes rows on the other core meanwhile (a plain write waits for the socket to drain).
        with cursor.cursor.copy(_copy_sql(connection, Client, names), writer=QueuedLibpqWriter(cursor.cursor)) as copy:
            for start in range(0, len(new), COPY_CHUNK):
                chunk = new[start : start + COPY_CHUNK]
                _, columns = _copy_columns(
                    Client,
                    {
                        **constants,
                        "id": ids[start : start + COPY_CHUNK],
                        "name": _encrypted([table.name[i] for i in chunk], Client, "name"),
                        "name_index": [table.digests["name"][i] for i in chunk],
                        "name_initials": [initials(table.name[i])[:30] for i in chunk],
                        "gender": [str(table.gender[i]) for i in chunk],
                        "birth_date": [table.birth_date[i] for i in chunk],
                        "id_number": _encrypted([table.id_number[i] for i in chunk], Client, "id_number"),
                        "id_number_index": [table.digests["id_number"][i] for i in chunk],
                        "phone": _encrypted([table.phone[i] for i in chunk], Client, "phone"),
                        "phone_index": [table.digests["phone"][i] for i in chunk],
                        "address": _encrypted([table.address[i] for i in chunk], Client, "address"),
                    },
                    now,
                    connection,
                    skip_id=False,
                )
                copy.write(_copy_block(columns))
                done += len(chunk)
                progress.set(done)
        through = Client.categories.through
        pairs = [(table.client_id[i], pk) for i in new for pk in table.categories[i]]
        if pairs:
            names, columns = _copy_columns(
                through,
                {"client_id": [c for c, _ in pairs], "servicetargetcategory_id": [p for _, p in pairs]},
                now,
                connection,
                skip_id=True,
            )
            with cursor.cursor.copy(_copy_sql(connection, through, names)) as copy:
                copy.write(_copy_block(columns))
        records = new + linked
        if records:
            names = [f.attname for f in ScreeningRecord._meta.concrete_fields if f.attname != "id"]
            sql = _copy_sql(connection, ScreeningRecord, names)
            with cursor.cursor.copy(sql, writer=QueuedLibpqWriter(cursor.cursor)) as copy:
                for start in range(0, len(records), COPY_CHUNK):
                    chunk = records[start : start + COPY_CHUNK]
                    _, columns = _copy_columns(
                        ScreeningRecord,
                        {
                            "unit_id": unit.pk,
                            "unit_path": batch.unit_path,
                            "client_id": [table.client_id[i] for i in chunk],
                            "screened_on": [table.screened_on[i] for i in chunk],
                            "screened_by_id": actor.pk,
                            "source": ScreeningSource.ROUTINE.value,
                            "finding": _encrypted([table.finding[i] for i in chunk], ScreeningRecord, "finding"),
                            "risk_level": [str(table.risk_level[i]) for i in chunk],
                            "import_batch_id": batch.pk,
                        },
                        now,
                        connection,
                        skip_id=True,
                    )
                    copy.write(_copy_block(columns))
        done += len(linked)
        progress.set(done)


def _fail(batch: ImportBatch, message: str, errors: list[dict] | None = None) -> None:
    errors = errors or []
    batch.status = ImportStatus.FAILED
    batch.message = message[:300]
    batch.error_count = len(errors)
    batch.error_report = errors[:REPORT_LIMIT]
    batch.finished_at = timezone.now()
    batch.save(update_fields=["status", "message", "error_count", "error_report", "finished_at"])


def process_batch(batch_id: int) -> ImportBatch:
    """Run one queued import to the end; the stored file is deleted whatever happens.

    The file is parsed in a child process under the upload limits (``read_sheet_facts``), so a hostile
    file fails this batch with a Chinese message and the worker goes on with the next import."""
    with unscoped("background import of a batch whose uploader was authorised at upload"):
        batch = ImportBatch.objects.select_related("unit", "uploaded_by").get(pk=batch_id)
        if batch.status != ImportStatus.QUEUED:
            if is_finished(batch):  # failed by the stale check while queued, or run twice
                batch_path(batch).unlink(missing_ok=True)
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
                table, errors = validate_file(batch, progress)
                if errors:
                    bad = len({e["row"] for e in errors})
                    _fail(batch, f"共有 {bad} 行存在问题，整个文件未导入。请按错误报告修改后重新上传。", errors)
                    return batch
                write_rows(batch, table, progress)
            except ImportFailed as exc:
                _fail(batch, str(exc), exc.errors)
            return batch
        except Exception:
            logger.exception("screening import %s failed", batch_id)
            _fail(batch, "导入时发生系统错误，未写入任何数据。请稍后重试或联系系统管理员。")
            raise
        finally:
            progress.close()
            path.unlink(missing_ok=True)
