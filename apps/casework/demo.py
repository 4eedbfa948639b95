"""Demo casework: cases in several states with their events, sessions with notes, consents, receptions."""

import random
from datetime import timedelta

from django.utils import timezone

from apps.accounts.models import Assignment
from apps.clients.models import Client
from apps.core.access import forget_grant
from apps.core.scoping import unscoped

from . import services

NOTES = [
    "来访者谈到近两个月入睡困难，工作压力大，与家人沟通减少。共同梳理压力来源，布置睡眠日记作业。",
    "回顾睡眠日记，入睡时间有所提前。讨论与上级沟通的方式，练习放松训练。",
    "来访者情绪较前平稳，自述愿意尝试与家人谈心。约定下次巩固练习。",
]
# (state path after "requested", with the requester of each step)
PATHS = [
    [],
    [("active", "client")],
    [("active", "client"), ("paused", "client")],
    [("active", "client"), ("postponed", "client"), ("active", "client")],
    [("active", "client"), ("terminated", "client"), ("closed", "counsellor")],
    [("active", "client"), ("referred", "counsellor")],
]


def seed_demo_casework(units: dict, users: dict) -> int:
    """Open cases for the first clients of the counsellor's communities, through the normal services."""
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible
    counsellor = users["counsellor"]
    count = 0
    for key in ("community-1-1", "community-2-1"):
        unit = units[key]
        # act through the counsellor's post at this community (the demo counsellor works in two)
        counsellor.active_assignment_id = (
            Assignment.objects.filter(user=counsellor, unit=unit).values_list("pk", flat=True).first()
        )
        forget_grant(counsellor)
        with unscoped("demo data: pick clients of one community"):
            clients = [c for c in Client.objects.filter(unit=unit).order_by("id") if not services.is_minor(c)]
        for client, path in zip(clients, PATHS, strict=False):
            case = services.do_open_case(
                actor=None, client=client, counsellor=counsellor, reason="来访者主动申请心理咨询"
            )
            services.do_record_consent(
                actor=None,
                client=client,
                case=case,
                kind="confidentiality_notice",
                given_by="client",
                notice_version="2026-1",
            )
            services.do_record_reception(
                actor=counsellor,
                client=client,
                data={
                    "reason": "近期失眠、情绪低落",
                    "history": "无咨询史，无用药史",
                    "told_flow_rights": True,
                    "received_at": timezone.now() - timedelta(days=30),
                },
            )
            for step, (state, requester) in enumerate(path):
                services.do_transition_case(
                    actor=None,
                    case=case,
                    to_state=state,
                    requested_by=requester,
                    reason="来访者提出" if requester == "client" else "咨询师评估后与来访者商定",
                )
                if state == "active" and step == 0:
                    _sessions(case, counsellor, rng)
            count += 1
    return count


def _sessions(case, counsellor, rng) -> None:
    start = timezone.now() - timedelta(days=21)
    for i, note in enumerate(NOTES[: rng.randint(1, 3)]):
        services.do_record_session(
            actor=counsellor,
            case=case,
            data={
                "happened_at": start + timedelta(days=7 * i),
                "duration_minutes": 50,
                "notes": note,
                "problem_focus": "睡眠问题与工作压力",
                "framework": "认知行为取向，短程 6 次",
                "severity": "mild",
                "expected_effect": "睡眠改善，情绪稳定",
                "recording_consent": i == 0,
            },
        )
