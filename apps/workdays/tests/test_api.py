"""REST API of the calendar: overrides for calendar managers, deadlines for every logged-in user."""

import datetime as dt

import pytest
from django.test import Client

from apps.workdays.models import CalendarOverride
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


def test_deadline_endpoint(tree, counsellor_a):
    """S-FLOW-4, S-QUAL-2: any logged-in user computes a deadline on the statutory calendar."""
    client = client_for(counsellor_a)
    body = client.get("/api/workdays/deadline/", {"start": "2025-09-26", "days": 5}).json()
    assert body["deadline"] == "2025-10-10" and body["kind"] == "working"
    assert [d["date"] for d in body["skipped"]][:1] == ["2025-09-27"]
    assert {"date": "2025-10-01", "name": "国庆节", "kind": "holiday"} in body["skipped"]
    assert body["assumed_years"] == [] and body["warning"] == ""
    calendar = client.get("/api/workdays/deadline/", {"start": "2025-09-26", "days": 5, "kind": "calendar"}).json()
    assert calendar["deadline"] == "2025-10-01" and calendar["skipped"] == []
    far = client.get("/api/workdays/deadline/", {"start": "2099-01-01", "days": 1}).json()
    assert far["assumed_years"] == [2099] and "周一至周五" in far["warning"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"days": 3}, "start", "必填"),
        ({"start": "2025-02-30", "days": 3}, "start", "日期格式错误"),
        ({"start": "2025-01-24", "days": -1}, "detail", "天数不能为负数"),
        ({"start": "2025-01-24", "days": 3, "kind": "weeks"}, "kind", "weeks"),
        ({"start": "2201-01-01", "days": 3}, "detail", "1900—2100"),
    ],
)
def test_deadline_endpoint_refuses_bad_input(tree, counsellor_a, params, field, message):
    """S-FLOW-4: bad query parameters answer 400 with a Chinese message."""
    response = client_for(counsellor_a).get("/api/workdays/deadline/", params)
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])


def test_deadline_endpoint_needs_login(tree):
    assert client_for(None).get("/api/workdays/deadline/", {"start": "2025-01-24", "days": 3}).status_code == 403


def test_override_api_needs_calendar_manage(tree, district_admin, counsellor_a):
    """S-FLOW-4: a user without calendar.manage gets 403 on every override endpoint and writes nothing."""
    row = CalendarOverride.objects.create(date=D("2099-01-01"), is_workday=False, name="元旦")
    for user in (district_admin, counsellor_a, None):
        client = client_for(user)
        assert client.get("/api/calendar-overrides/").status_code == 403
        assert client.get(f"/api/calendar-overrides/{row.pk}/").status_code == 403
        body = {"date": "2099-01-02", "is_workday": False, "name": "元旦"}
        assert client.post("/api/calendar-overrides/", body, content_type="application/json").status_code == 403
        assert (
            client.patch(f"/api/calendar-overrides/{row.pk}/", {"name": "改"}, content_type="application/json")
        ).status_code == 403
        assert client.delete(f"/api/calendar-overrides/{row.pk}/").status_code == 403
        imported = client.post(
            "/api/calendar-overrides/import/", {"text": "2099-01-03,休,元旦"}, content_type="application/json"
        )
        assert imported.status_code == 403
    assert list(CalendarOverride.objects.values_list("date", "name")) == [(D("2099-01-01"), "元旦")]


def test_override_api_for_calendar_managers(calendar_admin):
    """S-FLOW-4: create, filter, patch and delete overrides; duplicates answer 400 in Chinese."""
    client = client_for(calendar_admin)
    created = client.post(
        "/api/calendar-overrides/",
        {"date": "2099-01-01", "is_workday": False, "name": "元旦"},
        content_type="application/json",
    )
    assert created.status_code == 201
    data = created.json()
    assert data["name"] == "元旦" and data["created_by_name"] == "日历管理员"
    duplicate = client.post(
        "/api/calendar-overrides/",
        {"date": "2099-01-01", "is_workday": True, "name": ""},
        content_type="application/json",
    )
    assert duplicate.status_code == 400
    errors = duplicate.json()
    assert "已有调整记录（元旦）" in errors["date"][0] and "请填写名称" in errors["name"][0]
    CalendarOverride.objects.create(date=D("2098-10-01"), is_workday=False, name="国庆节")
    listing = client.get("/api/calendar-overrides/", {"year": 2099}).json()
    assert [r["date"] for r in listing["results"]] == ["2099-01-01"]
    patched = client.patch(f"/api/calendar-overrides/{data['id']}/", {"note": "测试"}, content_type="application/json")
    assert patched.status_code == 200 and patched.json()["name"] == "元旦" and patched.json()["note"] == "测试"
    assert client.delete(f"/api/calendar-overrides/{data['id']}/").status_code == 204
    assert client.get(f"/api/calendar-overrides/{data['id']}/").status_code == 404


def test_notice_import_api_is_all_or_nothing(calendar_admin):
    """S-FLOW-4: the API import reports each bad line and writes nothing unless all are valid."""
    client = client_for(calendar_admin)
    bad = client.post(
        "/api/calendar-overrides/import/",
        {"text": "2099-01-01,休,元旦\n2099-01-24,放,春节"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["detail"] == ["第2行：第二列应为“休”或“班”，不能是“放”。"]
    assert not CalendarOverride.objects.exists()
    good = client.post(
        "/api/calendar-overrides/import/",
        {"text": "2099-01-01,休,元旦\n2099-01-31,班,春节调休"},
        content_type="application/json",
    )
    assert good.status_code == 201
    assert [r["date"] for r in good.json()["created"]] == ["2099-01-01", "2099-01-31"]
    assert CalendarOverride.objects.count() == 2


def test_schema_documents_the_calendar_api(calendar_admin):
    """X-6: the OpenAPI schema includes the override and deadline endpoints."""
    schema = client_for(calendar_admin).get("/api/schema/", {"format": "json"}).json()
    assert "/api/workdays/deadline/" in schema["paths"]
    params = {p["name"] for p in schema["paths"]["/api/workdays/deadline/"]["get"]["parameters"]}
    assert {"start", "days", "kind"} <= params
    assert "/api/calendar-overrides/import/" in schema["paths"]
