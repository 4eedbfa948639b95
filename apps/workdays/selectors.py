"""Reads of the working-day calendar.

The calendar is national, not owned by an org unit, so nothing here is scoped by unit; the
views decide who may open which page (``calendar.manage`` for the overrides).
"""

import calendar
import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet
from django.db.models.functions import ExtractYear
from django.http import Http404
from django.utils import timezone

from apps.core.access import can
from apps.core.perms import Perm

from .models import CalendarOverride
from .services import ONE_DAY, PACKAGE_YEARS, DayStatus, WorkCalendar

# How far ahead the calendar page looks for unknown years: next year's notice is published in
# October or November, so from early October on the warning asks for it.
WARNING_HORIZON = dt.timedelta(days=90)


def override_rows(filters: dict | None = None) -> QuerySet:
    """Overrides, optionally of one year (``year``) and one status (``kind``: ``work`` or ``off``)."""
    rows = CalendarOverride.objects.select_related("created_by")
    filters = filters or {}
    if filters.get("year"):
        rows = rows.filter(date__year=filters["year"])
    if filters.get("kind") in ("work", "off"):
        rows = rows.filter(is_workday=filters["kind"] == "work")
    return rows


def access_override_by_id(user, pk) -> CalendarOverride:
    """One override for someone who maintains the calendar; 404 otherwise, as for a missing row."""
    if not can(user, Perm.CALENDAR_MANAGE):
        raise Http404
    try:
        return CalendarOverride.objects.get(pk=int(pk))
    except (TypeError, ValueError, CalendarOverride.DoesNotExist):
        raise Http404 from None


def unknown_years(horizon: dt.date | None = None, *, today: dt.date | None = None) -> list[int]:
    """Years from today's to ``horizon``'s that neither the package nor an override covers.

    Deadlines falling in such a year are computed on Monday–Friday only. ``horizon`` defaults to
    90 days ahead.
    """
    today = today or timezone.localdate()
    horizon = horizon or today + WARNING_HORIZON
    return list(WorkCalendar().unknown_years(today, max(today, horizon)))


@dataclass(frozen=True)
class YearStatus:
    year: int
    in_package: bool
    override_count: int

    @property
    def known(self) -> bool:
        return self.in_package or self.override_count > 0


def year_statuses(years) -> list[YearStatus]:
    """For each year: does the package know it, and how many overrides it has (one query)."""
    years = list(years)
    counts = dict(
        CalendarOverride.objects.filter(date__year__gte=min(years), date__year__lte=max(years))
        .annotate(year=ExtractYear("date"))
        .values("year")
        .annotate(n=Count("id"))
        .values_list("year", "n")
    )
    return [YearStatus(y, y in PACKAGE_YEARS, counts.get(y, 0)) for y in years]


def override_years() -> list[int]:
    """The years that have at least one override, newest first."""
    return [d.year for d in CalendarOverride.objects.dates("date", "year", order="DESC")]


@dataclass(frozen=True)
class MonthGrid:
    """One month as weeks of seven cells, Monday first; ``None`` outside the month."""

    month: int
    weeks: list[list[DayStatus | None]]


@dataclass
class Festival:
    """The days off and adjusted working days that carry one holiday's name in a year."""

    name: str
    off: list[tuple[dt.date, dt.date]] = field(default_factory=list)  # runs of consecutive days off
    work: list[dt.date] = field(default_factory=list)

    @property
    def days_off(self) -> int:
        return sum((last - first).days + 1 for first, last in self.off)


@dataclass(frozen=True)
class YearCalendar:
    year: int
    known: bool
    months: list[MonthGrid]
    festivals: list[Festival]
    working_days: int
    overrides: int


def year_calendar(year: int) -> YearCalendar:
    """Every day of ``year`` with its status, month by month, and the year's holidays by name."""
    work_calendar = WorkCalendar()
    statuses, day = {}, dt.date(year, 1, 1)
    while day.year == year:
        statuses[day] = work_calendar.status(day)
        day += ONE_DAY
    grid = calendar.Calendar(firstweekday=0)
    months = [
        MonthGrid(
            month,
            [
                [statuses[d] if d.month == month else None for d in week]
                for week in grid.monthdatescalendar(year, month)
            ],
        )
        for month in range(1, 13)
    ]
    festivals: dict[str, Festival] = {}
    for status in statuses.values():
        if not status.name:
            continue
        festival = festivals.setdefault(status.name, Festival(status.name))
        if status.is_workday:
            festival.work.append(status.date)
        elif festival.off and festival.off[-1][1] + ONE_DAY == status.date:
            festival.off[-1] = (festival.off[-1][0], status.date)
        else:
            festival.off.append((status.date, status.date))
    return YearCalendar(
        year=year,
        known=work_calendar.year_known(year),
        months=months,
        festivals=list(festivals.values()),
        working_days=sum(s.is_workday for s in statuses.values()),
        overrides=len(work_calendar.overrides_of(year)),
    )
