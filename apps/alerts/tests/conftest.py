"""Fixtures of the three-colour warning tests: named people on each side of each rule, a clock."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.accounts.models import Assignment, Role
from apps.clients.services import do_register_client
from apps.core.perms import Perm
from conftest import make_user


class Clock:
    """Move "now" for every ``timezone.now()`` caller (services, auto_now fields, audit)."""

    def __init__(self, monkeypatch):
        self.offset = dt.timedelta()
        real_now = timezone.now
        monkeypatch.setattr(timezone, "now", lambda: real_now() + self.offset)

    def advance(self, days: int = 0, **kwargs):
        self.offset += dt.timedelta(days=days, **kwargs)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def worker(tree):
    """A community worker (社区专干) in community C1: tags and reports."""
    return make_user("worker_c1", tree.c1, "community_worker", full_name="专干甲")


@pytest.fixture
def district_officer(tree):
    """A district-centre officer who sets colours but may not lower a red (no ``alert.lower_red``)."""
    role = Role.objects.create(
        code="district_officer",
        name="区中心专员",
        permissions=[
            Perm.ORG_VIEW, Perm.CLIENT_VIEW, Perm.ASSESSMENT_VIEW, Perm.ALERT_VIEW, Perm.ALERT_TAG,
            Perm.ALERT_MANAGE, Perm.ALERT_FOLLOW_UP, Perm.ALERT_STATS,
        ],
    )  # fmt: skip
    user = make_user("district_officer", tree.district, None, full_name="区中心专员")
    Assignment.objects.create(user=user, unit=tree.district, role=role)
    return user


@pytest.fixture
def evaluator(tree):
    """An evaluator at the district: statistics without identities (small cells suppressed)."""
    return make_user("evaluator", tree.district, "evaluator", full_name="评估员")


@pytest.fixture
def key_client(tree):
    return do_register_client(actor=None, unit=tree.c1, data={"name": "王预警"})


def phq9_answers(total: int, item9: int = 0) -> list[int]:
    """Nine PHQ-9 answers that add up to ``total`` with item 9 = ``item9``."""
    rest = total - item9
    assert 0 <= rest <= 24 and 0 <= item9 <= 3
    answers = []
    for _ in range(8):
        take = min(3, rest)
        answers.append(take)
        rest -= take
    return [*answers, item9]


def phq9(client, total: int, item9: int = 0, when=None):
    from apps.assessments.services import do_record_result

    return do_record_result(
        actor=None, client=client, scale_code="PHQ-9", answers=phq9_answers(total, item9), administered_at=when
    )
