"""Demo assessments: six months of PHQ-9, GAD-7 and WHO-5 results for the demo clients, through the services."""

import random
from datetime import timedelta

from django.utils import timezone

from apps.clients.models import Client
from apps.core.scoping import unscoped

from .services import do_record_result

# PHQ-9 totals over six monthly visits: improving, worsening, steady, and a crisis that settles.
TRAJECTORIES = {
    "improving": [19, 16, 13, 10, 7, 5],
    "worsening": [6, 8, 11, 14, 17, 21],
    "steady": [8, 9, 8, 7, 9, 8],
    "crisis": [12, 22, 18, 14, 11, 9],
}


def _phq9(total: int, rng: random.Random, item9: int) -> list[int]:
    """Answers summing to ``total`` with item 9 fixed (critical when > 0)."""
    answers = [0] * 8 + [item9]
    left = total - item9
    while left > 0:
        i = rng.randrange(8)
        if answers[i] < 3:
            answers[i] += 1
            left -= 1
    return answers


def _spread(total: int, count: int, top: int, rng: random.Random) -> list[int]:
    answers = [0] * count
    while total > 0:
        i = rng.randrange(count)
        if answers[i] < top:
            answers[i] += 1
            total -= 1
    return answers


def seed_demo_assessments(units: dict, users: dict) -> int:
    """Give the first clients of each community monthly results over six months; return how many were recorded."""
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible
    now = timezone.now()
    kinds = list(TRAJECTORIES)
    count = 0
    for key in sorted(k for k in units if k.startswith("community-")):
        with unscoped("demo data: pick clients of one community"):
            clients = list(Client.objects.filter(unit=units[key], merged_into__isnull=True).order_by("id")[:6])
        for index, client in enumerate(clients):
            kind = kinds[(index + len(key)) % len(kinds)]
            for month, total in enumerate(TRAJECTORIES[kind]):
                when = now - timedelta(days=30 * (6 - month) + rng.randrange(5), hours=rng.randrange(8))
                item9 = 1 if kind == "crisis" and month == 1 else 0
                mode = "online" if month % 3 == 2 else "paper"
                do_record_result(
                    actor=None, client=client, scale_code="PHQ-9", answers=_phq9(total, rng, item9),
                    administered_at=when, mode=mode,
                )  # fmt: skip
                gad = max(0, min(21, round(total * 0.7) + rng.randrange(-2, 3)))
                do_record_result(
                    actor=None, client=client, scale_code="GAD-7", answers=_spread(gad, 7, 3, rng),
                    administered_at=when + timedelta(minutes=10), mode=mode,
                )  # fmt: skip
                count += 2
                if month % 2 == 0:
                    who = max(0, min(25, 25 - total + rng.randrange(-2, 3)))
                    do_record_result(
                        actor=None, client=client, scale_code="WHO-5", answers=_spread(who, 5, 5, rng),
                        administered_at=when + timedelta(minutes=20), mode=mode,
                    )  # fmt: skip
                    count += 1
    return count
