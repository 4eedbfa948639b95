"""Demo data of apps.outreach: inquiries (some overdue), visits due and overdue, interventions, referrals."""

import datetime as dt
import random

from django.utils import timezone

from apps.core.scoping import unscoped

from . import services
from .choices import InterventionKind

QUESTIONS = ["孩子最近不愿上学，家长该怎么沟通？", "失眠两周了，需要去医院吗？", "老人独居情绪低落，社区能上门看看吗？",
             "工作压力大经常心慌，想预约咨询。", "家里人有抑郁症，家属怎样陪伴？"]  # fmt: skip


def seed_demo_outreach(units: dict, users: dict) -> int:
    """Seed a few records in community-1-1 and community-2-1 through the normal services."""
    from apps.clients.models import Client

    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible
    staff = [users[name] for name in ("counsellor", "worker", "assistant") if name in users]
    actor = None  # seeded by the system, like seed_demo_clients
    count = 0
    today = services.today()
    for key in ("community-1-1", "community-2-1"):
        unit = units[key]
        with unscoped("demo seeding"):
            clients = list(Client.objects.filter(unit=unit).order_by("id")[:4])
        for days_ago in (12, 9, 2, 0):
            received = timezone.now() - dt.timedelta(days=days_ago, hours=rng.randint(1, 5))
            services.do_record_inquiry(
                actor=None, unit=unit, channel=rng.choice(["phone", "online", "sms"]), received_at=received,
                question=rng.choice(QUESTIONS), contact_name=rng.choice(["王女士", "李先生", "匿名"]),
                contact_phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
            )  # fmt: skip
            count += 1
        if not clients:
            continue
        team = staff if key == "community-1-1" else []
        for offset, client in zip((-5, 2, 6), clients, strict=False):
            services.do_plan_visit(
                actor=None, client=client, kind="planned", planned_for=today + dt.timedelta(days=offset),
                interval_days=30, preparation_notes="了解近期服药与睡眠情况，带上随访表。", staff=team[:2],
            )  # fmt: skip
            count += 1
        for client in clients[:3]:
            services.do_record_intervention(
                actor=actor, client=client, kind=rng.choice(InterventionKind.values),
                happened_at=timezone.now() - dt.timedelta(days=rng.randint(1, 30)),
                description="电话疏导，情绪有所缓解。",
            )  # fmt: skip
            count += 1
        services.do_refer(
            actor=actor, client=clients[0], institution="示范市第七人民医院", reason="评估提示中度抑郁，建议专科诊治。",
            materials="心理测评报告\n咨询记录摘要", referred_on=today - dt.timedelta(days=3),
            consent_reference="来访者书面同意（转介同意书）",
        )  # fmt: skip
        count += 1
    return count
