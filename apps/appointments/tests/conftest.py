from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from apps.appointments.models import Availability


def next_weekday(weekday: int, at: int = 10, min_days: int = 2) -> datetime:
    """An aware local datetime ``at`` o'clock on the next ``weekday`` at least ``min_days`` ahead."""
    day = timezone.localdate() + timedelta(days=min_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime.combine(day, time(at), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def monday_10():
    return next_weekday(0, 10)


@pytest.fixture
def hours_a(tree, counsellor_a):
    """counsellor_a is on duty at C1 every weekday 09:00–12:00."""
    return [
        Availability.objects.create(
            unit=tree.c1, unit_path=tree.c1.path, counsellor=counsellor_a, weekday=d, start=time(9), end=time(12)
        )
        for d in range(7)
    ]


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
    message = [m for m in outbox if phone is None or m.phone == phone][-1]
    return message.params["code"]
