"""Rules of assessments: import scales, set cut-offs, record results, one-time self-report links.

Every ``do_*`` runs in one transaction with its audit entry; bad input raises a Chinese
``ValidationError`` and writes nothing. Scoring happens once, when a result is recorded, with the
scale's current version and the cut-offs in force for the client's unit; nothing rescored later.
"""

import hashlib
import json
import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.audit.choices import AuditAction
from apps.audit.services import diff, log_change, log_event, snapshot
from apps.core.access import can, can_in_unit
from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.orgs.models import OrgUnit

from . import engine
from .choices import CutoffSource, Mode
from .models import AssessmentLink, AssessmentResult, CutoffSetting, Scale, ScaleVersion
from .selectors import current_version, cutoff_for, open_case_counsellor, scale_by_code, tenant_id_of
from .signals import result_scored

LINK_DAYS_DEFAULT = 7
LINK_DAYS_MAX = 30
_RESULT_AUDIT_FIELDS = (
    "client",
    "unit",
    "scale_version",
    "raw_score",
    "score",
    "band_code",
    "band_level",
    "critical",
    "administered_at",
    "mode",
)


def _checksum(definition: dict) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _audit_create(actor, obj, after: dict, unit: OrgUnit | None) -> None:
    """A creation entry attributed to ``unit`` (so a self-report without actor still lands in its subtree)."""
    log_event(actor=actor, action=AuditAction.CREATE, obj=obj, changes=diff({}, after), unit=unit)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- scales -----------------------------------------------------------------------------------


def check_tenant_manager(actor, tenant: OrgUnit) -> None:
    """Only a holder of ``assessment.scale_manage`` inside ``tenant`` manages its scales."""
    if not can(actor, Perm.SCALE_MANAGE) or tenant_id_of(actor) != tenant.pk:
        raise PermissionDenied


@transaction.atomic
def do_import_scale(*, actor, data: dict, tenant: OrgUnit | None, audit: bool = True) -> ScaleVersion:
    """Import a scale definition as a new version (version 1 of a new scale, or the next one).

    ``tenant`` None adds a shipped instrument (system loader only, ``actor`` None). A tenant may
    not reuse the code of a shipped scale. A definition identical to the current version is
    refused rather than stored twice. Old versions and their results are never changed.
    """
    if tenant is not None:
        check_tenant_manager(actor, tenant)
    elif actor is not None:
        raise PermissionDenied
    definition = engine.check_definition(data)
    code = definition["code"]
    if tenant is not None and Scale.objects.filter(code=code, tenant__isnull=True).exists():
        raise ValidationError(
            f"“{code}”是系统内置量表的编码，不能导入同编码量表；如需调整划界分，请使用划界分设置。", code="code_taken"
        )
    scale = Scale.objects.select_for_update().filter(code=code, tenant=tenant).first()
    created = scale is None
    if created:
        scale = Scale.objects.create(code=code, name=definition["name"], tenant=tenant)
    latest = current_version(scale)
    checksum = _checksum(definition)
    if latest is not None and latest.checksum == checksum:
        raise ValidationError(f"导入的定义与“{code}”当前版本 v{latest.number} 完全相同，无需导入。", code="unchanged")
    if not created and scale.name != definition["name"]:
        before = snapshot(scale, fields=["name"])
        scale.name = definition["name"]
        scale.save(update_fields=["name"])
        if audit:
            log_change(actor, scale, before, snapshot(scale, fields=["name"]))
    version = ScaleVersion.objects.create(
        scale=scale,
        number=(latest.number + 1) if latest else 1,
        definition=definition,
        checksum=checksum,
        licence_holder=definition["licence"]["holder"],
        licence_terms=definition["licence"]["terms"],
        imported_by=actor,
    )
    if audit:
        if created:
            log_change(actor, scale, {}, snapshot(scale))
        _audit_create(actor, version, snapshot(version, exclude=("definition",)), tenant)
    return version


