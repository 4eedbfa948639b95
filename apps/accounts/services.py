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
from apps.core.perms import ADMIN_PERMS, Perm
from apps.identity.phones import normalize_mobile
from apps.orgs.models import OrgUnit

from .models import Assignment, Role, User

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
    _require_user_manage(actor, user)
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
    _require_user_manage(actor, user)
    if actor is not None and actor.pk == user.pk:
        raise ValidationError("不能停用或启用自己的账号。", code="self")
    if user.is_active == active:
        raise ValidationError("该账号已是启用状态。" if active else "该账号已停用。", code="unchanged")
    _bump(user, expected_version, actor, is_active=active, deactivated_at=None if active else timezone.now())
    return user


@transaction.atomic
def do_set_password(*, actor, user: User, password: str) -> User:
    """Set a new password for an account the actor manages."""
    _require_user_manage(actor, user)
    password_validation.validate_password(password, user)
    before = {"password": user.password}
    user.set_password(password)
    user.save(update_fields=["password"])
    log_change(actor, user, before, {"password": user.password}, purpose="重设密码")
    return user


def check_role_grantable(actor, role: Role) -> None:
    """A manager grants only roles whose administrative powers they hold; role maintainers grant any.

    Service permissions are delegable (a street manager appoints a counsellor who reads notes the
    manager does not); administrative ones are not, so no manager can mint a stronger manager.
    """
    if actor is None:
        return
    grant = active_grant(actor)
    if grant is None:
        raise ValidationError("您无权分配角色。", code="forbidden")
    if Perm.ROLE_MANAGE in grant.permissions:
        return
    if not (set(role.permissions) & ADMIN_PERMS) <= grant.permissions:
        raise ValidationError(f"您不能分配权限超出自身的角色“{role.name}”。", code="escalation")


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


@transaction.atomic
def do_assign_role(*, actor, user: User, unit: OrgUnit, role: Role) -> Assignment:
    """Give ``user`` ``role`` at ``unit``; the user and the unit must both be in the actor's scope."""
    _require_user_manage(actor, user)
    _require_user_manage_in(actor, unit)
    check_role_grantable(actor, role)
    # Lock the user's row so two concurrent grants cannot both pass the exclusivity check.
    User.objects.select_for_update().filter(pk=user.pk).first()
    check_exclusive_roles(user, role)
    if Assignment.objects.filter(user=user, unit=unit, role=role).exists():
        raise ValidationError("该人员在此单位已有此角色。", code="duplicate")
    assignment = Assignment.objects.create(user=user, unit=unit, role=role, created_by=actor)
    log_change(actor, assignment, {}, snapshot(assignment))
    forget_grant(user)
    return assignment


@transaction.atomic
def do_revoke_assignment(*, actor, assignment: Assignment) -> None:
    """Take a role away. The actor must manage both the user and the assignment's unit."""
    _require_user_manage(actor, assignment.user)
    _require_user_manage_in(actor, assignment.unit)
    if actor is not None and assignment.user_id == actor.pk and active_grant(actor).assignment_id == assignment.pk:
        raise ValidationError("不能撤销您当前正在使用的角色。", code="own_grant")
    log_change(actor, assignment, snapshot(assignment), {})
    assignment.delete()
    forget_grant(assignment.user)


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
