"""Issue 13 item 8: a role is held only at the kind of unit it is made for, on every grant path, and the
"负责咨询师" pick-lists come from one selector (``counsellors_over``)."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts import selectors, services
from apps.accounts.models import Assignment, GrantRequest, Role
from apps.accounts.roles import BUILTIN_ROLES
from apps.audit.models import AuditEntry
from apps.orgs.choices import UnitKind
from apps.orgs.services import do_create_unit
from conftest import make_user


def role(code):
    return Role.objects.get(code=code)


def client_for(user, api=False):
    client = APIClient() if api else Client()
    client.force_authenticate(user) if api else client.force_login(user)
    return client


@pytest.fixture
def newcomer(tree):
    return make_user("newcomer", tree.c1, None, full_name="新同事")


@pytest.fixture
def security(tree):
    return make_user("sec", tree.district, "security_admin", full_name="安全员")


def _assignment_audit():
    return AuditEntry.objects.filter(object_type__in=["accounts.assignment", "accounts.grantrequest"]).count()


def _nothing_written(before_assignments, before_audit):
    assert Assignment.objects.count() == before_assignments
    assert _assignment_audit() == before_audit
    assert not GrantRequest.objects.exists()


def test_every_builtin_role_names_its_unit_kinds_and_is_synced(db):
    """S-STAFF-2: each role carries the unit kinds where it may be held, written to the database."""
    for spec in BUILTIN_ROLES:
        assert Role.objects.get(code=spec.code).unit_kinds == [str(kind) for kind in spec.unit_kinds]
    assert role("district_admin").unit_kinds == [UnitKind.DISTRICT_CENTRE]
    assert role("community_manager").unit_kinds == [UnitKind.COMMUNITY_ROOM]


def test_manager_cannot_assign_a_role_at_a_unit_of_the_wrong_level(tree, street_manager, newcomer):
    """S-ORG-2, S-STAFF-2: a street manager giving 街道负责人 at a community room is refused on the unit
    field; nothing is written (no assignment, no audit entry)."""
    before = Assignment.objects.count(), _assignment_audit()
    with pytest.raises(ValidationError) as refused:
        services.do_assign_role(actor=street_manager, user=newcomer, unit=tree.c1, role=role("street_manager"))
    assert "unit" in refused.value.message_dict
    assert "只能在街道社会心理服务站任职" in refused.value.message_dict["unit"][0]
    _nothing_written(*before)
    # the right level passes
    services.do_assign_role(actor=street_manager, user=newcomer, unit=tree.c1, role=role("community_manager"))


@pytest.mark.parametrize(
    ("code", "unit_name"),
    [
        ("community_manager", "s1"),
        ("community_worker", "district"),
        ("district_admin", "c1"),
        ("board_member", "c1"),
        ("audit_admin", "c1"),
        ("counsellor", "association"),
    ],
)
def test_no_role_is_held_at_a_unit_it_is_not_made_for(tree, newcomer, code, unit_name):
    """S-STAFF-2: also without an actor (commands, demo), a role at the wrong kind of unit is refused."""
    association = do_create_unit(actor=None, parent=None, kind=UnitKind.ASSOCIATION, name="协会", code="T-AS")
    units = {"association": association}
    unit = units.get(unit_name) or getattr(tree, unit_name)
    with pytest.raises(ValidationError, match="任职"):
        services.do_assign_role(actor=None, user=newcomer, unit=unit, role=role(code))
    assert not Assignment.objects.filter(user=newcomer).exists()


def test_wrong_level_refused_on_the_page_field_and_the_api(tree, street_manager, newcomer):
    """S-ORG-2, S-STAFF-2: the manager's page shows the error on the unit field; POST /api/assignments/
    answers 400 keyed to ``unit``; nothing is written."""
    before = Assignment.objects.count(), _assignment_audit()
    page = client_for(street_manager).post(
        f"/accounts/users/{newcomer.pk}/assign/", {"unit": tree.c1.pk, "role": role("street_manager").pk}
    )
    assert page.status_code == 400
    html = page.content.decode()
    assert "is-invalid" in html and "只能在街道社会心理服务站任职" in html.split('id="id_unit"')[1][:2000]
    response = client_for(street_manager, api=True).post(
        "/api/assignments/", {"user": newcomer.pk, "unit": tree.c1.pk, "role": role("street_manager").pk}, format="json"
    )
    assert response.status_code == 400 and "任职" in str(response.json()["unit"])
    _nothing_written(*before)


def test_security_admin_cannot_place_an_auditor_in_a_community(tree, security, newcomer):
    """S-STAFF-2, X-4: the security administrator's path applies the rule too (three administrators serve
    from the top of the system)."""
    before = Assignment.objects.count(), _assignment_audit()
    page = client_for(security).post(
        f"/accounts/users/{newcomer.pk}/security-assign/", {"unit": tree.c1.pk, "role": role("audit_admin").pk}
    )
    assert page.status_code == 400 and "审计管理员”只能在" in page.content.decode()
    _nothing_written(*before)


def test_grant_request_and_its_approval_refuse_the_wrong_level(tree, street_manager, newcomer, security):
    """S-ORG-2, S-STAFF-2: a request for 区级管理员 at a community is refused; a request that somehow
    exists for a wrong unit is not approved either."""
    # a psychiatrist may work at a community room
    services.do_request_grant(
        actor=street_manager, user=newcomer, unit=tree.c1, role=role("psychiatrist"), reason="新入职精神科医生"
    )
    assert GrantRequest.objects.count() == 1
    GrantRequest.objects.all().delete()
    district = make_user("district", tree.district, "district_admin")
    with pytest.raises(ValidationError) as refused:
        services.do_request_grant(
            actor=district, user=newcomer, unit=tree.c1, role=role("district_admin"), reason="区级管理员到社区"
        )
    assert "只能在区社会心理服务指导中心任职" in refused.value.message_dict["unit"][0]
    assert not GrantRequest.objects.exists()
    page = client_for(district).post(
        f"/accounts/users/{newcomer.pk}/grant-request/",
        {"unit": tree.c1.pk, "role": role("district_admin").pk, "reason": "区级管理员到社区"},
    )
    assert page.status_code == 400 and "只能在区社会心理服务指导中心任职" in page.content.decode()
    # a request written before the rule (data from an older release) is not approved
    stale = GrantRequest.objects.create(
        user=newcomer, unit=tree.c1, role=role("district_admin"), reason="旧数据", requested_by=district
    )
    with pytest.raises(ValidationError, match="任职"):
        services.do_decide_grant_request(actor=security, grant_request=stale, approve=True, reason="同意")
    stale.refresh_from_db()
    assert stale.status == GrantRequest.PENDING and not Assignment.objects.filter(user=newcomer).exists()


def test_counsellors_over_offers_counselling_roles_at_the_unit_or_above(tree):
    """S-STAFF-2: the "负责咨询师" list for a community holds counsellors and psychiatrists of that community,
    its street and its district — not managers, community workers, assistants, siblings or inactive people."""
    here = make_user("here", tree.c1, "counsellor")
    street = make_user("street_c", tree.s1, "counsellor")
    district = make_user("district_p", tree.district, "psychiatrist")
    make_user("sibling", tree.c2, "counsellor")
    make_user("boss", tree.district, "district_admin", full_name="区主任")
    make_user("worker", tree.s1, "community_worker", full_name="街道专干")
    make_user("helper", tree.c1, "counselling_assistant")
    make_user("gone", tree.c1, "counsellor", is_active=False)
    assert set(selectors.counsellors_over(tree.c1)) == {here, street, district}
    assert set(selectors.counsellors_over(tree.s1)) == {street, district}
    assert selectors.is_counsellor_over(street, tree.c1) and not selectors.is_counsellor_over(here, tree.s1)


@pytest.fixture
def staff(tree):
    """The people a "负责咨询师" list used to offer by mistake, and the ones it should."""
    return {
        "counsellor": make_user("pick_counsellor", tree.c1, "counsellor", full_name="咨询师甲"),
        "street_counsellor": make_user("pick_street", tree.s1, "counsellor", full_name="街道咨询师"),
        "director": make_user("pick_director", tree.district, "district_admin", full_name="区主任"),
        "street_worker": make_user("pick_worker", tree.c1, "community_worker", full_name="街道专干"),
        "street_manager": make_user("pick_manager", tree.s1, "street_manager", full_name="街道负责人"),
        "assistant": make_user("pick_assistant", tree.c1, "counselling_assistant", full_name="辅导员"),
        "neighbour": make_user("pick_neighbour", tree.c2, "counsellor", full_name="邻社区咨询师"),
    }


def test_casework_counsellor_list_and_check_use_counselling_roles(tree, staff):
    """S-STAFF-2: opening or assigning a case offers and accepts only counsellors over the case's unit."""
    from apps.casework import selectors as casework_selectors
    from apps.casework import services as casework

    offered = set(casework_selectors.counsellor_choices(staff["director"], tree.c1))
    assert offered == {staff["counsellor"], staff["street_counsellor"]}
    for who in ("director", "street_worker", "street_manager", "assistant", "neighbour"):
        with pytest.raises(ValidationError) as refused:
            casework.check_counsellor(staff[who], tree.c1)
        assert "counsellor" in refused.value.message_dict
    casework.check_counsellor(staff["street_counsellor"], tree.c1)


