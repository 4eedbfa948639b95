"""Appointments: the four things the standard requires, no double booking, change/cancel, reminders,
the counsellor's day, the staff pages and the API (S-FLOW-1, S-FLOW-2, X-7)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client as HttpClient
from django.utils import timezone

from apps.accounts.roles import BUILTIN_ROLES
from apps.appointments import services
from apps.appointments.choices import Status
from apps.appointments.models import Appointment, BookedSlot, Room
from apps.appointments.reminders import appointments_tomorrow
from apps.audit.models import AuditEntry
from apps.core.perms import Perm
from apps.core.scoping import ScopeError, unscoped
from conftest import make_user

from .conftest import booking, last_code, next_weekday, on_duty

pytestmark = pytest.mark.django_db


def all_appointments():
    with unscoped("test assertion"):
        return list(Appointment.objects.order_by("id"))


def book(actor, unit, counsellor, starts_at, **extra):
    return services.do_book_appointment(actor=actor, unit=unit, data=booking(counsellor, starts_at, **extra))


@pytest.fixture
def room(tree):
    return Room.objects.create(unit=tree.c1, unit_path=tree.c1.path, name="一号咨询室")


# --- S-FLOW-1: what a booking must record ------------------------------------------------------
@pytest.mark.parametrize(
    "missing, field",
    [
        ({"told_service_content_flow_counsellor": False}, "told_service_content_flow_counsellor"),
        ({"told_confidentiality_and_change_cancel": False}, "told_confidentiality_and_change_cancel"),
        ({"contact_name": " "}, "contact_name"),
        ({"contact_phone": ""}, "contact_phone"),
        ({"needs_symptoms": ""}, "needs_symptoms"),
        ({"contact_phone": "12345"}, "contact_phone"),
    ],
)
def test_staff_booking_refuses_without_the_four_required_things(tree, counsellor_a, monday_10, missing, field):
    """S-FLOW-1: told service/flow/counsellor, told confidentiality/change/cancel, contact and needs are required."""
    with pytest.raises(ValidationError) as error:
        book(counsellor_a, tree.c1, counsellor_a, monday_10, **missing)
    assert field in error.value.message_dict
    assert all(ch >= "\u4e00" for ch in error.value.message_dict[field][0][:1])  # a Chinese message
    assert all_appointments() == [] and not BookedSlot.objects.exists()


def test_staff_booking_records_everything_encrypted_and_audited(tree, counsellor_a, room, monday_10):
    """S-FLOW-1, X-2, X-4: a confirmed booking with contact, basic info and needs encrypted at rest; audited."""
    appointment = book(counsellor_a, tree.c1, counsellor_a, monday_10, room=room)
    assert appointment.status == Status.CONFIRMED
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=50)
    assert len(appointment.reference) == 8 and str(appointment) == f"预约 {appointment.reference}"
    assert appointment.contact_phone == "+8613912345678"
    assert appointment.basic == {"gender": "female", "age": 34, "family": "已婚，一子", "address": "东坡路 1 号"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT contact_name, contact_phone, needs_symptoms, basic_info FROM appointments_appointment")
        raw = " ".join(cursor.fetchone())
    for plain in ("林小雨", "13912345678", "失眠", "东坡路"):
        assert plain not in raw
    entry = AuditEntry.objects.filter(object_type="appointments.appointment", action="create").get()
    assert "林小雨" not in str(entry.changes) and "13912345678" not in str(entry.changes)
    assert set(BookedSlot.objects.values_list("resource_key", flat=True)) == {
        f"c:{counsellor_a.pk}",
        f"r:{room.pk}",
    }


def test_appointments_are_scoped_client_data(tree, counsellor_a, counsellor_b, monday_10):
    """X-1, S-ORG-2: unscoped queries raise; a counsellor of C2 does not see C1's appointments."""
    book(counsellor_a, tree.c1, counsellor_a, monday_10)
    with pytest.raises(ScopeError):
        list(Appointment.objects.all())
    assert Appointment.objects.visible_to(counsellor_a, Perm.CLIENT_VIEW).count() == 1
    assert Appointment.objects.visible_to(counsellor_b, Perm.CLIENT_VIEW).count() == 0
    with pytest.raises(ValidationError):
        book(counsellor_b, tree.c1, counsellor_b, monday_10 + timedelta(hours=2))


