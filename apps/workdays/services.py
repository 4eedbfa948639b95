"""Chinese statutory working days, deadlines, and the administrators' calendar overrides.

A day's status comes from, first match wins:

1. a ``CalendarOverride`` entered by an administrator;
2. the ``chinesecalendar`` package, for the years it ships data for (``PACKAGE_YEARS``);
3. Monday–Friday, for a year neither knows. Such a year is *unknown*: ``year_known`` says so,
   ``Deadline.assumed_years`` names it, and the calendar page warns administrators.

A year counts as known as soon as it has one override, because an administrator enters a
year's holiday notice as a whole (the bulk import); days of that year without an override
follow Monday–Friday, exactly as the notice means.

Deadlines count from the day after receipt: the day of receipt never counts, so one working
day from a Friday is the next Monday (or the first working day after a holiday).
"""

import datetime as dt
import re
from dataclasses import dataclass

import chinese_calendar
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from apps.audit.choices import AuditAction
from apps.audit.services import log_change, log_event, snapshot
from apps.core.access import can
from apps.core.perms import Perm

from .choices import DayKind, DeadlineKind
from .deadlines import apply_recompute, estimate_reason, plan_recompute
from .models import CalendarOverride

ONE_DAY = dt.timedelta(days=1)
PACKAGE_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)
FIRST_YEAR, LAST_YEAR = 1900, 2100  # dates outside are typing errors, not deadlines
MAX_DAYS = 3660  # ten years; no rule of the standard counts further
NAME_MAX = 50
NOTE_MAX = 200
NOTICE_MAX_LINES = 400
NOTICE_KINDS = {"休": False, "班": True}
NOTICE_SEPARATOR = re.compile(r"\s*[,，\t]\s*")
DATE_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")


def _package_name(english: str) -> str:
    """The Chinese name of a holiday the package names in English."""
    try:
        return chinese_calendar.Holiday(english).chinese
    except ValueError:
        return english


@dataclass(frozen=True)
class DayStatus:
    """One day of the calendar: whether people work, and why.

    ``name`` is the holiday (or the holiday an adjusted working day belongs to), empty for an
    ordinary day; ``overridden`` marks a day an administrator set; ``assumed`` a day of an
    unknown year, judged by Monday–Friday only.
    """

    date: dt.date
    is_workday: bool
    name: str = ""
    overridden: bool = False
    assumed: bool = False

    @property
    def kind(self) -> DayKind:
        weekend = self.date.weekday() >= 5
        if self.is_workday:
            return DayKind.ADJUSTED_WORKDAY if weekend else DayKind.WORKDAY
        if weekend and not self.name:
            return DayKind.WEEKEND
        return DayKind.HOLIDAY


@dataclass(frozen=True)
class Deadline:
    """A computed deadline and what it rests on."""

    start: dt.date
    days: int
    kind: DeadlineKind
    due: dt.date
    skipped: tuple[DayStatus, ...]  # days off between start and due that did not count
    assumed_years: tuple[int, ...]  # years in the span judged by Monday–Friday only

    @property
    def warning(self) -> str:
        """Empty when the deadline rests on known calendars; otherwise why it may be wrong."""
        if not self.assumed_years:
            return ""
        years = "、".join(f"{y}年" for y in self.assumed_years)
        return f"{years}的节假日安排尚未录入，期限按周一至周五推算，放假或调休公布后可能不准确。"

    @property
    def estimated(self) -> bool:
        """Whether the deadline counted through a year neither the package nor an override knows."""
        return bool(self.assumed_years)

    @property
    def estimate_reason(self) -> str:
        """The short reason stored with an estimated deadline, e.g. "2027 年节假日尚未录入"."""
        return estimate_reason(self.assumed_years)


def check_date(start) -> dt.date:
    """Refuse anything but a plain date between 1900 and 2100."""
    if isinstance(start, dt.datetime) or not isinstance(start, dt.date):
        raise ValidationError("请填写有效的日期，格式为 YYYY-MM-DD。", code="invalid_date")
    if not FIRST_YEAR <= start.year <= LAST_YEAR:
        raise ValidationError(f"日期须在 {FIRST_YEAR}—{LAST_YEAR} 年之间。", code="date_out_of_range")
    return start


