"""Demo screening data: a few screening records in every community room (S-CLIENT-3)."""

import datetime as dt
import random

from django.utils import timezone

from apps.clients.models import Client
from apps.core.scoping import unscoped

from .choices import RiskLevel, ScreeningSource
from .services import do_record_screening

FINDINGS = [
    "独居老人，近期丧偶，情绪低落，夜间失眠。",
    "失业半年，家庭经济困难，与家人争吵增多。",
    "邻里反映其近期言语激动，多次与物业发生冲突。",
    "子女在外地工作，平时少有人来往，愿意参加社区活动。",
    "刚结束社区矫正，求职不顺，有自卑情绪。",
    "家属反映其长期服药，近期自行停药。",
]


def seed_demo_screening(units: dict, users: dict) -> int:
    """Screen three registered clients of each community room; the demo worker records those of
    community-1-1 (so their records show that worker), the system the others."""
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible
    today = timezone.localdate()
    worker = users.get("worker")
    count = 0
    for key, unit in sorted(units.items()):
        if not key.startswith("community-"):
            continue
        with unscoped("demo data: pick a few clients of this community"):
            clients = list(Client.objects.filter(unit=unit).order_by("id")[:3])
        actor = worker if key == "community-1-1" else None
        for client in clients:
            do_record_screening(
                actor=actor,
                unit=unit,
                client=client,
                screening={
                    "screened_on": today - dt.timedelta(days=rng.randint(1, 60)),
                    "source": rng.choice(ScreeningSource.values),
                    "risk_level": rng.choices(RiskLevel.values, weights=[6, 3, 1])[0],
                    "finding": rng.choice(FINDINGS),
                },
            )
            count += 1
    return count