def test_start_must_be_on_the_hour(tree, counsellor_a, monday_10):
    """S-FLOW-1: appointments are 50-minute slots on the hour."""
    with pytest.raises(ValidationError) as error:
        book(counsellor_a, tree.c1, counsellor_a, monday_10 + timedelta(minutes=30))
    assert "整点" in str(error.value)


# --- S-FLOW-2: no double booking ---------------------------------------------------------------
def test_counsellor_and_room_cannot_be_double_booked(tree, counsellor_a, street_manager, room, monday_10):
    """S-FLOW-2: the same counsellor, or the same room, cannot hold two appointments in one hour."""
    first = book(counsellor_a, tree.c1, counsellor_a, monday_10, room=room)
    with pytest.raises(ValidationError) as error:
        book(counsellor_a, tree.c1, counsellor_a, monday_10)
    assert "该咨询师/咨询室在该时段已有预约" in str(error.value)
    other = make_user("counsellor_c", tree.c1, "counsellor", full_name="咨询师丙")
    on_duty(tree.c1, other)
    with pytest.raises(ValidationError):
        book(street_manager, tree.c1, other, monday_10, room=room)  # same room, other counsellor
    # a longer appointment overlapping the hour is refused too
    with pytest.raises(ValidationError):
        book(
            counsellor_a,
            tree.c1,
            counsellor_a,
            monday_10 - timedelta(hours=1),
            ends_at=monday_10 + timedelta(minutes=10),
        )
    assert [a.pk for a in all_appointments()] == [first.pk]
    # next hour is free; after cancelling, the first hour is free again
    book(street_manager, tree.c1, other, monday_10 + timedelta(hours=1), room=room)
    services.do_cancel_appointment(actor=counsellor_a, appointment=first, reason="来访者临时有事")
    assert not BookedSlot.objects.filter(appointment=first).exists()
    again = book(counsellor_a, tree.c1, counsellor_a, monday_10, room=room)
    assert again.status == Status.CONFIRMED


def test_change_moves_the_held_hours_and_refuses_a_taken_hour(tree, counsellor_a, monday_10):
    """S-FLOW-2: changing frees the old hour and holds the new one; a taken hour changes nothing."""
    a = book(counsellor_a, tree.c1, counsellor_a, monday_10)
    b = book(counsellor_a, tree.c1, counsellor_a, monday_10 + timedelta(hours=1))
    later = monday_10 + timedelta(days=1)
    a = services.do_change_appointment(actor=counsellor_a, appointment=a, starts_at=later, reason="来访者要求改期")
    assert a.status == Status.CHANGED and a.status_reason == "来访者要求改期"
    assert list(BookedSlot.objects.filter(appointment=a).values_list("slot_start", flat=True)) == [later]
    with pytest.raises(ValidationError):
        services.do_change_appointment(actor=counsellor_a, appointment=b, starts_at=later, reason="想换到同一时间")
    b.refresh_from_db()
    assert b.starts_at == monday_10 + timedelta(hours=1) and b.status == Status.CONFIRMED
    assert BookedSlot.objects.filter(appointment=b).count() == 1
    with pytest.raises(ValidationError):
        services.do_change_appointment(actor=counsellor_a, appointment=b, starts_at=later, reason="")
    audit = AuditEntry.objects.filter(object_type="appointments.appointment", action="update", purpose="改约")
    assert audit.count() == 1 and "来访者要求改期" not in str(audit.get().changes)


