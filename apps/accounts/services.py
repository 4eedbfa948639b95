"""Staff accounts and role assignments. Managers act only inside their own subtree."""

import re

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.audit.services import log_change, snapshot
from apps.core.access import active_grant, can, can_in_unit, forget_grant
from apps.core.errors import ConflictError
from apps.core.perms import ADMIN_PERMS, NOTE_PERMS, TWO_FACTOR_PERMS, Perm
from apps.identity.phones import normalize_mobile
from apps.orgs.models import OrgUnit

from .models import Assignment, GrantRequest, Role, User

# Roles that read counselling notes (apps.casework.services.NOTE_READER_ROLES) besides holders of NOTE_PERMS:
# granting one needs a second person (issue 14, two-person rule).
NOTE_READING_ROLES = frozenset({"psychiatrist", "district_admin"})
# Identified client data (identities, notes, assessments, alerts). The system administrator never holds it
# and never grants it (README: 不接触来访者数据).
CLIENT_DATA_PERMS = TWO_FACTOR_PERMS - {Perm.AUDIT_VIEW, Perm.SECURITY_MANAGE}
# Powers of an account that a manager may take over (set its password, reset its tokens) only if the manager
# holds them too; otherwise the security administrator administers the account.
SENSITIVE_PERMS = ADMIN_PERMS | TWO_FACTOR_PERMS
# Roles whose grants, and whose holders' accounts, only the security administrator manages (three-admin rule).
SECURITY_GOVERNED_ROLES = frozenset({"security_admin", "audit_admin"})
SYSTEM_ADMIN_ROLE = "system_admin"

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,30}$")


