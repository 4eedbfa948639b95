"""Changes to the org tree. Each function checks its rules and writes in one transaction."""

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from apps.audit.services import log_change, snapshot
from apps.core.access import active_grant, can_in_unit
from apps.core.errors import ConflictError
from apps.core.perms import Perm

from .choices import KIND_LEVEL, KIND_RANK, UnitKind
from .models import PATH_SEPARATOR, OrgUnit

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
NAME_MAX = 100
CODE_MAX = 32
DEPTH_MAX = 12  # province → … → committee never needs more; keeps paths far under 255 chars


def check_unit_name(name: str, parent: OrgUnit | None, exclude_pk: int | None = None) -> str:
    """Return the cleaned name or raise: required, at most 100 characters, unique among siblings."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("请填写单位名称。", code="required")
    if len(name) > NAME_MAX:
        raise ValidationError(f"单位名称不能超过 {NAME_MAX} 个字符。", code="max_length")
    siblings = OrgUnit.objects.filter(parent=parent, name=name)
    if exclude_pk:
        siblings = siblings.exclude(pk=exclude_pk)
    if siblings.exists():
        raise ValidationError(f"同一上级单位下已有名为“{name}”的单位。", code="duplicate")
    return name


def check_unit_code(code: str, exclude_pk: int | None = None) -> str:
    """Return the cleaned code or raise: letters, digits, - and _, at most 32, unique."""
    code = (code or "").strip()
    if not code:
        raise ValidationError("请填写单位编码。", code="required")
    if len(code) > CODE_MAX:
        raise ValidationError(f"单位编码不能超过 {CODE_MAX} 个字符。", code="max_length")
    if not CODE_RE.match(code):
        raise ValidationError("单位编码只能包含字母、数字、连字符和下划线，且以字母或数字开头。", code="invalid")
    taken = OrgUnit.objects.filter(code=code)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError(f"单位编码“{code}”已被使用。", code="duplicate")
    return code


def check_kind(kind: str) -> UnitKind:
    if kind not in UnitKind.values:
        raise ValidationError("请选择有效的单位类型。", code="invalid_choice")
    return UnitKind(kind)


def check_placement(kind: str, parent: OrgUnit | None) -> None:
    """Refuse placing a unit under an inactive parent or under a unit of lower administrative rank."""
    if parent is None:
        return
    if not parent.is_active:
        raise ValidationError("不能放在已停用的单位之下。", code="inactive_parent")
    if parent.depth + 1 >= DEPTH_MAX:
        raise ValidationError(f"组织层级不能超过 {DEPTH_MAX} 级。", code="too_deep")
    child_rank, parent_rank = KIND_RANK.get(kind), KIND_RANK.get(parent.kind)
    if child_rank is not None and parent_rank is not None and child_rank <= parent_rank:
        raise ValidationError(f"“{UnitKind(kind).label}”不能设在“{UnitKind(parent.kind).label}”之下。", code="rank")


def _require_manage(actor, unit: OrgUnit | None) -> None:
    """Refuse when ``actor`` may not manage ``unit``; ``actor=None`` is the system (bootstrap, seed)."""
    if actor is None:
        return
    if unit is None or not can_in_unit(actor, Perm.ORG_MANAGE, unit):
        raise ValidationError("您无权管理该单位。", code="forbidden")


@transaction.atomic
def do_create_unit(*, actor, parent: OrgUnit | None, kind: str, name: str, code: str) -> OrgUnit:
    """Create a unit under ``parent`` (a new tree root only for the system itself)."""
    if parent is None and actor is not None:
        raise ValidationError("请选择上级单位。", code="required")
    _require_manage(actor, parent)
    kind = check_kind(kind)
    name = check_unit_name(name, parent)
    code = check_unit_code(code)
    check_placement(kind, parent)
    unit = OrgUnit.objects.create(
        parent=parent,
        tenant=parent.tenant if parent else None,
        kind=kind,
        level=KIND_LEVEL.get(kind, ""),
        name=name,
        code=code,
        path=f"tmp-{code}",
        depth=parent.depth + 1 if parent else 0,
    )
    unit.path = f"{parent.path if parent else PATH_SEPARATOR}{unit.pk}{PATH_SEPARATOR}"
    if parent is None:
        unit.tenant = unit
    OrgUnit.objects.filter(pk=unit.pk).update(path=unit.path, tenant=unit.tenant)
    log_change(actor, unit, {}, snapshot(unit))
    return unit


def _bump(unit: OrgUnit, expected_version: int | None, actor=None, **changes) -> None:
    """Write ``changes`` only if nobody changed the unit since ``expected_version`` was read; audit it."""
    before = snapshot(unit)
    rows = OrgUnit.objects.filter(pk=unit.pk)
    if expected_version is not None:
        rows = rows.filter(version=expected_version)
    if rows.update(version=F("version") + 1, **changes) != 1:
        raise ConflictError("该单位已被他人修改，请刷新页面后重试。")
    unit.refresh_from_db()
    log_change(actor, unit, before, snapshot(unit))


@transaction.atomic
def do_rename_unit(*, actor, unit: OrgUnit, name: str, code: str, expected_version: int | None = None) -> OrgUnit:
    """Change a unit's name and code."""
    _require_manage(actor, unit)
    name = check_unit_name(name, unit.parent, exclude_pk=unit.pk)
    code = check_unit_code(code, exclude_pk=unit.pk)
    _bump(unit, expected_version, actor, name=name, code=code)
    return unit


