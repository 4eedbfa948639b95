"""X-3: the appointment list, the day view, rooms and duty hours export to Excel/CSV like the pages."""

from datetime import time as clock
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.appointments import services
from apps.appointments.models import Availability, Room
from apps.exports.models import ExportJob
from apps.exports.registry import get_dataset
from apps.exports.testing import export_through_http, fresh_client
from conftest import make_user

from .conftest import booking, next_weekday

PHONE = "13912345678"


@pytest.fixture(autouse=True)
def _exports_run_at_once(immediate_exports):
    return immediate_exports


def book(actor, unit, counsellor, starts_at, **extra):
    return services.do_book_appointment(actor=actor, unit=unit, data=booking(counsellor, starts_at, **extra))


@pytest.fixture
def monday(tree):
    return next_weekday(0, 10)


@pytest.fixture
def diary(tree, counsellor_a, counsellor_b, monday):
    """C1 and C2 (street S1) hold three bookings, C3 (sibling street S2) one."""
    counsellor_c3 = make_user("counsellor_c3", tree.c3, "counsellor", full_name="咨询师丙")
    room = Room.objects.create(unit=tree.c1, unit_path=tree.c1.path, name="一号咨询室")
    # Everyone is on duty at the hours booked (issue 13 item 1): Monday, and Tuesday for counsellor_a.
    for unit, who, weekday in (
        (tree.c1, counsellor_a, 0),
        (tree.c1, counsellor_a, 1),
        (tree.c2, counsellor_b, 0),
        (tree.c3, counsellor_c3, 0),
    ):
        Availability.objects.create(
            unit=unit, unit_path=unit.path, counsellor=who, weekday=weekday, start=clock(9), end=clock(12)
        )
    a1 = book(counsellor_a, tree.c1, counsellor_a, monday, room=room)
    a2 = book(counsellor_a, tree.c1, counsellor_a, monday + timedelta(days=1), contact_name="周一鸣")
    b1 = book(counsellor_b, tree.c2, counsellor_b, monday, contact_name="吴二娘")
    services.do_cancel_appointment(actor=counsellor_b, appointment=b1, reason="来访者临时出差")
    s2 = book(counsellor_c3, tree.c3, counsellor_c3, monday, contact_name="郑三")
    return {"a1": a1, "a2": a2, "b1": b1, "s2": s2, "room": room}


def references(dataset, user, filters=None, column=0):
    return [row[column] for row in get_dataset(dataset).rows(user, filters or {})]


def test_appointment_export_is_scoped_masked_and_filtered(diary, street_manager, monday):
    """X-3, S-FLOW-1, S-ORG-2: the sibling street's booking is absent; the phone is masked, needs and basic
    information never appear; status, date and reference narrow the rows as on the list."""
    dataset = get_dataset("appointments")
    rows = list(dataset.rows(street_manager, {}))
    expected = [diary[k].reference for k in ("a1", "b1", "a2")]  # by start time, like the list
    assert [r[0] for r in rows] == expected and diary["s2"].reference not in {r[0] for r in rows}
    assert rows[0][1:] == (
        timezone.localtime(monday).strftime("%Y-%m-%d %H:%M"), "林小雨", "139****5678", "现场", "咨询师甲", "一社区室",
        "已确认",
    )  # fmt: skip
    assert all(len(row) == len(dataset.columns) for row in rows)
    text = repr(rows)
    for canary in (PHONE, "+86" + PHONE, "失眠", "东坡路", "已婚", "出差"):
        assert canary not in text
    assert references("appointments", street_manager, {"status": "cancelled"}) == [diary["b1"].reference]
    day = timezone.localdate(monday).isoformat()
    assert references("appointments", street_manager, {"date": day}) == [diary["a1"].reference, diary["b1"].reference]
    assert references("appointments", street_manager, {"reference": diary["a2"].reference.lower()}) == [
        diary["a2"].reference
    ]
    # junk is ignored as the list ignores it: unknown status = all; a junk date = today (nothing booked today)
    assert references("appointments", street_manager, {"status": "<script>"}) == expected
    assert references("appointments", street_manager, {"date": "2026-13-45"}) == []
    assert references("appointments", street_manager, {"reference": "x" * 200}) == []


