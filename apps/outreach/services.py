"""Rules of remote inquiries, home visits, interventions, referrals and disclosures.

Every ``do_*`` runs in one transaction, checks that the actor may write in the unit, validates
its input (bad input changes nothing) and writes an audit entry for what it changed.
"""

import datetime as dt
import unicodedata
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit.services import log_change, snapshot
from apps.core.access import can, can_in_unit
from apps.core.perms import Perm
from apps.crisis.services import do_flag_crisis
from apps.identity.phones import normalize_phone
from apps.workdays.deadlines import StoredDeadline, stored_deadline
from apps.workdays.services import add_days, add_working_days

from .choices import Channel, InterventionKind, ReferralStatus, VisitKind, VisitStatus
from .models import Disclosure, HomeVisit, Intervention, Referral, RemoteInquiry

SHANGHAI = ZoneInfo("Asia/Shanghai")
REPLY_WORKING_DAYS = 3
MIN_VISIT_STAFF = 2
MAX_INTERVAL_DAYS = 366


def shanghai_date(moment: dt.datetime) -> dt.date:
    """The calendar date of ``moment`` in Asia/Shanghai (deadlines follow the Chinese calendar)."""
    return moment.astimezone(SHANGHAI).date()


def today() -> dt.date:
    return shanghai_date(timezone.now())


# --- shared checks -----------------------------------------------------------------------------


def check_text(value, label: str, *, max_length: int, required: bool = True, code: str = "text") -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(f"请填写{label}。", code=code)
    if len(text) > max_length:
        raise ValidationError(f"{label}不能超过 {max_length} 个字符。", code=code)
    return text


# Answers that say nobody was there (S-FLOW-6 requires a family member or guardian present).
NO_ONE = {
    "无",
    "没有",
    "空",
    "-",
    "/",
    "无人",
    "没人",
    "暂无",
    "none",
    "n/a",
    "na",
    "—",
    "－",
    "——",
    "无人在场",
    "不在",
}


def check_family_present(value) -> str:
    """S-FLOW-6: the family member or guardian present (name and relationship); "无", "-" and the
    like say nobody was there, which a home visit does not allow."""
    text = check_text(value, "在场的家属或监护人（姓名与关系）", max_length=100, code="family")
    bare = "".join(unicodedata.normalize("NFKC", text).split()).strip("。.，,；;").lower()
    if not bare or bare in NO_ONE or set(bare) <= set("-/—－_.。无"):
        raise ValidationError(
            "上门关怀须有家属或监护人在场，请填写在场家属或监护人的姓名与关系（如“王芳（母亲）”）。", code="family"
        )
    return text


def check_moment(value, label: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValidationError(f"请填写{label}。", code="time")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, SHANGHAI)
    if value > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError(f"{label}不能晚于现在。", code="future")
    return value


def _require_manage_in(actor, unit) -> None:
    if actor is not None and not (unit.is_active and can_in_unit(actor, Perm.CLIENT_MANAGE, unit)):
        raise ValidationError("您只能在本单位及下级单位登记。", code="forbidden")


def _require_manage(actor, obj) -> None:
    if actor is not None and not can(actor, Perm.CLIENT_MANAGE, obj):
        raise ValidationError("您无权修改这条记录。", code="forbidden")


def _check_case(case, client):
    if case is not None and case.client_id != client.pk:
        raise ValidationError("所选个案不属于该来访者。", code="case")
    return case


# --- remote inquiries (S-FLOW-4) ----------------------------------------------------------------


def reply_due_for(received_at: dt.datetime) -> dt.date:
    """Three working days after the day of receipt (Asia/Shanghai), holidays and adjusted workdays included."""
    return add_working_days(shanghai_date(received_at), REPLY_WORKING_DAYS)


def reply_deadline_for(received_at: dt.datetime) -> StoredDeadline:
    """The reply deadline to store, flagged as an estimate when it counts through an unknown holiday year."""
    return stored_deadline(shanghai_date(received_at), REPLY_WORKING_DAYS)


