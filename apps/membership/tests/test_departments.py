"""The association's departments (H-ORG-2): units of the tree, and department posts held only there."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from apps.core.management.commands.seed_demo import ASSOCIATION_DEPARTMENTS, build_demo_units
from apps.membership import selectors, services
from apps.membership.choices import PositionKind, Tier
from apps.orgs.choices import UnitKind

from .conftest import new_member

pytestmark = pytest.mark.django_db


def test_the_demo_association_has_the_handbook_departments():
    """H-ORG-2: membership, project operations, publicity and HR & finance are department units of the association."""
    units = build_demo_units()
    association = units["association"]
    departments = {unit.name for unit in association.children.filter(kind=UnitKind.DEPARTMENT)}
    assert {"会员工作部", "项目运营部", "事业宣传部", "人事财务部"} <= departments
    assert departments == set(ASSOCIATION_DEPARTMENTS)
    # Departments are units, so the foundation's scoping covers them: each sits under the association.
    for name in departments:
        assert units[f"dept-{name}"].path.startswith(association.path)


def test_department_posts_are_held_in_a_department_of_the_members_own_association(assoc, other_assoc):
    """H-ORG-2, H-ORG-4: a department head sits in one of the association's departments — not in a committee,
    not in another association's department — and the post makes the member one of the leaders (引领者)."""
    member = new_member(assoc, "dept_head", "部长甲")
    start = dt.date(2026, 1, 1)
    for wrong in (None, assoc.committees[0], other_assoc.membership_dept, assoc.root):
        with pytest.raises(ValidationError, match="请选择本协会的部门"):
            services.do_appoint(
                actor=None, member=member, kind=PositionKind.DEPARTMENT_HEAD, term_start=start, unit=wrong
            )
    assert selectors.tier_of(member) == Tier.PARTICIPANT
    position = services.do_appoint(
        actor=None, member=member, kind=PositionKind.DEPARTMENT_HEAD, term_start=start, unit=assoc.membership_dept
    )
    assert position.unit == assoc.membership_dept
    assert selectors.tier_of(member) == Tier.LEADER  # the handbook counts department heads among the leaders