def test_cancel_needs_a_reason_and_only_once(tree, counsellor_a, monday_10):
    """S-FLOW-1: cancelling is recorded with a reason; a cancelled appointment cannot be cancelled again."""
    a = book(counsellor_a, tree.c1, counsellor_a, monday_10)
    with pytest.raises(ValidationError):
        services.do_cancel_appointment(actor=counsellor_a, appointment=a, reason=" ")
    services.do_cancel_appointment(actor=counsellor_a, appointment=a, reason="来访者电话取消")
    with pytest.raises(ValidationError):
        services.do_cancel_appointment(actor=counsellor_a, appointment=a, reason="再次取消")
    assert AuditEntry.objects.filter(object_type="appointments.appointment", purpose="取消预约").count() == 1


def test_close_only_after_the_start(tree, counsellor_a, monday_10):
    """S-FLOW-1: done / no-show is recorded only once the appointment time has come."""
    a = book(counsellor_a, tree.c1, counsellor_a, monday_10)
    with pytest.raises(ValidationError):
        services.do_close_appointment(actor=counsellor_a, appointment=a, status=Status.DONE)
    a = services.do_close_appointment(
        actor=counsellor_a, appointment=a, status=Status.NO_SHOW, now=monday_10 + timedelta(hours=1)
    )
    assert a.status == Status.NO_SHOW


# --- public requests, free slots, confirmation -------------------------------------------------
def test_free_slots_are_duty_hours_minus_booked_and_waiting(tree, counsellor_a, hours_a, monday_10):
    """S-FLOW-2: public free slots = weekly duty hours, minus booked counsellor hours and unassigned requests."""
    now = monday_10 - timedelta(days=2)
    slots = services.free_slots(tree.c1, now=now)
    assert len(slots) == 14 and all(len(hours) == 3 for hours in slots.values())  # 09, 10, 11 every day
    assert monday_10 in slots[monday_10.date()]
    book(counsellor_a, tree.c1, counsellor_a, monday_10)
    assert monday_10 not in services.free_slots(tree.c1, now=now)[monday_10.date()]
    nine = monday_10 - timedelta(hours=1)
    request = services.do_request_appointment(
        unit=tree.c1,
        data={**booking(None, nine), "told_confidentiality_and_change_cancel": True},
        now=now,
    )
    assert request.status == Status.REQUESTED and request.counsellor is None and request.public_request
    assert not request.told_service_content_flow_counsellor
    assert nine not in services.free_slots(tree.c1, now=now)[monday_10.date()]
    with pytest.raises(ValidationError):  # the hour is no longer free
        services.do_request_appointment(unit=tree.c1, data=booking(None, nine), now=now)
    assert services.free_slots(tree.c2, now=now) == {}


def test_public_request_needs_notice_and_free_public_unit(tree, counsellor_a, hours_a, monday_10):
    """S-FLOW-1: the public must accept the confidentiality notice; only public units with hours take requests."""
    now = monday_10 - timedelta(days=2)
    data = booking(None, monday_10, told_confidentiality_and_change_cancel=False)
    with pytest.raises(ValidationError) as error:
        services.do_request_appointment(unit=tree.c1, data=data, now=now)
    assert "told_confidentiality_and_change_cancel" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.do_request_appointment(unit=tree.c2, data=booking(None, monday_10), now=now)
    assert all_appointments() == []