@transaction.atomic
def do_record_inquiry(
    *,
    actor,
    unit,
    channel: str,
    received_at: dt.datetime,
    question: str,
    contact_name: str = "",
    contact_phone: str = "",
    client=None,
    answer: str = "",
) -> RemoteInquiry:
    """Register a phone/online/SMS inquiry; one not answered at once gets its reply deadline now.

    A question holding a crisis expression is flagged at once and the unit's crisis handler told
    (S-FLOW-3, S-WARN-2; apps.crisis)."""
    _require_manage_in(actor, unit)
    if channel not in Channel.values:
        raise ValidationError("请选择咨询渠道。", code="channel")
    received_at = check_moment(received_at, "收到时间")
    question = check_text(question, "咨询内容", max_length=5000)
    contact_name = check_text(contact_name, "联系人", max_length=50, required=False)
    contact_phone = (contact_phone or "").strip()
    contact_phone = normalize_phone(contact_phone) if contact_phone else ""
    answer = check_text(answer, "回复内容", max_length=5000, required=False)
    if client is not None and not client.unit_path.startswith(unit.path):
        raise ValidationError("所选来访者不属于受理单位。", code="client")
    inquiry = RemoteInquiry(
        unit=unit,
        unit_path=unit.path,
        channel=channel,
        received_at=received_at,
        client=client,
        contact_name=contact_name,
        contact_phone=contact_phone,
        question=question,
        recorded_by=actor,
    )
    if answer:
        inquiry.answer, inquiry.answered_at, inquiry.answered_by = answer, timezone.now(), actor
    else:
        for name, value in reply_deadline_for(received_at).fields("reply_due").items():
            setattr(inquiry, name, value)
    inquiry.save()
    log_change(actor, inquiry, {}, snapshot(inquiry))
    do_flag_crisis(actor=actor, unit=unit, texts={"咨询内容": question}, inquiry=inquiry, client=client)
    return inquiry


@transaction.atomic
def do_answer_inquiry(*, actor, inquiry: RemoteInquiry, answer: str) -> RemoteInquiry:
    """Record the reply to an inquiry (once)."""
    _require_manage(actor, inquiry)
    if inquiry.answered_at is not None:
        raise ValidationError("该咨询已经回复过了。", code="answered")
    answer = check_text(answer, "回复内容", max_length=5000)
    before = snapshot(inquiry)
    inquiry.answer, inquiry.answered_at, inquiry.answered_by = answer, timezone.now(), actor
    inquiry.save(update_fields=["answer", "answered_at", "answered_by"])
    log_change(actor, inquiry, before, snapshot(inquiry))
    return inquiry


# --- home visits (S-FLOW-6) ---------------------------------------------------------------------


def check_interval(kind: str, interval_days) -> int | None:
    if kind not in VisitKind.values:
        raise ValidationError("请选择上门类型。", code="kind")
    if interval_days in (None, ""):
        return None
    if kind != VisitKind.PLANNED:
        raise ValidationError("只有计划（定期）上门才能设置周期。", code="interval")
    interval = int(interval_days)
    if not 1 <= interval <= MAX_INTERVAL_DAYS:
        raise ValidationError(f"周期应在 1 到 {MAX_INTERVAL_DAYS} 天之间。", code="interval")
    return interval


def eligible_staff_ids(unit_path: str, users) -> set[int]:
    """Ids of the ``users`` that are active and hold an assignment covering ``unit_path``."""
    from apps.accounts.models import Assignment

    ids = {getattr(u, "pk", u) for u in users}
    rows = Assignment.objects.filter(user_id__in=ids, user__is_active=True, unit__is_active=True).values_list(
        "user_id", "unit__path"
    )
    return {user_id for user_id, path in rows if unit_path.startswith(path)}


def check_visit_staff(unit_path: str, staff) -> list:
    staff = list({u.pk: u for u in staff}.values())
    if len(eligible_staff_ids(unit_path, staff)) < len(staff):
        raise ValidationError("上门人员须是本单位（或上级单位）在岗的工作人员。", code="staff")
    if len(staff) < MIN_VISIT_STAFF:
        raise ValidationError("上门关怀须至少两名工作人员共同前往，请选择至少两名上门人员。", code="two_staff")
    return staff


