"""Rules of the three-colour warning (S-WARN-1…6).

Every ``do_*`` runs in one transaction, takes a keyword-only ``actor`` (``None`` only for system
jobs), checks the actor's permission over the warning, validates all input before writing (bad
input changes nothing), writes the new state, one ``WarningEvent`` row and an audit entry.
Edits of an existing warning take the ``version`` the caller saw and refuse a stale one.
Notifications are written in the same transaction (the inbox row) and sent on commit.
"""

import datetime as dt
import logging
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.services import log_change, snapshot
from apps.core.access import can, can_in_unit
from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.notifications.services import notify_user
from apps.workdays.services import add_days

from .choices import TRACKED_STATES, WARNING_COLOURS, Colour, ContactKind, ControlMeasure, EventKind, Proposal, State
from .models import (
    DEFAULT_BAND_COLOURS,
    AlertPolicy,
    ColourRule,
    ContactRecord,
    FollowUpCycle,
    Warning,
    WarningEvent,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
logger = logging.getLogger(__name__)
MAX_REASON = 2000
# A browser's clock may run a little ahead of the server's: a moment this close to now is not "future".
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


def today() -> dt.date:
    """Today in Asia/Shanghai: deadlines are calendar days of the Chinese service units."""
    return timezone.now().astimezone(SHANGHAI).date()


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SHANGHAI).date()


def colour_label(colour) -> str:
    return Colour(colour).label if colour is not None else ""


# --- configuration (S-WARN-6) ------------------------------------------------------------------


def policy_for(tenant_id: int) -> AlertPolicy:
    """The tenant's rules, or an unsaved policy carrying the documented defaults."""
    return AlertPolicy.objects.filter(tenant_id=tenant_id).first() or AlertPolicy(tenant_id=tenant_id)


def colour_for_band(tenant_id: int, scale_code: str, band_level: str) -> int:
    """The colour a band maps to in a tenant: a scale-specific rule, else an any-scale rule, else the default."""
    rules = {
        r.scale_code: r.colour
        for r in ColourRule.objects.filter(tenant_id=tenant_id, scale_code__in=[scale_code, ""], band_level=band_level)
    }
    if scale_code in rules:
        return rules[scale_code]
    if "" in rules:
        return rules[""]
    return int(DEFAULT_BAND_COLOURS.get(band_level, Colour.NONE))


def colour_for_result(result) -> int:
    """S-WARN-1: the colour an assessment result calls for; a positive critical item is always red."""
    if result.critical:
        return Colour.RED
    return colour_for_band(result.tenant_id, result.scale_version.scale.code, result.band_level)


def check_policy_values(data: dict) -> dict:
    limits = {
        "red_cycle_days": ("红色随访周期", 1, 366),
        "orange_cycle_days": ("橙色随访周期", 1, 366),
        "yellow_cycle_days": ("黄色随访周期", 1, 366),
        "feedback_days": ("反馈期限", 1, 30),
        "review_cycles": ("评估周期数", 1, 12),
        "reassess_every": ("复评间隔周期数", 1, 12),
    }
    clean = {}
    for name, (label, low, high) in limits.items():
        try:
            value = int(data[name])
        except (KeyError, TypeError, ValueError):
            raise ValidationError(f"请填写{label}。", code=name) from None
        if not low <= value <= high:
            raise ValidationError(f"{label}应在 {low} 到 {high} 之间。", code=name)
        clean[name] = value
    try:
        delta = Decimal(str(data["unchanged_delta"]))
    except Exception:
        raise ValidationError("请填写“分值基本不变”的最大变化。", code="unchanged_delta") from None
    if not Decimal(0) <= delta <= Decimal(1000):
        raise ValidationError("“分值基本不变”的最大变化应在 0 到 1000 之间。", code="unchanged_delta")
    clean["unchanged_delta"] = delta
    return clean


