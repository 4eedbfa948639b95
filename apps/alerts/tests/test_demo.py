"""The demo data covers every colour at every stage, overdue ones included."""

import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.alerts import selectors
from apps.alerts.choices import Colour, Proposal, State
from apps.alerts.demo import seed_demo_alerts
from apps.alerts.models import Warning
from apps.core.scoping import unscoped
from apps.orgs.models import OrgUnit

pytestmark = pytest.mark.django_db


def demo_units() -> dict:
    from apps.core.management.commands.seed_demo import DEMO_ROOT_CODE

    units = {"district": OrgUnit.objects.get(code=DEMO_ROOT_CODE)}
    for unit in OrgUnit.objects.filter(code__regex=r"^DEMO-S[0-9]+(C[0-9]+)?$"):
        street, _, community = unit.code[len("DEMO-S") :].partition("C")
        units[f"community-{street}-{community}" if community else f"street-{street}"] = unit
    return units


def test_demo_has_every_colour_at_every_stage():
    """S-WARN-1…5: demo files of each colour are pending, open, overdue, proposed, in control and closed."""
    call_command("seed_demo", part="service")
    units = demo_units()
    users = {u.username: u for u in User.objects.all()}
    try:
        from apps.assessments.demo import seed_demo_assessments

        seed_demo_assessments(units, users)
    except ImportError:
        pass
    assert seed_demo_alerts(units, users) > 20
    day = selectors.today()
    with unscoped("test assertion over the demo"):
        rows = Warning.objects.all()
        for colour in (Colour.RED, Colour.ORANGE, Colour.YELLOW):
            assert rows.filter(state=State.REPORTED, proposed_colour=colour).exists()
            tracked = rows.filter(colour=colour, state__in=[State.OPEN, State.CONTROL])
            assert tracked.filter(selectors.overdue_feedback_q(day)).exists()
            assert tracked.filter(selectors.overdue_cycle_q(day)).exists()
            assert tracked.filter(feedback_sent_at__isnull=False, cycle_due__gte=day).exists()
            assert tracked.filter(state=State.CONTROL).exists()
        assert rows.filter(proposal=Proposal.CONTROL).exists() and rows.filter(proposal=Proposal.ADJUST).exists()
        assert rows.filter(state=State.CLOSED).exists()