def check_username(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise ValidationError("登录名须为 3–30 位字母、数字、点、下划线或连字符。", code="invalid")
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError(f"登录名“{username}”已被使用。", code="duplicate")
    return username


def check_full_name(full_name: str) -> str:
    full_name = (full_name or "").strip()
    if not full_name:
        raise ValidationError("请填写姓名。", code="required")
    if len(full_name) > 50:
        raise ValidationError("姓名不能超过 50 个字符。", code="max_length")
    return full_name


def check_mobile(mobile: str) -> str:
    """An optional staff mobile, normalised to 11 digits (apps.identity)."""
    return normalize_mobile(mobile) if (mobile or "").strip() else ""


def check_email(email: str) -> str:
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError("电子邮箱格式不正确。", code="invalid") from None
    return email


def _require_user_manage_in(actor, unit: OrgUnit) -> None:
    if actor is None:
        return
    if unit is None or not unit.is_active or not can_in_unit(actor, Perm.USER_MANAGE, unit):
        raise ValidationError("您只能在本单位及下级单位内管理人员账号。", code="forbidden")


def _require_user_manage(actor, user: User) -> None:
    if actor is None:
        return
    if not can(actor, Perm.USER_MANAGE, user):
        raise ValidationError("您无权管理该人员账号。", code="forbidden")


def _held_assignments(user: User) -> list[Assignment]:
    return list(Assignment.objects.filter(user=user).select_related("unit", "role"))


def held_permissions(user: User) -> set[str]:
    """Every permission of every role the account holds, at any unit (not only the active one)."""
    return {perm for assignment in _held_assignments(user) for perm in assignment.role.permissions}


def is_security_governed(user: User) -> bool:
    """Whether the account is a security or audit administrator's (managed only by the security administrator)."""
    return Assignment.objects.filter(user=user, role__code__in=SECURITY_GOVERNED_ROLES).exists()


def reads_notes(role: Role) -> bool:
    """Whether holders of ``role`` read counselling notes: granting it needs a second person."""
    return role.code in NOTE_READING_ROLES or bool(set(role.permissions) & NOTE_PERMS)


def _perm_labels(perms) -> str:
    labels = dict(Perm.choices)
    return "、".join(labels.get(p, p) for p in sorted(perms))


def _check_account_authority(actor, user: User, *, governed_role: bool = False) -> None:
    """Who may change an account or its roles at all (three-admin rule, issue 14).

    Never one's own account; a security or audit administrator's account, or their roles, only by a
    security administrator whose scope covers it; any other account by a manager holding user.manage over it.
    """
    if actor is None:
        return
    if actor.pk == user.pk:
        raise ValidationError("不能通过管理功能修改自己的账号或角色；本人密码请在“个人设置”中修改。", code="self")
    if governed_role or is_security_governed(user):
        if not can(actor, Perm.SECURITY_MANAGE, user):
            raise ValidationError(
                "安全管理员、审计管理员的账号和角色只能由安全管理员管理（三员分立）。", code="three_admins"
            )
        return
    _require_user_manage(actor, user)


def _check_not_stronger(actor, powers: set[str], what: str) -> None:
    """Refuse when ``powers`` (of a role or an account) include administrative powers the actor lacks."""
    grant = active_grant(actor)
    missing = powers - (grant.permissions if grant else frozenset())
    if missing:
        raise ValidationError(
            f"对方持有您不具备的管理权限（{_perm_labels(missing)}），您不能{what}。", code="escalation"
        )


def check_may_administer(actor, target: User) -> None:
    """Whether ``actor`` may set or reset ``target``'s credentials: password, second factor, API tokens.

    * nobody does this to their own account through an administration path (personal settings stay);
    * a security administrator may, for accounts in their scope (it is their duty), and is the only one
      who may for security and audit administrators' accounts;
    * otherwise a manager holding user.manage over the account may, but only when they hold every
      sensitive power the account holds (administrative, client-data and note permissions): whoever sets
      a password can sign in with it, so no one takes over an account stronger than their own. This keeps
      the system administrator away from client data and from the other two administrators.
    """
    if actor is None:
        return
    if actor.pk == target.pk:
        raise ValidationError("不能通过管理功能重设自己的密码、双因素认证或令牌；请在“个人设置”中办理。", code="self")
    if can(actor, Perm.SECURITY_MANAGE, target):
        return
    if is_security_governed(target):
        raise ValidationError(
            "安全管理员、审计管理员账号的密码、双因素认证和令牌只能由安全管理员管理（三员分立）。", code="three_admins"
        )
    _require_user_manage(actor, target)
    missing = (held_permissions(target) & SENSITIVE_PERMS) - active_grant(actor).permissions
    if missing:
        raise ValidationError(
            f"该账号持有您不具备的权限（{_perm_labels(missing)}），其密码、双因素认证和令牌须由安全管理员管理。",
            code="escalation",
        )


@transaction.atomic
def do_create_user(
    *, actor, unit: OrgUnit, username: str, full_name: str, password: str, mobile: str = "", email: str = ""
) -> User:
    """Create a staff account whose home unit is ``unit`` (inside the actor's subtree)."""
    _require_user_manage_in(actor, unit)
    user = User(
        username=check_username(username),
        full_name=check_full_name(full_name),
        mobile=check_mobile(mobile),
        email=check_email(email),
        unit=unit,
    )
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.save()
    log_change(actor, user, {}, snapshot(user))
    return user


def _bump(user: User, expected_version: int | None, actor=None, **changes) -> None:
    """Write ``changes`` only if nobody changed the account since ``expected_version``; audit it."""
    before = snapshot(user)
    rows = User.objects.filter(pk=user.pk)
    if expected_version is not None:
        rows = rows.filter(version=expected_version)
    if rows.update(version=F("version") + 1, **changes) != 1:
        raise ConflictError("该账号已被他人修改，请刷新页面后重试。")
    user.refresh_from_db()
    log_change(actor, user, before, snapshot(user))


@transaction.atomic
def do_update_user(
    *,
    actor,
    user: User,
    full_name: str,
    unit: OrgUnit,
    mobile: str = "",
    email: str = "",
    expected_version: int | None = None,
) -> User:
    """Change an account's name, contact details and home unit (both old and new in scope)."""
    _check_account_authority(actor, user)
    _require_user_manage_in(actor, unit)
    _bump(
        user,
        expected_version,
        actor,
        full_name=check_full_name(full_name),
        mobile=check_mobile(mobile),
        email=check_email(email),
        unit=unit,
    )
    return user


@transaction.atomic
def do_set_active(*, actor, user: User, active: bool, expected_version: int | None = None) -> User:
    """Disable or enable an account. A disabled account's sessions end on their next request."""
    if actor is not None and actor.pk == user.pk:
        raise ValidationError("不能停用或启用自己的账号。", code="self")
    _check_account_authority(actor, user)
    if actor is not None and not is_security_governed(user):
        _check_not_stronger(actor, held_permissions(user) & ADMIN_PERMS, "停用或启用该账号")
    if user.is_active == active:
        raise ValidationError("该账号已是启用状态。" if active else "该账号已停用。", code="unchanged")
    _bump(user, expected_version, actor, is_active=active, deactivated_at=None if active else timezone.now())
    if not active:
        from .tokens import revoke_all_tokens  # issue 14 item 3: re-enabling does not revive old tokens

        revoke_all_tokens(user, actor=actor, reason="账号已停用")
    return user


@transaction.atomic
def do_set_password(*, actor, user: User, password: str) -> User:
    """Set a new password for an account the actor may administer (``check_may_administer``)."""
    check_may_administer(actor, user)
    password_validation.validate_password(password, user)
    before = {"password": user.password}
    user.set_password(password)
    user.save(update_fields=["password"])
    log_change(actor, user, before, {"password": user.password}, purpose="重设密码")
    from .tokens import revoke_all_tokens  # issue 14 item 3: tokens die with the old password

    revoke_all_tokens(user, actor=actor, reason="密码已重设")
    return user


def check_role_grantable(actor, role: Role) -> None:
    """Whether ``actor`` may give ``role`` directly (issue 14; no shortcut for role maintainers).

    * the security and audit administrator roles: only a security administrator;
    * a role that reads counselling notes: never directly — a grant request approved by a second person;
    * otherwise only roles whose administrative and client-data powers the actor holds, so no manager
      mints a stronger manager and the system administrator never hands out client data.
    """
    if actor is None:
        return
    grant = active_grant(actor)
    if grant is None:
        raise ValidationError("您无权分配角色。", code="forbidden")
    if role.code in SECURITY_GOVERNED_ROLES:
        if Perm.SECURITY_MANAGE not in grant.permissions:
            raise ValidationError(f"“{role.name}”角色只能由安全管理员分配（三员分立）。", code="three_admins")
        return
    if not (set(role.permissions) & ADMIN_PERMS) <= grant.permissions:
        raise ValidationError(f"您不能分配权限超出自身的角色“{role.name}”。", code="escalation")
    if reads_notes(role):
        raise ValidationError(
            f"“{role.name}”角色可查看咨询记录，须由单位负责人提交授予申请、经安全管理员批准后生效（双人规则）。",
            code="two_person",
        )
    missing = (set(role.permissions) & CLIENT_DATA_PERMS) - grant.permissions
    if missing:
        raise ValidationError(
            f"您不能分配含有您本人不具备的来访者数据权限（{_perm_labels(missing)}）的角色“{role.name}”。",
            code="client_data",
        )


def check_exclusive_roles(user: User, role: Role) -> None:
    """No account holds two of the system, security and audit administrator roles."""
    if not role.exclusive_group:
        return
    clash = (
        Assignment.objects.filter(user=user, role__exclusive_group=role.exclusive_group)
        .exclude(role=role)
        .select_related("role")
        .first()
    )
    if clash:
        raise ValidationError(f"同一账号不能同时担任“{clash.role.name}”和“{role.name}”（三员分立）。", code="exclusive")


def check_role_holdable(user: User, role: Role) -> None:
    """Rules on the account itself, whoever grants: the three administrators are exclusive, and a system
    administrator holds no role with client data (nor a holder of such a role the system administrator role)."""
    check_exclusive_roles(user, role)
    held = _held_assignments(user)
    if role.code == SYSTEM_ADMIN_ROLE:
        clash = next((a.role for a in held if set(a.role.permissions) & CLIENT_DATA_PERMS), None)
    elif set(role.permissions) & CLIENT_DATA_PERMS:
        clash = next((a.role for a in held if a.role.code == SYSTEM_ADMIN_ROLE), None)
    else:
        clash = None
    if clash is not None:
        raise ValidationError(
            f"系统管理员不接触来访者数据：同一账号不能同时担任“{clash.name}”和“{role.name}”。", code="sysadmin_client"
        )


def check_role_fits_unit(role: Role, unit: OrgUnit) -> None:
    """A role is held only at the kinds of unit it is made for (S-ORG-2, S-STAFF-2): a district role at the
    district centre, never at a community room; association roles only in the association. Every grant
    path (manager, security administrator, grant request and its approval, API) passes here."""
    if unit is not None and not role.fits_unit(unit):
        raise ValidationError(
            {
                "unit": ValidationError(
                    f"“{role.name}”只能在{role.unit_kinds_label}任职，不能分配到“{unit.name}”"
                    f"（{unit.get_kind_display()}）。",
                    code="unit_level",
                )
            }
        )


def _lock_and_check_new_assignment(user: User, unit: OrgUnit, role: Role) -> None:
    # Lock the user's row so two concurrent grants cannot both pass the exclusivity checks.
    User.objects.select_for_update().filter(pk=user.pk).first()
    check_role_holdable(user, role)
    if Assignment.objects.filter(user=user, unit=unit, role=role).exists():
        raise ValidationError("该人员在此单位已有此角色。", code="duplicate")


def _require_unit_for_role(actor, unit: OrgUnit, role: Role) -> None:
    if actor is None:
        return
    if role.code in SECURITY_GOVERNED_ROLES:
        if unit is None or not unit.is_active or not can_in_unit(actor, Perm.SECURITY_MANAGE, unit):
            raise ValidationError("您只能在本单位及下级单位内分配该角色。", code="forbidden")
        return
    _require_user_manage_in(actor, unit)


@transaction.atomic
def do_assign_role(*, actor, user: User, unit: OrgUnit, role: Role) -> Assignment:
    """Give ``user`` ``role`` at ``unit``; the user and the unit must both be in the actor's scope."""
    _check_account_authority(actor, user, governed_role=role.code in SECURITY_GOVERNED_ROLES)
    _require_unit_for_role(actor, unit, role)
    check_role_grantable(actor, role)
    check_role_fits_unit(role, unit)
    _lock_and_check_new_assignment(user, unit, role)
    assignment = Assignment.objects.create(user=user, unit=unit, role=role, created_by=actor)
    log_change(actor, assignment, {}, snapshot(assignment))
    forget_grant(user)
    return assignment


@transaction.atomic
def do_revoke_assignment(*, actor, assignment: Assignment) -> None:
    """Take a role away. The actor must manage both the user and the assignment's unit; never their own."""
    governed = assignment.role.code in SECURITY_GOVERNED_ROLES
    _check_account_authority(actor, assignment.user, governed_role=governed)
    _require_unit_for_role(actor, assignment.unit, assignment.role)
    if actor is not None and not governed:
        _check_not_stronger(actor, set(assignment.role.permissions) & ADMIN_PERMS, f"撤销“{assignment.role.name}”角色")
    log_change(actor, assignment, snapshot(assignment), {})
    assignment.delete()
    forget_grant(assignment.user)
    from .tokens import revoke_all_tokens  # issue 14 item 3: a token must not outlive a role it acted through

    revoke_all_tokens(assignment.user, actor=actor, reason="岗位已撤销")


# --- two-person rule for roles that read counselling notes (issue 14) ---


def _check_reason(reason: str, *, required: bool, label: str) -> str:
    reason = (reason or "").strip()
    if required and len(reason) < 4:
        raise ValidationError(f"请填写{label}（至少 4 个字）。", code="reason")
    if len(reason) > 500:
        raise ValidationError(f"{label}不能超过 500 个字。", code="reason")
    return reason


def _may_request(requester_perms, requester_unit_path: str, user: User, unit: OrgUnit, role: Role) -> str:
    """Why a grant of ``role`` cannot be asked for by holders of these permissions at that unit ("" if it can)."""
    if Perm.USER_MANAGE not in requester_perms:
        return "您无权管理该人员账号。"
    if not unit.path.startswith(requester_unit_path) or user.unit is None:
        return "您只能在本单位及下级单位内申请授予角色。"
    if not user.unit.path.startswith(requester_unit_path):
        return "您无权管理该人员账号。"
    if Perm.CLIENT_VIEW not in requester_perms:
        return "系统管理员等不接触来访者数据的岗位不能申请可查看咨询记录的角色。"
    if not (set(role.permissions) & ADMIN_PERMS) <= requester_perms:
        return f"您不能申请权限超出自身的角色“{role.name}”。"
    return ""


def _check_grant_target(user: User, unit: OrgUnit, role: Role) -> None:
    if not user.is_active:
        raise ValidationError("该账号已停用，不能授予角色。", code="inactive")
    if not unit.is_active:
        raise ValidationError("该单位已撤销，不能授予角色。", code="inactive")
    if not reads_notes(role):
        raise ValidationError(f"“{role.name}”角色不查看咨询记录，请直接分配。", code="not_needed")
    if is_security_governed(user):
        raise ValidationError("安全管理员、审计管理员的账号只能由安全管理员管理（三员分立）。", code="three_admins")


@transaction.atomic
def do_request_grant(*, actor, user: User, unit: OrgUnit, role: Role, reason: str) -> GrantRequest:
    """The unit manager asks for a note-reading role for ``user`` at ``unit``; nothing is granted yet."""
    if actor is None:
        raise ValidationError("授予申请须由具体人员提出。", code="forbidden")
    if actor.pk == user.pk:
        raise ValidationError("不能为自己申请角色。", code="self")
    grant = active_grant(actor)
    if grant is None or not can(actor, Perm.USER_MANAGE, user):
        raise ValidationError("您无权管理该人员账号。", code="forbidden")
    why = _may_request(grant.permissions, grant.unit_path, user, unit, role)
    if why:
        raise ValidationError(why, code="forbidden")
    _check_grant_target(user, unit, role)
    check_role_fits_unit(role, unit)
    reason = _check_reason(reason, required=True, label="申请理由")
    _lock_and_check_new_assignment(user, unit, role)
    if GrantRequest.objects.filter(user=user, unit=unit, role=role, status=GrantRequest.PENDING).exists():
        raise ValidationError("已有相同的待审批申请。", code="duplicate")
    request = GrantRequest.objects.create(user=user, unit=unit, role=role, reason=reason, requested_by=actor)
    log_change(actor, request, {}, snapshot(request), purpose="申请授予可查看咨询记录的角色")
    return request


def _requester_still_entitled(request: GrantRequest) -> bool:
    """Whether the requester still holds, through some assignment, the right to ask for this grant."""
    requester = request.requested_by
    if requester is None or not requester.is_active or requester.pk == request.user_id:
        return False
    for assignment in _held_assignments(requester):
        if not assignment.unit.is_active:
            continue
        why = _may_request(
            set(assignment.role.permissions), assignment.unit.path, request.user, request.unit, request.role
        )
        if not why:
            return True
    return False


@transaction.atomic
def do_decide_grant_request(*, actor, grant_request: GrantRequest, approve: bool, reason: str = "") -> GrantRequest:
    """The security administrator approves (creating the assignment) or refuses a grant request.

    Never the requester and never the account's owner; on approval every rule is checked again."""
    if actor is None:
        raise ValidationError("授予申请须由安全管理员审批。", code="forbidden")
    request = (
        GrantRequest.objects.select_for_update(of=("self",))
        .select_related("user__unit", "unit", "role")
        .get(pk=grant_request.pk)
    )
    if request.status != GrantRequest.PENDING:
        raise ValidationError("该申请已处理。", code="decided")
    if not (can_in_unit(actor, Perm.SECURITY_MANAGE, request.unit) and can(actor, Perm.SECURITY_MANAGE, request.user)):
        raise ValidationError("只有负责该单位的安全管理员可以审批授予申请。", code="forbidden")
    if actor.pk == request.requested_by_id:
        raise ValidationError("申请人不能审批自己提出的申请（双人规则）。", code="same_person")
    if actor.pk == request.user_id:
        raise ValidationError("不能审批授予自己的角色。", code="self")
    reason = _check_reason(reason, required=not approve, label="拒绝理由" if not approve else "审批意见")
    before = snapshot(request)
    if approve:
        _check_grant_target(request.user, request.unit, request.role)
        check_role_fits_unit(request.role, request.unit)
        if not _requester_still_entitled(request):
            raise ValidationError("申请人已无权提出该申请（岗位或权限已变化），请拒绝后重新申请。", code="requester")
        _lock_and_check_new_assignment(request.user, request.unit, request.role)
        request.assignment = Assignment.objects.create(
            user=request.user, unit=request.unit, role=request.role, created_by=request.requested_by
        )
        log_change(actor, request.assignment, {}, snapshot(request.assignment), purpose=f"批准授予申请 #{request.pk}")
        forget_grant(request.user)
    request.status = GrantRequest.APPROVED if approve else GrantRequest.REFUSED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_reason = reason
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "assignment"])
    log_change(actor, request, before, snapshot(request), purpose="批准授予申请" if approve else "拒绝授予申请")
    grant_request.refresh_from_db()
    return request


def do_switch_assignment(*, user: User, session, assignment_id) -> Assignment:
    """Make one of the user's own assignments the active one for this session."""
    try:
        assignment = Assignment.objects.select_related("unit").get(
            pk=int(assignment_id), user=user, unit__is_active=True
        )
    except (TypeError, ValueError, Assignment.DoesNotExist):
        raise ValidationError("请选择您自己的有效岗位。", code="invalid") from None
    session["active_assignment_id"] = assignment.pk
    user.active_assignment_id = assignment.pk
    forget_grant(user)
    return assignment
