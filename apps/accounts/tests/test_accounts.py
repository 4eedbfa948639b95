import pytest
from django.core.exceptions import ValidationError

from apps.accounts import services
from apps.accounts.models import Assignment, Role, User
from apps.core.access import active_grant, can, scope
from apps.core.errors import ConflictError
from apps.core.perms import Perm
from conftest import PASSWORD, make_user


def role(code):
    return Role.objects.get(code=code)


def test_builtin_roles_are_seeded(db):
    """Roles are named permission sets seeded with every role the issue names."""
    codes = set(Role.objects.values_list("code", flat=True))
    assert {
        "district_admin", "street_manager", "community_worker", "counsellor", "counselling_assistant",
        "volunteer", "psychiatrist", "archivist", "evaluator", "association_secretariat",
        "membership_officer", "board_member", "committee_head", "member", "system_admin",
        "security_admin", "audit_admin",
    } <= codes  # fmt: skip


def test_manager_creates_accounts_only_inside_subtree(tree, street_manager):
    """S-ORG-2: unit managers create staff accounts only inside their own subtree."""
    user = services.do_create_user(
        actor=street_manager, unit=tree.c1, username="new_c1", full_name="新人", password=PASSWORD
    )
    assert user.unit == tree.c1
    for unit in (tree.s2, tree.district, tree.other):
        with pytest.raises(ValidationError, match="本单位及下级单位"):
            services.do_create_user(
                actor=street_manager, unit=unit, username=f"x{unit.pk}", full_name="越权", password=PASSWORD
            )
    assert not User.objects.filter(username__startswith="x").exists()


def test_manager_disables_only_inside_subtree(tree, street_manager, counsellor_a, outsider):
    services.do_set_active(actor=street_manager, user=counsellor_a, active=False)
    counsellor_a.refresh_from_db()
    assert not counsellor_a.is_active and counsellor_a.deactivated_at
    with pytest.raises(ValidationError):
        services.do_set_active(actor=street_manager, user=outsider, active=False)


def test_disabled_account_sees_nothing(tree, district_admin, counsellor_a):
    services.do_set_active(actor=district_admin, user=counsellor_a, active=False)
    counsellor_a.refresh_from_db()
    assert active_grant(counsellor_a) is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("username", "ab", "3–30"),
        ("username", "有中文的名字", "3–30"),
        ("username", "counsellor_a", "已被使用"),
        ("full_name", "", "请填写姓名"),
        ("full_name", "名" * 51, "不能超过 50"),
        ("mobile", "12345", "手机号码"),
        ("email", "not-an-email", "邮箱"),
        ("password", "Ab1!", "太短"),
        ("password", "abcdefghijkl", "至少三类"),
    ],
)
def test_bad_account_input_is_refused(tree, street_manager, counsellor_a, field, value, message):
    data = {"username": "fresh_user", "full_name": "新人", "password": PASSWORD, "mobile": "", "email": ""}
    data[field] = value
    before = User.objects.count()
    with pytest.raises(ValidationError, match=message):
        services.do_create_user(actor=street_manager, unit=tree.c1, **data)
    assert User.objects.count() == before


def test_mobile_is_normalised(tree, street_manager):
    user = services.do_create_user(
        actor=street_manager,
        unit=tree.c1,
        username="mobile1",
        full_name="手机",
        password=PASSWORD,
        mobile="+86 138-0013-8000",
    )
    assert user.mobile == "13800138000"


def test_three_administrators_are_exclusive(tree):
    """MLPS level 3: no account holds two of system, security and audit administrator."""
    admin = make_user("root_admin", tree.city, "system_admin")
    services.do_assign_role(actor=None, user=admin, unit=tree.district, role=role("system_admin"))
    for code in ("security_admin", "audit_admin"):
        with pytest.raises(ValidationError, match="三员分立"):
            services.do_assign_role(actor=None, user=admin, unit=tree.city, role=role(code))
    assert (
        not Assignment.objects.filter(user=admin, role__exclusive_group="three_admins")
        .exclude(role__code="system_admin")
        .exists()
    )


