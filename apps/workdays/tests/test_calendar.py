"""The statutory calendar and deadlines: package data, overrides, unknown years."""

import datetime as dt

import chinese_calendar
import pytest
from django.core.exceptions import ValidationError

from apps.workdays import selectors, services
from apps.workdays.choices import DayKind, DeadlineKind
from apps.workdays.models import CalendarOverride
from apps.workdays.services import PACKAGE_YEARS, WorkCalendar

D = dt.date.fromisoformat
NEXT_YEAR = max(PACKAGE_YEARS) + 1  # the first year the installed package does not know
FAR_YEAR = 2099  # no package release will ever know it


def days(first: str, last: str) -> list[dt.date]:
    start, end = D(first), D(last)
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def override(day: str, is_workday: bool, name: str = "测试") -> CalendarOverride:
    return services.do_create_override(actor=None, date=D(day), is_workday=is_workday, name=name)


pytestmark = pytest.mark.django_db


def test_spring_festival_2025():
    """S-FLOW-4, S-QUAL-2: 2025 Spring Festival — 1/28–2/4 off; Sun 1/26 and Sat 2/8 are working days."""
    assert not any(services.is_working_day(d) for d in days("2025-01-28", "2025-02-04"))
    assert services.is_working_day(D("2025-01-26")) and D("2025-01-26").weekday() == 6
    assert services.is_working_day(D("2025-02-08")) and D("2025-02-08").weekday() == 5
    assert services.is_working_day(D("2025-01-27")) and services.is_working_day(D("2025-02-05"))
    assert not services.is_working_day(D("2025-01-25"))  # an ordinary Saturday
    assert services.WorkCalendar().status(D("2025-01-29")).name == "春节"


def test_national_day_2025():
    """S-FLOW-4, S-QUAL-2: 2025 National Day and Mid-autumn — 10/1–10/8 off; Sun 9/28 and Sat 10/11 work."""
    assert not any(services.is_working_day(d) for d in days("2025-10-01", "2025-10-08"))
    assert services.is_working_day(D("2025-09-28")) and D("2025-09-28").weekday() == 6
    assert services.is_working_day(D("2025-10-11")) and D("2025-10-11").weekday() == 5
    assert services.is_working_day(D("2025-09-30")) and services.is_working_day(D("2025-10-09"))


def test_spring_festival_and_national_day_2026():
    """S-FLOW-4, S-QUAL-2: 2026 — Spring Festival 2/15–2/23 off with Sat 2/14 and Sat 2/28 working;
    National Day 10/1–10/7 off with Sun 9/20 and Sat 10/10 working (as chinese_calendar has it)."""
    assert not any(services.is_working_day(d) for d in days("2026-02-15", "2026-02-23"))
    assert services.is_working_day(D("2026-02-14")) and services.is_working_day(D("2026-02-28"))
    assert services.is_working_day(D("2026-02-13")) and services.is_working_day(D("2026-02-24"))
    assert not any(services.is_working_day(d) for d in days("2026-10-01", "2026-10-07"))
    assert services.is_working_day(D("2026-09-20")) and services.is_working_day(D("2026-10-10"))
    assert services.is_working_day(D("2026-10-08"))
    for day in ("2026-02-14", "2026-02-15", "2026-02-23", "2026-02-28", "2026-09-20", "2026-10-07", "2026-10-10"):
        assert services.is_working_day(D(day)) == chinese_calendar.is_workday(D(day))


def test_every_day_of_2025_and_2026_matches_the_package():
    """S-FLOW-4: without overrides, every day of 2025 and 2026 is what chinese_calendar says."""
    calendar = WorkCalendar()
    for day in days("2025-01-01", "2026-12-31"):
        assert calendar.is_working_day(day) == chinese_calendar.is_workday(day), day


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        # Friday before Spring Festival 2025: Sun 1/26 (adjusted) = 1, Mon 1/27 = 2, holiday, Wed 2/5 = 3.
        ("2025-01-24", 3, "2025-02-05"),
        # Friday before National Day 2025: Sun 9/28 = 1, 9/29 = 2, 9/30 = 3, holiday, 10/9 = 4, 10/10 = 5.
        ("2025-09-26", 5, "2025-10-10"),
        # Friday before Spring Festival 2026: Sat 2/14 (adjusted) = 1, holiday to 2/23, 2/24 = 2, 2/25 = 3.
        ("2026-02-13", 3, "2026-02-25"),
        # Eve of National Day 2026: 10/8 = 1, 10/9 = 2, Sat 10/10 (adjusted) = 3.
        ("2026-09-30", 3, "2026-10-10"),
        # An ordinary Friday: the day of receipt does not count, one working day is Monday.
        ("2025-03-07", 1, "2025-03-10"),
        ("2025-03-07", 0, "2025-03-07"),
        # Received on a Saturday: Monday is the first working day.
        ("2025-03-08", 1, "2025-03-10"),
    ],
)
def test_add_working_days(start, n, due):
    """S-FLOW-4 (3 working days), S-QUAL-2 (5 working days): the day of receipt does not count;
    weekends and holidays are skipped; adjusted working weekends count."""
    assert services.add_working_days(D(start), n) == D(due)
    assert services.working_days_between(D(start), D(due)) == n


def test_three_working_days_from_the_friday_before_spring_festival_explains_itself():
    """S-FLOW-4: the deadline lists the holiday days it skipped and assumes no unknown year."""
    deadline = services.compute_deadline(D("2025-01-24"), 3, DeadlineKind.WORKING)
    assert deadline.due == D("2025-02-05")
    assert [s.date for s in deadline.skipped] == [D("2025-01-25")] + days("2025-01-28", "2025-02-04")
    assert {s.kind for s in deadline.skipped} == {DayKind.WEEKEND, DayKind.HOLIDAY}
    assert deadline.assumed_years == () and deadline.warning == ""