def test_day_export_follows_the_day_view(diary, counsellor_a, street_manager, monday):
    """X-3, S-FLOW-2: the day's appointments in time order; ``who=all`` widens "mine" to the scope."""
    day = timezone.localdate(monday).isoformat()
    dataset = get_dataset("appointments_day")
    assert references("appointments_day", counsellor_a, {"date": day}, column=8) == [diary["a1"].reference]
    rows = list(dataset.rows(street_manager, {"date": day, "who": "all"}))
    assert sorted(r[8] for r in rows) == sorted([diary["a1"].reference, diary["b1"].reference])
    assert diary["s2"].reference not in {r[8] for r in rows}
    assert references("appointments_day", street_manager, {"date": day}) == []  # none is the manager's own
    assert all(len(row) == len(dataset.columns) for row in rows)
    assert PHONE not in repr(rows) and "139****5678" in repr(rows)
    assert references("appointments_day", counsellor_a, {"date": "junk", "who": "all"}) == []  # today


def test_rooms_and_duty_hours_export_is_scoped(diary, tree, street_manager, counsellor_a):
    """X-3, S-FLOW-2: rooms and duty hours of the street only."""
    Room.objects.create(unit=tree.c3, unit_path=tree.c3.path, name="三号咨询室")
    Availability.objects.create(
        unit=tree.c3, unit_path=tree.c3.path, counsellor=counsellor_a, weekday=2, start=clock(9), end=clock(12)
    )
    rooms = list(get_dataset("appointment_rooms").rows(street_manager, {"unit": "junk"}))
    assert rooms == [("一社区室", "一号咨询室", "个体咨询室", 2, "启用")]
    hours = list(get_dataset("duty_hours").rows(street_manager, {}))
    assert hours == [
        ("一社区室", "咨询师甲", "星期一", "09:00–12:00"),
        ("一社区室", "咨询师甲", "星期二", "09:00–12:00"),
        ("二社区室", "咨询师乙", "星期一", "09:00–12:00"),
    ]  # the diary's duty hours; C3's (sibling street) are absent
    assert len(rooms[0]) == len(get_dataset("appointment_rooms").columns)
    assert len(hours[0]) == len(get_dataset("duty_hours").columns)


def test_appointment_export_through_the_page(diary, street_manager, django_capture_on_commit_callbacks):
    """X-3, S-FLOW-1: the filtered export arrives as an encrypted xlsx holding the list's rows."""
    http = fresh_client(street_manager)
    rows = export_through_http(http, django_capture_on_commit_callbacks, "appointments", "?status=cancelled&before=9")
    assert rows[0] == get_dataset("appointments").columns
    assert [r[0] for r in rows[1:]] == [diary["b1"].reference]
    assert rows[1][3] == "139****5678"
    assert ExportJob.objects.get().filters == {"status": "cancelled"}


def test_pages_show_export_buttons_to_managers_only(diary, tree, street_manager, counsellor_a):
    """X-3: the manager sees the buttons on every list (carrying the filters); a counsellor (no export
    permission) sees the lists without them; a volunteer sees neither."""
    http = fresh_client(street_manager)
    html = http.get("/appointments/manage/?status=confirmed").content.decode()
    assert "/exports/new/xlsx/appointments/?status=confirmed" in html
    assert 'data-testid="export-appointments_day-xlsx"' in http.get("/appointments/today/?who=all").content.decode()
    rooms = http.get("/appointments/rooms/").content.decode()
    assert 'data-testid="export-appointment_rooms-xlsx"' in rooms and 'data-testid="export-duty_hours-csv"' in rooms
    page = fresh_client(counsellor_a).get("/appointments/manage/")
    assert page.status_code == 200 and "export-appointments" not in page.content.decode()
    volunteer = fresh_client(make_user("volunteer_c1", tree.c1, "volunteer"))
    assert "export-appointments" not in volunteer.get("/appointments/manage/").content.decode()
