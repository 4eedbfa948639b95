"""The demo data of apps.assistance loads through the services and covers every stage."""

import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.assistance import selectors
from apps.assistance.demo import seed_demo_assistance
from apps.assistance.models import Dispatch, HelpRequest, HotlineShift, HoursRecord, StressEvent
from apps.core.management.commands.seed_demo import DEMO_LOGINS
from apps.core.scoping import unscoped
from apps.orgs.models import OrgUnit


@pytest.mark.django_db
def test_demo_covers_every_stage():
    """H-SVC-1..4: help requests at every stage, hours for many members, the school event, two weeks of rota."""
    call_command("seed_demo", part="association")
    units = {"association": OrgUnit.objects.get(code="DEMO-ASSOC")}
    for unit in OrgUnit.objects.filter(parent=units["association"]):
        prefix = "committee" if unit.kind == "committee" else "dept"
        units[f"{prefix}-{unit.name}"] = unit
    users = {u.username: u for u in User.objects.filter(username__in=[row[0] for row in DEMO_LOGINS])}
    counts = seed_demo_assistance(units, users)
    with unscoped("demo check"):
        statuses = set(HelpRequest.objects.values_list("status", flat=True))
    assert statuses == {"received", "routed", "assigned", "accepted", "closed"}
    assert counts["help_requests"] >= 8
    assert HoursRecord.objects.values("member").distinct().count() >= 8
    assert HoursRecord.objects.filter(status="pending").exists()
    event = StressEvent.objects.get(title="某中学学生意外事件")
    assert Dispatch.objects.filter(event=event, status="completed").count() == 2
    assert Dispatch.objects.filter(event=event, status="dispatched").count() == 3
    assert HotlineShift.objects.count() == 28
    tasks = selectors.tasks_for_user(users["member"])
    assert len(tasks["help_requests"]) == 2
    assert selectors.hours_summary(units["association"])["volunteer"] > 0