@transaction.atomic
def do_move_unit(*, actor, unit: OrgUnit, new_parent: OrgUnit, expected_version: int | None = None) -> OrgUnit:
    """Put ``unit`` and its whole subtree under ``new_parent``; refuse cycles.

    Paths, depths and tenants of every descendant are rewritten in two set-based UPDATEs.
    """
    _require_manage(actor, unit)
    _require_manage(actor, new_parent)
    if new_parent is None:
        raise ValidationError("请选择新的上级单位。", code="required")
    if new_parent.pk == unit.pk or new_parent.path.startswith(unit.path):
        raise ValidationError("不能把单位移到它自己或它的下级单位之下。", code="cycle")
    grant = active_grant(actor) if actor is not None else None
    if grant is not None and grant.unit_id == unit.pk:
        raise ValidationError("不能移动您当前所在的单位。", code="own_unit")
    check_placement(unit.kind, new_parent)
    check_unit_name(unit.name, new_parent, exclude_pk=unit.pk)
    subtree_height = (
        OrgUnit.objects.filter(path__startswith=unit.path).order_by("-depth").values_list("depth", flat=True).first()
    ) - unit.depth
    if new_parent.depth + 1 + subtree_height >= DEPTH_MAX:
        raise ValidationError(f"组织层级不能超过 {DEPTH_MAX} 级。", code="too_deep")

    old_path = unit.path
    new_path = f"{new_parent.path}{unit.pk}{PATH_SEPARATOR}"
    depth_delta = new_parent.depth + 1 - unit.depth
    _bump(unit, expected_version, actor, parent=new_parent)
    subtree = OrgUnit.objects.filter(path__startswith=old_path)
    subtree.update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + depth_delta,
        tenant=new_parent.tenant_id,
    )
    unit.refresh_from_db()
    log_change(actor, unit, {"path": old_path}, {"path": unit.path}, purpose="迁移单位及其全部下级单位")
    return unit


@transaction.atomic
def do_deactivate_unit(*, actor, unit: OrgUnit, expected_version: int | None = None) -> OrgUnit:
    """Stop a unit: its assignments stop granting anything. Refused while it has active children."""
    _require_manage(actor, unit)
    if not unit.is_active:
        raise ValidationError("该单位已停用。", code="inactive")
    if unit.children.filter(is_active=True).exists():
        raise ValidationError("该单位还有启用中的下级单位，请先停用或迁移下级单位。", code="has_children")
    grant = active_grant(actor) if actor is not None else None
    if grant is not None and grant.unit_id == unit.pk:
        raise ValidationError("不能停用您当前所在的单位。", code="own_unit")
    _bump(unit, expected_version, actor, is_active=False)
    return unit


@transaction.atomic
def do_reactivate_unit(*, actor, unit: OrgUnit, expected_version: int | None = None) -> OrgUnit:
    """Start a stopped unit again; its parent must be active."""
    _require_manage(actor, unit)
    if unit.is_active:
        raise ValidationError("该单位已在启用中。", code="active")
    if unit.parent is not None and not unit.parent.is_active:
        raise ValidationError("上级单位已停用，请先启用上级单位。", code="inactive_parent")
    _bump(unit, expected_version, actor, is_active=True)
    return unit
