"""Issue 13 item 1: no booking in the past, none outside the unit's opening hours or the counsellor's
duty hours unless a unit manager overrides with a reason, no session longer than the maximum; the
manage list in start-time order with day filters, and the week view (S-FLOW-1, S-FLOW-2). Item 10:
the public confirmation shows the unit's address and phone.

The clock is frozen at Wednesday 2026-12-09 08:00 Beijing time unless a test says otherwise, so the
weekdays below are fixed: Thursday 12-10, Friday 12-11, Saturday 12-12, Sunday 12-13, Monday 12-14.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from apps.appointments import selectors, services
from apps.appointments.choices import Status
from apps.appointments.models import Appointment, BookedSlot, OpeningHours, Room
from apps.audit.models import AuditEntry
from apps.core.scoping import unscoped
from conftest import make_user

from .conftest import booking, on_duty, open_daily

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 9, 8, 0, tzinfo=SHANGHAI)  # a Wednesday
frozen = time_machine.travel(NOW, tick=False)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def book(actor, unit, counsellor, starts_at, **extra):
    return services.do_book_appointment(actor=actor, unit=unit, data=booking(counsellor, starts_at, **extra))


def written() -> tuple[int, int, int]:
    """(appointments, held hours, appointment audit entries): what a refusal must leave unchanged."""
    with unscoped("test assertion"):
        count = Appointment.objects.count()
    audits = AuditEntry.objects.filter(object_type="appointments.appointment").count()
    return count, BookedSlot.objects.count(), audits


@pytest.fixture
def community_manager(tree):
    return make_user("community_manager", tree.c1, "community_manager", full_name="社区负责人")


@pytest.fixture
def duty(tree, counsellor_a):
    """counsellor_a on duty at C1 every day 09:00–12:00 and 14:00–17:00; C1 keeps the default opening hours."""
    return on_duty(tree.c1, counsellor_a, 9, 12) + on_duty(tree.c1, counsellor_a, 14, 17)


# --- no booking in the past ----------------------------------------------------------------------
@frozen
def test_a_booking_that_starts_in_the_past_is_refused(tree, counsellor_a, duty):
    """S-FLOW-1: the manage page accepted 2026-12-01; a start already past (or the hour already begun)
    is refused on the start time, and nothing is written."""
    before = written()
    for start in (at(1, 10), at(8, 10), at(9, 8)):  # last week, yesterday, the hour that began just now
        with pytest.raises(ValidationError) as error:
            book(counsellor_a, tree.c1, counsellor_a, start)
        assert "已经过去" in error.value.message_dict["starts_at"][0]
    assert written() == before
    web = HttpClient()
    web.force_login(counsellor_a)
    form = {
        "unit": tree.c1.pk, "channel": "phone", "counsellor": counsellor_a.pk, "starts_at": "2026-12-01T10:00",
        "contact_name": "赵一", "contact_phone": "13912345678", "needs_symptoms": "情绪低落",
        "told_service_content_flow_counsellor": "on", "told_confidentiality_and_change_cancel": "on",
    }  # fmt: skip
    page = web.post("/appointments/new/", form)
    assert page.status_code == 200 and page.context["form"].errors["starts_at"][0].startswith("开始时间已经过去")
    api = {**form, "starts_at": at(1, 10).isoformat(), "told_service_content_flow_counsellor": True,
           "told_confidentiality_and_change_cancel": True}  # fmt: skip
    refused = web.post("/api/appointments/", api, content_type="application/json")
    assert refused.status_code == 400 and "已经过去" in refused.content.decode()
    assert written() == before
    assert book(counsellor_a, tree.c1, counsellor_a, at(9, 9)).status == Status.CONFIRMED  # the next hour is fine


@frozen
def test_a_public_request_in_the_past_is_refused(tree, counsellor_a, hours_a):
    """S-FLOW-1: the public path refuses a start already past too."""
    with pytest.raises(ValidationError) as error:
        services.do_request_appointment(unit=tree.c1, data=booking(None, at(8, 10)))
    assert "已经过去" in error.value.message_dict["starts_at"][0]
    assert written() == (0, 0, 0)


# --- opening hours and duty hours, the manager's override ----------------------------------------
@frozen
def test_outside_the_units_opening_hours_is_refused_unless_a_manager_overrides(
    tree, counsellor_a, community_manager, duty
):
    """S-FLOW-1, S-FLOW-2: Sunday 22:00 was accepted silently. With no table anywhere, C1 opens
    Monday–Friday 08:30–17:30: Sunday 22:00 is refused even with the counsellor on duty then; a
    counsellor cannot override; a manager must give a reason; the override is stored and audited."""
    on_duty(tree.c1, counsellor_a, 20, 23, weekdays=[6])
    sunday_22 = at(13, 22)
    before = written()
    with pytest.raises(ValidationError) as error:
        book(counsellor_a, tree.c1, counsellor_a, sunday_22)
    assert "开放时间" in error.value.message_dict["starts_at"][0] and "星期日：不开放" in str(error.value)
    with pytest.raises(ValidationError) as error:  # a counsellor is no unit manager
        book(counsellor_a, tree.c1, counsellor_a, sunday_22, hours_override=True, override_reason="来访者白天上班")
    assert "单位负责人" in error.value.message_dict["hours_override"][0]
    with pytest.raises(ValidationError) as error:  # a manager, but no reason
        book(community_manager, tree.c1, counsellor_a, sunday_22, hours_override=True, override_reason=" ")
    assert "理由" in error.value.message_dict["override_reason"][0]
    assert written() == before
    booked = book(
        community_manager, tree.c1, counsellor_a, sunday_22, hours_override=True, override_reason="来访者白天上班"
    )
    assert booked.hours_override and booked.override_reason == "来访者白天上班"
    entry = AuditEntry.objects.get(object_type="appointments.appointment", object_id=str(booked.pk))
    assert entry.purpose == services.OVERRIDE_PURPOSE and "hours_override" in str(entry.changes)
    # inside the hours an override is not needed and not recorded
    plain = book(community_manager, tree.c1, counsellor_a, at(14, 10), hours_override=True, override_reason="无")
    assert not plain.hours_override and plain.override_reason == ""


@frozen
def test_outside_the_counsellors_duty_hours_is_refused(tree, counsellor_a, street_manager):
    """S-FLOW-2: C1 is open Monday 15:00, but counsellor_a is on duty only 09:00–12:00 there: refused,
    as is a session running past the end of duty, and a counsellor whose hours are at another unit."""
    on_duty(tree.c1, counsellor_a, 9, 12)
    street_counsellor = make_user("counsellor_s1", tree.s1, "counsellor", full_name="咨询师丁")  # serves C1 and C2
    on_duty(tree.c2, street_counsellor, 9, 17)
    before = written()
    for start, end in ((at(14, 15), None), (at(14, 11), at(14, 12, 30))):
        with pytest.raises(ValidationError) as error:
            book(counsellor_a, tree.c1, counsellor_a, start, ends_at=end)
        assert "值班时间" in error.value.message_dict["starts_at"][0] and "09:00–12:00" in str(error.value)
    with pytest.raises(ValidationError) as error:
        book(street_manager, tree.c1, street_counsellor, at(14, 10))  # on duty at C2, not at C1
    assert "无值班" in error.value.message_dict["starts_at"][0]
    assert written() == before
    assert book(counsellor_a, tree.c1, counsellor_a, at(14, 11)).status == Status.CONFIRMED


@frozen
def test_opening_hours_are_inherited_from_the_nearest_ancestor(tree, counsellor_a, street_manager, duty):
    """S-FLOW-1: a unit without its own table uses its street's, else the default; its own table wins."""
    assert services.opening_hours(tree.c1) == (services.DEFAULT_OPENING_HOURS, None)
    services.do_add_opening_hours(actor=street_manager, unit=tree.s1, weekday=5, opens=dt.time(9), closes=dt.time(12))
    table, owner = services.opening_hours(tree.c1)
    assert owner == tree.s1 and table == {5: [(dt.time(9), dt.time(12))]}
    assert book(counsellor_a, tree.c1, counsellor_a, at(12, 10)).status == Status.CONFIRMED  # Saturday
    with pytest.raises(ValidationError):  # Monday: the street's table has no Monday
        book(counsellor_a, tree.c1, counsellor_a, at(14, 10))
    services.do_add_opening_hours(actor=street_manager, unit=tree.c1, weekday=0, opens=dt.time(9), closes=dt.time(17))
    assert book(counsellor_a, tree.c1, counsellor_a, at(14, 10)).status == Status.CONFIRMED
    with pytest.raises(ValidationError) as error:  # overlapping interval of the same day
        services.do_add_opening_hours(
            actor=street_manager, unit=tree.c1, weekday=0, opens=dt.time(16), closes=dt.time(18)
        )
    assert "重叠" in error.value.message_dict["opens"][0]
    with pytest.raises(ValidationError):  # a counsellor is not a unit manager
        services.do_add_opening_hours(actor=counsellor_a, unit=tree.c1, weekday=1, opens=dt.time(9), closes=dt.time(17))
    assert OpeningHours.objects.filter(unit=tree.c1).count() == 1


