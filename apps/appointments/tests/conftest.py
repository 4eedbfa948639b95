from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from apps.appointments.models import Availability, OpeningHours


def next_weekday(weekday: int, at: int = 10, min_days: int = 2) -> datetime:
    """An aware local datetime ``at`` o'clock on the next ``weekday`` at least ``min_days`` ahead."""
    day = timezone.localdate() + timedelta(days=min_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime.combine(day, time(at), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def monday_10(hours_a):
    """A Monday 10:00 at least two days ahead: C1 is open (default Monday–Friday 08:30–17:30) and
    counsellor_a is on duty there (``hours_a``), so a booking then is legal (issue 13 item 1)."""
    return next_weekday(0, 10)


def on_duty(unit, counsellor, start: int = 9, end: int = 12, weekdays=range(7)) -> list:
    """Give ``counsellor`` duty hours at ``unit`` (every day ``start``–``end`` o'clock by default)."""
    return [
        Availability.objects.create(
            unit=unit, unit_path=unit.path, counsellor=counsellor, weekday=d, start=time(start), end=time(end)
        )
        for d in weekdays
    ]


def open_daily(unit, opens: int = 8, closes: int = 20) -> list:
    """Give ``unit`` its own opening hours: every day ``opens``–``closes`` o'clock."""
    return [
        OpeningHours.objects.create(unit=unit, unit_path=unit.path, weekday=d, opens=time(opens), closes=time(closes))
        for d in range(7)
    ]


@pytest.fixture
def hours_a(tree, counsellor_a):
    """C1 is open every day 08:00–20:00 and counsellor_a is on duty there every day 09:00–12:00."""
    open_daily(tree.c1)
    return on_duty(tree.c1, counsellor_a)


def booking(counsellor, starts_at, **extra) -> dict:
    data = {
        "counsellor": counsellor,
        "starts_at": starts_at,
        "contact_name": "林小雨",
        "contact_phone": "13912345678",
        "needs_symptoms": "近两个月失眠，工作压力大",
        "gender": "female",
        "age": 34,
        "family": "已婚，一子",
        "address": "东坡路 1 号",
        "told_service_content_flow_counsellor": True,
        "told_confidentiality_and_change_cancel": True,
        "channel": "onsite",
    }
    data.update(extra)
    return data


@pytest.fixture
def sms_outbox(settings):
    """The SMS the code sends, whole (MemorySmsBackend: the file and console backends mask digits)."""
    from apps.notifications.backends import sms_outbox as outbox

    settings.NOTIFY_SMS_BACKEND = "apps.notifications.backends.MemorySmsBackend"
    outbox.clear()
    yield outbox
    outbox.clear()


def last_code(outbox, phone: str | None = None) -> str:
    """The code of the last SMS (to ``phone``, given in E.164 like ``+8613912345678``)."""
    message = [m for m in outbox if (phone is None or m.phone == phone) and "code" in m.params][-1]
    return message.params["code"]
