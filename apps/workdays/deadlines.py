"""Stored deadlines that rest on the holiday calendar: the "estimated" flag and the recompute registry.

A working-day deadline counted through a year that neither ``chinesecalendar`` nor the administrators'
overrides know is an *estimate* (Monday–Friday only). Each module that stores such a deadline keeps,
next to the date field ``<due>``, two more fields — ``<due>_estimated`` (bool) and
``<due>_estimate_reason`` (e.g. "2027 年节假日尚未录入") — fills them from ``stored_deadline`` on
create, and registers a ``DeadlineSource`` in its ``AppConfig.ready``::

    register_deadline_source(DeadlineSource(
        name="outreach.inquiry", label="远程咨询回复期限", due_field="reply_due",
        open_records=lambda: RemoteInquiry.objects.filter(answered_at__isnull=True, reply_due__isnull=False),
        start=lambda row: shanghai_date(row.received_at), days=lambda row: 3,
        notify=lambda row: unit_staff(row.unit, {}), url=lambda row: f"/outreach/inquiries/{row.pk}/",
    ))

When an administrator enters, changes, deletes or imports holidays, ``apps.workdays.services`` calls
``plan_recompute`` before writing (it locks the open records whose deadline runs through the changed
years and measures their periods on the old calendar) and ``apply_recompute`` after writing, in the
same transaction: each changed deadline is saved and audited, the flag follows the new calendar, and
the people ``notify`` names are told when a deadline moved earlier.

A calendar-day source (``kind=DeadlineKind.CALENDAR``, e.g. the warnings' 3-day feedback of
S-WARN-3) never depends on holidays: it is registered so the registry lists every deadline of the
product, is never estimated and is never recomputed.
"""

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import models

from apps.audit.services import log_change, snapshot
from apps.core.scoping import unscoped

from .choices import DeadlineKind

ESTIMATE_BADGE = "预估"
ESTIMATE_COLUMN = "期限说明"  # the last column of an exported list that shows a stored deadline
RECOMPUTE_PURPOSE = "节假日安排变更，系统重新计算期限"


def estimate_reason(years: Iterable[int]) -> str:
    """``"2027 年节假日尚未录入"`` for the unknown ``years`` (several joined with 、); empty for none."""
    years = sorted(set(years))
    if not years:
        return ""
    return f"{'、'.join(str(y) for y in years)} 年节假日尚未录入"


def estimate_note(reason: str) -> str:
    """An export cell next to a stored deadline: "预估：2027 年节假日尚未录入", or empty when exact."""
    return f"{ESTIMATE_BADGE}：{reason}" if reason else ""


@dataclass(frozen=True)
class StoredDeadline:
    """What a module stores for one deadline: the date, whether it is an estimate, and why."""

    due: dt.date
    estimated: bool
    reason: str

    def fields(self, due_field: str) -> dict:
        """The model field values, for ``Model(**…)`` or ``queryset.update(**…)``."""
        return {
            due_field: self.due,
            estimated_field(due_field): self.estimated,
            reason_field(due_field): self.reason,
        }


def estimated_field(due_field: str) -> str:
    return f"{due_field}_estimated"


def reason_field(due_field: str) -> str:
    return f"{due_field}_estimate_reason"


def stored_deadline(start: dt.date, days: int, kind: str = DeadlineKind.WORKING, calendar=None) -> StoredDeadline:
    """Compute a deadline to store: ``days`` working (or calendar) days after ``start``, with its flag."""
    from .services import WorkCalendar

    deadline = (calendar or WorkCalendar()).deadline(start, days, kind)
    return StoredDeadline(deadline.due, bool(deadline.assumed_years), estimate_reason(deadline.assumed_years))


# --- the registry --------------------------------------------------------------------------------


def _nobody(row) -> Iterable:
    return ()


def _no_url(row) -> str:
    return ""


@dataclass(frozen=True)
class DeadlineSource:
    """One kind of stored deadline, as a module describes it to the recompute.

    ``open_records`` returns the records still waiting on the deadline (it is called inside
    ``unscoped``); ``start`` gives the day the period counts from (the day itself never counts);
    ``days`` the length — when None, the stored period is measured on the calendar in force before the
    change (for lengths that came from settings which may have changed since). ``notify`` names the
    people responsible for a record, told when its deadline moves earlier; ``url`` the record's page.
    """

    name: str
    label: str
    due_field: str
    open_records: Callable[[], models.QuerySet]
    start: Callable[[models.Model], dt.date]
    days: Callable[[models.Model], int] | None = None
    kind: str = DeadlineKind.WORKING
    notify: Callable[[models.Model], Iterable] = _nobody
    url: Callable[[models.Model], str] = _no_url
    describe: Callable[[models.Model], str] = field(default=str)

    @property
    def estimated_field(self) -> str:
        return estimated_field(self.due_field)

    @property
    def reason_field(self) -> str:
        return reason_field(self.due_field)

    @property
    def depends_on_calendar(self) -> bool:
        return self.kind == DeadlineKind.WORKING


_SOURCES: dict[str, DeadlineSource] = {}


