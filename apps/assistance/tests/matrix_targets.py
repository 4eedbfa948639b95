"""Authorization-matrix targets of apps.assistance: every row is created in the unit the request aims at."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from tests.authz import Target

WHEN = "2026-11-20T10:00:00+08:00"
FORM_WHEN = "2026-11-20T10:00"


def _help(world, unit):
    from apps.assistance.models import HelpRequest

    row = HelpRequest.objects.create(
        unit=unit, unit_path=unit.path, tenant_id=unit.tenant_id or unit.pk, committee=unit, channel="phone",
        received_at=timezone.now(), seeker_name="矩阵求助者", topic="矩阵求助", specialty="youth",
        status="routed", assign_due=dt.date(2026, 11, 25),
    )  # fmt: skip
    return {"pk": row.pk}


def _hours(world, unit):
    from apps.assistance.models import HoursRecord

    row = HoursRecord.objects.create(
        member=world.resident[unit.pk], unit=unit, unit_path=unit.path, kind="training", activity="矩阵培训",
        date=dt.date(2026, 11, 1), hours=Decimal("2.0"), status="pending", self_reported=True,
    )  # fmt: skip
    return {"pk": row.pk}


def _responder_row(world, unit):
    from apps.assistance.models import Responder, ResponderSkill

    row, created = Responder.objects.get_or_create(
        user=world.resident[unit.pk],
        defaults={
            "unit": unit, "unit_path": unit.path, "trained_on": dt.date(2025, 5, 1),
            "available_from": dt.time(0, 0), "available_to": dt.time(23, 59), "contact": "13800138000",
        },
    )  # fmt: skip
    if created:
        ResponderSkill.objects.create(responder=row, skill="hotline")
    return row


def _responder(world, unit):
    return {"pk": _responder_row(world, unit).pk}


def _event_row(unit):
    from apps.assistance.models import StressEvent

    return StressEvent.objects.create(
        unit=unit, unit_path=unit.path, title="矩阵事件", kind="accident", place="矩阵地点",
        occurred_at=timezone.now(), scale=10, severity="general",
    )  # fmt: skip


def _event(world, unit):
    return {"pk": _event_row(unit).pk}


def _dispatch(world, unit):
    from apps.assistance.models import Dispatch

    event = _event_row(unit)
    start = timezone.now() + dt.timedelta(days=30)
    row = Dispatch.objects.create(
        event=event, unit_path=unit.path, responder=_responder_row(world, unit), role="counsellor",
        starts_at=start, ends_at=start + dt.timedelta(hours=4),
    )  # fmt: skip
    return {"pk": row.pk}


def _shift(world, unit):
    from apps.assistance.models import HotlineShift

    start = timezone.now() + dt.timedelta(days=60)
    row = HotlineShift.objects.create(
        unit=unit, unit_path=unit.path, responder=_responder_row(world, unit), starts_at=start,
        ends_at=start + dt.timedelta(hours=4),
    )  # fmt: skip
    return {"pk": row.pk}


def _unit(world, unit):
    return {"pk": unit.pk}


def _help_body(when):
    return lambda world, unit: {
        "unit": unit.pk, "channel": "phone", "received_at": when, "seeker_name": "矩阵求助者", "topic": "矩阵求助",
        "specialty": "youth", "urgency": "normal",
    }  # fmt: skip


def _event_body(when):
    return lambda world, unit: {
        "unit": unit.pk, "title": "矩阵事件", "kind": "accident", "place": "矩阵地点", "occurred_at": when,
        "scale": 5, "severity": "general",
    }  # fmt: skip


def _hours_body(world, unit):
    return {
        "member": world.resident[unit.pk].pk, "kind": "training", "activity": "矩阵培训", "date": "2026-11-01",
        "hours": "2",
    }  # fmt: skip


def _responder_body(api):
    def body(world, unit):
        data = {
            "user": world.resident[unit.pk].pk, "unit": unit.pk, "trained_on": "2025-05-01", "skills": ["hotline"],
            "status": "available", "available_from": "08:00", "available_to": "20:00", "contact": "13800138000",
        }  # fmt: skip
        data["available_weekdays"] = "1234567" if api else list("1234567")
        return data

    return body


def _shift_body(when_start, when_end):
    return lambda world, unit: {
        "unit": unit.pk, "responder": _responder_row(world, unit).pk, "starts_at": when_start, "ends_at": when_end,
    }  # fmt: skip


TARGETS = {
    "assistance:help-list": Target(),
    "assistance:help-overdue": Target(),
    "assistance:help-create": Target(body=_help_body(FORM_WHEN)),
    "assistance:help-detail": Target(_help),
    "assistance:help-identity": Target(_help),
    "assistance:help-route": Target(_help),
    "assistance:help-assign": Target(_help),
    "assistance:help-close": Target(_help),
    "assistance:settings": Target(_unit),
    "assistance:my": Target(),
    "assistance:my-help-detail": Target(_help, foreign_object=True),
    "assistance:my-help-accept": Target(_help, foreign_object=True),
    "assistance:my-help-decline": Target(_help, foreign_object=True),
    "assistance:my-help-close": Target(_help, foreign_object=True),
    "assistance:hours-report": Target(),
    "assistance:hours-list": Target(),
    "assistance:hours-create": Target(body=_hours_body),
    "assistance:hours-edit": Target(_hours),
    "assistance:hours-confirm": Target(_hours),
    "assistance:hours-totals": Target(),
    "assistance:volunteer-ranking": Target(),
    "assistance:responder-list": Target(),
    "assistance:responder-create": Target(body=_responder_body(api=False)),
    "assistance:responder-edit": Target(_responder),
    "assistance:event-list": Target(),
    "assistance:event-create": Target(body=_event_body(FORM_WHEN)),
    "assistance:event-detail": Target(_event),
    "assistance:event-mobilise": Target(_event),
    "assistance:event-close": Target(_event),
    "assistance:dispatch-report": Target(_dispatch),
    "assistance:dispatch-cancel": Target(_dispatch),
    "assistance:rota": Target(),
    "assistance:shift-create": Target(body=_shift_body("2027-01-05T08:00", "2027-01-05T12:00")),
    "assistance:shift-cancel": Target(_shift),
    "assistance-help-list": Target(body=_help_body(WHEN)),
    "assistance-help-detail": Target(_help),
    "assistance-help-identity": Target(_help),
    "assistance-help-route": Target(_help),
    "assistance-help-assign": Target(_help),
    "assistance-help-close": Target(_help),
    "assistance-my-help-list": Target(),
    "assistance-my-help-detail": Target(_help, foreign_object=True),
    "assistance-my-help-accept": Target(_help, foreign_object=True),
    "assistance-my-help-decline": Target(_help, foreign_object=True),
    "assistance-my-help-close": Target(_help, foreign_object=True),
    "assistance-hours-list": Target(body=_hours_body),
    "assistance-hours-confirm": Target(_hours),
    "assistance-my-hours-list": Target(),
    "assistance-my-hours-summary": Target(),
    "assistance-responder-list": Target(body=_responder_body(api=True)),
    "assistance-event-list": Target(body=_event_body(WHEN)),
    "assistance-event-detail": Target(_event),
    "assistance-event-candidates": Target(_event),
    "assistance-event-mobilise": Target(_event),
    "assistance-shift-list": Target(body=_shift_body("2027-01-05T08:00:00+08:00", "2027-01-05T12:00:00+08:00")),
}