@frozen
def test_a_change_outside_the_hours_needs_the_managers_override(tree, counsellor_a, community_manager, duty):
    """S-FLOW-1, S-FLOW-2: rescheduling obeys the same hours; a refused change leaves the booking as it was."""
    appointment = book(counsellor_a, tree.c1, counsellor_a, at(10, 10))
    before = written()
    with pytest.raises(ValidationError) as error:
        services.do_change_appointment(actor=counsellor_a, appointment=appointment, starts_at=at(13, 10), reason="改期")
    assert "开放时间" in error.value.message_dict["starts_at"][0]
    appointment.refresh_from_db()
    assert appointment.starts_at == at(10, 10) and written() == before
    moved = services.do_change_appointment(
        actor=community_manager,
        appointment=appointment,
        starts_at=at(13, 10),
        reason="改期",
        hours_override=True,
        override_reason="周日社区活动日加开",
    )
    assert moved.hours_override and moved.status == Status.CHANGED
    back = services.do_change_appointment(actor=counsellor_a, appointment=moved, starts_at=at(14, 10), reason="改回")
    assert not back.hours_override and back.override_reason == ""


@frozen
def test_the_public_can_never_override_and_sees_only_open_hours(tree, counsellor_a):
    """S-FLOW-1: public (self-service) bookings cannot override; free slots lie inside the opening hours."""
    on_duty(tree.c1, counsellor_a, 9, 12)  # every day, but C1 opens Monday–Friday only (default)
    slots = services.free_slots(tree.c1)
    assert slots and all(day.weekday() < 5 for day in slots)
    data = {**booking(None, at(12, 10)), "hours_override": True, "override_reason": "想周六来"}
    with pytest.raises(ValidationError) as error:
        services.do_request_appointment(unit=tree.c1, data=data)
    assert "开放时间" in error.value.message_dict["starts_at"][0]
    assert written() == (0, 0, 0)