@transaction.atomic
def do_update_policy(*, actor, tenant, data: dict, rules: list[tuple[str, str, int]] | None = None) -> AlertPolicy:
    """Save a tenant's cycle lengths, deadlines, thresholds and (optionally) its band → colour rules.

    ``rules`` replaces every colour rule of the tenant when given: ``(scale_code, band_level, colour)``.
    Only a holder of ``alert.configure`` over the tenant's root unit may change them.
    """
    if tenant.parent_id is not None:
        raise ValidationError("预警规则按体系（根单位）设置。", code="tenant")
    if actor is not None and not can_in_unit(actor, Perm.ALERT_CONFIGURE, tenant):
        raise ValidationError("只有体系根单位的管理员可以修改预警规则。", code="forbidden")
    clean = check_policy_values(data)
    from .choices import BandLevel

    clean_rules = []
    for scale_code, band_level, colour in rules or []:
        scale_code = (scale_code or "").strip()
        if len(scale_code) > 40:
            raise ValidationError("量表编码不能超过 40 个字符。", code="scale_code")
        if band_level not in BandLevel.values:
            raise ValidationError("结果等级无效。", code="band_level")
        if int(colour) not in Colour.values:
            raise ValidationError("预警颜色无效。", code="colour")
        clean_rules.append((scale_code, band_level, int(colour)))
    if len({(s, b) for s, b, _ in clean_rules}) < len(clean_rules):
        raise ValidationError("同一量表的同一等级只能设置一种颜色。", code="duplicate_rule")
    policy = AlertPolicy.objects.select_for_update().filter(tenant=tenant).first() or AlertPolicy(tenant=tenant)
    before = snapshot(policy) if policy.pk else {}
    for name, value in clean.items():
        setattr(policy, name, value)
    policy.updated_by = actor
    if policy.pk:
        policy.version += 1
    policy.save()
    if rules is not None:
        ColourRule.objects.filter(tenant=tenant).delete()
        ColourRule.objects.bulk_create(
            [ColourRule(tenant=tenant, scale_code=s, band_level=b, colour=c) for s, b, c in clean_rules]
        )
    log_change(actor, policy, before, {**snapshot(policy), "rules": clean_rules}, purpose="修改预警规则")
    return policy


# --- shared checks -------------------------------------------------------------------------------


