"""Demo warnings: every colour at every stage, including overdue feedback and overdue cycles.

Runs after the assessments demo. Each file is built through the services while "now" is moved back
in time, so dates, deadlines, cycles, proposals and events are exactly what the rules produce.
"""

import datetime as dt
import random
from contextlib import contextmanager
from unittest import mock

from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.scoping import unscoped

from . import services
from .choices import Colour, State
from .models import Warning

SCORES = {Colour.RED: 22, Colour.ORANGE: 12, Colour.YELLOW: 7}
STAGES = (
    "pending",
    "opened",
    "feedback_overdue",
    "tracking",
    "cycle_overdue",
    "proposal_control",
    "proposal_adjust",
    "control",
    "closed",
)
REASONS = {
    "pending": "日常排查发现近期情绪低落、失眠，家属担心",
    "tag": "社区专干走访发现独居、情绪低落，拒绝与人交流",
}


@contextmanager
def _at(moment: dt.datetime):
    """Let every ``timezone.now()`` answer ``moment`` (the services stamp and date by it)."""
    with mock.patch.object(timezone, "now", lambda: moment):
        yield


def _covering(users, unit, candidates, check):
    for username in candidates:
        user = users.get(username)
        if user is None:
            continue
        try:
            check(user)
        except ValidationError:
            continue
        return user
    return users.get("district")


def _phq9(client, total: int, moment):
    from apps.assessments.services import do_record_result

    answers, rest = [], total
    for _ in range(8):
        answers.append(min(3, rest))
        rest -= answers[-1]
    return do_record_result(
        actor=None, client=client, scale_code="PHQ-9", answers=[*answers, 0], administered_at=moment
    )


def seed_demo_alerts(units: dict, users: dict) -> int:
    """Create demo warnings in the demo district; return how many files exist afterwards."""
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible
    admin = users["district"]
    now = timezone.now()
    community_keys = sorted(k for k in units if k.startswith("community-"))
    with unscoped("demo data: seeded before? then running seed_demo again is a no-op"):
        existing = Warning.objects.filter(unit_path__startswith=units["district"].path).count()
    if existing:
        return existing
    with unscoped("demo data: clients of the demo district without an active warning"):
        busy = set(Warning.objects.exclude(state=State.CLOSED).values_list("client_id", flat=True))
        from apps.clients.models import Client

        clients = [
            c
            for c in Client.objects.filter(unit__in=[units[k] for k in community_keys], merged_into__isnull=True)
            .select_related("unit")
            .order_by("id")
            if c.pk not in busy
        ]
        reported = list(Warning.objects.filter(state=State.REPORTED).select_related("client", "unit").order_by("id"))
    rng.shuffle(clients)

    def tagger(client):
        return _covering(
            users, client.unit, ["worker", "community", "street", "street2"],
            lambda u: services._require(u, "alert.tag", client, "x"),
        )  # fmt: skip

    def responder(warning):
        return _covering(
            users, warning.unit, ["counsellor", "centre_counsellor"],  # counsellors only (issue 13 item 8)
            lambda u: services.check_responder(u, warning),
        )  # fmt: skip

    def tag(client, colour, when):
        with _at(when):
            return services.do_tag_key_person(
                actor=tagger(client), client=client, proposed_colour=colour, reason=REASONS["tag"]
            )

    def open_file(warning, total, when):
        with _at(when):
            result = _phq9(warning.client, total, when)
            return services.do_set_colour(actor=admin, warning=warning, result=result, counsellor=responder(warning))

    def feedback(warning, when):
        with _at(when):
            return services.do_send_feedback(actor=admin, warning=warning, note="请街道、社区按周期上门关怀。")

    def run_cycles(warning, last_total, count=3):
        for _ in range(count):
            when = dt.datetime.combine(warning.cycle_due, dt.time(10), tzinfo=services.SHANGHAI)
            with _at(when - dt.timedelta(days=1)):
                services.do_record_contact(
                    actor=warning.counsellor, warning=warning, kind="face", happened_at=timezone.now(),
                    note="上门了解近况，家属在场，情绪较前平稳。",
                )  # fmt: skip
                if services.reassessment_due(warning, services.policy_for(warning.tenant_id)):
                    _phq9(warning.client, last_total, timezone.now())
            with _at(when):
                warning = services.do_complete_cycle(actor=warning.counsellor, warning=warning)
        return warning

    made = 0
    # Results the assessments demo scored red were reported automatically: the centre opens those files.
    for warning in reported:
        when = now - dt.timedelta(days=2)
        with _at(when):
            from apps.assessments.selectors import latest_result

            result = latest_result(warning.client, "PHQ-9")
            if result is None or services.colour_for_result(result) == Colour.NONE:
                continue
            services.do_set_colour(actor=admin, warning=warning, result=result, counsellor=responder(warning))
        made += 1

    for colour in (Colour.RED, Colour.ORANGE, Colour.YELLOW):
        total = SCORES[colour]
        days = services.policy_for(units["district"].tenant_id or units["district"].pk).cycle_days(colour)
        for stage in STAGES:
            if not clients:
                break
            if stage == "proposal_adjust" and colour == Colour.YELLOW:
                continue
            client = clients.pop()
            hour = dt.timedelta(hours=rng.randrange(1, 6))
            if stage == "pending":
                tag(client, colour, now - dt.timedelta(days=1) - hour)
            elif stage == "opened":
                warning = tag(client, colour, now - dt.timedelta(hours=5))
                open_file(warning, total, now - dt.timedelta(hours=2))
            elif stage == "feedback_overdue":
                start = now - dt.timedelta(days=5) - hour
                open_file(tag(client, colour, start), total, start + dt.timedelta(hours=3))
            elif stage == "tracking":
                start = now - dt.timedelta(days=max(1, days - 2)) - hour
                warning = open_file(tag(client, colour, start), total, start + dt.timedelta(hours=3))
                feedback(warning, start + dt.timedelta(days=1))
            elif stage == "cycle_overdue":
                start = now - dt.timedelta(days=days + 3) - hour
                warning = open_file(tag(client, colour, start), total, start + dt.timedelta(hours=3))
                feedback(warning, start + dt.timedelta(days=1))
            else:
                start = now - dt.timedelta(days=3 * days + 2) - hour
                warning = open_file(tag(client, colour, start), total, start + dt.timedelta(hours=3))
                warning = feedback(warning, start + dt.timedelta(days=1))
                changed = stage == "proposal_adjust" or stage == "closed"
                warning = run_cycles(warning, (total - 10 if total > 10 else total - 5) if changed else total - 1)
                if stage == "control":
                    with _at(
                        min(now, dt.datetime.combine(warning.cycle_started, dt.time(15), tzinfo=services.SHANGHAI))
                    ):
                        services.do_enter_control(
                            actor=admin, warning=warning, measures=["supervision", "tracking", "referral"],
                            reason="三个周期复评分值基本不变，转入管控流程。", institution="市第七人民医院",
                        )  # fmt: skip
                elif stage == "closed":
                    with _at(
                        min(now, dt.datetime.combine(warning.cycle_started, dt.time(15), tzinfo=services.SHANGHAI))
                    ):
                        if warning.colour != Colour.YELLOW:
                            warning = services.do_change_colour(
                                actor=admin, warning=warning, colour=Colour.YELLOW,
                                reason="三个周期复评分值明显下降，情绪稳定。",
                            )  # fmt: skip
                        services.do_close(actor=admin, warning=warning, reason="连续随访情况稳定，经评估结案。")
            made += 1
    with unscoped("demo summary"):
        return Warning.objects.count() if made else 0