def test_calendar_days_count_holidays():
    """S-WARN-3: calendar-day deadlines run through holidays."""
    assert services.add_days(D("2025-01-27"), 3) == D("2025-01-30")
    assert services.compute_deadline(D("2025-01-27"), 3, DeadlineKind.CALENDAR).due == D("2025-01-30")


def test_working_days_between_is_signed():
    assert services.working_days_between(D("2025-02-05"), D("2025-01-24")) == -3
    assert services.working_days_between(D("2025-01-24"), D("2025-01-24")) == 0


@pytest.mark.parametrize(
    ("start", "n", "message"),
    [
        (D("2025-01-24"), -1, "不能为负数"),
        (D("2025-01-24"), 3661, "不能超过 3660"),
        (D("2025-01-24"), 1.5, "须为整数"),
        (D("1899-12-31"), 1, "1900—2100"),
        ("2025-01-24", 1, "有效的日期"),
        (dt.datetime(2025, 1, 24, 9, 0, tzinfo=dt.UTC), 1, "有效的日期"),
    ],
)
def test_bad_deadline_input_is_refused(start, n, message):
    """S-FLOW-4: bad input gets a Chinese message instead of a wrong date."""
    with pytest.raises(ValidationError, match=message):
        services.add_working_days(start, n)


def test_unknown_kind_is_refused():
    with pytest.raises(ValidationError, match="工作日或自然日"):
        services.compute_deadline(D("2025-01-24"), 3, "weeks")


def test_override_beats_the_package():
    """S-FLOW-4, S-QUAL-2: an administrator's override wins over chinese_calendar, both ways."""
    assert services.add_working_days(D("2025-09-26"), 5) == D("2025-10-10")
    override("2025-10-08", True, "国庆节更正")  # a package holiday made a working day
    assert services.is_working_day(D("2025-10-08"))
    assert services.add_working_days(D("2025-09-26"), 5) == D("2025-10-09")
    override("2025-09-29", False, "台风停工")  # an ordinary Monday made a day off
    assert not services.is_working_day(D("2025-09-29"))
    assert services.add_working_days(D("2025-09-26"), 5) == D("2025-10-10")
    status = WorkCalendar().status(D("2025-09-29"))
    assert status.overridden and status.name == "台风停工" and status.kind == DayKind.HOLIDAY


def test_unknown_year_falls_back_to_monday_to_friday_and_says_so():
    """S-FLOW-4, S-QUAL-2: a year neither the package nor an override knows counts Monday–Friday,
    and the deadline reports the assumption."""
    assert not services.year_known(FAR_YEAR)
    assert services.is_working_day(D(f"{FAR_YEAR}-01-01"))  # New Year's Day, but nobody entered it
    assert not services.is_working_day(D(f"{FAR_YEAR}-01-03"))  # a Saturday
    deadline = services.compute_deadline(D(f"{FAR_YEAR - 1}-12-30"), 3)
    assert deadline.due == D(f"{FAR_YEAR}-01-02")
    assert deadline.assumed_years == (FAR_YEAR - 1, FAR_YEAR)
    assert f"{FAR_YEAR}年" in deadline.warning and "周一至周五" in deadline.warning
    assert WorkCalendar().status(D(f"{FAR_YEAR}-01-01")).assumed


def test_entering_next_years_notice_makes_the_year_known():
    """S-FLOW-4: once next year's holiday notice is entered, the warning goes away and the entered
    days count; days the notice does not list follow Monday–Friday."""
    today = dt.date(max(PACKAGE_YEARS), 10, 15)
    assert selectors.unknown_years(today=today) == [NEXT_YEAR]
    assert selectors.unknown_years(dt.date(max(PACKAGE_YEARS), 12, 31), today=today) == []
    assert services.add_working_days(D(f"{NEXT_YEAR}-01-01"), 0) == D(f"{NEXT_YEAR}-01-01")
    first_monday = next(d for d in days(f"{NEXT_YEAR}-01-04", f"{NEXT_YEAR}-01-10") if d.weekday() == 0)
    override(first_monday.isoformat(), False, "测试假日")
    assert services.year_known(NEXT_YEAR)
    assert selectors.unknown_years(today=today) == []
    assert not services.is_working_day(first_monday)
    assert services.is_working_day(first_monday + dt.timedelta(days=1))
    assert not WorkCalendar().status(first_monday + dt.timedelta(days=1)).assumed


def test_calendar_reads_overrides_once_per_year(django_assert_num_queries):
    """S-FLOW-4: computing many deadlines in a batch costs one query per year touched."""
    calendar = WorkCalendar()
    with django_assert_num_queries(2):
        for start in days("2025-12-01", "2025-12-31"):
            calendar.add_working_days(start, 5)


def test_year_calendar_groups_festivals():
    """S-FLOW-4: the year view shows each holiday's days off and adjusted working days."""
    year = selectors.year_calendar(2025)
    assert year.known and len(year.months) == 12
    spring = next(f for f in year.festivals if f.name == "春节")
    assert spring.off == [(D("2025-01-28"), D("2025-02-04"))] and spring.days_off == 8
    assert spring.work == [D("2025-01-26"), D("2025-02-08")]
    january = year.months[0]
    cells = {c.date: c for week in january.weeks for c in week if c}
    assert len(cells) == 31 and january.weeks[0][:2] == [None, None]  # 2025-01-01 is a Wednesday
    assert cells[D("2025-01-26")].kind == DayKind.ADJUSTED_WORKDAY
    assert year.working_days == sum(chinese_calendar.is_workday(d) for d in days("2025-01-01", "2025-12-31"))
    assert not selectors.year_calendar(FAR_YEAR).known
