"""Authorization-matrix targets of apps.governance: every row is created in the unit the request aims at."""

import datetime as dt

from django.utils import timezone

from tests.authz import Target


def _meeting_row(world, unit, *, past=True):
    from apps.governance.models import Invitation, Meeting

    starts = timezone.now() + dt.timedelta(days=-2 if past else 5)
    meeting = Meeting.objects.create(
        unit=unit, unit_path=unit.path, body="unit", title="矩阵会议", starts_at=starts, place="会议室"
    )
    invitation = Invitation.objects.create(meeting=meeting, user=world.resident[unit.pk], unit_path=unit.path)
    return meeting, invitation


def _meeting(world, unit):
    return {"pk": _meeting_row(world, unit)[0].pk}


def _invitation(world, unit):
    return {"pk": _meeting_row(world, unit)[1].pk}


def _future_invitation(world, unit):
    return {"pk": _meeting_row(world, unit, past=False)[1].pk}


def _duty(world, unit):
    from apps.governance.models import DutyReport

    row, _ = DutyReport.objects.get_or_create(
        unit=unit, year=2025, leader=world.resident[unit.pk],
        defaults={"unit_path": unit.path, "position_title": "矩阵部长", "due_date": dt.date(2026, 12, 31)},
    )  # fmt: skip
    return {"pk": row.pk}


def _meeting_body(world, unit):
    return {
        "unit": unit.pk, "body": "unit", "title": "矩阵新会议",
        # a meeting in the future whatever day the suite runs (past ones are refused, H-ORG-5)
        "starts_at": (timezone.now() + dt.timedelta(days=13)).isoformat(),
        "place": "会议室", "invitees": [world.resident[unit.pk].pk], "work_report_days": 7,
    }  # fmt: skip


def _duty_body(world, unit):
    return {
        "unit": unit.pk, "year": 2026, "leader": world.resident[unit.pk].pk, "position_title": "矩阵部长",
        "due_date": "2026-12-31",
    }  # fmt: skip


TARGETS = {
    "governance:meeting-list": Target(),
    "governance:meeting-create": Target(body=_meeting_body),
    "governance:meeting-detail": Target(_meeting),
    "governance:meeting-edit": Target(_meeting),
    "governance:meeting-cancel": Target(_meeting),
    "governance:meeting-attendance": Target(_meeting),
    "governance:meeting-minutes": Target(_meeting),
    "governance:leave-decide": Target(_invitation),
    "governance:report-receive": Target(_invitation),
    "governance:report-list": Target(),
    "governance:duty-list": Target(),
    "governance:duty-create": Target(body=_duty_body),
    "governance:duty-receive": Target(_duty),
    # self-service: only the invitee / the leader themself
    "governance:mine": Target(),
    "governance:my-leave": Target(_future_invitation, foreign_object=True),
    "governance:my-report": Target(_invitation, foreign_object=True),
    "governance:my-duty": Target(_duty, foreign_object=True),
    # API
    "governance-meeting-list": Target(body=_meeting_body),
    "governance-meeting-detail": Target(_meeting),
    "governance-meeting-attendance": Target(_meeting),
    "governance-meeting-cancel": Target(_meeting),
    "governance-meeting-minutes": Target(_meeting),
    "governance-invitation-list": Target(),
    "governance-invitation-detail": Target(_invitation),
    "governance-invitation-decide-leave": Target(_invitation),
    "governance-invitation-receive-report": Target(_invitation),
    "governance-duty-report-list": Target(body=_duty_body),
    "governance-duty-report-detail": Target(_duty),
    "governance-duty-report-receive": Target(_duty),
    "governance-mine-list": Target(),
    "governance-mine-leave": Target(_future_invitation, foreign_object=True),
    "governance-mine-report": Target(_invitation, foreign_object=True),
}
