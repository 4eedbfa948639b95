"""Client register rules: validated identity data, scoped writes, break-the-glass access."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.audit.choices import AuditAction
from apps.audit.services import log_change, log_event, snapshot
from apps.core.access import can, can_in_unit
from apps.core.errors import ConflictError
from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.identity.names import pinyin_keys
from apps.identity.phones import normalize_phone
from apps.identity.resident_id import validate_resident_id
from apps.orgs.models import OrgUnit

from .choices import Education, EmergencyReason, Gender, PoliticalStatus
from .models import Client, EmergencyAccess

EMERGENCY_WINDOW = timedelta(hours=2)
TEXT_LIMITS = {"ethnicity": 20, "native_place": 50, "religion": 20}


def check_client_data(data: dict) -> dict:
    """Validate and normalise registration data; derive birth date and gender from the ID number."""
    clean = dict(data)
    name = (clean.get("name") or "").strip()
    if not name:
        raise ValidationError({"name": "请填写姓名。"})
    if len(name) > 50:
        raise ValidationError({"name": "姓名不能超过 50 个字符。"})
    clean["name"] = name
    id_number = (clean.get("id_number") or "").strip()
    if id_number:
        resident = validate_resident_id(id_number)
        clean["id_number"] = resident.number
        clean["birth_date"] = resident.birth_date
        clean["gender"] = Gender.MALE if resident.gender == "male" else Gender.FEMALE
    phone = (clean.get("phone") or "").strip()
    clean["phone"] = normalize_phone(phone) if phone else ""
    birth = clean.get("birth_date")
    if birth and birth > timezone.localdate():
        raise ValidationError({"birth_date": "出生日期不能晚于今天。"})
    if clean.get("gender") and clean["gender"] not in Gender.values:
        raise ValidationError({"gender": "请选择有效的性别。"})
    for field, choices in (("education", Education), ("political_status", PoliticalStatus)):
        if clean.get(field) and clean[field] not in choices.values:
            raise ValidationError({field: "请选择有效的选项。"})
    for field, limit in TEXT_LIMITS.items():
        value = (clean.get(field) or "").strip()
        if len(value) > limit:
            raise ValidationError({field: f"不能超过 {limit} 个字符。"})
        clean[field] = value
    clean["address"] = (clean.get("address") or "").strip()
    clean["employer"] = (clean.get("employer") or "").strip()[:100]
    return clean


def _require_manage_in(actor, unit: OrgUnit) -> None:
    if actor is not None and not (unit.is_active and can_in_unit(actor, Perm.CLIENT_MANAGE, unit)):
        raise ValidationError("您只能在本单位及下级单位登记来访者。", code="forbidden")


FIELDS = (
    "name",
    "gender",
    "birth_date",
    "id_number",
    "phone",
    "address",
    "employer",
    "ethnicity",
    "native_place",
    "education",
    "political_status",
    "religion",
)


@transaction.atomic
def do_register_client(*, actor, unit: OrgUnit, data: dict, categories=()) -> Client:
    """Register a client in ``unit`` (inside the actor's subtree)."""
    _require_manage_in(actor, unit)
    clean = check_client_data(data)
    client = Client(unit=unit, unit_path=unit.path, tenant_id=unit.tenant_id, created_by=actor)
    for field in FIELDS:
        if field in clean:
            setattr(client, field, clean[field])
    client.name_initials = pinyin_keys(client.name)[1][:30]
    client.save()
    client.categories.set(categories)
    log_change(actor, client, {}, snapshot(client))
    return client


@transaction.atomic
def do_update_client(*, actor, client: Client, data: dict, categories=None, expected_version=None) -> Client:
    """Change a client's registration data; refuse a stale form."""
    if actor is not None and not can(actor, Perm.CLIENT_MANAGE, client):
        raise ValidationError("您无权修改该来访者信息。", code="forbidden")
    clean = check_client_data(data)
    before = snapshot(client)
    with unscoped("optimistic version bump of one client already authorised above"):
        rows = Client.objects.filter(pk=client.pk)
        if expected_version is not None:
            rows = rows.filter(version=expected_version)
        if rows.update(version=F("version") + 1) != 1:
            raise ConflictError("该来访者信息已被他人修改，请刷新页面后重试。")
    for field in FIELDS:
        if field in clean:
            setattr(client, field, clean[field])
    client.name_initials = pinyin_keys(client.name)[1][:30]
    client.version = (expected_version or client.version) + 1
    client.save()
    if categories is not None:
        client.categories.set(categories)
    log_change(actor, client, before, snapshot(client))
    return client


def check_reason_text(text: str) -> str:
    text = (text or "").strip()
    if len(text) < 10:
        raise ValidationError("请具体说明紧急事由（至少 10 个字）。", code="reason")
    return text[:1000]


@transaction.atomic
def do_break_glass(*, actor, client: Client, reason: str, reason_text: str) -> EmergencyAccess:
    """Open a two-hour window on one out-of-scope client; tell the client's unit managers."""
    if not can(actor, Perm.EMERGENCY_ACCESS):
        raise ValidationError("您无权使用紧急调阅。", code="forbidden")
    if reason not in EmergencyReason.values:
        raise ValidationError("请选择紧急事由类别。", code="reason")
    reason_text = check_reason_text(reason_text)
    grant = EmergencyAccess.objects.create(
        user=actor,
        client=client,
        client_unit_path=client.unit_path,
        reason=reason,
        reason_text=reason_text,
        expires_at=timezone.now() + EMERGENCY_WINDOW,
    )
    log_event(
        actor=actor,
        action=AuditAction.EMERGENCY_ACCESS,
        obj=client,
        unit=client.unit,
        purpose=f"{EmergencyReason(reason).label}：{reason_text}",
    )
    notify_unit_managers(client, actor, grant)
    return grant


def notify_unit_managers(client: Client, actor, grant: EmergencyAccess) -> None:
    """Tell the managers of the client's unit (or the nearest unit above that has one), minimally."""
    from apps.accounts.models import Assignment
    from apps.notifications.services import notify_user

    unit = client.unit
    ids = [*unit.ancestor_ids, unit.pk]
    for unit_id in reversed(ids):
        managers = {
            a.user
            for a in Assignment.objects.filter(unit_id=unit_id, user__is_active=True).select_related("user", "role")
            if Perm.USER_MANAGE in a.role.permissions and a.user_id != actor.pk
        }
        if managers:
            break
    for manager in managers:
        notify_user(
            user=manager,
            template="generic",
            context={
                "title": "紧急调阅提醒",
                "body": f"{actor.full_name}以“{grant.get_reason_display()}”为由紧急调阅了本单位来访者 #{client.pk}，"
                f"有效期至 {timezone.localtime(grant.expires_at):%Y-%m-%d %H:%M}。详情见审计日志。",
            },
            url="",
        )


def active_emergency_access(user, client_id) -> EmergencyAccess | None:
    return EmergencyAccess.objects.filter(user=user, client_id=client_id, expires_at__gt=timezone.now()).first()