def check_reason(value, label: str = "原因", *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(f"请填写{label}。", code="reason")
    if len(text) > MAX_REASON:
        raise ValidationError(f"{label}不能超过 {MAX_REASON} 个字符。", code="reason")
    return text


def check_colour(value) -> int:
    try:
        colour = int(value)
    except (TypeError, ValueError):
        raise ValidationError("请选择预警颜色（黄、橙、红）。", code="colour") from None
    if colour not in WARNING_COLOURS:
        raise ValidationError("请选择预警颜色（黄、橙、红）。", code="colour")
    return colour


def _require(actor, perm: str, obj, message: str) -> None:
    if actor is not None and not can(actor, perm, obj):
        raise ValidationError(message, code="forbidden")


def _lock(warning: Warning, version) -> Warning:
    """Re-read the row under a lock and refuse a stale ``version`` (optimistic edit check)."""
    locked = Warning._base_manager.select_for_update().get(pk=warning.pk)
    if version is not None:
        try:
            version = int(version)
        except (TypeError, ValueError):
            raise ValidationError("版本号无效，请刷新页面后重试。", code="version") from None
        if version != locked.version:
            raise ValidationError("这份预警档案已被他人修改，请刷新页面后重试。", code="stale")
    return locked


def _save(actor, warning: Warning, before: dict, purpose: str) -> Warning:
    warning.version += 1
    try:
        with transaction.atomic():
            warning.save()
    except IntegrityError as error:
        raise ValidationError("保存失败：数据不满足预警档案的约束。", code="integrity") from error
    log_change(actor, warning, before, snapshot(warning), purpose=purpose)
    return warning


def _event(warning, kind, actor, *, before_state="", before_colour=None, reason="", scores=None, detail=None):
    return WarningEvent.objects.create(
        warning=warning,
        unit_path=warning.unit_path,
        kind=kind,
        actor=actor,
        at=timezone.now(),
        from_state=before_state,
        to_state=warning.state,
        from_colour=before_colour,
        to_colour=warning.colour,
        reason=reason,
        scores=scores or {},
        detail=detail or {},
    )


def _result_scores(result) -> dict:
    if result is None:
        return {}
    return {
        "result": result.pk,
        "scale": result.scale_version.scale.code,
        "score": str(result.score),
        "band": result.band_label,
        "critical": bool(result.critical),
    }


def _warning_url(warning) -> str:
    return f"/alerts/warnings/{warning.pk}/"


def notify_responder(warning: Warning) -> None:
    """Tell the assigned counsellor, minimally: no name, no reason — only colour and where to look."""
    if warning.counsellor_id is None:
        return
    notify_user(
        user=warning.counsellor,
        template="generic",
        context={
            "title": f"您负责一名{colour_label(warning.colour)}预警重点人员",
            "body": f"请登录平台查看预警档案，并在本周期截止（{warning.cycle_due:%Y年%m月%d日}）前完成随访。",
        },
        url=_warning_url(warning),
    )


def centre_of(unit):
    """The district centre (level A) at or above ``unit``: where key persons are reported to."""
    from apps.orgs.models import OrgUnit

    ids = [*unit.ancestor_ids, unit.pk]
    return OrgUnit.objects.filter(pk__in=ids, level="A", is_active=True).order_by("-depth").first()


def users_holding(perm: str, unit_ids) -> list:
    """Active users assigned exactly at one of ``unit_ids`` in a role that holds ``perm``."""
    from apps.accounts.models import Assignment

    rows = Assignment.objects.filter(unit_id__in=list(unit_ids), user__is_active=True, unit__is_active=True)
    users = {}
    for assignment in rows.select_related("user", "role"):
        if str(perm) in assignment.role.permissions:
            users.setdefault(assignment.user_id, assignment.user)
    return list(users.values())


def check_responder(user, warning: Warning):
    """The counsellor must be active and hold a counselling role at the client's unit or above it
    (``accounts.selectors.counsellors_over``: not managers or community workers, issue 13 item 8)."""
    from apps.accounts.selectors import is_counsellor_over

    if user is None:
        raise ValidationError("请指定负责的咨询师。", code="counsellor")
    if not user.is_active:
        raise ValidationError("所选咨询师账号已停用。", code="counsellor")
    if is_counsellor_over(user, warning.unit):
        return user
    raise ValidationError(
        {"counsellor": "所选人员不是该来访者所属单位或其上级单位的心理咨询师、精神科医生，不能担任负责咨询师。"},
        code="counsellor",
    )


# --- S-WARN-2: tag and report ----------------------------------------------------------------------


@transaction.atomic
def do_tag_key_person(*, actor, client, proposed_colour, reason: str) -> Warning:
    """S-WARN-2: a community worker labels a client a key person and reports to the district centre."""
    _require(actor, Perm.ALERT_TAG, client, "您无权标记该来访者。")
    proposed = check_colour(proposed_colour)
    reason = check_reason(reason, "标记原因")
    if getattr(client, "merged_into_id", None):
        raise ValidationError("该来访者已合并到另一记录，请对合并后的记录标记。", code="merged")
    centre = centre_of(client.unit)
    if centre is None:
        raise ValidationError("该来访者所属单位没有上级区社会心理服务指导中心，无法上报。", code="centre")
    with unscoped("one active warning per client, across units"):
        if Warning.objects.filter(client=client).exclude(state=State.CLOSED).exists():
            raise ValidationError("该来访者已有一份未结案的预警档案。", code="duplicate")
    warning = Warning(
        client=client,
        unit=client.unit,
        unit_path=client.unit_path,
        tenant_id=client.tenant_id,
        centre=centre,
        state=State.REPORTED,
        proposed_colour=proposed,
        reason=reason,
        tagged_by=actor,
        tagged_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            warning.save()
    except IntegrityError as error:
        raise ValidationError("该来访者已有一份未结案的预警档案。", code="duplicate") from error
    _event(warning, EventKind.TAGGED, actor, reason=reason, detail={"proposed_colour": proposed})
    log_change(actor, warning, {}, snapshot(warning), purpose="标记重点人员并上报")
    for user in users_holding(Perm.ALERT_MANAGE, [centre.pk]):
        notify_user(
            user=user,
            template="generic",
            context={
                "title": f"收到一名重点人员上报（建议{colour_label(proposed)}）",
                "body": "请根据测评结果定色、建档，并在 3 日内反馈街道、社区与咨询师。",
            },
            url=_warning_url(warning),
        )
    return warning


# --- S-WARN-3: set the colour, open the file, feed back ------------------------------------------------


def check_result(result, warning: Warning):
    if result is None:
        raise ValidationError("请选择作为定色依据的测评结果。", code="result")
    if result.client_id != warning.client_id:
        raise ValidationError("所选测评结果不属于该来访者。", code="result")
    return result


def _start_cycle(warning: Warning, policy: AlertPolicy, start: dt.date, began_at: dt.datetime) -> None:
    """Make the next cycle current from ``began_at``; its schedule runs ``start`` + the colour's cycle length."""
    warning.cycle_days = policy.cycle_days(warning.colour)
    warning.cycle_number += 1
    warning.cycle_started = start
    warning.cycle_started_at = began_at
    warning.cycle_due = add_days(start, warning.cycle_days)


def _start_review(warning: Warning, score) -> None:
    warning.cycles_in_review = 0
    warning.review_baseline_score = score
    warning.proposal = Proposal.NONE
    warning.proposal_colour = None
    warning.proposal_at = None


@transaction.atomic
def do_set_colour(*, actor, warning: Warning, result, counsellor, colour=None, reason: str = "", version=None):
    """S-WARN-3: the district centre sets the colour from an assessment result and opens the file.

    The colour follows the tenant's band → colour rules; choosing another colour needs a reason.
    The assigned counsellor is told at once; feedback to street, community and counsellor is due
    ``feedback_days`` calendar days later (stored). The first follow-up cycle starts today.
    """
    _require(actor, Perm.ALERT_MANAGE, warning, "只有区社会心理服务指导中心可以定色建档。")
    warning = _lock(warning, version)
    if warning.state != State.REPORTED:
        raise ValidationError("只有已上报、待定色的预警可以定色建档。", code="state")
    check_result(result, warning)
    mapped = colour_for_result(result)
    reason = check_reason(reason, "定色说明", required=False)
    chosen = check_colour(colour) if colour not in (None, "") else mapped
    if chosen == Colour.NONE:
        raise ValidationError("该测评结果未达到预警标准；如确需预警，请选择颜色并说明原因。", code="below")
    if chosen != mapped and not reason:
        raise ValidationError("所选颜色与测评结果对应的颜色不同，请说明原因。", code="reason")
    check_responder(counsellor, warning)
    policy = policy_for(warning.tenant_id)
    before, before_state, before_colour = snapshot(warning), warning.state, warning.colour
    day = today()
    warning.state = State.OPEN
    warning.colour = chosen
    warning.colour_set_by, warning.colour_set_at = actor, timezone.now()
    warning.basis_result = result
    warning.basis_scale = result.scale_version.scale.code
    warning.basis_score = result.score
    warning.counsellor = counsellor
    warning.feedback_due = add_days(day, policy.feedback_days)
    warning.feedback_sent_at = None
    _start_cycle(warning, policy, day, warning.colour_set_at)
    _start_review(warning, result.score)
    _save(actor, warning, before, "定色建档")
    _event(
        warning, EventKind.COLOUR_SET, actor, before_state=before_state, before_colour=before_colour, reason=reason,
        scores=_result_scores(result), detail={"mapped_colour": mapped, "counsellor": counsellor.pk},
    )  # fmt: skip
    notify_responder(warning)
    return warning


def feedback_recipients(warning: Warning) -> list:
    """The assigned counsellor and the follow-up staff of the client's community and street."""
    ids = [int(p) for p in warning.unit_path.strip("/").split("/")]
    centre_index = ids.index(warning.centre_id) if warning.centre_id in ids else 0
    below_centre = ids[centre_index + 1 :]
    people = {u.pk: u for u in users_holding(Perm.ALERT_FOLLOW_UP, below_centre)}
    if warning.counsellor_id:
        people.setdefault(warning.counsellor_id, warning.counsellor)
    return list(people.values())


@transaction.atomic
def do_send_feedback(*, actor, warning: Warning, note: str = "", version=None) -> Warning:
    """S-WARN-3: feed the opened file back to the street, the community and the counsellor."""
    _require(actor, Perm.ALERT_MANAGE, warning, "只有区社会心理服务指导中心可以反馈。")
    warning = _lock(warning, version)
    if warning.state not in TRACKED_STATES:
        raise ValidationError("只有已定色建档的预警可以反馈。", code="state")
    if warning.feedback_sent_at is not None:
        raise ValidationError("本次定色已经反馈过了。", code="done")
    note = check_reason(note, "反馈说明", required=False)
    recipients = feedback_recipients(warning)
    before = snapshot(warning)
    warning.feedback_sent_at, warning.feedback_by = timezone.now(), actor
    _save(actor, warning, before, "预警反馈")
    on_time = local_date(warning.feedback_sent_at) <= warning.feedback_due
    _event(
        warning, EventKind.FEEDBACK_SENT, actor, before_state=warning.state, before_colour=warning.colour,
        reason=note, detail={"recipients": sorted(u.pk for u in recipients), "on_time": on_time},
    )  # fmt: skip
    for user in recipients:
        notify_user(
            user=user,
            template="generic",
            context={
                "title": f"{colour_label(warning.colour)}预警反馈：请按周期上门关怀",
                "body": (
                    f"区社会心理服务指导中心已建立一份{colour_label(warning.colour)}预警档案，"
                    f"随访周期 {warning.cycle_days} 天，本周期截止 {warning.cycle_due:%Y年%m月%d日}。"
                ),
            },
            url=_warning_url(warning),
        )
    return warning


# --- S-WARN-4: follow-up cycles -----------------------------------------------------------------------


def check_moment(value, label: str, field: str = "happened_at") -> dt.datetime:
    """An aware moment, not in the future; a refusal is keyed to ``field``."""
    if not isinstance(value, dt.datetime):
        raise ValidationError({field: ValidationError(f"请填写{label}。", code="time")})
    if timezone.is_naive(value):
        value = timezone.make_aware(value, SHANGHAI)
    if value > timezone.now() + FUTURE_TOLERANCE:
        raise ValidationError({field: ValidationError(f"{label}不能晚于现在。", code="future")})
    return value


def _minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def cycle_window_start(warning: Warning) -> dt.datetime:
    """The earliest moment whose visit, contact or re-assessment counts for the current cycle.

    The cycle counts from the moment it became current (the colour set, or the previous cycle
    completed) — never from an earlier hour of that day, nor from before the file existed — to the
    minute, the precision of the contact form (whose default is the current minute). A file whose
    cycle began before the moment was stored falls back to the first day of its scheduled window.
    """
    began = warning.cycle_started_at or dt.datetime.combine(warning.cycle_started, dt.time.min, tzinfo=SHANGHAI)
    return _minute(max(began, warning.tagged_at))


def check_contact_time(warning: Warning, happened_at: dt.datetime) -> None:
    """S-WARN-4: a contact dated before the file existed, or before the current cycle began, is refused."""
    if happened_at < _minute(warning.tagged_at):
        existed = timezone.localtime(warning.tagged_at, SHANGHAI)
        raise ValidationError({"happened_at": ValidationError(
            f"联系时间早于预警档案建立（上报）时间 {existed:%Y-%m-%d %H:%M}，不能计入随访周期。",
            code="before_warning",
        )})  # fmt: skip
    start = cycle_window_start(warning)
    if happened_at < start:
        local = timezone.localtime(start, SHANGHAI)
        raise ValidationError({"happened_at": ValidationError(
            f"联系时间早于第 {warning.cycle_number} 随访周期开始（{local:%Y-%m-%d %H:%M}），不能计入本周期；"
            "请填写本周期开始之后的联系时间。",
            code="before_cycle",
        )})  # fmt: skip


@transaction.atomic
def do_record_contact(*, actor, warning: Warning, kind: str, happened_at: dt.datetime, note: str) -> ContactRecord:
    """S-WARN-4: record a follow-up contact that is not a home visit; it counts for the current cycle.

    A contact dated in the future, before the file existed or before the current cycle began is
    refused on ``happened_at``: it could never count for a cycle.
    """
    _require(actor, Perm.ALERT_FOLLOW_UP, warning, "您无权登记该预警的随访。")
    warning = _lock(warning, None)  # the current cycle, not the one the caller's copy may show
    if warning.state not in TRACKED_STATES:
        raise ValidationError("只有跟踪中的预警可以登记联系记录。", code="state")
    if kind not in ContactKind.values:
        raise ValidationError("请选择联系方式。", code="kind")
    happened_at = check_moment(happened_at, "联系时间")
    check_contact_time(warning, happened_at)
    note = check_reason(note, "情况记录")
    contact = ContactRecord.objects.create(
        warning=warning, unit_path=warning.unit_path, kind=kind, happened_at=happened_at, note=note,
        recorded_by=actor,
    )  # fmt: skip
    _event(
        warning, EventKind.CONTACT_RECORDED, actor, before_state=warning.state, before_colour=warning.colour,
        detail={"contact": contact.pk, "kind": kind},
    )  # fmt: skip
    log_change(actor, contact, {}, snapshot(contact), purpose="登记预警联系记录")
    return contact


def reassessment_due(warning: Warning, policy: AlertPolicy) -> bool:
    """A re-assessment is due every ``reassess_every`` cycles and in the cycle that ends a review."""
    return warning.cycle_number % policy.reassess_every == 0 or warning.cycles_in_review + 1 == policy.review_cycles


def cycle_evidence(warning: Warning, moment: dt.datetime):
    """What counts for the current cycle: (home visit, contact, re-assessment) from its start to ``moment``.

    The window runs from ``cycle_window_start`` (not from midnight of the cycle's first day: a visit
    made hours before the file was opened is not a follow-up) to ``moment`` give or take the clock
    tolerance. Visits come from apps.outreach by their ``visited_at`` moment.
    """
    from apps.assessments.models import AssessmentResult
    from apps.outreach.choices import VisitStatus
    from apps.outreach.models import HomeVisit

    start = cycle_window_start(warning)
    end = moment + FUTURE_TOLERANCE
    # A visit, contact or re-assessment counts for one cycle only (a visit: of any file of the client).
    used = FollowUpCycle._base_manager.filter(warning_id=warning.pk)
    visits_used = FollowUpCycle._base_manager.filter(warning__client_id=warning.client_id, visit__isnull=False)
    with unscoped("the evidence of one warning's cycle, already authorised"):
        visit = (
            HomeVisit.objects.filter(
                client_id=warning.client_id, status=VisitStatus.DONE, visited_at__range=(start, end)
            )
            .exclude(pk__in=visits_used.values("visit_id"))
            .order_by("-visited_at")
            .first()
        )
        contact = (
            ContactRecord.objects.filter(warning=warning, happened_at__range=(start, end))
            .exclude(pk__in=used.filter(contact__isnull=False).values("contact_id"))
            .order_by("-happened_at")
            .first()
        )
        result = (
            AssessmentResult.objects.filter(
                client_id=warning.client_id,
                administered_at__range=(start, end),
                scale_version__scale__code=warning.basis_scale,
            )  # fmt: skip
            .exclude(pk__in=used.filter(reassessment__isnull=False).values("reassessment_id"))
            .exclude(pk=warning.basis_result_id or 0)  # the baseline is not a re-assessment
            .select_related("scale_version__scale")
            .order_by("-administered_at", "-id")
            .first()
        )
    return visit, contact, result


@transaction.atomic
def do_complete_cycle(*, actor, warning: Warning, version=None) -> Warning:
    """S-WARN-4/5: close the current cycle and start the next one.

    The cycle needs a recorded home visit of the client or a contact record inside its window
    (from the moment the cycle became current to now, see ``cycle_evidence``) and, where due, a
    re-assessment on the basis scale. The next cycle is current at once, so what is recorded from
    now on counts for it; a cycle finished early lets the next one's schedule start at the old due
    date, so due dates cannot be run ahead.
    After ``review_cycles`` cycles the system proposes: a score change beyond ``unchanged_delta``
    → adjust the colour; otherwise → the control flow.
    """
    _require(actor, Perm.ALERT_FOLLOW_UP, warning, "您无权登记该预警的随访。")
    warning = _lock(warning, version)
    if warning.state not in TRACKED_STATES:
        raise ValidationError("只有跟踪中的预警可以完成随访周期。", code="state")
    policy = policy_for(warning.tenant_id)
    moment = timezone.now()
    day = local_date(moment)
    visit, contact, result = cycle_evidence(warning, moment)
    if visit is None and contact is None:
        raise ValidationError("本周期还没有上门关怀记录或联系记录，请先登记后再完成本周期。", code="no_contact")
    if reassessment_due(warning, policy) and result is None:
        raise ValidationError(
            f"本周期需要复评（{warning.basis_scale}），请先录入复评结果后再完成本周期。", code="reassessment"
        )
    before, before_state, before_colour = snapshot(warning), warning.state, warning.colour
    cycle = FollowUpCycle.objects.create(
        warning=warning, unit_path=warning.unit_path, number=warning.cycle_number, colour=warning.colour,
        starts_on=warning.cycle_started, due_on=warning.cycle_due, completed_on=day, visit=visit,
        started_at=warning.cycle_started_at, completed_at=moment, contact=contact, reassessment=result,
        score=result.score if result is not None else None, completed_by=actor,
    )  # fmt: skip
    warning.cycles_in_review += 1
    proposal_scores = {}
    if warning.state == State.OPEN and warning.cycles_in_review >= policy.review_cycles and not warning.proposal:
        baseline = warning.review_baseline_score
        latest = result.score if result is not None else None
        proposal_scores = {"baseline": str(baseline), "latest": str(latest), **_result_scores(result)}
        if baseline is not None and latest is not None and abs(latest - baseline) <= policy.unchanged_delta:
            warning.proposal, warning.proposal_colour = Proposal.CONTROL, None
        else:
            warning.proposal = Proposal.ADJUST
            warning.proposal_colour = colour_for_result(result) if result is not None else None
        warning.proposal_at = timezone.now()
    # The next cycle is current from now on (a contact recorded in it counts); its schedule never runs ahead.
    _start_cycle(warning, policy, max(warning.cycle_due, day), moment)
    _save(actor, warning, before, "完成随访周期")
    _event(
        warning, EventKind.CYCLE_COMPLETED, actor, before_state=before_state, before_colour=before_colour,
        scores=_result_scores(result), detail={"cycle": cycle.number, "visit": getattr(visit, "pk", None),
                                               "contact": getattr(contact, "pk", None)},
    )  # fmt: skip
    if proposal_scores:
        _event(
            warning, EventKind.PROPOSAL_MADE, None, before_state=warning.state, before_colour=warning.colour,
            scores=proposal_scores, detail={"proposal": warning.proposal, "colour": warning.proposal_colour},
        )  # fmt: skip
    return warning


# --- S-WARN-5: colour changes and the control flow ---------------------------------------------------------


@transaction.atomic
def do_change_colour(*, actor, warning: Warning, colour, reason: str, result=None, version=None) -> Warning:
    """S-WARN-5: adjust the colour, recording who, when, why and the scores behind it.

    Lowering a red needs ``alert.lower_red`` (district level) and a reason, like every change.
    The new colour starts a new review period and needs fresh feedback within the deadline.
    """
    _require(actor, Perm.ALERT_MANAGE, warning, "只有区社会心理服务指导中心可以调整预警颜色。")
    warning = _lock(warning, version)
    if warning.state not in TRACKED_STATES:
        raise ValidationError("只有跟踪中的预警可以调整颜色。", code="state")
    colour = check_colour(colour)
    reason = check_reason(reason, "调整原因")
    if colour == warning.colour:
        raise ValidationError("新颜色与当前颜色相同。", code="same")
    if (
        warning.colour == Colour.RED
        and colour < Colour.RED
        and (actor is None or not can(actor, Perm.ALERT_LOWER_RED, warning))
    ):
        raise ValidationError("下调红色预警须由区级负责人操作。", code="lower_red")
    if result is not None:
        check_result(result, warning)
    if colour == Colour.RED:
        check_responder(warning.counsellor, warning)
    policy = policy_for(warning.tenant_id)
    before, before_state, before_colour = snapshot(warning), warning.state, warning.colour
    day = today()
    warning.colour = colour
    warning.cycle_days = policy.cycle_days(colour)
    # The running cycle keeps its start; its end follows the new colour (never later than before for red).
    warning.cycle_due = max(add_days(warning.cycle_started, warning.cycle_days), day)
    warning.feedback_due = add_days(day, policy.feedback_days)
    warning.feedback_sent_at = None
    if result is not None:
        warning.basis_result, warning.basis_scale, warning.basis_score = (
            result, result.scale_version.scale.code, result.score,
        )  # fmt: skip
    _start_review(warning, result.score if result is not None else warning.basis_score)
    _save(actor, warning, before, "调整预警颜色")
    _event(
        warning, EventKind.COLOUR_CHANGED, actor, before_state=before_state, before_colour=before_colour,
        reason=reason, scores=_result_scores(result) or {"score": str(warning.basis_score)},
    )  # fmt: skip
    notify_responder(warning)
    return warning


@transaction.atomic
def do_continue_tracking(*, actor, warning: Warning, reason: str, version=None) -> Warning:
    """Keep the colour after a proposal (the district disagrees with it) and start a new review period."""
    _require(actor, Perm.ALERT_MANAGE, warning, "只有区社会心理服务指导中心可以处理系统建议。")
    warning = _lock(warning, version)
    if warning.state != State.OPEN or not warning.proposal:
        raise ValidationError("当前没有待处理的系统建议。", code="state")
    reason = check_reason(reason, "维持原颜色的理由")
    before = snapshot(warning)
    proposal = warning.proposal
    _start_review(warning, warning.basis_score)
    _save(actor, warning, before, "维持颜色继续跟踪")
    _event(
        warning, EventKind.TRACKING_CONTINUED, actor, before_state=warning.state, before_colour=warning.colour,
        reason=reason, detail={"proposal": proposal},
    )  # fmt: skip
    return warning


def check_measures(measures) -> list[str]:
    chosen = [m for m in ControlMeasure.values if m in set(measures or [])]
    if len(chosen) < len(set(measures or [])):
        raise ValidationError("管控措施无效。", code="measures")
    if not chosen:
        raise ValidationError("请至少选择一项管控措施（加强监管、动态跟踪、转送精神专科医疗机构）。", code="measures")
    return chosen


@transaction.atomic
def do_enter_control(*, actor, warning: Warning, measures, reason: str, institution: str = "", version=None) -> Warning:
    """S-WARN-5: move a case whose score stayed essentially unchanged into the control flow (管控流程)."""
    _require(actor, Perm.ALERT_MANAGE, warning, "只有区社会心理服务指导中心可以转入管控流程。")
    warning = _lock(warning, version)
    if warning.state != State.OPEN:
        raise ValidationError("只有建档跟踪中的预警可以转入管控流程。", code="state")
    chosen = check_measures(measures)
    reason = check_reason(reason, "转入管控的理由")
    institution = (institution or "").strip()
    if ControlMeasure.REFERRAL in chosen and not institution:
        raise ValidationError("转送精神专科医疗机构时请填写机构名称。", code="institution")
    if len(institution) > 100:
        raise ValidationError("机构名称不能超过 100 个字符。", code="institution")
    before, before_state = snapshot(warning), warning.state
    proposal = warning.proposal
    warning.state = State.CONTROL
    warning.control_entered_at = timezone.now()
    warning.control_measures = chosen
    warning.control_institution = institution
    _start_review(warning, warning.basis_score)
    _save(actor, warning, before, "转入管控流程")
    _event(
        warning, EventKind.CONTROL_ENTERED, actor, before_state=before_state, before_colour=warning.colour,
        reason=reason, scores={"score": str(warning.basis_score)},
        detail={"measures": chosen, "institution": institution, "proposal": proposal},
    )  # fmt: skip
    return warning


@transaction.atomic
def do_assign_responder(*, actor, warning: Warning, counsellor, reason: str, version=None) -> Warning:
    """Hand the follow-up to another counsellor; they are told at once."""
    _require(actor, Perm.ALERT_MANAGE, warning, "只有区社会心理服务指导中心可以更换负责咨询师。")
    warning = _lock(warning, version)
    if warning.state not in TRACKED_STATES:
        raise ValidationError("只有跟踪中的预警可以更换负责咨询师。", code="state")
    check_responder(counsellor, warning)
    reason = check_reason(reason, "更换原因")
    if counsellor.pk == warning.counsellor_id:
        raise ValidationError("所选咨询师已经是负责人。", code="same")
    before = snapshot(warning)
    previous = warning.counsellor_id
    warning.counsellor = counsellor
    _save(actor, warning, before, "更换负责咨询师")
    _event(
        warning, EventKind.RESPONDER_CHANGED, actor, before_state=warning.state, before_colour=warning.colour,
        reason=reason, detail={"from": previous, "to": counsellor.pk},
    )  # fmt: skip
    notify_responder(warning)
    return warning


@transaction.atomic
def do_close(*, actor, warning: Warning, reason: str, version=None) -> Warning:
    """Close a warning (or decline a report); never while it is red — lower it first, with its rule."""
    _require(actor, Perm.ALERT_MANAGE, warning, "只有区社会心理服务指导中心可以结案。")
    warning = _lock(warning, version)
    if warning.state == State.CLOSED:
        raise ValidationError("该预警已经结案。", code="state")
    if warning.colour == Colour.RED:
        raise ValidationError("红色预警不能直接结案，请先由区级负责人下调颜色。", code="red")
    reason = check_reason(reason, "结案理由")
    before, before_state = snapshot(warning), warning.state
    warning.state = State.CLOSED
    warning.closed_at, warning.closed_by = timezone.now(), actor
    warning.proposal, warning.proposal_colour = Proposal.NONE, None
    _save(actor, warning, before, "预警结案")
    _event(warning, EventKind.CLOSED, actor, before_state=before_state, before_colour=warning.colour, reason=reason)
    return warning


# --- assessments hook: a red result never waits for someone to notice ------------------------------------------


def on_result_scored(sender, result, **kwargs):
    """A result that calls for red, of a client with no active warning, is reported automatically.

    Runs on commit of the result; a failure here is logged and never undoes the result.
    """
    try:
        _report_red_result(result)
    except Exception:
        logger.exception("Automatic warning report for result %s failed", result.pk)


def _report_red_result(result):
    with transaction.atomic():
        if colour_for_result(result) != Colour.RED:
            return
        with unscoped("find the client's active warning for a new red result"):
            if Warning.objects.filter(client_id=result.client_id).exclude(state=State.CLOSED).exists():
                return
            from apps.clients.models import Client

            client = Client.objects.select_related("unit").get(pk=result.client_id)
        if centre_of(client.unit) is None:
            return
        do_tag_key_person(
            actor=None,
            client=client,
            proposed_colour=Colour.RED,
            reason=f"系统自动上报：{result.scale_version.scale.code} 测评结果为{result.band_label}"
            + ("（危急条目阳性）" if result.critical else "")
            + "。",
        )
