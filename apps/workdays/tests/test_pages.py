"""Pages of the working-day calendar: who may open them, and what they show and refuse."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from apps.workdays import selectors
from apps.workdays.models import CalendarOverride
from apps.workdays.services import PACKAGE_YEARS
from conftest import make_user

pytestmark = pytest.mark.urls("apps.workdays.tests.urls")

D = dt.date.fromisoformat


@pytest.fixture
def calendar_admin(tree):
    return make_user("calendar_admin", tree.city, "system_admin", full_name="日历管理员")


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


MANAGE_PAGES = [
    ("get", "workdays:override-list", {}),
    ("get", "workdays:override-create", {}),
    ("post", "workdays:override-create", {}),
    ("get", "workdays:override-import", {}),
    ("post", "workdays:override-import", {}),
]


@pytest.mark.parametrize(("method", "name", "kwargs"), MANAGE_PAGES)
def test_calendar_pages_need_calendar_manage(tree, district_admin, counsellor_a, method, name, kwargs):
    """S-FLOW-4: users without calendar.manage get 403; anonymous users go to the login page."""
    url = reverse(name, kwargs=kwargs)
    for user in (district_admin, counsellor_a):
        assert getattr(client_for(user), method)(url).status_code == 403
    response = getattr(client_for(None), method)(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_edit_and_delete_of_an_override_need_calendar_manage(tree, district_admin):
    """S-FLOW-4: a user without calendar.manage can neither change nor delete an override."""
    row = CalendarOverride.objects.create(date=D("2099-01-01"), is_workday=False, name="元旦")
    client = client_for(district_admin)
    assert client.get(reverse("workdays:override-edit", args=[row.pk])).status_code == 403
    assert client.post(reverse("workdays:override-delete", args=[row.pk])).status_code == 403
    assert CalendarOverride.objects.filter(pk=row.pk).exists()


def test_calculator_and_year_view_are_open_to_any_logged_in_user(tree, nobody):
    """S-FLOW-4: any staff member may compute a deadline and look at the year."""
    client = client_for(nobody)
    response = client.get(reverse("workdays:calculator"), {"start": "2025-01-24", "days": "3", "kind": "working"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="deadline-due">2025-02-05' in html
    assert "2025-01-29" in html and "春节" in html  # a skipped holiday is listed
    assert client.get(reverse("workdays:year", args=[2025])).status_code == 200
    anonymous = client_for(None).get(reverse("workdays:calculator"))
    assert anonymous.status_code == 302


def test_calculator_shows_errors_and_the_unknown_year_warning(tree, nobody):
    """S-FLOW-4: bad input gets a Chinese message; a deadline in an unknown year warns."""
    client = client_for(nobody)
    bad = client.get(reverse("workdays:calculator"), {"start": "2025-02-30", "days": "-1", "kind": "working"})
    assert "请填写有效的日期" in bad.content.decode()
    negative = client.get(reverse("workdays:calculator"), {"start": "2025-01-24", "days": "-1", "kind": "working"})
    assert "天数不能为负数" in negative.content.decode()
    assumed = client.get(reverse("workdays:calculator"), {"start": "2099-01-01", "days": "3", "kind": "working"})
    assert 'data-testid="deadline-warning"' in assumed.content.decode()
    assert "2099年的节假日安排尚未录入" in assumed.content.decode()


def test_year_view_marks_holidays_and_adjusted_days(tree, nobody):
    """S-FLOW-4: the year view shows 2025's Spring Festival days off and its two working weekends."""
    html = client_for(nobody).get(reverse("workdays:year", args=[2025])).content.decode()
    assert 'data-date="2025-01-26" data-kind="adjusted_workday"' in html
    assert 'data-date="2025-01-28" data-kind="holiday"' in html
    assert 'data-date="2025-02-08" data-kind="adjusted_workday"' in html
    assert 'data-date="2025-01-25" data-kind="weekend"' in html
    assert 'data-testid="unknown-year"' not in html
    far = client_for(nobody).get(reverse("workdays:year", args=[2099])).content.decode()
    assert 'data-testid="unknown-year"' in far and "请联系系统管理员录入" in far
    assert client_for(nobody).get("/workdays/year/2101/").status_code == 404


def test_admin_sees_the_unknown_year_warning(calendar_admin, monkeypatch):
    """S-FLOW-4, S-QUAL-2: when next year is unknown, the calendar page tells administrators
    that deadlines fall back to Monday–Friday; entering the notice removes the warning."""
    next_year = max(PACKAGE_YEARS) + 1
    monkeypatch.setattr(selectors.timezone, "localdate", lambda: dt.date(next_year - 1, 11, 20))
    client = client_for(calendar_admin)
    html = client.get(reverse("workdays:override-list")).content.decode()
    assert 'data-testid="unknown-years"' in html and f"{next_year}年的法定节假日安排尚未录入" in html
    assert "周一至周五" in html
    CalendarOverride.objects.create(date=dt.date(next_year, 1, 1), is_workday=False, name="元旦")
    html = client.get(reverse("workdays:override-list")).content.decode()
    assert 'data-testid="unknown-years"' not in html