# --- the longest session -------------------------------------------------------------------------
@frozen
def test_a_session_longer_than_the_maximum_is_refused(tree, counsellor_a, duty, settings):
    """S-FLOW-1: 600 minutes was accepted; the maximum is a setting, 180 minutes by default."""
    open_daily(tree.c1, 8, 23)
    on_duty(tree.c1, counsellor_a, 17, 23, weekdays=[3])
    before = written()
    with pytest.raises(ValidationError) as error:
        book(counsellor_a, tree.c1, counsellor_a, at(10, 9), ends_at=at(10, 19))
    assert "最长 180 分钟" in error.value.message_dict["ends_at"][0]
    with pytest.raises(ValidationError):
        book(counsellor_a, tree.c1, counsellor_a, at(10, 14), ends_at=at(10, 17, 1))
    assert written() == before
    assert book(counsellor_a, tree.c1, counsellor_a, at(10, 14), ends_at=at(10, 17)).status == Status.CONFIRMED
    settings.APPOINTMENT_MAX_MINUTES = 60
    with pytest.raises(ValidationError) as error:
        book(counsellor_a, tree.c1, counsellor_a, at(10, 9), ends_at=at(10, 10, 30))
    assert "最长 60 分钟" in error.value.message_dict["ends_at"][0]