def register_deadline_source(source: DeadlineSource) -> None:
    """Add (or, under the same name, replace) a deadline source; call from ``AppConfig.ready``."""
    if source.kind not in DeadlineKind.values:
        raise ValueError(f"unknown deadline kind {source.kind!r}")
    if source.depends_on_calendar:
        model = source.open_records().model
        for name in (source.due_field, source.estimated_field, source.reason_field):
            model._meta.get_field(name)  # FieldDoesNotExist at start-up, not at the first recompute
    _SOURCES[source.name] = source


def deadline_sources() -> list[DeadlineSource]:
    return list(_SOURCES.values())


# --- the recompute -------------------------------------------------------------------------------


@dataclass
class _Pending:
    source: DeadlineSource
    row: models.Model
    start: dt.date
    days: int


@dataclass(frozen=True)
class MovedDeadline:
    source: DeadlineSource
    row: models.Model
    before: StoredDeadline
    after: StoredDeadline

    @property
    def earlier(self) -> bool:
        return self.after.due < self.before.due


@dataclass
class RecomputePlan:
    years: tuple[int, ...]
    pending: list[_Pending]
    moved: list[MovedDeadline] = field(default_factory=list)


def _touches(start: dt.date, due: dt.date, years: tuple[int, ...]) -> bool:
    """Whether the counted days (after ``start`` up to ``due``) include a day of one of ``years``."""
    return any(start < dt.date(y, 12, 31) and due >= dt.date(y, 1, 1) for y in years)


def plan_recompute(years: Iterable[int]) -> RecomputePlan:
    """Before a change to the calendar of ``years``: lock the open records it may move and measure them.

    Must run inside the transaction that changes the calendar, before the change is written.
    """
    from .services import WorkCalendar

    years = tuple(sorted(set(years)))
    pending: list[_Pending] = []
    if not years:
        return RecomputePlan(years, pending)
    calendar = WorkCalendar()
    first_day = dt.date(years[0], 1, 1)
    for source in deadline_sources():
        if not source.depends_on_calendar:
            continue
        with unscoped(f"重新计算{source.label}：节假日安排变更影响所有单位的期限"):
            rows = list(
                source.open_records()
                .filter(**{f"{source.due_field}__gte": first_day})
                .select_for_update(of=("self",))
                .order_by("pk")
            )
        for row in rows:
            start, due = source.start(row), getattr(row, source.due_field)
            if due is None or not _touches(start, due, years):
                continue
            days = source.days(row) if source.days else calendar.working_days_between(start, due)
            pending.append(_Pending(source, row, start, days))
    return RecomputePlan(years, pending)


def apply_recompute(plan: RecomputePlan, *, actor) -> list[MovedDeadline]:
    """After the calendar change is written: store, audit and announce every deadline it moved or re-flagged."""
    from .services import WorkCalendar

    calendar = WorkCalendar()
    for item in plan.pending:
        source, row = item.source, item.row
        before = StoredDeadline(
            getattr(row, source.due_field), getattr(row, source.estimated_field), getattr(row, source.reason_field)
        )
        after = stored_deadline(item.start, item.days, source.kind, calendar)
        if after == before:
            continue
        names = [source.due_field, source.estimated_field, source.reason_field]
        old = snapshot(row, fields=names)
        values = after.fields(source.due_field)
        type(row)._base_manager.filter(pk=row.pk).update(**values)
        for name, value in values.items():
            setattr(row, name, value)
        log_change(actor, row, old, snapshot(row, fields=names), purpose=RECOMPUTE_PURPOSE)
        moved = MovedDeadline(source, row, before, after)
        plan.moved.append(moved)
        if moved.earlier:
            _announce(moved, plan.years)
    return plan.moved


def _announce(moved: MovedDeadline, years: tuple[int, ...]) -> None:
    from apps.notifications.services import notify_user

    source, row = moved.source, moved.row
    year_text = "、".join(str(y) for y in years)
    body = (
        f"{source.describe(row)}的{source.label}因 {year_text} 年节假日安排变更，"
        f"由 {moved.before.due:%Y年%m月%d日} 提前到 {moved.after.due:%Y年%m月%d日}，请按新期限办理。"
    )
    seen = set()
    for user in moved.source.notify(row):
        if user is None or not user.is_active or user.pk in seen:
            continue
        seen.add(user.pk)
        notify_user(
            user=user,
            template="generic",
            context={"title": f"{source.label}提前了", "body": body},
            url=source.url(row),
        )


def flag_existing_rows(model_label: str, due_field: str, open_filter: dict, start: Callable) -> Callable:
    """A ``RunPython`` step that flags the open rows stored before the flag existed.

    It uses the historical models (the override table as it is at that migration), so it keeps
    working whatever the models become later.
    """

    def run(apps, schema_editor):
        from .services import PACKAGE_YEARS

        override = apps.get_model("workdays", "CalendarOverride")
        known = set(PACKAGE_YEARS) | {d.year for d in override.objects.values_list("date", flat=True)}
        model = apps.get_model(*model_label.split("."))
        rows = model._base_manager.filter(**open_filter).exclude(**{f"{due_field}__isnull": True})
        for row in rows.iterator():
            first, due = start(row) + dt.timedelta(days=1), getattr(row, due_field)
            years = [y for y in range(first.year, due.year + 1) if y not in known] if due >= first else []
            if years:
                model._base_manager.filter(pk=row.pk).update(
                    **{estimated_field(due_field): True, reason_field(due_field): estimate_reason(years)}
                )

    return run
