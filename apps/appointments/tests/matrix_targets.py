"""The appointments module's URLs in the authorization matrix (tests/test_authorization_matrix.py).

Appointments made for the matrix carry their unit's name as contact name, so a list that showed
one from outside the viewer's subtree would trip the matrix's leak markers.
"""

from datetime import time, timedelta

from django.utils import timezone

from apps.core.scoping import unscoped
from tests.authz import Target


def appointment_pk(world, unit):
    from apps.appointments.models import Appointment
    from apps.appointments.services import _new_reference

    start = timezone.localtime().replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    with unscoped("matrix fixture"):
        row = Appointment.objects.create(
            unit=unit,
            unit_path=unit.path,
            contact_name=unit.name,
            contact_phone="13800138000",
            needs_symptoms="矩阵测试需求",
            starts_at=start,
            ends_at=start + timedelta(minutes=50),
            reference=_new_reference(),
        )
    return {"pk": row.pk}


def room_pk(world, unit):
    from apps.appointments.models import Room

    row, _ = Room.objects.get_or_create(unit=unit, name="矩阵咨询室", defaults={"unit_path": unit.path})
    return {"pk": row.pk}


def availability_pk(world, unit):
    from apps.appointments.models import Availability

    row = Availability.objects.create(
        unit=unit, unit_path=unit.path, counsellor=world.resident[unit.pk], weekday=0, start=time(9), end=time(10)
    )
    return {"pk": row.pk}


def _booking(world, unit):
    return {
        "unit": unit.pk,
        "counsellor": world.resident[unit.pk].pk,
        "starts_at": "2099-01-05T09:00",
        "contact_name": "矩阵",
        "contact_phone": "13800138000",
        "needs_symptoms": "矩阵",
    }


TARGETS = {
    "appointments:appointment-list": Target(),
    "appointments:today": Target(),
    "appointments:appointment-create": Target(body=_booking),
    "appointments:appointment-detail": Target(appointment_pk),
    "appointments:appointment-confirm": Target(appointment_pk),
    "appointments:appointment-change": Target(appointment_pk),
    "appointments:appointment-cancel": Target(appointment_pk),
    "appointments:appointment-close": Target(appointment_pk),
    "appointments:appointment-link-client": Target(
        appointment_pk, body=lambda world, unit: {"client": world.client[unit.pk].pk}
    ),
    "appointments:room-list": Target(),
    "appointments:room-create": Target(body=lambda w, u: {"unit": u.pk, "name": "矩阵新室", "kind": "individual"}),
    "appointments:room-edit": Target(room_pk),
    "appointments:availability-create": Target(
        body=lambda w, u: {"unit": u.pk, "counsellor": w.resident[u.pk].pk, "weekday": 1, "start": "09:00"}
    ),
    "appointments:availability-delete": Target(availability_pk),
    # public booking pages (declared PUBLIC: the matrix only requests them)
    "appointments-public:choose-unit": Target(),
    "appointments-public:book": Target(lambda w, u: {"unit_id": u.pk}),
    "appointments-public:verify": Target(),
    "appointments-public:done": Target(),
    # API
    "appointment-list": Target(body=_booking),
    "appointment-detail": Target(appointment_pk),
    "appointment-confirm": Target(appointment_pk),
    "appointment-change": Target(appointment_pk),
    "appointment-cancel": Target(appointment_pk),
    "appointment-room-list": Target(body=lambda w, u: {"unit": u.pk, "name": "矩阵接口室"}),
    "appointment-room-detail": Target(room_pk),
}


def opening_hours_pk(world, unit):
    from apps.appointments.models import OpeningHours

    row = OpeningHours.objects.create(unit=unit, unit_path=unit.path, weekday=5, opens=time(9), closes=time(12))
    return {"pk": row.pk}


TARGETS.update(
    {
        "appointments:week": Target(),
        # a unit manager's page; GET shows the first unit in scope, POST aims at the unit in the body
        "appointments:opening-hours": Target(
            body=lambda w, u: {"action": "add", "unit": u.pk, "weekday": 6, "opens": "09:00", "closes": "12:00"}
        ),
        "appointments:opening-hours-delete": Target(opening_hours_pk),
    }
)