# --- the manage list and the week view -----------------------------------------------------------
@frozen
def test_the_manage_list_runs_in_start_order_with_day_filters(tree, counsellor_a, duty, settings):
    """S-FLOW-2: sorted by start time (not by entry), today / tomorrow / this week / a date, keyset
    pages without COUNT(*)."""
    settings.PAGE_SIZE = 2
    order = [at(14, 10), at(9, 10), at(11, 9), at(10, 9), at(9, 15)]  # entered out of order
    refs = {start: book(counsellor_a, tree.c1, counsellor_a, start, contact_name=f"来访{i}").reference
            for i, start in enumerate(order)}  # fmt: skip
    by_start = [refs[start] for start in sorted(order)]
    web = HttpClient()
    web.force_login(counsellor_a)

    def listed(query: str) -> list[str]:
        seen, url = [], f"/appointments/manage/?{query}"
        while url:
            with CaptureQueriesContext(connection) as queries:
                page = web.get(url).context["page"]
            counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
            assert not [sql for sql in counts if "appointments_appointment" in sql]  # the menu's badges may count
            seen += [a.reference for a in page]
            url = f"/appointments/manage/?{page.querystring}&after={page.next_after}" if page.has_next else ""
        return seen

    assert listed("") == by_start  # upcoming, from today on
    assert listed("when=today") == [refs[at(9, 10)], refs[at(9, 15)]]
    assert listed("when=tomorrow") == [refs[at(10, 9)]]
    assert listed("when=week") == by_start[:4]  # Monday 12-14 is next week
    assert listed("date=2026-12-14") == [refs[at(14, 10)]]
    page = web.get(f"/appointments/manage/?after={by_start[2]}").context["page"]  # junk cursor: first page
    assert [a.reference for a in page] == by_start[:2]
    back = web.get(f"/appointments/manage/?before={page.next_after}").context["page"]  # nothing before the first
    assert [a.reference for a in back] == by_start[:1]
    assert selectors.list_filters({"when": "<script>"}).when == "upcoming"


@frozen
def test_the_week_view_shows_the_counsellors_and_the_rooms_week_in_fixed_queries(
    tree, counsellor_a, duty, street_manager, django_assert_max_num_queries
):
    """S-FLOW-2: a Monday–Sunday × hours grid of one counsellor and one room; the number of queries
    does not grow with the bookings."""
    room = Room.objects.create(unit=tree.c1, unit_path=tree.c1.path, name="一号咨询室")
    book(counsellor_a, tree.c1, counsellor_a, at(9, 10), room=room, contact_name="周三来访")
    web = HttpClient()
    web.force_login(street_manager)
    url = f"/appointments/week/?date=2026-12-09&counsellor={counsellor_a.pk}&room={room.pk}"
    with CaptureQueriesContext(connection) as one:
        web.get(url)
    for start in (at(10, 9), at(11, 14), at(11, 15), at(10, 10)):
        book(counsellor_a, tree.c1, counsellor_a, start, room=room)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = web.get(url)
    grids = {key: grid for key, _, grid in page.context["grids"]}
    assert set(grids) == {"counsellor", "room"}
    ten = dict(grids["counsellor"])[10]
    assert [a.contact_name for a in ten[2]] == ["周三来访"] and ten[0] == [] and len(ten) == 7
    assert [d.isoformat() for d, _ in page.context["days"]][::6] == ["2026-12-07", "2026-12-13"]
    html = page.content.decode()
    assert 'data-testid="week-counsellor"' in html and 'data-testid="week-room"' in html
    assert "13912345678" not in html and "周三来访" not in html  # the grid names no client


