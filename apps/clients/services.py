"""Client register rules: validated identity data, scoped writes, break-the-glass access."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.audit.choices import AuditAction, AuditOutcome
from apps.audit.services import log_change, log_event, snapshot
from apps.core.access import can, can_in_unit
from apps.core.errors import ConflictError
from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.identity.masks import mask_id, mask_mobile
from apps.identity.names import pinyin_keys
from apps.identity.phones import normalize_phone
from apps.identity.resident_id import validate_resident_id
from apps.orgs.models import OrgUnit
from apps.vault.crypto import blind_index
from apps.vault.normalizers import normalize_id_number, normalize_text
from apps.vault.normalizers import normalize_phone as normalize_phone_index

from .choices import ConsentMethod, Education, EmergencyReason, Gender, PoliticalStatus
from .models import Client, ClientTransfer, EmergencyAccess, Guardian

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


def check_id_number_unused(actor, tenant_id, id_number: str, exclude_pk=None) -> None:
    """S-CLIENT-1: an identical resident ID number is the same person; refuse a second client with it.

    The message points to the existing record when the actor may see it, otherwise only to the
    higher-level unit (nothing about the other record is revealed).
    """
    if not id_number:
        return
    with unscoped("uniqueness of the ID number across the tree; out-of-scope matches are not described"):
        rows = Client.objects.search_exact("id_number", id_number).filter(tenant_id=tenant_id, merged_into__isnull=True)
        if exclude_pk:
            rows = rows.exclude(pk=exclude_pk)
        existing = rows.order_by("pk").first()
    if existing is None:
        return
    if actor is None or can(actor, Perm.CLIENT_VIEW, existing):
        raise ValidationError(
            f"该身份证号码已登记为来访者 #{existing.pk}，同一身份证号码即同一人，请打开已有记录，不要重复登记。",
            code="same_id",
        )
    raise ValidationError(
        "该身份证号码已在其他单位登记，同一身份证号码即同一人，不能重复登记，请联系上级单位核实。",
        code="same_id",
    )


@transaction.atomic
def do_register_client(*, actor, unit: OrgUnit, data: dict, categories=()) -> Client:
    """Register a client in ``unit`` (inside the actor's subtree); never a second one with the same ID number."""
    _require_manage_in(actor, unit)
    clean = check_client_data(data)
    check_id_number_unused(actor, unit.tenant_id, clean.get("id_number", ""))
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
    """Change a client's registration data; refuse a stale form, a merged record and a duplicate ID number."""
    if actor is not None and not can(actor, Perm.CLIENT_MANAGE, client):
        raise ValidationError("您无权修改该来访者信息。", code="forbidden")
    if client.merged_into_id:
        raise ValidationError(
            f"该记录已合并到来访者 #{client.merged_into_id}，不能再修改，请修改合并后的档案。", code="merged"
        )
    clean = check_client_data(data)
    check_id_number_unused(actor, client.tenant_id, clean.get("id_number", ""), exclude_pk=client.pk)
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


def _masked_lookup(identifier: str) -> dict:
    """What the audit log keeps of a break-glass identifier: its kind, a masked form and its blind index.

    The clear value never reaches the log; the blind index lets an auditor who holds the number find
    every lookup of it (``blind_index`` of the same number under the same index key).
    """
    from .selectors import ID_RE, PHONE_RE, phone_query

    text = (identifier or "").strip()
    if ID_RE.match(text):
        return {"kind": "id_number", "masked": mask_id(text), "index": blind_index(text, normalize_id_number)}
    if PHONE_RE.match(text):
        number = phone_query(text)
        return {"kind": "phone", "masked": mask_mobile(number), "index": blind_index(number, normalize_phone_index)}
    return {"kind": "other", "masked": "***" if text else "", "index": blind_index(text, normalize_text)}


@transaction.atomic
def do_record_break_glass_miss(*, actor, identifier: str, reason: str, reason_text: str) -> None:
    """X-4, S-PRIN-5: audit a break-glass lookup that found nobody, without the identifier in clear.

    A miss tells the searcher that an ID number or phone is *not* a client, so it is recorded like a
    hit (same action, outcome ``failure``), with the same reason checks; an invalid reason refuses
    the lookup before anything is revealed or written.
    """
    if not can(actor, Perm.EMERGENCY_ACCESS):
        raise ValidationError("您无权使用紧急调阅。", code="forbidden")
    if reason not in EmergencyReason.values:
        raise ValidationError("请选择紧急事由类别。", code="reason")
    reason_text = check_reason_text(reason_text)
    lookup = _masked_lookup(identifier)
    kind_label = {"id_number": "身份证号码", "phone": "手机号码"}.get(lookup["kind"], "标识")
    log_event(
        actor=actor,
        action=AuditAction.EMERGENCY_ACCESS,
        outcome=AuditOutcome.FAILURE,
        object_type=Client._meta.label_lower,
        label=f"紧急调阅未找到来访者（{kind_label} {lookup['masked']}）",
        purpose=f"{EmergencyReason(reason).label}：{reason_text}",
        changes={"lookup": lookup},
    )


def notify_unit_managers(client: Client, actor, grant: EmergencyAccess) -> None:
    """Tell the managers of the client's unit (or the nearest unit above that has one), minimally."""
    from apps.accounts.selectors import nearest_unit_managers
    from apps.notifications.services import notify_user

    managers = nearest_unit_managers(client.unit, exclude_user_id=actor.pk)
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


# --- minors and guardians (S-CLIENT-4) ------------------------------------------------------------

GUARDIAN_REQUIRED_BELOW = 14
CONSENT_NOTICE_VERSION = "2026.1"


def age_on(birth_date, today=None) -> int | None:
    if birth_date is None:
        return None
    today = today or timezone.localdate()
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def check_guardian(
    data: dict | None, *, keyed: bool = False, consent_message: str = "未满 14 周岁的来访者须经监护人同意后才能登记。"
) -> dict:
    """Validate a guardian: name, relationship, a valid phone and the guardian's consent.

    ``keyed`` puts each error on its field (the guardian page's ``name``, ``phone``…); the
    registration forms name these fields differently, so there the errors stay above the form.
    """

    def fail(field: str, message: str):
        raise ValidationError({field: message} if keyed else message)

    data = dict(data or {})
    name = (data.get("name") or "").strip()
    relationship = (data.get("relationship") or "").strip()
    if not name or not relationship:
        fail("name" if not name else "relationship", "请填写监护人姓名及与来访者的关系。")
    if len(name) > 50 or len(relationship) > 20:
        fail("name" if len(name) > 50 else "relationship", "监护人姓名不能超过 50 个字，关系不能超过 20 个字。")
    phone = (data.get("phone") or "").strip()
    if not phone:
        fail("phone", "请填写监护人联系电话。")
    try:
        phone = normalize_phone(phone)
    except ValidationError as error:
        if not keyed:
            raise
        raise ValidationError({"phone": error.messages}) from None
    data.update(name=name, relationship=relationship, phone=phone)
    if not data.get("consent"):
        fail("consent", consent_message)
    return data


def _add_guardian(actor, client: Client, guardian: dict) -> Guardian:
    row = Guardian.objects.create(
        client=client,
        name=guardian["name"],
        relationship=guardian["relationship"],
        phone=guardian["phone"],
        consent_given_at=guardian.get("consent_given_at") or timezone.now(),
        consent_notice_version=CONSENT_NOTICE_VERSION,
        consent_method=guardian.get("consent_method", ""),
        recorded_by=actor,
    )
    log_change(actor, row, {}, snapshot(row), purpose="登记监护人及其同意")
    return row


def _require_guardian_manage(actor, client: Client) -> None:
    if actor is not None and not can(actor, Perm.CLIENT_MANAGE, client):
        raise ValidationError("您无权登记或变更该来访者的监护人。", code="forbidden")
    if client.merged_into_id:
        raise ValidationError(
            f"该记录已合并到来访者 #{client.merged_into_id}，请在合并后的档案中登记监护人。", code="merged"
        )


@transaction.atomic
def do_add_guardian(*, actor, client: Client, data: dict) -> Guardian:
    """S-CLIENT-4: record a guardian at any time, with the guardian's consent (when, how, which notice).

    The guardian acts for a minor from then on; the same person (same phone) is not recorded twice
    while current. Refused with the error on the field and nothing written.
    """
    _require_guardian_manage(actor, client)
    clean = check_guardian(
        data, keyed=True, consent_message="请确认监护人已阅读告知书并表示同意；没有监护人的同意不能登记为监护人。"
    )
    method = data.get("consent_method") or ""
    if method not in ConsentMethod.values:
        raise ValidationError({"consent_method": "请选择监护人表示同意的方式。"})
    given_at = data.get("consent_given_at") or timezone.now()
    if given_at > timezone.now():
        raise ValidationError({"consent_given_at": "同意时间不能晚于现在。"})
    if Guardian.objects.current().filter(client=client).search_exact("phone", clean["phone"]).exists():
        raise ValidationError({"phone": "该电话已登记为本来访者的监护人；如需修改请在原监护人处修改。"})
    return _add_guardian(actor, client, {**clean, "consent_method": method, "consent_given_at": given_at})


@transaction.atomic
def do_change_guardian(*, actor, guardian: Guardian, data: dict) -> Guardian:
    """S-CLIENT-4: correct a current guardian's name, relationship or phone (audited, before and after).

    Another person taking over is not a change: end this guardian and record the new one with
    their own consent.
    """
    _require_guardian_manage(actor, guardian.client)
    if guardian.ended_at is not None:
        raise ValidationError({"name": "该监护人已终止，不能再修改；如需恢复请重新登记监护人。"})
    clean = check_guardian({**data, "consent": True}, keyed=True)
    others = Guardian.objects.current().filter(client_id=guardian.client_id).exclude(pk=guardian.pk)
    if others.search_exact("phone", clean["phone"]).exists():
        raise ValidationError({"phone": "该电话已登记为本来访者的另一位监护人。"})
    before = snapshot(guardian)
    guardian.name, guardian.relationship, guardian.phone = clean["name"], clean["relationship"], clean["phone"]
    guardian.save(update_fields=["name", "relationship", "phone"])
    log_change(actor, guardian, before, snapshot(guardian), purpose="修改监护人信息")
    return guardian


@transaction.atomic
def do_end_guardian(*, actor, guardian: Guardian, reason: str) -> Guardian:
    """S-CLIENT-4: end a guardian (kept on record, with who ended it, when and why).

    Allowed at any time: a minor's case can still be paused, postponed or terminated without a
    guardian (apps.casework.services.check_requester); starting or resuming service then waits
    for a new guardian's consent.
    """
    _require_guardian_manage(actor, guardian.client)
    if guardian.ended_at is not None:
        raise ValidationError({"reason": "该监护人已于此前终止。"})
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationError({"reason": "请填写终止原因（如：已满 18 周岁、监护关系变更）。"})
    if len(reason) > 200:
        raise ValidationError({"reason": "终止原因不能超过 200 个字。"})
    before = snapshot(guardian)
    guardian.ended_at, guardian.ended_reason, guardian.ended_by = timezone.now(), reason, actor
    guardian.save(update_fields=["ended_at", "ended_reason", "ended_by"])
    log_change(actor, guardian, before, snapshot(guardian), purpose=f"终止监护人：{reason}")
    return guardian


def has_consenting_guardian(client: Client) -> bool:
    """Whether a current guardian of ``client`` has given consent (S-CLIENT-4)."""
    return Guardian.objects.current().filter(client=client, consent_given_at__isnull=False).exists()


@transaction.atomic
def do_register_minor_aware(*, actor, unit: OrgUnit, data: dict, categories=(), guardian: dict | None = None) -> Client:
    """Register a client; one under 14 needs a guardian who consents (refused otherwise, nothing written)."""
    clean = check_client_data(data)
    age = age_on(clean.get("birth_date"))
    if age is not None and age < GUARDIAN_REQUIRED_BELOW:
        guardian = check_guardian(guardian)
    elif guardian and any((guardian.get(k) or "").strip() for k in ("name", "relationship", "phone")):
        guardian = check_guardian(guardian)
    else:
        guardian = None
    client = do_register_client(actor=actor, unit=unit, data=data, categories=categories)
    if guardian:
        _add_guardian(actor, client, guardian)
    return client


# --- duplicates and merging (S-CLIENT-1, S-CLIENT-3) ---------------------------------------------

ID_MATCH_LABEL = "身份证号码"


def find_duplicates(user, data: dict, exclude_pk=None) -> list[tuple[Client, str, bool]]:
    """Clients in the user's whole tree matching by ID number, phone, or name + birth date.

    Returns ``(client, matched_on, in_scope)``; callers show out-of-scope matches without details.
    """
    from apps.core.access import active_grant

    grant = active_grant(user)
    if grant is None:
        return []
    tenant_path = "/" + grant.unit_path.strip("/").split("/")[0] + "/"
    found: dict[int, tuple[Client, str]] = {}
    with unscoped("duplicate check across the tree; out-of-scope matches are reported without details"):
        base = Client.objects.filter(unit_path__startswith=tenant_path, merged_into__isnull=True)
        if exclude_pk:
            base = base.exclude(pk=exclude_pk)
        checks = []
        if data.get("id_number"):
            checks.append((ID_MATCH_LABEL, base.search_exact("id_number", data["id_number"])))
        if data.get("phone"):
            checks.append(("联系电话", base.search_exact("phone", data["phone"])))
        if data.get("name") and data.get("birth_date"):
            checks.append(
                ("姓名和出生日期", base.search_exact("name", data["name"]).filter(birth_date=data["birth_date"]))
            )
        for label, rows in checks:
            for client in rows.select_related("unit")[:10]:
                found.setdefault(client.pk, (client, label))
    return [(c, label, c.unit_path.startswith(grant.unit_path)) for c, label in found.values()]


def _client_fk_models():
    """Every model with a foreign key to Client (other than Client itself), with that field's name."""
    from django.apps import apps

    for model in apps.get_models():
        if model is Client:
            continue
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is Client:
                yield model, field


@transaction.atomic
def do_merge_clients(*, actor, keep: Client, duplicate: Client, reason: str) -> Client:
    """Fold ``duplicate`` into ``keep``: every record of it now belongs to ``keep``; nothing is deleted.

    The duplicate stays as a row marked ``merged_into`` (its history and audit trail remain).
    """
    if keep.pk == duplicate.pk:
        raise ValidationError("不能把来访者与自己合并。", code="same")
    for client in (keep, duplicate):
        if not can(actor, Perm.CLIENT_MANAGE, client):
            raise ValidationError("只能合并您管辖范围内的来访者。", code="forbidden")
    if duplicate.merged_into_id:
        raise ValidationError("该记录已经合并过。", code="merged")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ValidationError("请说明合并原因。", code="reason")
    moved = {}
    for model, field in _client_fk_models():
        count = model._base_manager.filter(**{field.name: duplicate}).update(**{field.name: keep})
        if count:
            moved[model._meta.label_lower] = count
    keep.categories.add(*duplicate.categories.all())
    before = snapshot(duplicate)
    Client._base_manager.filter(pk=duplicate.pk).update(merged_into=keep)
    duplicate.merged_into = keep
    log_change(
        actor, duplicate, before, snapshot(duplicate), purpose=f"合并到来访者 #{keep.pk}：{reason}；迁移记录 {moved}"
    )
    return keep


# --- transfer between units (S-CLIENT-1) ---------------------------------------------------------

TRANSFER_KINDS = ("district_centre", "street_station", "community_room", "counselling_room", "health_section")


@transaction.atomic
def do_transfer_client(*, actor, client: Client, to_unit: OrgUnit, reason: str, handover_notes: str = ""):
    """Hand a client over to another unit of the same tree; the old unit loses access at once.

    Every record that belongs to the client and carries a ``unit_path`` moves with it.
    """
    if not can(actor, Perm.CLIENT_MANAGE, client):
        raise ValidationError("您无权移交该来访者。", code="forbidden")
    if to_unit.pk == client.unit_id:
        raise ValidationError("接收单位与当前单位相同。", code="same")
    if not to_unit.is_active or to_unit.tenant_id != client.tenant_id or to_unit.kind not in TRANSFER_KINDS:
        raise ValidationError("请选择本体系内启用中的服务单位作为接收单位。", code="unit")
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise ValidationError("请填写移交原因（不超过 200 字）。", code="reason")
    transfer = ClientTransfer.objects.create(
        client=client,
        from_unit=client.unit,
        to_unit=to_unit,
        reason=reason,
        handover_notes=(handover_notes or "").strip(),
        handed_over_by=actor,
    )
    before = snapshot(client)
    for model, field in _client_fk_models():
        names = {f.name for f in model._meta.concrete_fields}
        if "unit_path" in names:
            updates = {"unit_path": to_unit.path}
            if "unit" in names:
                updates["unit"] = to_unit
            model._base_manager.filter(**{field.name: client}).update(**updates)
    Client._base_manager.filter(pk=client.pk).update(unit=to_unit, unit_path=to_unit.path)
    client.unit, client.unit_path = to_unit, to_unit.path
    log_change(actor, client, before, snapshot(client), purpose=f"移交：{reason}")
    _notify_transfer(client, actor, to_unit)
    return transfer


def _notify_transfer(client: Client, actor, to_unit: OrgUnit) -> None:
    from apps.accounts.models import Assignment
    from apps.notifications.services import notify_user

    managers = {
        a.user
        for a in Assignment.objects.filter(unit=to_unit, user__is_active=True).select_related("user", "role")
        if Perm.CLIENT_MANAGE in a.role.permissions and a.user_id != actor.pk
    }
    for manager in managers:
        notify_user(
            user=manager,
            template="generic",
            context={
                "title": "来访者移交",
                "body": f"{actor.full_name}将来访者 #{client.pk} 移交到本单位，请查看交接记录。",
            },
            url=f"/clients/{client.pk}/",
        )