def check_day_count(days) -> int:
    """Refuse a negative, non-integer or absurdly long period."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise ValidationError("天数须为整数。", code="invalid_days")
    if days < 0:
        raise ValidationError("天数不能为负数。", code="negative_days")
    if days > MAX_DAYS:
        raise ValidationError(f"天数不能超过 {MAX_DAYS} 天。", code="too_many_days")
    return days


class WorkCalendar:
    """Answers working-day questions, reading each year's overrides from the database once.

    Use one per request or per batch (an import computing many deadlines); it does not see
    overrides written after it read their year.
    """

    def __init__(self):
        self._overrides: dict[int, dict[dt.date, CalendarOverride]] = {}

    def overrides_of(self, year: int) -> dict[dt.date, CalendarOverride]:
        if year not in self._overrides:
            self._overrides[year] = {o.date: o for o in CalendarOverride.objects.filter(date__year=year)}
        return self._overrides[year]

    def year_known(self, year: int) -> bool:
        return year in PACKAGE_YEARS or bool(self.overrides_of(year))

    def status(self, day: dt.date) -> DayStatus:
        override = self.overrides_of(day.year).get(day)
        if override is not None:
            return DayStatus(day, override.is_workday, override.name, overridden=True)
        if day.year in PACKAGE_YEARS:
            if day in chinese_calendar.workdays:
                return DayStatus(day, True, _package_name(chinese_calendar.workdays[day]))
            if day in chinese_calendar.holidays:
                return DayStatus(day, False, _package_name(chinese_calendar.holidays[day]))
        return DayStatus(day, day.weekday() < 5, assumed=not self.year_known(day.year))

    def is_working_day(self, day: dt.date) -> bool:
        return self.status(day).is_workday

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The ``days``-th working day after ``start``; ``start`` itself never counts (0 gives ``start``)."""
        check_date(start)
        remaining = check_day_count(days)
        day = start
        while remaining:
            day += ONE_DAY
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, first: dt.date, last: dt.date) -> int:
        """Working days after ``first`` up to and including ``last``; negative when ``last`` is earlier.

        The inverse of ``add_working_days``: ``working_days_between(a, add_working_days(a, n)) == n``.
        """
        check_date(first)
        check_date(last)
        if last < first:
            return -self.working_days_between(last, first)
        count, day = 0, first
        while day < last:
            day += ONE_DAY
            count += self.is_working_day(day)
        return count

    def unknown_years(self, first: dt.date, last: dt.date) -> tuple[int, ...]:
        return tuple(y for y in range(first.year, last.year + 1) if not self.year_known(y))

    def deadline(self, start: dt.date, days: int, kind: str = DeadlineKind.WORKING) -> Deadline:
        """Compute a deadline of ``days`` working or calendar days from ``start``, with its grounds."""
        if kind not in DeadlineKind.values:
            raise ValidationError("计算方式只能是工作日或自然日。", code="invalid_kind")
        kind = DeadlineKind(kind)
        if kind == DeadlineKind.CALENDAR:
            return Deadline(start, days, kind, add_days(start, days), (), ())
        due = self.add_working_days(start, days)
        skipped, day = [], start + ONE_DAY
        while day < due:
            status = self.status(day)
            if not status.is_workday:
                skipped.append(status)
            day += ONE_DAY
        assumed = self.unknown_years(start + ONE_DAY, due) if due > start else ()
        return Deadline(start, days, kind, due, tuple(skipped), assumed)


def is_working_day(day: dt.date) -> bool:
    """Whether people work on ``day`` under the statutory calendar (weekends, holidays, 调休)."""
    return WorkCalendar().is_working_day(check_date(day))


def add_working_days(start: dt.date, n: int) -> dt.date:
    """S-FLOW-4, S-QUAL-2: the date ``n`` working days after ``start`` (day of receipt excluded)."""
    return WorkCalendar().add_working_days(start, n)


def add_days(start: dt.date, n: int) -> dt.date:
    """The date ``n`` calendar days after ``start`` (day of receipt excluded; holidays count)."""
    return check_date(start) + dt.timedelta(days=check_day_count(n))


def working_days_between(first: dt.date, last: dt.date) -> int:
    """Working days after ``first`` up to and including ``last``."""
    return WorkCalendar().working_days_between(first, last)


def year_known(year: int) -> bool:
    """Whether the package or an administrator's entries cover ``year``; if not, Mon–Fri applies."""
    return WorkCalendar().year_known(year)


def compute_deadline(start: dt.date, days: int, kind: str = DeadlineKind.WORKING) -> Deadline:
    """A deadline with the days it skipped and the unknown years it assumed."""
    return WorkCalendar().deadline(start, days, kind)


# --- Overrides: the administrators' table -------------------------------------------------


def _require_manage(actor) -> None:
    """Refuse when ``actor`` may not edit the calendar; ``actor=None`` is the system (seed, tests)."""
    if actor is not None and not can(actor, Perm.CALENDAR_MANAGE):
        raise ValidationError("您无权维护节假日日历。", code="forbidden")