def test_confirm_assigns_a_free_counsellor_and_rechecks(tree, counsellor_a, street_manager, hours_a, monday_10):
    """S-FLOW-2: confirming assigns the free counsellor on duty; when that person is taken, confirm refuses."""
    now = monday_10 - timedelta(days=2)
    first = services.do_request_appointment(unit=tree.c1, data=booking(None, monday_10), now=now)
    with pytest.raises(ValidationError):  # not yet told about service content, flow, counsellor
        services.do_confirm_appointment(actor=street_manager, appointment=first)
    first = services.do_confirm_appointment(actor=street_manager, appointment=first, told_service=True)
    assert first.counsellor == counsellor_a and first.status == Status.CONFIRMED
    assert first.told_service_content_flow_counsellor
    # a second request for the same hour made before the first was confirmed (e.g. by phone)
    second = Appointment(
        unit=tree.c1, unit_path=tree.c1.path, contact_name="张", contact_phone="13800138000", needs_symptoms="焦虑",
        starts_at=monday_10, ends_at=monday_10 + timedelta(minutes=50), reference="TESTREF2",
    )  # fmt: skip
    second.save()
    with pytest.raises(ValidationError):
        services.do_confirm_appointment(actor=street_manager, appointment=second, told_service=True)
    with pytest.raises(ValidationError) as error:
        services.do_confirm_appointment(
            actor=street_manager, appointment=second, counsellor=counsellor_a, told_service=True
        )
    assert "已有预约" in str(error.value)
    second.refresh_from_db()
    assert second.status == Status.REQUESTED and second.counsellor is None


def test_public_pages_book_and_show_only_your_reference(tree, counsellor_a, hours_a, monday_10, sms_outbox):
    """S-FLOW-1, X-2, issue 14 item 4: the public page lists public units, books a free hour after the SMS code,
    shows only this session's reference."""
    from apps.orgs.services import do_create_unit

    health = do_create_unit(actor=None, parent=tree.s1, kind="health_section", name="卫生服务中心心理科", code="T-H")
    from apps.appointments.models import Availability

    Availability.objects.create(
        unit=health, unit_path=health.path, counsellor=counsellor_a, weekday=6, start="08:00", end="09:00"
    )
    web = HttpClient()
    page = web.get("/book/").content.decode()
    assert tree.c1.name in page and tree.c2.name not in page and "卫生服务中心心理科" not in page
    assert web.get(f"/book/{tree.c2.pk}/").status_code == 404
    form = web.get(f"/book/{tree.c1.pk}/").content.decode()
    assert monday_10.isoformat() in form and "保密原则" in form
    post = {
        "slot": monday_10.isoformat(), "channel": "onsite", "contact_name": "王小明",
        "contact_phone": "139 1234 5678", "needs_symptoms": "孩子厌学，想咨询",
    }  # fmt: skip
    refused = web.post(f"/book/{tree.c1.pk}/", post)
    assert refused.status_code == 200 and "请阅读保密原则" in refused.content.decode()
    bad_phone = web.post(f"/book/{tree.c1.pk}/", {**post, "agree": "on", "contact_phone": "123"})
    assert "号码" in bad_phone.content.decode()
    assert all_appointments() == []
    response = web.post(f"/book/{tree.c1.pk}/", {**post, "agree": "on"})
    assert response.status_code == 302 and response["Location"] == "/book/verify/"
    assert all_appointments() == []  # nothing is held before the code
    assert "139****5678" in web.get("/book/verify/").content.decode()
    assert HttpClient().get("/book/verify/").status_code == 302  # another browser has no code to enter
    response = web.post("/book/verify/", {"code": last_code(sms_outbox, "+8613912345678")})
    assert response.status_code == 302 and response["Location"] == "/book/done/"
    (appointment,) = all_appointments()
    done = web.get("/book/done/").content.decode()
    assert appointment.reference in done and "等待确认" in done
    assert HttpClient().get("/book/done/").status_code == 302  # another browser sees nothing
    assert appointment.contact_phone == "+8613912345678" and appointment.status == Status.REQUESTED


def test_public_form_is_limited_per_phone_per_day(tree, counsellor_a, hours_a, monday_10):
    """X-2: at most five public requests per phone number per day."""
    now = monday_10 - timedelta(days=2)
    for i in range(5):
        services.do_request_appointment(unit=tree.c1, data=booking(None, monday_10 + timedelta(days=i)), now=now)
    with pytest.raises(ValidationError) as error:
        services.do_request_appointment(unit=tree.c1, data=booking(None, monday_10 + timedelta(days=6)), now=now)
    assert "每天最多" in str(error.value)
    services.do_request_appointment(
        unit=tree.c1, data=booking(None, monday_10 + timedelta(days=6), contact_phone="13700001111"), now=now
    )