def test_manager_cannot_grant_a_role_stronger_than_their_own(tree, street_manager, counsellor_a):
    """S-ORG-2, issue 14 item 2: administrative powers are not delegable; a note-reading role (counsellor)
    is no longer granted directly (two-person rule), a client-data role the manager holds is."""
    with pytest.raises(ValidationError, match="权限超出"):
        services.do_assign_role(actor=street_manager, user=counsellor_a, unit=tree.c1, role=role("system_admin"))
    with pytest.raises(ValidationError, match="安全管理员"):
        services.do_assign_role(actor=street_manager, user=counsellor_a, unit=tree.c1, role=role("audit_admin"))
    with pytest.raises(ValidationError, match="双人规则"):
        services.do_assign_role(actor=street_manager, user=counsellor_a, unit=tree.c2, role=role("counsellor"))
    services.do_assign_role(actor=street_manager, user=counsellor_a, unit=tree.c2, role=role("community_worker"))


def test_assignment_outside_subtree_is_refused(tree, street_manager, counsellor_a):
    with pytest.raises(ValidationError):
        services.do_assign_role(actor=street_manager, user=counsellor_a, unit=tree.s2, role=role("counsellor"))


def test_switching_changes_what_is_visible(tree, counsellor_a):
    """S-ORG-2: a user with several assignments acts through the one chosen in the top bar."""
    second = services.do_assign_role(actor=None, user=counsellor_a, unit=tree.c3, role=role("counsellor"))
    assert active_grant(counsellor_a).unit_id == tree.c1.pk
    session = {}
    services.do_switch_assignment(user=counsellor_a, session=session, assignment_id=second.pk)
    assert session["active_assignment_id"] == second.pk
    assert active_grant(counsellor_a).unit_id == tree.c3.pk
    from apps.orgs.models import OrgUnit

    assert set(scope(OrgUnit.objects.all(), counsellor_a, Perm.ORG_VIEW)) == {tree.c3}


def test_cannot_switch_to_someone_elses_assignment(tree, counsellor_a, counsellor_b):
    other = Assignment.objects.get(user=counsellor_b)
    with pytest.raises(ValidationError):
        services.do_switch_assignment(user=counsellor_a, session={}, assignment_id=other.pk)
    with pytest.raises(ValidationError):
        services.do_switch_assignment(user=counsellor_a, session={}, assignment_id="abc")


def test_concurrent_edit_is_a_conflict(tree, street_manager, counsellor_a):
    services.do_update_user(actor=street_manager, user=counsellor_a, full_name="甲改", unit=tree.c1, expected_version=1)
    with pytest.raises(ConflictError):
        services.do_update_user(
            actor=street_manager, user=counsellor_a, full_name="甲再改", unit=tree.c1, expected_version=1
        )


def test_superuser_flag_grants_nothing(tree):
    su = make_user("su", tree.city, None, is_superuser=True, is_staff=True)
    assert not can(su, Perm.ORG_VIEW)


def test_account_changes_are_audited_with_passwords_hidden(tree, street_manager):
    """X-4: account changes are audited; password hashes never reach the log."""
    from apps.audit.models import AuditEntry

    worker = make_user("worker_c1", tree.c1, "community_worker")
    start = AuditEntry.objects.count()
    services.do_set_password(actor=street_manager, user=worker, password="New-Password-2026")
    services.do_assign_role(actor=street_manager, user=worker, unit=tree.c2, role=role("community_worker"))
    services.do_set_active(actor=street_manager, user=worker, active=False)
    entries = list(AuditEntry.objects.order_by("seq")[start:])
    assert [e.object_type for e in entries] == ["accounts.user", "accounts.assignment", "accounts.user"]
    assert entries[0].changes["password"] == {"before": "***", "after": "***"}
    worker.refresh_from_db()
    assert worker.password.split("$")[-1] not in str([e.changes for e in entries])
    assert entries[2].changes["is_active"] == {"before": True, "after": False}


def test_production_hashes_passwords_with_argon2():
    """X-4 / security: the settings a deployment runs with hash passwords with Argon2 (tests use a fast hasher)."""
    import xinyuan.settings as production  # the module itself, not the test-time overrides

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