# --- opening-hours page and the public confirmation ---------------------------------------------
@frozen
def test_the_unit_manager_sets_opening_hours_and_contact_on_a_page(tree, counsellor_a, community_manager):
    """S-FLOW-1: the manager's page adds hours (errors on the field) and the unit's address and phone;
    a counsellor may not open it."""
    web = HttpClient()
    web.force_login(community_manager)
    url = f"/appointments/opening-hours/?unit={tree.c1.pk}"
    assert "周一至周五 08:30–17:30" in web.get(url).content.decode()
    add = {"action": "add", "unit": tree.c1.pk, "weekday": 5, "opens": "09:00", "closes": "12:00"}
    assert web.post(url, add).status_code == 302
    refused = web.post(url, {**add, "opens": "11:00", "closes": "13:00"})
    assert "与这一天已有的开放时间重叠" in refused.context["form"].errors["opens"][0]
    contact = {"action": "contact", "unit": tree.c1.pk, "address": "东坡路 1 号二楼", "phone": "0571-8888 6601"}
    assert web.post(url, contact).status_code == 302
    tree.c1.refresh_from_db()
    assert (tree.c1.address, tree.c1.phone) == ("东坡路 1 号二楼", "0571-8888 6601")
    assert AuditEntry.objects.filter(object_type="orgs.orgunit", purpose="设置单位地址和电话").exists()
    web.force_login(counsellor_a)
    assert web.get(url).status_code == 403


@time_machine.travel(NOW, tick=False)
def test_the_public_confirmation_shows_the_units_address_and_phone(tree, counsellor_a, hours_a, sms_outbox):
    """S-FLOW-1 (issue 13 item 10): the confirmation page and its SMS carry the unit's address and phone."""
    tree.c1.address, tree.c1.phone = "东坡路 1 号二楼", "0571-8888 6601"
    tree.c1.save()
    web = HttpClient()
    form = {
        "slot": at(10, 10).isoformat(), "channel": "onsite", "contact_name": "王小明",
        "contact_phone": "13912345678", "needs_symptoms": "孩子厌学", "agree": "on",
    }  # fmt: skip
    assert web.post(f"/book/{tree.c1.pk}/", form).status_code == 302
    code = sms_outbox[-1].params["code"]
    assert web.post("/book/verify/", {"code": code}).status_code == 302
    done = web.get("/book/done/").content.decode()
    assert "东坡路 1 号二楼" in done and "0571-8888 6601" in done
    receipt = sms_outbox[-1]
    assert receipt.template == "public_booking_received" and receipt.phone == "+8613912345678"
    assert "东坡路 1 号二楼" in receipt.text and "0571-8888 6601" in receipt.text and "王小明" not in receipt.text


@time_machine.travel(dt.datetime(2026, 12, 12, 8, 0, tzinfo=SHANGHAI), tick=False)
def test_the_demo_books_saturday_mornings_with_the_managers_override():
    """S-FLOW-1, S-FLOW-2: on a Saturday the demo's morning bookings at the home community fall outside the
    counsellor's duty hours there, so the community manager books them with an override and a reason."""
    from django.core.management import call_command

    call_command("seed_demo", part="service")
    with unscoped("test assertion"):
        overrides = list(Appointment.objects.filter(hours_override=True))
        assert overrides and all(a.override_reason and a.created_by.username == "community" for a in overrides)
        assert all(a.starts_at > NOW for a in Appointment.objects.filter(status__in=("confirmed", "changed")))