# --- reminders ----------------------------------------------------------------------------
def test_counsellor_is_reminded_the_day_before_once(tree, counsellor_a, street_manager, monday_10):
    """X-7: the day before, the counsellor gets one reminder per appointment; a moved one is reminded again."""
    from apps.notifications.models import Notification
    from apps.notifications.services import do_send_due_reminders

    eve = monday_10 - timedelta(days=1, hours=2)
    a = book(street_manager, tree.c1, counsellor_a, monday_10)
    cancelled = book(street_manager, tree.c1, counsellor_a, monday_10 + timedelta(hours=1))
    services.do_cancel_appointment(actor=street_manager, appointment=cancelled, reason="取消")
    book(street_manager, tree.c1, counsellor_a, monday_10 + timedelta(days=1))  # not tomorrow yet
    due = list(appointments_tomorrow(eve))
    assert [(r.user, r.url) for r in due] == [(counsellor_a, f"/appointments/{a.pk}/")]
    assert "林小雨" not in str(due[0].context)
    do_send_due_reminders(now=eve)
    do_send_due_reminders(now=eve + timedelta(minutes=15))
    notes = Notification.objects.filter(recipient=counsellor_a)
    assert notes.count() == 1 and "预约提醒" in notes.get().title
    services.do_change_appointment(
        actor=street_manager, appointment=a, starts_at=monday_10 + timedelta(days=2), reason="改期"
    )
    assert list(appointments_tomorrow(eve)) == []
    assert len(list(appointments_tomorrow(eve + timedelta(days=2)))) == 1


# --- pages -------------------------------------------------------------------------------------
def test_today_page_lists_the_day_in_order_with_a_date_switcher(tree, counsellor_a, counsellor_b, street_manager):
    """S-FLOW-2: the counsellor's day (提前调取当天预约) in time order; any date; nothing outside scope."""
    day = next_weekday(2, 9)
    on_duty(tree.c1, counsellor_a, 9, 17, weekdays=[2])
    on_duty(tree.c2, counsellor_b, 9, 17, weekdays=[2])
    late = book(street_manager, tree.c1, counsellor_a, day + timedelta(hours=5), contact_name="晚到者")
    early = book(street_manager, tree.c1, counsellor_a, day, contact_name="早到者")
    book(counsellor_b, tree.c2, counsellor_b, day + timedelta(hours=1), contact_name="别处者")
    web = HttpClient()
    web.force_login(counsellor_a)
    page = web.get(f"/appointments/today/?date={day.date().isoformat()}").content.decode()
    assert page.index("早到者") < page.index("晚到者") and "别处者" not in page
    assert early.reference in page and late.reference in page and "13912345678" not in page
    assert "前一天" in page and "后一天" in page
    assert "早到者" not in web.get("/appointments/today/?date=2001-01-01").content.decode()
    web.force_login(street_manager)
    mine = web.get(f"/appointments/today/?date={day.date().isoformat()}").content.decode()
    assert "早到者" not in mine  # the street manager has no appointments of their own
    every = web.get(f"/appointments/today/?date={day.date().isoformat()}&who=all").content.decode()
    assert "早到者" in every and "别处者" in every