def test_alerts_responder_list_and_check_use_counselling_roles(tree, staff):
    """S-STAFF-2, S-WARN-3: the warning's responsible counsellor is a counsellor over the client's unit;
    区主任 and 街道专干 are neither offered nor accepted."""
    from types import SimpleNamespace

    from apps.alerts import services as alerts
    from apps.alerts.views import responder_choices

    warning = SimpleNamespace(unit=tree.c1, unit_path=tree.c1.path)
    assert set(responder_choices(staff["director"], warning)) == {staff["counsellor"], staff["street_counsellor"]}
    for who in ("director", "street_worker", "street_manager", "assistant", "neighbour"):
        with pytest.raises(ValidationError) as refused:
            alerts.check_responder(staff[who], warning)
        assert "不能担任负责咨询师" in refused.value.message_dict["counsellor"][0]
    assert alerts.check_responder(staff["counsellor"], warning) == staff["counsellor"]


def test_appointment_counsellor_list_and_check_use_counselling_roles(tree, staff):
    """S-STAFF-2, S-FLOW-1: duty hours and bookings take a counsellor over the unit only; nothing is written."""
    import datetime as dt

    from apps.appointments import services as appointments
    from apps.appointments.models import Availability

    offered = set(appointments.counsellor_candidates(staff["street_manager"], tree.c1))
    assert offered == {staff["counsellor"], staff["street_counsellor"]}
    for who in ("street_worker", "assistant", "neighbour"):
        with pytest.raises(ValidationError) as refused:
            appointments.do_add_availability(
                actor=staff["street_manager"], unit=tree.c1, counsellor=staff[who], weekday=0,
                start=dt.time(9), end=dt.time(11),
            )  # fmt: skip
        assert "counsellor" in refused.value.message_dict
    assert not Availability.objects.exists()
    appointments.do_add_availability(
        actor=staff["street_manager"], unit=tree.c1, counsellor=staff["street_counsellor"], weekday=0,
        start=dt.time(9), end=dt.time(11),
    )  # fmt: skip
