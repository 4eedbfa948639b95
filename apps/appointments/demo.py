"""Demo appointments: rooms, weekly duty hours of the demo counsellors, appointments in every state."""

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from apps.core.scoping import unscoped

from . import services
from .choices import Channel, RoomKind, Status
from .models import Appointment, Availability, OpeningHours, Room

ROOMS = [
    ("一号个体咨询室", RoomKind.INDIVIDUAL, 2),
    ("二号个体咨询室", RoomKind.INDIVIDUAL, 2),
    ("团体辅导室", RoomKind.GROUP, 12),
    ("心理测评室", RoomKind.ASSESSMENT, 4),
]
# (name, sex): the recorded sex fits the given name (issue 13 item 10).
NAMES = [
    ("林小雨", "female"),
    ("周建国", "male"),
    ("吴秀英", "female"),
    ("郑浩然", "male"),
    ("王婷婷", "female"),
    ("陈志强", "male"),
    ("冯春梅", "female"),
    ("何子涵", "female"),
    ("许晓东", "male"),
    ("高雨欣", "female"),
]
NEEDS = [
    "近两个月入睡困难，工作压力大，想学习放松方法。",
    "孩子上初二，最近厌学、与家长冲突多。",
    "退休后情绪低落，不愿出门。",
    "夫妻沟通困难，经常争吵。",
    "考试前紧张焦虑，心慌出汗。",
]


# (day offset from today, hour, status the appointment ends in). Yesterday's two are closed and the
# later days' four open at any moment, so every status is there; today's six hours are always there
# (the counsellor's "today" page) and ``_status_at`` adapts their statuses to the moment of seeding.
PLAN = [
    (-1, 15, Status.DONE),
    (-1, 16, Status.NO_SHOW),
    (0, 9, Status.DONE),
    (0, 10, Status.NO_SHOW),
    (0, 11, Status.CONFIRMED),
    (0, 14, Status.CHANGED),
    (0, 15, Status.CONFIRMED),
    (0, 16, Status.CANCELLED),
    (1, 9, Status.CONFIRMED),
    (1, 10, Status.REQUESTED),
    (2, 14, Status.CANCELLED),
    (5, 15, Status.CHANGED),
]
# A reschedule must land this far after "now", so that seeding (seconds) never outruns it.
CHANGE_MARGIN = timedelta(minutes=15)


def _at(day, hour):
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())


def _status_at(status: str, starts_at: datetime, now: datetime) -> str:
    """The planned status, made legal at ``now``: an hour that has begun is closed (done, or no-show
    for a person who did not come or cancelled), a later one stays open (confirmed or requested), and
    a reschedule only ever moves to an hour still ahead of ``now``."""
    if starts_at <= now:
        return Status.NO_SHOW if status in (Status.NO_SHOW, Status.CANCELLED) else Status.DONE
    if status == Status.DONE:
        return Status.CONFIRMED
    if status == Status.NO_SHOW:
        return Status.REQUESTED
    if status == Status.CHANGED and starts_at <= now + CHANGE_MARGIN:
        return Status.CONFIRMED
    return status


def _override(unit, counsellor, starts_at) -> dict:
    """The manager's override for a demo hour outside the counsellor's duty hours (Saturday mornings)."""
    if not services.outside_hours(unit, counsellor, starts_at, services.default_end(starts_at)):
        return {}
    return {"hours_override": True, "override_reason": "来访者只能周六上午来访，社区负责人批准加约"}