def test_staff_pages_book_confirm_change_cancel(tree, counsellor_a, counsellor_b, street_manager, room, monday_10):
    """S-FLOW-1, S-FLOW-2: staff pages refuse a booking without the told boxes and refuse a double booking."""
    web = HttpClient()
    web.force_login(counsellor_a)
    form = {
        "unit": tree.c1.pk, "channel": "onsite", "counsellor": counsellor_a.pk, "room": room.pk,
        "starts_at": timezone.localtime(monday_10).strftime("%Y-%m-%dT%H:%M"), "contact_name": "赵一",
        "contact_phone": "13912345678", "needs_symptoms": "情绪低落",
    }  # fmt: skip
    refused = web.post("/appointments/new/", form)
    assert refused.status_code == 200 and "请先向来访者说明" in refused.content.decode()
    told = {**form, "told_service_content_flow_counsellor": "on", "told_confidentiality_and_change_cancel": "on"}
    created = web.post("/appointments/new/", told)
    assert created.status_code == 302
    (a,) = all_appointments()
    again = web.post("/appointments/new/", told)
    assert "该咨询师/咨询室在该时段已有预约" in again.content.decode()
    detail = web.get(f"/appointments/{a.pk}/").content.decode()
    assert "情绪低落" in detail and "139****5678" in detail
    assert AuditEntry.objects.filter(action="read_sensitive", object_id=str(a.pk), purpose="查看预约").exists()
    new_time = timezone.localtime(monday_10 + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert (
        web.post(f"/appointments/{a.pk}/change/", {"starts_at": new_time, "reason": "改到下一小时"}).status_code == 302
    )
    assert web.post(f"/appointments/{a.pk}/cancel/", {"reason": "来访者取消"}).status_code == 302
    a.refresh_from_db()
    assert a.status == Status.CANCELLED and not BookedSlot.objects.exists()
    web.force_login(counsellor_b)
    assert web.get(f"/appointments/{a.pk}/").status_code == 404
    assert web.post(f"/appointments/{a.pk}/cancel/", {"reason": "越权"}).status_code == 404


def test_rooms_and_duty_hours_pages(tree, counsellor_a, street_manager):
    """S-FLOW-2: rooms and weekly duty hours are kept per unit; overlapping hours are refused."""
    web = HttpClient()
    web.force_login(street_manager)
    assert (
        web.post(
            "/appointments/rooms/new/",
            {"unit": tree.c1.pk, "name": "沙盘室", "kind": "individual", "capacity": 3, "active": "on"},
        ).status_code
        == 302
    )
    hours = {"unit": tree.c1.pk, "counsellor": counsellor_a.pk, "weekday": 0, "start": "09:00", "end": "12:00"}
    assert web.post("/appointments/hours/new/", hours).status_code == 302
    overlap = web.post("/appointments/hours/new/", {**hours, "start": "11:00", "end": "13:00"})
    assert "重叠" in overlap.content.decode()
    page = web.get("/appointments/rooms/").content.decode()
    assert "沙盘室" in page and "09:00–12:00" in page
    assert Room.objects.get(name="沙盘室").unit == tree.c1


# --- API ---------------------------------------------------------------------------------------
def test_api_books_lists_a_day_and_cancels(tree, counsellor_a, counsellor_b, monday_10):
    """S-FLOW-1, S-FLOW-2: the API refuses a double booking in Chinese and lists a day in time order."""
    api = HttpClient()
    api.force_login(counsellor_a)
    body = {
        "unit": tree.c1.pk, "counsellor": counsellor_a.pk, "starts_at": monday_10.isoformat(),
        "contact_name": "钱二", "contact_phone": "13912345678", "needs_symptoms": "人际关系困扰",
        "told_service_content_flow_counsellor": True, "told_confidentiality_and_change_cancel": True,
    }  # fmt: skip
    created = api.post("/api/appointments/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["contact_phone"] == "139****5678"
    twice = api.post("/api/appointments/", body, content_type="application/json")
    assert twice.status_code == 400 and "已有预约" in twice.content.decode()
    later = {**body, "starts_at": (monday_10 - timedelta(hours=1)).isoformat()}
    assert api.post("/api/appointments/", later, content_type="application/json").status_code == 201
    day = api.get(f"/api/appointments/?date={monday_10.date().isoformat()}").json()
    assert [row["starts_at"][11:16] for row in day] == ["09:00", "10:00"]
    pk = created.json()["id"]
    assert "needs_symptoms" in api.get(f"/api/appointments/{pk}/").json()
    assert (
        api.post(f"/api/appointments/{pk}/cancel/", {"reason": "取消"}, content_type="application/json").status_code
        == 200
    )
    api.force_login(counsellor_b)
    assert api.get(f"/api/appointments/{pk}/").status_code == 404


def test_roles_hold_appointment_manage():
    """S-FLOW-1: the roles that book appointments hold 预约管理; a volunteer does not."""
    roles = {r.code: set(r.permissions) for r in BUILTIN_ROLES}
    for code in (
        "counsellor",
        "counselling_assistant",
        "community_worker",
        "community_manager",
        "street_manager",
        "district_admin",
    ):
        assert Perm.APPOINTMENT_MANAGE in roles[code]
    assert Perm.APPOINTMENT_MANAGE not in roles["volunteer"]
    assert Perm.APPOINTMENT_MANAGE.label == "预约管理"


def test_demo_data_covers_every_state():
    """S-FLOW-1, S-FLOW-2: the demo has rooms, duty hours and today's and upcoming appointments in every state."""
    from django.core.management import call_command

    from apps.accounts.models import User
    from apps.appointments.demo import seed_demo_appointments
    from apps.orgs.models import OrgUnit

    call_command("seed_demo", part="service")
    units = {
        "community-1-1": OrgUnit.objects.get(code="DEMO-S1C1"),
        "community-2-1": OrgUnit.objects.get(code="DEMO-S2C1"),
        "street-1": OrgUnit.objects.get(code="DEMO-S1"),
        "district": OrgUnit.objects.get(code="DEMO-D"),
    }
    users = {u.username: u for u in User.objects.filter(username__in=["counsellor", "community"])}
    seed_demo_appointments(units, users)  # seed_demo may have called it already: it is idempotent
    assert seed_demo_appointments(units, users) == 0
    rows = all_appointments()
    assert len(rows) == 12
    assert {a.status for a in rows} == set(Status.values)
    today = timezone.localdate()
    assert any(timezone.localtime(a.starts_at).date() == today for a in rows)
    assert any(timezone.localtime(a.starts_at).date() > today for a in rows)
    assert Room.objects.filter(unit=units["district"]).count() == 4
    assert services.public_units().filter(code="DEMO-S1C1").exists()


def test_a_public_booking_is_linked_to_the_registered_client(tree, counsellor_a, street_manager, hours_a, monday_10):
    """S-FLOW-1, S-FLOW-3: staff see register matches by phone and link one; out of scope or twice is refused."""
    from apps.clients.services import do_register_client

    person = do_register_client(
        actor=None, unit=tree.c1, data={"name": "林小雨", "phone": "13912345678", "gender": "female"}
    )
    stranger = do_register_client(actor=None, unit=tree.c3, data={"name": "赵某", "phone": "13912345678"})
    request = services.do_request_appointment(
        unit=tree.c1, data=booking(None, monday_10), now=monday_10 - timedelta(days=2)
    )
    web = HttpClient()
    web.force_login(street_manager)
    page = web.get(f"/appointments/{request.pk}/").content.decode()
    assert f"来访者 #{person.pk}" in page and f"来访者 #{stranger.pk}" not in page  # other street's twin hidden
    refused = web.post(f"/appointments/{request.pk}/link-client/", {"client": stranger.pk}, follow=True)
    assert "没有找到该编号的来访者" in refused.content.decode()
    request.refresh_from_db()
    assert request.client_id is None
    web.post(f"/appointments/{request.pk}/link-client/", {"client": person.pk})
    request.refresh_from_db()
    assert request.client_id == person.pk
    linked = web.get(f"/appointments/{request.pk}/").content.decode()
    assert f"/casework/receptions/new/?client={person.pk}" in linked and "关联此来访者" not in linked
    with pytest.raises(ValidationError) as error:
        services.do_link_client(actor=street_manager, appointment=request, client=person)
    assert "已关联" in str(error.value)
    assert AuditEntry.objects.filter(purpose="预约关联来访者").count() == 1