CALENDAR_LOCK_KEY = 0x58595744  # "XYWD": one PostgreSQL advisory lock serialises calendar changes


def _lock_calendar() -> None:
    """Serialise calendar changes until the transaction ends, so each recompute sees the one before it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CALENDAR_LOCK_KEY])


def check_override_date(day, exclude_pk: int | None = None) -> dt.date:
    """Return ``day`` or raise: a real date between 1900 and 2100 with no other override."""
    check_date(day)
    taken = CalendarOverride.objects.filter(date=day).exclude(pk=exclude_pk).first()
    if taken is not None:
        raise ValidationError(
            f"{day:%Y-%m-%d} 已有调整记录（{taken.name}），请修改该记录，不要重复录入。", code="duplicate"
        )
    return day


def check_override_name(name: str) -> str:
    """Return the cleaned name or raise: required, at most 50 characters."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("请填写名称，如“春节”或“春节调休”。", code="required")
    if len(name) > NAME_MAX:
        raise ValidationError(f"名称不能超过 {NAME_MAX} 个字符。", code="max_length")
    return name


def check_override_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError(f"备注不能超过 {NOTE_MAX} 个字符。", code="max_length")
    return note


def check_is_workday(is_workday) -> bool:
    if not isinstance(is_workday, bool):
        raise ValidationError("请选择这一天是放假还是上班。", code="invalid_choice")
    return is_workday


def _clean_override(*, date, is_workday, name, note, exclude_pk=None) -> dict:
    """Run every check; raise one error listing each bad field, so a form shows them all at once."""
    checks = {
        "date": lambda: check_override_date(date, exclude_pk),
        "is_workday": lambda: check_is_workday(is_workday),
        "name": lambda: check_override_name(name),
        "note": lambda: check_override_note(note),
    }
    cleaned, errors = {}, {}
    for field, check in checks.items():
        try:
            cleaned[field] = check()
        except ValidationError as error:
            errors[field] = error.error_list
    if errors:
        raise ValidationError(errors)
    return cleaned


def _duplicate_error() -> ValidationError:
    return ValidationError({"date": ValidationError("该日期刚被他人录入，请刷新页面后核对。", code="duplicate")})


@transaction.atomic
def do_create_override(*, actor, date: dt.date, is_workday: bool, name: str, note: str = "") -> CalendarOverride:
    """Set one day as a day off or an adjusted working day."""
    _require_manage(actor)
    _lock_calendar()
    cleaned = _clean_override(date=date, is_workday=is_workday, name=name, note=note)
    plan = plan_recompute([cleaned["date"].year])
    try:
        with transaction.atomic():
            override = CalendarOverride.objects.create(**cleaned, created_by=actor)
    except IntegrityError:
        raise _duplicate_error() from None
    log_change(actor, override, {}, snapshot(override))
    apply_recompute(plan, actor=actor)
    return override


@transaction.atomic
def do_update_override(
    *, actor, override: CalendarOverride, date: dt.date, is_workday: bool, name: str, note: str = ""
) -> CalendarOverride:
    """Change a day's date, status, name or note."""
    _require_manage(actor)
    _lock_calendar()
    cleaned = _clean_override(date=date, is_workday=is_workday, name=name, note=note, exclude_pk=override.pk)
    before = snapshot(override)
    plan = plan_recompute({override.date.year, cleaned["date"].year})
    try:
        with transaction.atomic():
            CalendarOverride.objects.filter(pk=override.pk).update(**cleaned)
    except IntegrityError:
        raise _duplicate_error() from None
    override.refresh_from_db()
    log_change(actor, override, before, snapshot(override))
    apply_recompute(plan, actor=actor)
    return override


@transaction.atomic
def do_delete_override(*, actor, override: CalendarOverride) -> None:
    """Remove an override; the day falls back to the package or to Monday–Friday."""
    _require_manage(actor)
    _lock_calendar()
    plan = plan_recompute([override.date.year])
    log_change(actor, override, snapshot(override), {})
    CalendarOverride.objects.filter(pk=override.pk).delete()
    apply_recompute(plan, actor=actor)


# --- Bulk entry of a year's holiday notice ---------------------------------------------------


@dataclass(frozen=True)
class NoticeLine:
    """One valid line of a pasted holiday notice."""

    line_no: int
    date: dt.date
    is_workday: bool
    name: str
    note: str = ""


@dataclass(frozen=True)
class NoticeImport:
    created: tuple[CalendarOverride, ...]
    unchanged: tuple[NoticeLine, ...]  # lines identical to an existing override, left as they are
    recomputed: int = 0  # stored deadlines the new days moved or re-flagged

    @property
    def years(self) -> list[int]:
        return sorted({o.date.year for o in self.created} | {line.date.year for line in self.unchanged})


