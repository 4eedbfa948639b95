"""Authorization-matrix targets of apps.outreach: every row is created in the unit the request aims at."""

import datetime as dt

from django.utils import timezone

from apps.core.scoping import unscoped
from tests.authz import Target

WHEN = "2026-11-20T10:00:00+08:00"


def _client_kw(world, unit):
    return {"client_pk": world.client[unit.pk].pk}


def _inquiry(world, unit):
    from apps.outreach.models import RemoteInquiry

    row = RemoteInquiry.objects.create(
        unit=unit, unit_path=unit.path, channel="phone", received_at=timezone.now(), question="矩阵咨询",
        reply_due=dt.date(2026, 11, 25),
    )  # fmt: skip
    return {"pk": row.pk}


def _visit(world, unit):
    from apps.outreach.models import HomeVisit

    client = world.client[unit.pk]
    row = HomeVisit.objects.create(
        client=client, unit=unit, unit_path=unit.path, kind="ad_hoc", planned_for=dt.date(2026, 11, 25)
    )
    return {"pk": row.pk}


def _intervention(world, unit):
    from apps.outreach.models import Intervention

    client = world.client[unit.pk]
    row = Intervention.objects.create(
        client=client, unit=unit, unit_path=unit.path, kind="care_comfort_guidance", happened_at=timezone.now(),
        description="矩阵干预",
    )  # fmt: skip
    return {"pk": row.pk}


def _referral(world, unit):
    from apps.outreach.models import Referral

    client = world.client[unit.pk]
    row = Referral.objects.create(
        client=client, unit=unit, unit_path=unit.path, institution="矩阵医院", reason="矩阵", materials="评估表",
        referred_on=dt.date(2026, 11, 20), consent_reference="书面同意",
    )  # fmt: skip
    return {"pk": row.pk}


def _disclosure(world, unit):
    from apps.outreach.models import Disclosure

    client = world.client[unit.pk]
    with unscoped("matrix set-up"):
        row = Disclosure.objects.create(
            client=client, unit_path=unit.path, recipient="矩阵法院", what="矩阵", legal_basis="法律规定",
            disclosed_at=timezone.now(),
        )  # fmt: skip
    return {"pk": row.pk}


def _inquiry_body(world, unit):
    return {"unit": unit.pk, "channel": "phone", "received_at": WHEN, "question": "矩阵咨询内容"}


def _client_body(extra):
    return lambda world, unit: {"client": world.client[unit.pk].pk, **extra}


TARGETS = {
    "outreach:inquiry-list": Target(),
    "outreach:inquiry-overdue": Target(),
    "outreach:inquiry-create": Target(body=_inquiry_body),
    "outreach:inquiry-detail": Target(_inquiry),
    "outreach:inquiry-answer": Target(_inquiry),
    "outreach:visit-mine": Target(),
    "outreach:visit-detail": Target(_visit),
    "outreach:visit-record": Target(_visit),
    "outreach:visit-cancel": Target(_visit),
    "outreach:intervention-detail": Target(_intervention),
    "outreach:referral-list": Target(),
    "outreach:referral-detail": Target(_referral),
    "outreach:referral-outcome": Target(_referral),
    "outreach:client-overview": Target(_client_kw),
    "outreach:visit-create": Target(_client_kw),
    "outreach:intervention-create": Target(_client_kw),
    "outreach:referral-create": Target(_client_kw),
    "outreach:disclosure-create": Target(_client_kw),
    "outreach-inquiry-list": Target(body=_inquiry_body),
    "outreach-inquiry-detail": Target(_inquiry),
    "outreach-inquiry-answer": Target(_inquiry),
    "outreach-visit-list": Target(body=_client_body({"kind": "ad_hoc", "planned_for": "2026-11-30"})),
    "outreach-visit-detail": Target(_visit),
    "outreach-visit-record": Target(_visit),
    "outreach-intervention-list": Target(
        body=_client_body({"kind": "health_lecture", "happened_at": WHEN, "description": "矩阵讲座"})
    ),
    "outreach-intervention-detail": Target(_intervention),
    "outreach-referral-list": Target(
        body=_client_body(
            {
                "institution": "矩阵医院",
                "reason": "矩阵",
                "materials": ["评估表"],
                "referred_on": "2026-11-20",
                "consent_reference": "书面同意",
            }
        )
    ),
    "outreach-referral-detail": Target(_referral),
    "outreach-referral-outcome": Target(_referral),
    "outreach-disclosure-list": Target(
        body=_client_body({"recipient": "矩阵法院", "what": "矩阵", "legal_basis": "法律规定", "disclosed_at": WHEN})
    ),
    "outreach-disclosure-detail": Target(_disclosure),
}