@transaction.atomic
def do_plan_visit(
    *,
    actor,
    client,
    kind: str,
    planned_for: dt.date | None,
    interval_days=None,
    preparation_notes: str = "",
    staff=(),
    case=None,
) -> HomeVisit:
    """Plan a visit (periodic or ad hoc) to ``client``; staff may be named now or when recording."""
    _require_manage(actor, client)
    _check_case(case, client)
    interval = check_interval(kind, interval_days)
    if not isinstance(planned_for, dt.date):
        raise ValidationError("请填写计划日期。", code="planned_for")
    notes = check_text(preparation_notes, "准备工作", max_length=5000, required=False)
    staff = list(staff)
    if staff and len(eligible_staff_ids(client.unit_path, staff)) < len({u.pk for u in staff}):
        raise ValidationError("上门人员须是本单位（或上级单位）在岗的工作人员。", code="staff")
    visit = HomeVisit.objects.create(
        client=client,
        case=case,
        unit=client.unit,
        unit_path=client.unit_path,
        kind=kind,
        planned_for=planned_for,
        interval_days=interval,
        preparation_notes=notes,
        recorded_by=actor,
    )
    visit.staff.set(staff)
    log_change(actor, visit, {}, {**snapshot(visit), "staff": sorted(u.pk for u in staff)})
    return visit


@transaction.atomic
def do_record_visit(
    *, actor, visit: HomeVisit, visited_at: dt.datetime, staff, family_present: str, record: str
) -> HomeVisit:
    """Record a visit that took place: at least two staff and a family member or guardian, and the
    record itself. Completing a periodic visit plans the next one ``interval_days`` later."""
    _require_manage(actor, visit)
    if visit.status != VisitStatus.PLANNED:
        raise ValidationError("这次上门关怀已经完成或取消，不能再登记。", code="status")
    visited_at = check_moment(visited_at, "上门时间")
    staff = check_visit_staff(visit.unit_path, staff)
    family_present = check_family_present(family_present)
    record = check_text(record, "上门记录", max_length=10000, code="record")
    before = {**snapshot(visit), "staff": sorted(visit.staff.values_list("pk", flat=True))}
    visit.visited_at, visit.family_present, visit.record = visited_at, family_present, record
    visit.status = VisitStatus.DONE
    if visit.kind == VisitKind.PLANNED and visit.interval_days:
        base = visit.planned_for or shanghai_date(visited_at)
        follow_up = HomeVisit.objects.create(
            client=visit.client,
            case=visit.case,
            unit=visit.unit,
            unit_path=visit.unit_path,
            kind=VisitKind.PLANNED,
            planned_for=add_days(base, visit.interval_days),
            interval_days=visit.interval_days,
            recorded_by=actor,
        )
        follow_up.staff.set(staff)
        log_change(actor, follow_up, {}, {**snapshot(follow_up), "staff": sorted(u.pk for u in staff)})
        visit.next_visit = follow_up
    visit.save()
    visit.staff.set(staff)
    log_change(actor, visit, before, {**snapshot(visit), "staff": sorted(u.pk for u in staff)})
    return visit


@transaction.atomic
def do_cancel_visit(*, actor, visit: HomeVisit, reason: str) -> HomeVisit:
    """Cancel a planned visit, with the reason in the audit log."""
    _require_manage(actor, visit)
    if visit.status != VisitStatus.PLANNED:
        raise ValidationError("只有待上门的关怀可以取消。", code="status")
    reason = check_text(reason, "取消原因", max_length=200, code="reason")
    before = snapshot(visit)
    visit.status = VisitStatus.CANCELLED
    visit.save(update_fields=["status"])
    log_change(actor, visit, before, snapshot(visit), purpose=f"取消原因：{reason}")
    return visit


# --- interventions (S-FLOW-7) -------------------------------------------------------------------


@transaction.atomic
def do_record_intervention(
    *, actor, client, kind: str, happened_at: dt.datetime, description: str, case=None
) -> Intervention:
    _require_manage(actor, client)
    _check_case(case, client)
    if kind not in InterventionKind.values:
        raise ValidationError("请选择干预方式。", code="kind")
    happened_at = check_moment(happened_at, "干预时间")
    description = check_text(description, "情况说明", max_length=10000)
    row = Intervention.objects.create(
        client=client,
        case=case,
        unit=client.unit,
        unit_path=client.unit_path,
        kind=kind,
        happened_at=happened_at,
        description=description,
        recorded_by=actor,
    )
    log_change(actor, row, {}, snapshot(row))
    return row


