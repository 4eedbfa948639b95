"""The demo association (H-MEM-1..6, H-ORG-1, H-ORG-4)."""

import pytest

from apps.accounts.models import Assignment, Role, User
from apps.core.scoping import unscoped
from apps.membership import selectors
from apps.membership.choices import ApplicationStatus, BodyKind, MemberStatus, Tier
from apps.membership.demo import seed_demo_membership
from apps.membership.models import Application, Member

pytestmark = pytest.mark.django_db


def test_demo_membership(client):
    """H-MEM-1..6, H-ORG-1, H-ORG-4: ~130 members in all tiers, applications at every stage, dues and arrears."""
    from apps.core.management.commands.seed_demo import DEMO_LOGINS, build_demo_units

    units = build_demo_units()
    roles = {r.code: r for r in Role.objects.all()}
    users = {}
    for username, full_name, role, unit_key in DEMO_LOGINS:
        users[username] = User.objects.create_user(
            username=username, full_name=full_name, unit=units[unit_key], password="Demo-Pass-2026!"
        )
        Assignment.objects.create(user=users[username], unit=units[unit_key], role=roles[role])
    count = seed_demo_membership(units, users)
    association = units["association"]
    assert 125 <= count <= 140
    assert Member.objects.filter(association=association).count() == count
    tiers = selectors.tiers_of(list(Member.objects.filter(status=MemberStatus.ACTIVE).values_list("id", flat=True)))
    assert set(tiers.values()) == set(Tier.values)
    with unscoped("test"):
        stages = set(Application.objects.values_list("status", flat=True))
    assert stages == set(ApplicationStatus.values)
    assert users["board"] in selectors.current_holders(association, BodyKind.BOARD)
    assert users["secretariat"] in selectors.current_holders(association, BodyKind.SECRETARIAT)
    assert selectors.arrears(association, selectors.today().year)
    assert Member.objects.filter(status=MemberStatus.REVOKED).count() == 1
    # the demo logins see what their roles allow
    client.force_login(users["membership"])
    assert client.get("/membership/members/").status_code == 200
    client.force_login(users["secretariat"])
    body = client.get("/membership/overview/").content.decode()
    assert "示范市心理援助协会" in body
    client.force_login(users["member"])
    body = client.get("/membership/me/").content.decode()
    assert "会员陈" in body and "青少年心理专业委员会" in body