def load_builtin_scales() -> list[ScaleVersion]:
    """Load the shipped free instruments (data/*.json); idempotent, adds a version only when a file changed."""
    from pathlib import Path

    added = []
    for path in sorted((Path(__file__).parent / "data").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        definition = engine.check_definition(data)
        scale = Scale.objects.filter(code=definition["code"], tenant__isnull=True).first()
        latest = current_version(scale) if scale else None
        if latest is not None and latest.checksum == _checksum(definition):
            continue
        # Shipped with the code and installed by migrate, like the built-in roles: the version row with its
        # checksum is the record, not the audit chain (which starts with people's acts).
        added.append(do_import_scale(actor=None, data=data, tenant=None, audit=False))
    return added


# --- cut-offs ---------------------------------------------------------------------------------


def _check_cutoff_manager(actor, unit: OrgUnit) -> None:
    if not can_in_unit(actor, Perm.SCALE_MANAGE, unit):
        raise PermissionDenied


@transaction.atomic
def do_set_cutoffs(*, actor, unit: OrgUnit, scale: Scale, bands: list[dict]) -> CutoffSetting:
    """Set ``unit``'s own severity bands for ``scale`` (S-WARN-6); its subtree inherits them.

    The bands must cover every score of every version of the scale. Results already recorded
    keep the band they were scored with.
    """
    _check_cutoff_manager(actor, unit)
    if scale.tenant_id is not None and scale.tenant_id != unit.tenant_id:
        raise PermissionDenied
    versions = list(scale.versions.order_by("number"))
    clean = None
    for version in versions:
        clean = engine.check_bands(version.definition, bands, where=f"（对照 v{version.number}）")
    setting = CutoffSetting.objects.select_for_update().filter(unit=unit, scale=scale).first()
    before = snapshot(setting) if setting else {}
    if setting is None:
        setting = CutoffSetting(unit=unit, scale=scale)
    setting.bands = clean
    setting.updated_by = actor
    setting.save()
    log_change(actor, setting, before, snapshot(setting))
    return setting


@transaction.atomic
def do_clear_cutoffs(*, actor, unit: OrgUnit, scale: Scale) -> None:
    """Drop ``unit``'s own bands for ``scale``; it inherits from its ancestors or the scale again."""
    _check_cutoff_manager(actor, unit)
    setting = CutoffSetting.objects.filter(unit=unit, scale=scale).first()
    if setting is None:
        raise ValidationError("本单位没有单独设置该量表的划界分。", code="no_cutoffs")
    log_change(actor, setting, snapshot(setting), {})
    setting.delete()


# --- results ----------------------------------------------------------------------------------


def resolve_version(client, scale_code: str) -> ScaleVersion:
    """The current version of the scale ``scale_code`` means for the client's tenant."""
    code = (scale_code or "").strip()
    scale = scale_by_code(code, client.tenant_id)
    version = current_version(scale) if scale else None
    if version is None:
        raise ValidationError(f"没有可用的量表“{code}”。", code="unknown_scale")
    return version


def _check_when(administered_at):
    now = timezone.now()
    if administered_at is None:
        return now
    if timezone.is_naive(administered_at):
        raise ValidationError("测评时间必须带时区。", code="naive_datetime")
    if administered_at > now + timedelta(minutes=5):
        raise ValidationError("测评时间不能晚于现在。", code="future")
    return administered_at


def _score_and_save(*, actor, client, version: ScaleVersion, answers, administered_at, mode) -> AssessmentResult:
    setting = cutoff_for(version.scale, client.unit)
    bands = setting.bands if setting else None
    scored = engine.score_answers(version.definition, answers, bands)
    result = AssessmentResult(
        client=client,
        unit=client.unit,
        unit_path=client.unit_path,
        tenant_id=client.tenant_id,
        scale_version=version,
        answers=scored.answers,
        raw_score=scored.raw_score,
        score=scored.score,
        factor_scores=scored.factor_scores,
        band_code=scored.band["code"],
        band_label=scored.band["label"],
        band_level=scored.band["level"],
        cutoff_source=CutoffSource.UNIT if setting else CutoffSource.SCALE,
        cutoff_unit=setting.unit if setting else None,
        critical=scored.critical,
        critical_items=scored.critical_items,
        administered_at=administered_at,
        administered_by=actor,
        mode=mode,
    )
    result.save()
    _audit_create(actor, result, snapshot(result, fields=_RESULT_AUDIT_FIELDS), client.unit)
    if result.is_alarming:
        notify_alarming_result(result, actor=actor)
    transaction.on_commit(lambda: result_scored.send(sender=AssessmentResult, result=result))
    return result


@transaction.atomic
def do_record_result(
    *, actor, client, scale_code: str, answers, administered_at=None, mode: str = Mode.PAPER
) -> AssessmentResult:
    """Validate, score and save a client's answers on the scale's current version; audit; notify.

    ``answers``: ``{item number: chosen option score}`` or a list in item order. A critical item
    or a band of level "severe" notifies the counsellor of the client's open case and the unit's
    managers at once. ``actor`` None records a self-report (online mode) or a system import; a
    user must hold ``assessment.administer`` over the client. ``result_scored`` is sent on commit.
    """
    if actor is not None and not can(actor, Perm.ASSESSMENT_ADMINISTER, client):
        raise PermissionDenied
    if mode not in Mode.values:
        raise ValidationError("测评方式只能是纸质录入或在线自评。", code="invalid_mode")
    version = resolve_version(client, scale_code)
    return _score_and_save(
        actor=actor,
        client=client,
        version=version,
        answers=answers,
        administered_at=_check_when(administered_at),
        mode=mode,
    )


def notify_alarming_result(result: AssessmentResult, *, actor=None) -> int:
    """Tell the open case's counsellor and the unit's managers that a result needs attention.

    Minimal content: the client's number and that a result needs a look — no answers, no score,
    no name. The actor who entered it is not told what they already see. Returns the count sent.
    """
    from apps.accounts.selectors import nearest_unit_managers
    from apps.notifications.services import notify_user

    recipients = {}
    counsellor = open_case_counsellor(result.client)
    if counsellor is not None:
        recipients[counsellor.pk] = counsellor
    for manager in nearest_unit_managers(result.unit):
        recipients.setdefault(manager.pk, manager)
    if actor is not None:
        recipients.pop(actor.pk, None)
    url = reverse("assessments:result-detail", args=[result.pk])
    reason = "危急条目阳性" if result.critical else "结果为重度"
    for user in recipients.values():
        notify_user(
            user=user,
            template="generic",
            context={
                "title": "测评结果需及时关注",
                "body": f"来访者 #{result.client_id} 的一份测评结果（{reason}）需要您及时查看并跟进。",
            },
            url=url,
        )
    return len(recipients)


# --- one-time links ---------------------------------------------------------------------------


@transaction.atomic
def do_create_link(*, actor, client, scale_code: str, days: int = LINK_DAYS_DEFAULT) -> tuple[AssessmentLink, str]:
    """Create a one-time self-report link; return it and the token (shown once, never stored).

    The link pins the scale's current version; it expires after ``days`` (1–30) calendar days.
    """
    if not can(actor, Perm.ASSESSMENT_ADMINISTER, client):
        raise PermissionDenied
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= LINK_DAYS_MAX:
        raise ValidationError(f"有效天数必须是 1–{LINK_DAYS_MAX} 天。", code="invalid_days")
    version = resolve_version(client, scale_code)
    token = secrets.token_urlsafe(32)
    link = AssessmentLink.objects.create(
        client=client,
        unit=client.unit,
        unit_path=client.unit_path,
        scale_version=version,
        token_hash=hash_token(token),
        created_by=actor,
        expires_at=timezone.now() + timedelta(days=days),
    )
    _audit_create(actor, link, snapshot(link, exclude=("token_hash", "progress")), client.unit)
    return link, token


def link_by_token(token: str) -> AssessmentLink | None:
    """The link a token opens (in any state), or None; the public page's only lookup."""
    if not token or len(token) > 100:
        return None
    with unscoped("a one-time link is its own authorisation: the token holder is the client"):
        return (
            AssessmentLink.objects.select_related("scale_version__scale", "unit", "client")
            .filter(token_hash=hash_token(token))
            .first()
        )


def check_link_open(link: AssessmentLink) -> None:
    state = link.state_at(timezone.now())
    if state != "open":
        messages = {"submitted": "本问卷已提交，链接已失效。", "revoked": "该链接已作废。", "expired": "该链接已过期。"}
        raise ValidationError(messages[state], code=f"link_{state}")


def _locked(link: AssessmentLink) -> AssessmentLink:
    with unscoped("lock the one link its token opened"):
        return AssessmentLink.objects.select_for_update().get(pk=link.pk)


@transaction.atomic
def do_consent(*, link: AssessmentLink) -> AssessmentLink:
    """Record that the client read the consent and confidentiality notice."""
    link = _locked(link)
    check_link_open(link)
    if link.consented_at is None:
        link.consented_at = timezone.now()
        link.save(update_fields=["consented_at"])
        log_event(actor=None, action=AuditAction.UPDATE, obj=link, purpose="来访者确认知情同意", unit=link.unit)
    return link


@transaction.atomic
def do_save_progress(*, link: AssessmentLink, answers: dict) -> AssessmentLink:
    """Save partial answers so the client can continue later (only after consent, only while open)."""
    link = _locked(link)
    check_link_open(link)
    if link.consented_at is None:
        raise ValidationError("请先阅读并同意知情同意书。", code="no_consent")
    link.progress = {**link.progress, **engine.check_partial_answers(link.scale_version.definition, answers)}
    link.save(update_fields=["progress"])
    return link


@transaction.atomic
def do_submit_link(*, link: AssessmentLink, answers: dict) -> AssessmentResult:
    """Score the client's own answers once; the link is dead afterwards (a second submit is refused)."""
    link = _locked(link)
    check_link_open(link)
    if link.consented_at is None:
        raise ValidationError("请先阅读并同意知情同意书。", code="no_consent")
    merged = {**link.progress, **{str(k): v for k, v in answers.items() if v not in (None, "")}}
    with unscoped("the client of a one-time link, loaded to score their own answers"):
        from apps.clients.models import Client

        client = Client.objects.select_related("unit").get(pk=link.client_id)
    result = _score_and_save(
        actor=None,
        client=client,
        version=link.scale_version,
        answers=merged,
        administered_at=timezone.now(),
        mode=Mode.ONLINE,
    )
    link.submitted_at = result.created_at
    link.result = result
    link.progress = {}
    link.save(update_fields=["submitted_at", "result", "progress"])
    log_event(actor=None, action=AuditAction.UPDATE, obj=link, purpose="来访者提交在线测评", unit=link.unit)
    return result


@transaction.atomic
def do_revoke_link(*, actor, link: AssessmentLink) -> AssessmentLink:
    """Kill an unused link before it expires (e.g. sent to the wrong number)."""
    if not can(actor, Perm.ASSESSMENT_ADMINISTER, link):
        raise PermissionDenied
    link = _locked(link)
    check_link_open(link)
    before = snapshot(link, fields=["revoked_at"])
    link.revoked_at = timezone.now()
    link.save(update_fields=["revoked_at"])
    log_change(actor, link, before, snapshot(link, fields=["revoked_at"]))
    return link