@transaction.atomic
def seed_demo_appointments(units: dict, users: dict) -> int:
    """Rooms in the demo district, the counsellor's weekly hours at two communities, and appointments
    today and over the next days in every state that is legal at the moment of seeding (hours already
    begun are closed, reschedules move to hours still ahead). Idempotent; returns the number made."""
    rng = random.Random(2026)  # noqa: S311 - reproducible demo data, not security
    counsellor = users["counsellor"]
    staff = users.get("community", counsellor)
    home, second = units["community-1-1"], units["community-2-1"]
    if Availability.objects.filter(unit=home, counsellor=counsellor).exists():
        return 0  # already seeded
    rooms = {}
    for key in ("community-1-1", "community-2-1", "street-1", "district"):
        unit = units[key]
        for name, kind, capacity in ROOMS[: 2 if key.startswith("community") else 4]:
            rooms.setdefault(key, []).append(
                Room.objects.get_or_create(
                    unit=unit, name=name, defaults={"unit_path": unit.path, "kind": kind, "capacity": capacity}
                )[0]
            )
    # The demo district's opening hours, inherited by its streets and communities: every day
    # 08:30–17:30 (its community rooms open at weekends too). The PLAN's days are relative to today,
    # so any weekday can come up.
    district = units["district"]
    for weekday in range(7):
        OpeningHours.objects.get_or_create(
            unit=district,
            weekday=weekday,
            opens=time(8, 30),
            defaults={"unit_path": district.path, "closes": time(17, 30)},
        )
    # The counsellor: every day 09:00–12:00 and 14:00–17:00 at the home community, except Saturday
    # mornings, spent at the second community. A Saturday-morning booking at home is outside the
    # duty hours, so the community manager books it with an override and a reason (issue 13 item 1).
    for weekday in range(7):
        if weekday != 5:
            Availability.objects.get_or_create(
                unit=home,
                counsellor=counsellor,
                weekday=weekday,
                start=time(9),
                defaults={"unit_path": home.path, "end": time(12)},
            )
        Availability.objects.get_or_create(
            unit=home,
            counsellor=counsellor,
            weekday=weekday,
            start=time(14),
            defaults={"unit_path": home.path, "end": time(17)},
        )
    Availability.objects.get_or_create(
        unit=second,
        counsellor=counsellor,
        weekday=5,
        start=time(9),
        defaults={"unit_path": second.path, "end": time(12)},
    )
    if not (home.address or home.phone):  # what the public booking confirmation shows
        home.address, home.phone = "东坡路 88 号社区服务中心二楼", "0571-8888 6601"
        home.save(update_fields=["address", "phone", "updated_at"])

    now = timezone.now()
    today = timezone.localdate(now)
    made = 0
    for i, (offset, hour, status) in enumerate(PLAN):
        day = today + timedelta(days=offset)
        starts_at = _at(day, hour)
        status = _status_at(status, starts_at, now)
        data = {
            "contact_name": NAMES[i % len(NAMES)][0],
            "contact_phone": f"139{rng.randint(10000000, 99999999)}",
            "needs_symptoms": rng.choice(NEEDS),
            "gender": NAMES[i % len(NAMES)][1],
            "age": rng.randint(14, 75),
            "family": rng.choice(["已婚，一子", "独居", "与父母同住", ""]),
            "address": "",
            "channel": rng.choice([Channel.ONSITE, Channel.ONSITE, Channel.PHONE, Channel.ONLINE]),
        }
        if status == Status.REQUESTED:
            with unscoped("demo data"):
                Appointment.objects.create(
                    unit=home,
                    unit_path=home.path,
                    starts_at=starts_at,
                    ends_at=services.default_end(starts_at),
                    told_confidentiality_and_change_cancel=True,
                    reference=services._new_reference(),
                    public_request=True,
                    **services.check_contact(data),
                )
            made += 1
            continue
        room = rooms["community-1-1"][i % 2] if data["channel"] == Channel.ONSITE else None
        data.update(
            counsellor=counsellor,
            room=room,
            told_service_content_flow_counsellor=True,
            told_confidentiality_and_change_cancel=True,
        )
        # A changed appointment was first booked a day later, then moved (forward from now) to this hour.
        booked_at = starts_at + timedelta(days=1) if status == Status.CHANGED else starts_at
        # An hour already begun was booked the day before it (history): the booking moment is then.
        booked_on = min(now, booked_at - timedelta(days=1))
        appointment = services.do_book_appointment(
            actor=staff,
            unit=home,
            data={**data, **_override(home, counsellor, booked_at), "starts_at": booked_at},
            now=booked_on,
        )
        if status == Status.CHANGED:
            services.do_change_appointment(
                actor=staff,
                appointment=appointment,
                starts_at=starts_at,
                reason="来访者来电要求改期",
                **_override(home, counsellor, starts_at),
            )
        elif status == Status.CANCELLED:
            services.do_cancel_appointment(actor=staff, appointment=appointment, reason="来访者临时有事，来电取消")
        elif status in (Status.DONE, Status.NO_SHOW):
            services.do_close_appointment(actor=staff, appointment=appointment, status=status)
        made += 1
    return made