def _parse_notice_line(line_no: int, text: str) -> NoticeLine:
    parts = NOTICE_SEPARATOR.split(text)
    if len(parts) not in (3, 4):
        raise ValidationError(f"第{line_no}行：格式应为“日期,休或班,名称”，如“2027-02-10,休,春节”。", code="format")
    date_text, kind_text, name = parts[0], parts[1], parts[2]
    note = parts[3] if len(parts) == 4 else ""
    match = DATE_RE.match(date_text)
    try:
        day = dt.date(*(int(g) for g in match.groups())) if match else None
    except ValueError:
        day = None
    if day is None:
        raise ValidationError(f"第{line_no}行：日期“{date_text}”无效，请按 YYYY-MM-DD 填写。", code="invalid_date")
    if kind_text not in NOTICE_KINDS:
        raise ValidationError(f"第{line_no}行：第二列应为“休”或“班”，不能是“{kind_text}”。", code="invalid_kind")
    try:
        check_date(day)
        name = check_override_name(name)
        note = check_override_note(note)
    except ValidationError as error:
        raise ValidationError(f"第{line_no}行：{error.messages[0]}", code=error.code) from None
    return NoticeLine(line_no, day, NOTICE_KINDS[kind_text], name, note)


def check_holiday_notice(text: str) -> tuple[list[NoticeLine], list[NoticeLine]]:
    """Validate every line of a pasted notice; return (lines to add, lines already entered).

    One line is ``日期,休或班,名称[,备注]`` (comma, full-width comma or tab); blank lines and lines
    starting with ``#`` are skipped. A line identical to an existing override is left alone; a
    line that contradicts one is an error. Raises one ValidationError listing every bad line.
    """
    raw_lines = (text or "").splitlines()
    if len(raw_lines) > NOTICE_MAX_LINES:
        raise ValidationError(f"一次最多导入 {NOTICE_MAX_LINES} 行，请分批导入。", code="too_many_lines")
    lines, errors, first_seen = [], [], {}  # errors: (line number, error), reported in line order
    for line_no, raw in enumerate(raw_lines, start=1):
        text_line = raw.strip()
        if not text_line or text_line.startswith("#"):
            continue
        try:
            line = _parse_notice_line(line_no, text_line)
        except ValidationError as error:
            errors.append((line_no, error))
            continue
        if line.date in first_seen:
            message = f"第{line_no}行：日期 {line.date:%Y-%m-%d} 与第{first_seen[line.date]}行重复。"
            errors.append((line_no, ValidationError(message, code="duplicate")))
            continue
        first_seen[line.date] = line_no
        lines.append(line)
    if not lines and not errors:
        raise ValidationError("请粘贴至少一行，如“2027-02-10,休,春节”。", code="empty")
    existing = {o.date: o for o in CalendarOverride.objects.filter(date__in=[line.date for line in lines])}
    new, unchanged = [], []
    for line in lines:
        found = existing.get(line.date)
        if found is None:
            new.append(line)
        elif found.is_workday == line.is_workday and found.name == line.name:
            unchanged.append(line)
        else:
            message = (
                f"第{line.line_no}行：{line.date:%Y-%m-%d} 已有不同的调整记录"
                f"（{found.name}，{'上班' if found.is_workday else '放假'}），请先在列表中修改或删除该记录。"
            )
            errors.append((line.line_no, ValidationError(message, code="conflict")))
    if errors:
        raise ValidationError([error for _, error in sorted(errors, key=lambda item: item[0])])
    return new, unchanged


@transaction.atomic
def do_import_holiday_notice(*, actor, text: str) -> NoticeImport:
    """Enter a year's holiday notice in one go: every line valid, or nothing is written."""
    _require_manage(actor)
    _lock_calendar()
    new, unchanged = check_holiday_notice(text)
    plan = plan_recompute({line.date.year for line in new})
    rows = [
        CalendarOverride(date=line.date, is_workday=line.is_workday, name=line.name, note=line.note, created_by=actor)
        for line in new
    ]
    try:
        with transaction.atomic():
            created = CalendarOverride.objects.bulk_create(rows)
    except IntegrityError:
        raise ValidationError(
            "部分日期刚被他人录入，未写入任何记录；请刷新页面后重新导入。", code="duplicate"
        ) from None
    log_event(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="workdays.calendaroverride",
        label=f"导入放假通知：新增 {len(created)} 天",
        changes={str(row.date): {"before": None, "after": "班" if row.is_workday else "休"} for row in created},
    )
    moved = apply_recompute(plan, actor=actor)
    return NoticeImport(tuple(created), tuple(unchanged), len(moved))