def test_admin_adds_edits_and_deletes_an_override(calendar_admin):
    """S-FLOW-4: the form saves a valid day, refuses a duplicate date with a Chinese message."""
    client = client_for(calendar_admin)
    url = reverse("workdays:override-create")
    response = client.post(url, {"date": "2099-01-01", "is_workday": "0", "name": "元旦", "note": ""})
    assert response.status_code == 302 and response["Location"].endswith("?year=2099")
    row = CalendarOverride.objects.get()
    assert (row.date, row.is_workday, row.name, row.created_by) == (D("2099-01-01"), False, "元旦", calendar_admin)

    duplicate = client.post(url, {"date": "2099-01-01", "is_workday": "1", "name": "重复"})
    assert duplicate.status_code == 200 and "2099-01-01 已有调整记录（元旦）" in duplicate.content.decode()
    blank = client.post(url, {"date": "2099-01-02", "is_workday": "0", "name": ""})
    assert "请填写名称" in blank.content.decode()
    long = client.post(url, {"date": "2099-01-02", "is_workday": "0", "name": "节" * 51})
    assert "不能超过 50 个字符" in long.content.decode()
    bad_date = client.post(url, {"date": "2099-13-01", "is_workday": "0", "name": "元旦"})
    assert "请填写有效的日期" in bad_date.content.decode()
    assert CalendarOverride.objects.count() == 1

    listing = client.get(reverse("workdays:override-list"), {"year": "2099"}).content.decode()
    assert "元旦" in listing and "2099-01-01" in listing

    edit = reverse("workdays:override-edit", args=[row.pk])
    assert 'value="2099-01-01"' in client.get(edit).content.decode()
    client.post(edit, {"date": "2099-01-01", "is_workday": "1", "name": "元旦调休"})
    row.refresh_from_db()
    assert row.is_workday and row.name == "元旦调休"

    client.post(reverse("workdays:override-delete", args=[row.pk]))
    assert not CalendarOverride.objects.exists()
    assert client.get(reverse("workdays:override-edit", args=[row.pk])).status_code == 404


def test_admin_imports_a_notice_all_or_nothing(calendar_admin):
    """S-FLOW-4: the import page reports every bad line in Chinese and writes nothing, then imports."""
    client = client_for(calendar_admin)
    url = reverse("workdays:override-import")
    bad = client.post(url, {"text": "2099-01-01,休,元旦\n2099-01-32,休,春节\n2099-01-24,放,春节"})
    html = bad.content.decode()
    assert 'data-testid="import-errors"' in html and "没有导入任何记录" in html
    assert "第2行：日期“2099-01-32”无效" in html and "第3行：第二列应为“休”或“班”" in html
    assert "2099-01-32,休,春节" in html  # the pasted text is kept for correction
    assert not CalendarOverride.objects.exists()
    good = client.post(url, {"text": "2099-01-01,休,元旦\n2099-01-24,休,春节\n2099-01-31,班,春节调休"})
    assert good.status_code == 302 and good["Location"].endswith("?year=2099")
    assert CalendarOverride.objects.count() == 3


def test_override_list_is_keyset_paginated(calendar_admin, settings):
    """S-FLOW-4: the list pages by id without OFFSET."""
    settings.PAGE_SIZE = 2
    for day in ("2099-01-03", "2099-01-01", "2099-01-02"):
        CalendarOverride.objects.create(date=D(day), is_workday=False, name="测试")
    client = client_for(calendar_admin)
    first = client.get(reverse("workdays:override-list")).content.decode()
    assert "2099-01-03" in first and "2099-01-01" in first and "2099-01-02" not in first
    last_id = CalendarOverride.objects.get(date=D("2099-01-01")).pk
    assert f"after={last_id}" in first
    second = client.get(reverse("workdays:override-list"), {"after": last_id}).content.decode()
    assert "2099-01-02" in second and "2099-01-03" not in second


def test_menu_entry_only_for_calendar_managers(calendar_admin, district_admin):
    """S-FLOW-4: the left menu offers the calendar to those who maintain it."""
    entry = '<i class="bi bi-calendar3"></i> 节假日日历'
    assert entry in client_for(calendar_admin).get(reverse("workdays:calculator")).content.decode()
    assert entry not in client_for(district_admin).get(reverse("workdays:calculator")).content.decode()
