"""Issue 14 items 1 and 2: nobody grants powers to themselves, note access needs a second person, the
system administrator never reaches client data, and the three administrators stay separate on every path."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from apps.accounts import selectors, services, two_factor
from apps.accounts.models import Assignment, GrantRequest, Role, User
from apps.audit.models import AuditEntry
from conftest import PASSWORD, make_user

NEW_PASSWORD = "Another-Pass-2026!"  # noqa: S105 - test value


def role(code):
    return Role.objects.get(code=code)


def api_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def page_for(user):
    client = Client()
    client.force_login(user)
    return client


# --- item 1: no self-granted powers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "unit_name"), [("street_manager", "s1"), ("community_manager", "c1"), ("system_admin", "district")]
)
def test_nobody_grants_themselves_a_note_reading_role(tree, code, unit_name):
    """S-ORG-2, X-4, issue 14 item 1: POST /api/assignments/ {user: self, role: psychiatrist} by a street,
    community or system administrator is refused (it let them read every note of their subtree), on the
    page too, and nothing is written."""
    unit = getattr(tree, unit_name)
    actor = make_user(f"self_{code}", unit, code)
    before = Assignment.objects.count()
    psychiatrist = role("psychiatrist")
    response = api_for(actor).post(
        "/api/assignments/", {"user": actor.pk, "unit": unit.pk, "role": psychiatrist.pk}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "自己" in response.content.decode()
    page_for(actor).post(f"/accounts/users/{actor.pk}/assign/", {"unit": unit.pk, "role": psychiatrist.pk})
    with pytest.raises(ValidationError, match="自己"):
        services.do_assign_role(actor=actor, user=actor, unit=unit, role=role("volunteer"))
    with pytest.raises(ValidationError, match="自己"):
        services.do_request_grant(actor=actor, user=actor, unit=unit, role=psychiatrist, reason="给自己开权限")
    assert Assignment.objects.count() == before
    assert not GrantRequest.objects.exists()


def test_nobody_removes_their_own_roles_or_resets_their_own_credentials(tree, street_manager):
    """S-ORG-2, issue 14 item 1: own assignments are not revoked, own password/2FA/tokens not reset through
    the administration paths; changing one's own password in personal settings still works."""
    second = Assignment.objects.create(user=street_manager, unit=tree.c2, role=role("community_worker"))
    response = api_for(street_manager).delete(f"/api/assignments/{second.pk}/")
    assert response.status_code == 400 and Assignment.objects.filter(pk=second.pk).exists()
    with pytest.raises(ValidationError, match="自己"):
        services.do_set_password(actor=street_manager, user=street_manager, password=NEW_PASSWORD)
    with pytest.raises(ValidationError, match="自己"):
        services.check_may_administer(street_manager, street_manager)
    page_for(street_manager).post(f"/accounts/users/{street_manager.pk}/password/", {"password": NEW_PASSWORD})
    street_manager.refresh_from_db()
    assert street_manager.check_password(PASSWORD)
    http = page_for(street_manager)
    http.post(
        "/accounts/me/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    street_manager.refresh_from_db()
    assert street_manager.check_password(NEW_PASSWORD)


def test_role_maintainers_have_no_shortcut(tree):
    """S-ORG-2, issue 14 items 1 and 2: check_role_grantable has no early return for role.manage — the system
    administrator grants neither client-data roles nor note-reading ones nor the other administrators' roles."""
    sysadmin = make_user("sys", tree.district, "system_admin")
    worker = make_user("w1", tree.c1, None)
    for code, message in (
        ("community_worker", "来访者数据"),
        ("counsellor", "双人规则"),
        ("psychiatrist", "双人规则"),
        ("district_admin", "双人规则"),
        ("audit_admin", "安全管理员"),
        ("security_admin", "安全管理员"),
    ):
        with pytest.raises(ValidationError, match=message):
            services.do_assign_role(actor=sysadmin, user=worker, unit=tree.c1, role=role(code))
    # evaluators work at the district centre or above (issue 13 item 8: roles fit their unit)
    services.do_assign_role(actor=sysadmin, user=worker, unit=tree.district, role=role("evaluator"))
    assert list(Assignment.objects.filter(user=worker).values_list("role__code", flat=True)) == ["evaluator"]


def test_system_administrator_cannot_build_a_super_account(tree):
    """S-ORG-2, issue 14 item 2: the system administrator created an account holding audit_admin +
    district_admin + psychiatrist; every one of those grants is refused now, over HTTP."""
    sysadmin = make_user("sys", tree.district, "system_admin")
    api = api_for(sysadmin)
    created = api.post(
        "/api/users/",
        {"username": "super", "full_name": "超级账号", "unit": tree.district.pk, "password": "Matrix-Pass-2026"},
        format="json",
    )
    assert created.status_code == 201, created.content
    user_id = created.json()["id"]
    for code in ("audit_admin", "district_admin", "psychiatrist"):
        response = api.post(
            "/api/assignments/", {"user": user_id, "unit": tree.district.pk, "role": role(code).pk}, format="json"
        )
        assert response.status_code == 400, (code, response.content)
    assert not Assignment.objects.filter(user_id=user_id).exists()


def test_system_administrator_never_holds_client_data(tree):
    """S-ORG-2, issue 14 item 1 (README: 不接触来访者数据): no account combines the system administrator
    role with a role that shows client data, whoever grants, in either order."""
    sysadmin = make_user("sys", tree.district, "system_admin")
    worker = make_user("w1", tree.c1, "community_worker")
    with pytest.raises(ValidationError, match="不接触来访者数据"):
        services.do_assign_role(actor=None, user=sysadmin, unit=tree.c1, role=role("community_worker"))
    with pytest.raises(ValidationError, match="不接触来访者数据"):
        services.do_assign_role(actor=None, user=worker, unit=tree.district, role=role("system_admin"))
    # Nor by taking over an account: a password set by the system administrator would let them sign in.
    with pytest.raises(ValidationError, match="安全管理员"):
        services.do_set_password(actor=sysadmin, user=worker, password=NEW_PASSWORD)
    worker.refresh_from_db()
    assert worker.check_password(PASSWORD)


def test_manager_cannot_take_over_a_note_reading_account(tree, street_manager, counsellor_a):
    """X-4, issue 14 item 1: whoever sets a password can sign in with it, so a street manager (no note
    access) cannot set a counsellor's password; the security administrator can."""
    with pytest.raises(ValidationError, match="安全管理员"):
        services.do_set_password(actor=street_manager, user=counsellor_a, password=NEW_PASSWORD)
    security = make_user("sec", tree.district, "security_admin")
    response = page_for(security).post(
        f"/accounts/users/{counsellor_a.pk}/security-password/", {"password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    counsellor_a.refresh_from_db()
    assert counsellor_a.check_password(NEW_PASSWORD)


# --- item 1: the two-person rule -------------------------------------------------------------------


@pytest.fixture
def newcomer(tree):
    return make_user("newcomer", tree.c1, None, full_name="新同事")


@pytest.fixture
def security(tree):
    return make_user("sec", tree.district, "security_admin", full_name="安全员")


def test_note_reading_role_needs_request_and_approval(tree, street_manager, newcomer, security):
    """S-ORG-2, X-4, issue 14 item 1: the unit manager asks, the security administrator approves; the
    assignment exists only after approval and both steps are audited."""
    psychiatrist = role("psychiatrist")
    with pytest.raises(ValidationError, match="双人规则"):
        services.do_assign_role(actor=street_manager, user=newcomer, unit=tree.c1, role=psychiatrist)
    api = api_for(street_manager)
    response = api.post(
        "/api/grant-requests/",
        {"user": newcomer.pk, "unit": tree.c1.pk, "role": psychiatrist.pk, "reason": "新入职精神科医生"},
        format="json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert not Assignment.objects.filter(user=newcomer).exists()
    assert api.post(f"/api/grant-requests/{pk}/approve/", {}, format="json").status_code == 403
    assert api.get(f"/api/grant-requests/{pk}/").json()["status"] == "pending"
    assert selectors.pending_grant_request_count(security) == 1
    assert selectors.pending_grant_request_count(street_manager) == 0
    sec_api = api_for(security)
    assert [row["id"] for row in sec_api.get("/api/grant-requests/pending/").json()["results"]] == [pk]
    approved = sec_api.post(f"/api/grant-requests/{pk}/approve/", {"reason": "资质已核"}, format="json")
    assert approved.status_code == 200, approved.content
    assignment = Assignment.objects.get(user=newcomer)
    assert assignment.role == psychiatrist and approved.json()["assignment"] == assignment.pk
    assert selectors.pending_grant_request_count(security) == 0
    request_entries = AuditEntry.objects.filter(object_type="accounts.grantrequest", object_id=str(pk))
    assert sorted(request_entries.values_list("action", flat=True)) == ["create", "update"]
    assert AuditEntry.objects.filter(object_type="accounts.assignment", object_id=str(assignment.pk)).exists()
    again = sec_api.post(f"/api/grant-requests/{pk}/refuse/", {"reason": "重复处理"}, format="json")
    assert again.status_code == 400 and "已处理" in again.content.decode()


def test_refusal_needs_a_reason_and_grants_nothing(tree, street_manager, newcomer, security):
    """S-ORG-2, issue 14 item 1: a refusal is reasoned and audited; nothing is granted."""
    request = services.do_request_grant(
        actor=street_manager, user=newcomer, unit=tree.c1, role=role("counsellor"), reason="社区咨询室缺人"
    )
    http = page_for(security)
    http.post(f"/accounts/grant-requests/{request.pk}/decide/", {"decision": "refuse", "reason": ""})
    request.refresh_from_db()
    assert request.status == "pending"
    http.post(f"/accounts/grant-requests/{request.pk}/decide/", {"decision": "refuse", "reason": "尚无资质证书"})
    request.refresh_from_db()
    assert request.status == "refused" and request.decided_by == security and request.decision_reason
    assert not Assignment.objects.filter(user=newcomer).exists()


def test_requester_never_approves_and_nobody_approves_their_own_grant(tree, newcomer):
    """S-ORG-2, issue 14 item 1: one person holding both a manager post and the security administrator
    post still cannot approve their own request, and nobody approves a grant to themselves."""
    dual = make_user("dual", tree.s1, "street_manager")
    security_assignment = Assignment.objects.create(user=dual, unit=tree.district, role=role("security_admin"))
    request = services.do_request_grant(
        actor=dual, user=newcomer, unit=tree.c1, role=role("counsellor"), reason="社区咨询室缺人"
    )
    services.do_switch_assignment(user=dual, session={}, assignment_id=security_assignment.pk)
    with pytest.raises(ValidationError, match="双人规则"):
        services.do_decide_grant_request(actor=dual, grant_request=request, approve=True)
    own = services.do_request_grant(
        actor=make_user("boss", tree.s1, "street_manager"),
        user=make_user("sec_also_counsellor", tree.c1, None),
        unit=tree.c1,
        role=role("counsellor"),
        reason="兼任咨询师",
    )
    target = own.user
    sec_post = Assignment.objects.create(user=target, unit=tree.district, role=role("security_admin"))
    target.active_assignment_id = sec_post.pk
    with pytest.raises(ValidationError, match="自己"):
        services.do_decide_grant_request(actor=target, grant_request=own, approve=True)
    assert not Assignment.objects.filter(role__code="counsellor", user__in=[newcomer, target]).exists()


def test_approval_checks_every_rule_again(tree, street_manager, newcomer, security):
    """S-ORG-2, issue 14 item 1: a requester who lost the post, or an account that meanwhile became a system
    administrator, makes the approval fail and nothing is granted."""
    request = services.do_request_grant(
        actor=street_manager, user=newcomer, unit=tree.c1, role=role("counsellor"), reason="社区咨询室缺人"
    )
    Assignment.objects.filter(user=street_manager).update(role=role("volunteer"))
    with pytest.raises(ValidationError, match="申请人已无权"):
        services.do_decide_grant_request(actor=security, grant_request=request, approve=True)
    Assignment.objects.filter(user=street_manager).update(role=role("street_manager"))
    Assignment.objects.create(user=newcomer, unit=tree.district, role=role("system_admin"))
    with pytest.raises(ValidationError, match="不接触来访者数据"):
        services.do_decide_grant_request(actor=security, grant_request=request, approve=True)
    request.refresh_from_db()
    assert request.status == "pending"
    assert not Assignment.objects.filter(user=newcomer, role__code="counsellor").exists()


def test_system_administrator_cannot_request_note_access(tree, newcomer):
    """S-ORG-2, issue 14 item 1: the system administrator never grants client data, not even by asking."""
    sysadmin = make_user("sys", tree.district, "system_admin")
    with pytest.raises(ValidationError, match="不接触来访者数据"):
        services.do_request_grant(
            actor=sysadmin, user=newcomer, unit=tree.c1, role=role("psychiatrist"), reason="临时需要"
        )
    assert not GrantRequest.objects.exists()


def test_grant_request_pages(tree, street_manager, newcomer, security):
    """S-ORG-2, issue 14 item 1: the request form on the account page, the security administrator's list."""
    http = page_for(street_manager)
    detail = http.get(f"/accounts/users/{newcomer.pk}/").content.decode()
    assert "grant-request" in detail and "精神科医生" in detail
    http.post(
        f"/accounts/users/{newcomer.pk}/grant-request/",
        {"unit": tree.c1.pk, "role": role("psychiatrist").pk, "reason": "新入职精神科医生"},
    )
    request = GrantRequest.objects.get()
    assert request.requested_by == street_manager and request.status == "pending"
    assert http.get("/accounts/grant-requests/").status_code == 403
    listing = page_for(security).get("/accounts/grant-requests/").content.decode()
    assert "新同事" in listing and "新入职精神科医生" in listing
    page_for(security).post(f"/accounts/grant-requests/{request.pk}/decide/", {"decision": "approve"})
    assert Assignment.objects.filter(user=newcomer, role__code="psychiatrist", unit=tree.c1).exists()


# --- item 2: the three administrators, every pair ------------------------------------------------

ACTORS = ("system_admin", "security_admin", "audit_admin", "district_admin")
TARGETS = ("system_admin", "security_admin", "audit_admin", "self")
ACTIONS = ("grant", "revoke", "set_password", "reset_2fa", "revoke_tokens", "deactivate")

# Everything not listed here must be refused.
ALLOWED = {("system_admin", "system_admin", action) for action in ACTIONS} | {
    ("security_admin", "system_admin", "set_password"),
    ("security_admin", "system_admin", "reset_2fa"),
    ("security_admin", "system_admin", "revoke_tokens"),
    *{("security_admin", target, action) for target in ("security_admin", "audit_admin") for action in ACTIONS},
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("target_code", TARGETS)
@pytest.mark.parametrize("actor_code", ACTORS)
def test_three_admin_separation_every_pair(tree, actor_code, target_code, action):
    """S-ORG-2, MLPS level 3, issue 14 item 2: actor role × target role × action. The system administrator
    never manages the security or audit administrator; only the security administrator does; nobody
    manages themselves; a refusal changes nothing."""
    actor = make_user("actor", tree.district, actor_code)
    target = actor if target_code == "self" else make_user("target", tree.district, target_code)
    held = Assignment.objects.filter(user=target).first()
    TOTPDevice.objects.create(user=target, name="手机", confirmed=True)
    fresh = make_user("fresh", tree.district, None)
    grant_role = role("volunteer") if target_code == "self" else role(target_code)
    grant_to = target if target_code == "self" else fresh
    calls = {
        "grant": lambda: services.do_assign_role(actor=actor, user=grant_to, unit=tree.district, role=grant_role),
        "revoke": lambda: services.do_revoke_assignment(actor=actor, assignment=held),
        "set_password": lambda: services.do_set_password(actor=actor, user=target, password=NEW_PASSWORD),
        "reset_2fa": lambda: two_factor.do_reset_two_factor(user=target, actor=actor),
        "revoke_tokens": lambda: services.check_may_administer(actor, target),
        "deactivate": lambda: services.do_set_active(actor=actor, user=target, active=False),
    }
    expected = (actor_code, target_code, action) in ALLOWED
    if expected:
        calls[action]()
    else:
        with pytest.raises(ValidationError):
            calls[action]()
    target.refresh_from_db()
    changed = {
        "grant": Assignment.objects.filter(user=grant_to, role=grant_role, unit=tree.district).exists(),
        "revoke": not Assignment.objects.filter(pk=held.pk).exists(),
        "set_password": target.check_password(NEW_PASSWORD),
        "reset_2fa": not TOTPDevice.objects.filter(user=target).exists(),
        "revoke_tokens": expected,  # the guard itself; apps/accounts/tokens.py calls it before revoking
        "deactivate": not target.is_active,
    }
    assert changed[action] == expected
    if not expected:
        assert target.check_password(PASSWORD) and target.is_active
        assert TOTPDevice.objects.filter(user=target).exists() and Assignment.objects.filter(pk=held.pk).exists()


def test_system_administrator_cannot_reset_the_auditors_password_over_http(tree):
    """S-ORG-2, issue 14 item 2: the system administrator reset the auditor's password and signed in as
    them; the page and the 2FA reset now refuse and the auditor's password stays."""
    sysadmin = make_user("sys", tree.district, "system_admin")
    auditor = make_user("auditor", tree.district, "audit_admin")
    http = page_for(sysadmin)
    detail = http.get(f"/accounts/users/{auditor.pk}/").content.decode()
    assert f"/accounts/users/{auditor.pk}/password/" not in detail and "2fa-reset" not in detail
    http.post(f"/accounts/users/{auditor.pk}/password/", {"password": NEW_PASSWORD})
    http.post(f"/accounts/users/{auditor.pk}/disable/", {"version": auditor.version})
    auditor.refresh_from_db()
    assert auditor.check_password(PASSWORD) and auditor.is_active


def test_three_admin_roles_stay_exclusive_on_every_path(tree, security):
    """S-ORG-2, issue 14 item 2: no account holds two of the three, also when the security administrator
    grants, and also through an approved request."""
    sysadmin = make_user("sys", tree.district, "system_admin")
    with pytest.raises(ValidationError, match="三员分立"):
        services.do_assign_role(actor=security, user=sysadmin, unit=tree.district, role=role("audit_admin"))
    auditor = make_user("auditor", tree.district, "audit_admin")
    with pytest.raises(ValidationError, match="三员分立"):
        services.do_assign_role(actor=security, user=auditor, unit=tree.district, role=role("security_admin"))
    assert User.objects.get(pk=auditor.pk).assignments.count() == 1


# --- item 2: the security administrator's own path for the two governed roles ---------------------


def test_security_admin_appoints_and_removes_an_auditor_through_the_page(tree, newcomer, security):
    """S-ORG-2, X-4, issue 14 item 2: only the security administrator gives and takes the audit and security
    administrator roles, on the account page; the form offers no other role; both acts are audited; the
    system administrator has no such path and nobody appoints themselves."""
    sysadmin = make_user("sys", tree.district, "system_admin")
    audit = role("audit_admin")
    page = page_for(security).get(f"/accounts/users/{newcomer.pk}/").content.decode()
    assert 'data-testid="security-assign"' in page
    assert "审计管理员" in page and f'value="{role("counsellor").pk}"' not in page.split("security-assign")[1]
    assert (
        'data-testid="security-assign"'
        not in page_for(sysadmin).get(f"/accounts/users/{newcomer.pk}/").content.decode()
    )

    url = f"/accounts/users/{newcomer.pk}/security-assign/"
    assert page_for(sysadmin).post(url, {"unit": tree.c1.pk, "role": audit.pk}).status_code == 403
    refused = page_for(security).post(url, {"unit": tree.c1.pk, "role": role("psychiatrist").pk})
    assert refused.status_code == 400 and not Assignment.objects.filter(user=newcomer).exists()
    self_url = f"/accounts/users/{security.pk}/security-assign/"
    page_for(security).post(self_url, {"unit": tree.district.pk, "role": audit.pk})
    assert not Assignment.objects.filter(user=security, role=audit).exists()

    before = AuditEntry.objects.count()
    assert page_for(security).post(url, {"unit": tree.district.pk, "role": audit.pk}).status_code == 302
    post = Assignment.objects.get(user=newcomer, role=audit)
    assert AuditEntry.objects.count() > before

    revoke = f"/accounts/assignments/{post.pk}/security-revoke/"
    assert page_for(sysadmin).post(revoke).status_code == 403
    assert Assignment.objects.filter(pk=post.pk).exists()
    assert page_for(security).post(revoke).status_code == 302
    assert not Assignment.objects.filter(pk=post.pk).exists()


def test_security_admin_path_keeps_the_three_administrators_apart(tree, newcomer, security):
    """X-4, issue 14 item 2: a system administrator's account cannot be made an auditor by the security
    administrator either (no account holds two of the three), and nothing is written."""
    sysadmin = make_user("sys2", tree.district, "system_admin")
    response = page_for(security).post(
        f"/accounts/users/{sysadmin.pk}/security-assign/", {"unit": tree.district.pk, "role": role("audit_admin").pk}
    )
    assert response.status_code == 400 and "三员分立" in response.content.decode()
    assert list(Assignment.objects.filter(user=sysadmin).values_list("role__code", flat=True)) == ["system_admin"]