# --- referrals and disclosures (S-FLOW-8) -------------------------------------------------------


def check_materials(materials) -> str:
    if isinstance(materials, list | tuple):
        materials = "\n".join(str(m) for m in materials)
    lines = [line.strip() for line in (materials or "").splitlines() if line.strip()]
    if not lines:
        raise ValidationError("请列出随转介移交的材料（每行一项）。", code="materials")
    text = "\n".join(lines)
    if len(text) > 2000:
        raise ValidationError("移交材料清单不能超过 2000 个字符。", code="materials")
    return text


@transaction.atomic
def do_refer(
    *,
    actor,
    client,
    institution: str,
    reason: str,
    materials,
    referred_on: dt.date,
    consent_reference: str,
    case=None,
) -> Referral:
    """Refer ``client`` to an institution; the hand-over of data is written to the disclosure register."""
    _require_manage(actor, client)
    _check_case(case, client)
    institution = check_text(institution, "接收机构", max_length=100, code="institution")
    reason = check_text(reason, "转介原因", max_length=5000, code="reason")
    materials = check_materials(materials)
    if not isinstance(referred_on, dt.date):
        raise ValidationError("请填写转介日期。", code="referred_on")
    if referred_on > today():
        raise ValidationError("转介日期不能晚于今天。", code="referred_on")
    consent_reference = check_text(
        consent_reference, "同意记录或法定依据（没有来访者或监护人同意时写明法律依据）", max_length=200, code="consent"
    )
    referral = Referral.objects.create(
        client=client,
        case=case,
        unit=client.unit,
        unit_path=client.unit_path,
        institution=institution,
        reason=reason,
        materials=materials,
        referred_on=referred_on,
        consent_reference=consent_reference,
        recorded_by=actor,
    )
    log_change(actor, referral, {}, snapshot(referral))
    disclosure = Disclosure.objects.create(
        client=client,
        unit_path=client.unit_path,
        recipient=institution,
        what="转介材料：" + "、".join(referral.material_list),
        legal_basis=consent_reference,
        disclosed_at=timezone.now(),
        recorded_by=actor,
        referral=referral,
    )
    log_change(actor, disclosure, {}, snapshot(disclosure))
    return referral


OUTCOME_STATUSES = (ReferralStatus.ACCEPTED, ReferralStatus.DECLINED, ReferralStatus.COMPLETED)


@transaction.atomic
def do_record_referral_outcome(*, actor, referral: Referral, status: str, outcome: str) -> Referral:
    """Record what became of a referral: accepted, declined or completed, with the outcome."""
    _require_manage(actor, referral)
    if status not in OUTCOME_STATUSES:
        raise ValidationError("请选择转介结果状态（已接收、未接收或已完成）。", code="status")
    if referral.status in (ReferralStatus.DECLINED, ReferralStatus.COMPLETED):
        raise ValidationError("该转介已结束，不能再修改结果。", code="closed")
    outcome = check_text(outcome, "转介结果", max_length=2000, code="outcome")
    before = snapshot(referral)
    referral.status, referral.outcome, referral.outcome_at = status, outcome, timezone.now()
    referral.save(update_fields=["status", "outcome", "outcome_at"])
    log_change(actor, referral, before, snapshot(referral))
    return referral


@transaction.atomic
def do_record_disclosure(
    *, actor, client, recipient: str, what: str, legal_basis: str, disclosed_at: dt.datetime
) -> Disclosure:
    """Enter a disclosure made outside a referral (e.g. to a court or the police) in the register."""
    _require_manage(actor, client)
    recipient = check_text(recipient, "接收方", max_length=100, code="recipient")
    what = check_text(what, "提供的信息", max_length=2000, code="what")
    legal_basis = check_text(legal_basis, "依据（同意记录或法律依据）", max_length=200, code="legal_basis")
    disclosed_at = check_moment(disclosed_at, "提供时间")
    row = Disclosure.objects.create(
        client=client,
        unit_path=client.unit_path,
        recipient=recipient,
        what=what,
        legal_basis=legal_basis,
        disclosed_at=disclosed_at,
        recorded_by=actor,
    )
    log_change(actor, row, {}, snapshot(row))
    return row
