"""Rules of the association's services (H-SVC-1..4).

Every ``do_*`` runs in one transaction, checks that the actor may act on the row or in the unit,
validates its input (bad input changes nothing), writes the change and an audit entry together,
and refuses a stale edit when the caller passes the ``version`` it saw.
"""

import datetime as dt
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit.services import log_change, snapshot
from apps.core.access import active_grant, can, can_in_unit
from apps.core.perms import Perm
from apps.identity.phones import normalize_mobile, normalize_phone
from apps.notifications.services import notify_user
from apps.orgs.choices import UnitKind
from apps.workdays.deadlines import stored_deadline

from . import notices
from .choices import (
    OPEN_HELP_STATUSES,
    ROLE_SKILLS,
    Availability,
    DispatchRole,
    DispatchStatus,
    EventKind,
    EventStatus,
    HelpChannel,
    HelpEventKind,
    HelpOutcome,
    HelpStatus,
    HoursKind,
    HoursStatus,
    ServiceKind,
    Severity,
    Skill,
    Specialty,
    Urgency,
)
from .models import (
    Dispatch,
    DispatchService,
    HelpRequest,
    HelpRequestEvent,
    HotlineShift,
    HoursRecord,
    Responder,
    ResponderSkill,
    ServiceSettings,
    SpecialtyRoute,
    StressEvent,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_ASSIGN_WORKING_DAYS = 2
DEFAULT_EDUCATION_MINIMUM = Decimal("24.0")
MAX_SHIFT_HOURS = 12
MAX_DISPATCH_DAYS = 14
NOTICE_FIELDS = ("notification", "sms_notification")  # set after the audit entry, by notices
MAX_HOURS_PER_RECORD = Decimal("24")
FIRST_DATE = dt.date(2000, 1, 1)


def shanghai_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SHANGHAI).date()


def today() -> dt.date:
    return shanghai_date(timezone.now())


# --- shared checks -----------------------------------------------------------------------------


def check_text(value, label: str, *, max_length: int, required: bool = True, code: str = "text") -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if required and not text:
        raise ValidationError(f"请填写{label}。", code=code)
    if len(text) > max_length:
        raise ValidationError(f"{label}不能超过 {max_length} 个字符。", code=code)
    return text


def check_choice(value, choices, label: str, code: str) -> str:
    if value not in choices.values:
        raise ValidationError(f"请选择{label}。", code=code)
    return value


def check_moment(value, label: str, *, not_future: bool = False) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValidationError(f"请填写{label}。", code="time")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, SHANGHAI)
    if not_future and value > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError(f"{label}不能晚于现在。", code="future")
    return value


def check_window(starts_at, ends_at, *, max_hours: int) -> tuple[dt.datetime, dt.datetime]:
    starts_at = check_moment(starts_at, "开始时间")
    ends_at = check_moment(ends_at, "结束时间")
    if ends_at <= starts_at:
        raise ValidationError("结束时间须晚于开始时间。", code="window")
    if ends_at - starts_at > dt.timedelta(hours=max_hours):
        raise ValidationError(f"一次安排不能超过 {max_hours} 小时。", code="window")
    return starts_at, ends_at


def check_hours(value, *, limit: Decimal = MAX_HOURS_PER_RECORD) -> Decimal:
    """Hours as a Decimal with one decimal place, more than 0 and at most ``limit``."""
    try:
        hours = Decimal(str(value)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError("时长须是数字，如 2 或 1.5。", code="hours") from None
    if hours <= 0:
        raise ValidationError("时长须大于 0 小时。", code="hours")
    if hours > limit:
        raise ValidationError(f"时长不能超过 {limit.normalize()} 小时。", code="hours")
    return hours


def check_day(value, label: str = "日期") -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValidationError(f"请填写{label}。", code="date")
    if value > today():
        raise ValidationError(f"{label}不能晚于今天。", code="date")
    if value < FIRST_DATE:
        raise ValidationError(f"{label}不能早于 2000 年。", code="date")
    return value


def check_version(obj, version) -> None:
    """Refuse a stale edit: ``version`` is what the caller saw (None skips the check)."""
    if version is not None and int(version) != obj.version:
        raise ValidationError("这条记录已被他人修改，请刷新页面后重试。", code="stale")


def _locked(model, obj, version=None):
    """Re-read ``obj`` under a row lock and check the caller's ``version``."""
    fresh = model._base_manager.select_for_update().get(pk=obj.pk)
    check_version(fresh, version)
    return fresh


def _require(actor, perm, obj, message="您无权处理这条记录。") -> None:
    if actor is not None and not can(actor, perm, obj):
        raise ValidationError(message, code="forbidden")


def _require_in(actor, perm, unit, message="您只能在本单位及下级单位登记。") -> None:
    if not unit.is_active:
        raise ValidationError("该单位已停用。", code="unit")
    if actor is not None and not can_in_unit(actor, perm, unit):
        raise ValidationError(message, code="forbidden")


def _bump(obj) -> None:
    obj.version += 1


def _notify(user, title: str, body: str, url: str) -> None:
    if user is not None and user.is_active:
        notify_user(user=user, template="generic", context={"title": title, "body": body}, url=url)


def _chain(unit) -> list[int]:
    return [*unit.ancestor_ids, unit.pk]


# --- per-unit settings and specialty routes -------------------------------------------------------


class EffectiveSettings:
    """The settings that apply to a unit: its own row, the nearest ancestor's, or the defaults."""

    def __init__(self, row: ServiceSettings | None):
        self.row = row
        self.assign_working_days = row.assign_working_days if row else DEFAULT_ASSIGN_WORKING_DAYS
        self.education_minimum = row.education_minimum if row else DEFAULT_EDUCATION_MINIMUM


def settings_for(unit) -> EffectiveSettings:
    row = (
        ServiceSettings.objects.filter(unit_id__in=_chain(unit)).select_related("unit").order_by("-unit__depth").first()
    )
    return EffectiveSettings(row)


def route_for(unit, specialty: str):
    """The committee that receives ``specialty`` for ``unit`` (nearest configured ancestor), or None."""
    row = (
        SpecialtyRoute.objects.filter(unit_id__in=_chain(unit), specialty=specialty, committee__is_active=True)
        .select_related("committee", "unit")
        .order_by("-unit__depth")
        .first()
    )
    return row.committee if row else None


def check_committee(unit, committee):
    """``committee`` must be an active specialty committee inside ``unit``'s subtree."""
    if committee is None or committee.kind != UnitKind.COMMITTEE or not committee.is_active:
        raise ValidationError("请选择一个在用的专业委员会。", code="committee")
    if not committee.path.startswith(unit.path):
        raise ValidationError("所选专业委员会不属于本协会。", code="committee")
    return committee


@transaction.atomic
def do_save_settings(*, actor, unit, assign_working_days, education_minimum, routes: dict, version=None):
    """Set ``unit``'s rules: the assignment time limit, the yearly minimum and specialty → committee."""
    _require_in(actor, Perm.HELP_MANAGE, unit, "您无权修改该单位的设置。")
    try:
        days = int(assign_working_days)
    except (TypeError, ValueError):
        raise ValidationError("分派时限须是 1 到 30 之间的整数。", code="days") from None
    if not 1 <= days <= 30:
        raise ValidationError("分派时限须是 1 到 30 之间的整数。", code="days")
    try:
        minimum = Decimal(str(education_minimum)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError("年度最低学时须是数字。", code="minimum") from None
    if not Decimal("0") <= minimum <= Decimal("1000"):
        raise ValidationError("年度最低学时须在 0 到 1000 之间。", code="minimum")
    clean_routes = {}
    for specialty, committee in (routes or {}).items():
        check_choice(specialty, Specialty, "专业领域", "specialty")
        if committee is not None:
            clean_routes[specialty] = check_committee(unit, committee)
    row = ServiceSettings.objects.select_for_update().filter(unit=unit).first()
    if row is None:
        row = ServiceSettings(unit=unit)
        before = {}
    else:
        check_version(row, version)
        before = snapshot(row)
        _bump(row)
    row.assign_working_days, row.education_minimum = days, minimum
    row.save()
    old_routes = {r.specialty: r.committee_id for r in SpecialtyRoute.objects.filter(unit=unit)}
    SpecialtyRoute.objects.filter(unit=unit).delete()
    SpecialtyRoute.objects.bulk_create(
        [SpecialtyRoute(unit=unit, specialty=s, committee=c) for s, c in sorted(clean_routes.items())]
    )
    new_routes = {s: c.pk for s, c in clean_routes.items()}
    log_change(actor, row, {**before, "routes": old_routes} if before else {}, {**snapshot(row), "routes": new_routes})
    return row


# --- help requests (H-SVC-1) ----------------------------------------------------------------------


def committee_heads(committee) -> list:
    """Active users at ``committee`` itself whose role may assign help requests."""
    from apps.accounts.models import Assignment

    rows = Assignment.objects.filter(unit=committee, user__is_active=True).select_related("user", "role")
    return sorted({a.user for a in rows if Perm.HELP_MANAGE in a.role.permissions}, key=lambda u: u.pk)


def is_committee_member(committee, user) -> bool:
    """Whether ``user`` is active and holds an assignment at ``committee`` (a counsellor of it)."""
    from apps.accounts.models import Assignment

    return bool(
        user is not None
        and user.is_active
        and Assignment.objects.filter(unit=committee, user=user, unit__is_active=True).exists()
    )


def _event(request, kind, actor, *, assignee=None, committee=None, reason=""):
    return HelpRequestEvent.objects.create(
        request=request,
        kind=kind,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        assignee=assignee,
        committee=committee,
        reason=reason,
        happened_at=timezone.now(),
    )


def _help_url(request) -> str:
    return f"/assistance/help/{request.pk}/"


def _route(request, committee, actor, reason: str) -> None:
    request.status = HelpStatus.ROUTED
    request.committee = committee
    request.unit, request.unit_path = committee, committee.path
    request.assignee, request.assigned_at, request.accepted_at = None, None, None
    _event(request, HelpEventKind.ROUTED, actor, committee=committee, reason=reason)
    for head in committee_heads(committee):
        _notify(
            head,
            "有新的个案求助待分派",
            f"个案求助 #{request.pk}（{request.get_specialty_display()}，{request.get_urgency_display()}）已分流到"
            f"{committee.name}，请在 {request.assign_due:%Y-%m-%d} 前分派心理师。",
            _help_url(request),
        )


@transaction.atomic
def do_register_help_request(
    *,
    actor,
    unit,
    channel: str,
    received_at: dt.datetime,
    seeker_name: str,
    seeker_phone: str = "",
    topic: str,
    specialty: str,
    urgency: str = Urgency.NORMAL,
) -> HelpRequest:
    """Register a help request; it is routed at once to the committee configured for its specialty.

    The assignment deadline (N working days after the day of receipt, N from the unit's settings)
    is computed here, once. Without a configured route the request waits at ``unit`` for manual routing.
    """
    _require_in(actor, Perm.HELP_MANAGE, unit)
    check_choice(channel, HelpChannel, "求助渠道", "channel")
    received_at = check_moment(received_at, "收到时间", not_future=True)
    seeker_name = check_text(seeker_name, "求助者姓名（或称呼）", max_length=50, code="name")
    seeker_phone = (seeker_phone or "").strip()
    seeker_phone = normalize_phone(seeker_phone) if seeker_phone else ""
    topic = check_text(topic, "求助问题", max_length=5000, code="topic")
    check_choice(specialty, Specialty, "专业领域", "specialty")
    check_choice(urgency, Urgency, "紧急程度", "urgency")
    days = settings_for(unit).assign_working_days
    request = HelpRequest.objects.create(
        unit=unit,
        unit_path=unit.path,
        tenant_id=unit.tenant_id or unit.pk,
        channel=channel,
        received_at=received_at,
        seeker_name=seeker_name,
        seeker_phone=seeker_phone,
        topic=topic,
        specialty=specialty,
        urgency=urgency,
        **stored_deadline(shanghai_date(received_at), days).fields("assign_due"),
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _event(request, HelpEventKind.RECEIVED, actor)
    log_change(actor, request, {}, snapshot(request))
    committee = route_for(unit, specialty)
    if committee is not None and committee.path.startswith(unit.path) and committee.pk != unit.pk:
        before = snapshot(request)
        _route(request, committee, actor, "按专业领域自动分流")
        request.save()
        log_change(actor, request, before, snapshot(request), purpose="按专业领域自动分流")
    return request


@transaction.atomic
def do_route_help_request(*, actor, request: HelpRequest, committee, reason: str = "", version=None) -> HelpRequest:
    """Route (or re-route) a not yet assigned request to a specialty committee of the association."""
    _require(actor, Perm.HELP_MANAGE, request)
    request = _locked(HelpRequest, request, version)
    if request.status not in (HelpStatus.RECEIVED, HelpStatus.ROUTED):
        raise ValidationError("只有待分流或待分派的求助可以分流。", code="status")
    check_committee(request.tenant, committee)
    if actor is not None and not can_in_unit(actor, Perm.HELP_MANAGE, committee):
        raise ValidationError("您无权把求助分流到该专业委员会。", code="forbidden")
    if committee.pk == request.committee_id:
        raise ValidationError("该求助已在这个专业委员会。", code="same")
    reason = check_text(reason, "分流说明", max_length=500, required=False)
    before = snapshot(request)
    _route(request, committee, actor, reason or "人工分流")
    _bump(request)
    request.save()
    log_change(actor, request, before, snapshot(request))
    return request


@transaction.atomic
def do_assign_help_request(*, actor, request: HelpRequest, assignee, reason: str = "", version=None) -> HelpRequest:
    """Assign a routed request to a counsellor of its committee; a re-assignment needs a reason."""
    _require(actor, Perm.HELP_MANAGE, request)
    request = _locked(HelpRequest, request, version)
    if request.status not in (HelpStatus.ROUTED, HelpStatus.ASSIGNED, HelpStatus.ACCEPTED):
        raise ValidationError("只有已分流到专业委员会、尚未结案的求助可以分派。", code="status")
    if not is_committee_member(request.committee, assignee):
        raise ValidationError("只能分派给本专业委员会的会员心理师。", code="not_member")
    previous = request.assignee if request.assignee_id else None
    reason = check_text(reason, "改派原因", max_length=500, required=previous is not None, code="reason")
    if previous is not None and previous.pk == assignee.pk:
        raise ValidationError("该求助已分派给这位心理师。", code="same")
    before = snapshot(request)
    request.status, request.assignee, request.assigned_at, request.accepted_at = (
        HelpStatus.ASSIGNED, assignee, timezone.now(), None,
    )  # fmt: skip
    kind = HelpEventKind.REASSIGNED if previous else HelpEventKind.ASSIGNED
    _event(request, kind, actor, assignee=assignee, committee=request.committee, reason=reason)
    _bump(request)
    request.save()
    log_change(actor, request, before, snapshot(request), purpose=reason)
    _notify(
        assignee,
        "您有新的个案求助待接案",
        f"{request.committee.name}将个案求助 #{request.pk}（{request.get_specialty_display()}，"
        f"{request.get_urgency_display()}）分派给您，请尽快确认接案或说明原因婉拒。",
        f"/assistance/my/help/{request.pk}/",
    )
    if previous is not None:
        _notify(
            previous, "个案求助已改派", f"个案求助 #{request.pk} 已改派给其他心理师，您无需再跟进。", "/assistance/my/"
        )
    return request


def _require_assignee(actor, request) -> None:
    if actor is None or request.assignee_id != actor.pk:
        raise ValidationError("只有被分派的心理师本人可以处理。", code="not_assignee")


@transaction.atomic
def do_accept_help_request(*, actor, request: HelpRequest, version=None) -> HelpRequest:
    """The assigned counsellor accepts the request."""
    request = _locked(HelpRequest, request, version)
    _require_assignee(actor, request)
    if request.status != HelpStatus.ASSIGNED:
        raise ValidationError("只有待接案的求助可以接案。", code="status")
    before = snapshot(request)
    request.status, request.accepted_at = HelpStatus.ACCEPTED, timezone.now()
    _event(request, HelpEventKind.ACCEPTED, actor, assignee=actor)
    _bump(request)
    request.save()
    log_change(actor, request, before, snapshot(request))
    return request


@transaction.atomic
def do_decline_help_request(*, actor, request: HelpRequest, reason: str, version=None) -> HelpRequest:
    """The assigned counsellor declines with a reason; the request goes back to the committee."""
    request = _locked(HelpRequest, request, version)
    _require_assignee(actor, request)
    if request.status != HelpStatus.ASSIGNED:
        raise ValidationError("只有待接案的求助可以婉拒。", code="status")
    reason = check_text(reason, "婉拒原因", max_length=500, code="reason")
    before = snapshot(request)
    request.status, request.assignee, request.assigned_at = HelpStatus.ROUTED, None, None
    _event(request, HelpEventKind.DECLINED, actor, assignee=actor, committee=request.committee, reason=reason)
    _bump(request)
    request.save()
    log_change(actor, request, before, snapshot(request), purpose=f"婉拒原因：{reason}")
    for head in committee_heads(request.committee):
        _notify(
            head,
            "个案求助被婉拒，需重新分派",
            f"个案求助 #{request.pk} 被婉拒（{reason[:50]}），请重新分派。",
            _help_url(request),
        )
    return request


@transaction.atomic
def do_close_help_request(*, actor, request: HelpRequest, outcome: str, note: str = "", version=None) -> HelpRequest:
    """Close a request with its outcome: the counsellor once accepted, or a manager at any open stage."""
    request = _locked(HelpRequest, request, version)
    is_assignee = actor is not None and request.assignee_id == actor.pk and request.status == HelpStatus.ACCEPTED
    if not is_assignee:
        _require(actor, Perm.HELP_MANAGE, request, "只有接案心理师或分派负责人可以结案。")
    if request.status not in OPEN_HELP_STATUSES:
        raise ValidationError("该求助已经结案。", code="status")
    check_choice(outcome, HelpOutcome, "结案结果", "outcome")
    if outcome in (HelpOutcome.RESOLVED, HelpOutcome.ONGOING, HelpOutcome.REFERRED) and (
        request.status != HelpStatus.ACCEPTED
    ):
        raise ValidationError("尚未接案的求助只能以“联系未果”或“求助者撤回”结案。", code="outcome")
    note = check_text(note, "结案说明", max_length=2000, required=False)
    before = snapshot(request)
    request.status, request.outcome, request.outcome_note, request.closed_at = (
        HelpStatus.CLOSED, outcome, note, timezone.now(),
    )  # fmt: skip
    _event(request, HelpEventKind.CLOSED, actor, assignee=request.assignee, reason=request.get_outcome_display())
    _bump(request)
    request.save()
    log_change(actor, request, before, snapshot(request))
    return request


# --- hours: continuing education, supervision, volunteering (H-SVC-2, H-SVC-4) --------------------


def member_unit(actor, member):
    """The unit where ``member`` is assigned inside ``actor``'s active grant (deepest first), or None."""
    from apps.accounts.models import Assignment

    grant = active_grant(actor) if actor is not None else None
    rows = Assignment.objects.filter(user=member, unit__is_active=True).select_related("unit")
    if grant is not None:
        rows = rows.filter(unit__path__startswith=grant.unit_path)
    row = rows.order_by("-unit__depth", "id").first()
    return row.unit if row else None


def _clean_hours(kind, activity, date, hours, note):
    check_choice(kind, HoursKind, "类别", "kind")
    return (
        kind,
        check_text(activity, "活动名称", max_length=100, code="activity"),
        check_day(date),
        check_hours(hours),
        check_text(note, "备注", max_length=200, required=False, code="note"),
    )


@transaction.atomic
def do_record_hours(*, actor, member, kind: str, activity: str, date: dt.date, hours, note: str = "") -> HoursRecord:
    """The secretariat records a member's hours; they count at once (confirmed)."""
    if member is None or not member.is_active:
        raise ValidationError("请选择在册的会员。", code="member")
    unit = member_unit(actor, member)
    if unit is None:
        raise ValidationError("该会员不在您的管理范围内。", code="member")
    _require_in(actor, Perm.HOURS_MANAGE, unit, "您无权为该会员登记学时。")
    kind, activity, date, hours, note = _clean_hours(kind, activity, date, hours, note)
    now = timezone.now()
    actor_user = actor if getattr(actor, "is_authenticated", False) else None
    row = HoursRecord.objects.create(
        member=member, unit=unit, unit_path=unit.path, kind=kind, activity=activity, date=date, hours=hours,
        note=note, status=HoursStatus.CONFIRMED, recorded_by=actor_user, confirmed_by=actor_user, confirmed_at=now,
    )  # fmt: skip
    log_change(actor, row, {}, snapshot(row))
    return row


@transaction.atomic
def do_report_hours(*, actor, kind: str, activity: str, date: dt.date, hours, note: str = "") -> HoursRecord:
    """A member reports their own hours; they count once the secretariat confirms them."""
    grant = active_grant(actor)
    if grant is None or Perm.ASSISTANCE_SELF not in grant.permissions:
        raise ValidationError("您当前的岗位不能申报学时。", code="forbidden")
    kind, activity, date, hours, note = _clean_hours(kind, activity, date, hours, note)
    row = HoursRecord.objects.create(
        member=actor, unit_id=grant.unit_id, unit_path=grant.unit_path, kind=kind, activity=activity, date=date,
        hours=hours, note=note, status=HoursStatus.PENDING, self_reported=True, recorded_by=actor,
    )  # fmt: skip
    log_change(actor, row, {}, snapshot(row))
    return row


@transaction.atomic
def do_confirm_hours(*, actor, record: HoursRecord, approve: bool, reason: str = "", version=None) -> HoursRecord:
    """Confirm (or reject, with a reason) a self-reported record; nobody confirms their own."""
    _require(actor, Perm.HOURS_MANAGE, record)
    record = _locked(HoursRecord, record, version)
    if record.status != HoursStatus.PENDING:
        raise ValidationError("只有待确认的记录可以确认或退回。", code="status")
    if actor is not None and record.member_id == actor.pk:
        raise ValidationError("不能确认本人申报的学时，请由其他工作人员确认。", code="self")
    reason = check_text(reason, "退回原因", max_length=200, required=not approve, code="reason")
    before = snapshot(record)
    record.status = HoursStatus.CONFIRMED if approve else HoursStatus.REJECTED
    record.confirmed_by = actor if getattr(actor, "is_authenticated", False) else None
    record.confirmed_at = timezone.now()
    if reason:
        record.note = reason[:200]
    _bump(record)
    record.save()
    log_change(actor, record, before, snapshot(record), purpose=reason)
    if not approve:
        _notify(record.member, "学时申报未通过", f"您申报的“{record.activity}”未通过确认：{reason}", "/assistance/my/")
    return record


@transaction.atomic
def do_edit_hours(
    *, actor, record: HoursRecord, kind: str, activity: str, date: dt.date, hours, note: str = "", version=None
) -> HoursRecord:
    """Correct a record (not one written from a crisis dispatch)."""
    _require(actor, Perm.HOURS_MANAGE, record)
    record = _locked(HoursRecord, record, version)
    if record.dispatch_id:
        raise ValidationError("应急调派产生的服务时长请在调派记录中修改。", code="dispatch")
    kind, activity, date, hours, note = _clean_hours(kind, activity, date, hours, note)
    before = snapshot(record)
    record.kind, record.activity, record.date, record.hours, record.note = kind, activity, date, hours, note
    _bump(record)
    record.save()
    log_change(actor, record, before, snapshot(record))
    return record


# --- rapid crisis response (H-SVC-3) --------------------------------------------------------------


def check_skills(skills) -> list[str]:
    skills = sorted(set(skills or []))
    if not skills:
        raise ValidationError("请至少选择一项援助技能。", code="skills")
    for skill in skills:
        check_choice(skill, Skill, "援助技能", "skills")
    return skills


def check_weekdays(value) -> str:
    digits = "".join(sorted(set(str(value or ""))))
    if not digits or any(d not in "1234567" for d in digits):
        raise ValidationError("请至少选择一天可调派的星期。", code="weekdays")
    return digits


def _clean_responder(trained_on, status, available_weekdays, available_from, available_to, contact, note, skills):
    check_day(trained_on, "受训日期")
    check_choice(status, Availability, "调派状态", "status")
    weekdays = check_weekdays(available_weekdays)
    if not isinstance(available_from, dt.time) or not isinstance(available_to, dt.time):
        raise ValidationError("请填写每日可调派时段。", code="period")
    if available_from >= available_to:
        raise ValidationError("每日可调派时段的结束须晚于开始。", code="period")
    contact = normalize_mobile(contact)
    note = check_text(note, "备注", max_length=200, required=False)
    return weekdays, contact, note, check_skills(skills)


def _set_skills(responder, skills) -> None:
    ResponderSkill.objects.filter(responder=responder).exclude(skill__in=skills).delete()
    have = set(ResponderSkill.objects.filter(responder=responder).values_list("skill", flat=True))
    ResponderSkill.objects.bulk_create([ResponderSkill(responder=responder, skill=s) for s in skills if s not in have])


@transaction.atomic
def do_register_responder(
    *, actor, user, unit, trained_on, skills, available_from, available_to, contact,
    available_weekdays="1234567", status=Availability.AVAILABLE, note="",
) -> Responder:  # fmt: skip
    """Put a trained member on the crisis roster of ``unit`` (a committee or the association)."""
    from apps.accounts.models import Assignment

    _require_in(actor, Perm.CRISIS_MANAGE, unit)
    if user is None or not user.is_active:
        raise ValidationError("请选择在册的会员。", code="user")
    if not Assignment.objects.filter(user=user, unit__path__startswith=unit.path, unit__is_active=True).exists():
        raise ValidationError("援助人员须是本单位（或其下属专业委员会）的会员。", code="user")
    if Responder.objects.filter(user=user).exists():
        raise ValidationError("该会员已在应急援助人员名册中。", code="duplicate")
    weekdays, contact, note, skills = _clean_responder(
        trained_on, status, available_weekdays, available_from, available_to, contact, note, skills
    )
    responder = Responder.objects.create(
        user=user, unit=unit, unit_path=unit.path, trained_on=trained_on, status=status, available_weekdays=weekdays,
        available_from=available_from, available_to=available_to, contact=contact, note=note,
    )  # fmt: skip
    _set_skills(responder, skills)
    log_change(actor, responder, {}, {**snapshot(responder), "skills": skills})
    return responder


@transaction.atomic
def do_update_responder(
    *, actor, responder: Responder, trained_on, skills, available_from, available_to, contact,
    available_weekdays, status, note="", version=None,
) -> Responder:  # fmt: skip
    """Change a responder's skills, availability or contact."""
    _require(actor, Perm.CRISIS_MANAGE, responder)
    responder = _locked(Responder, responder, version)
    weekdays, contact, note, skills = _clean_responder(
        trained_on, status, available_weekdays, available_from, available_to, contact, note, skills
    )
    before = {**snapshot(responder), "skills": sorted(responder.skills.values_list("skill", flat=True))}
    responder.trained_on, responder.status, responder.available_weekdays = trained_on, status, weekdays
    responder.available_from, responder.available_to = available_from, available_to
    responder.contact, responder.note = contact, note
    _bump(responder)
    responder.save()
    _set_skills(responder, skills)
    log_change(actor, responder, before, {**snapshot(responder), "skills": skills})
    return responder


@transaction.atomic
def do_register_event(*, actor, unit, title, kind, place, occurred_at, scale, severity, description="") -> StressEvent:
    """Register a psychological stress event the association responds to."""
    _require_in(actor, Perm.CRISIS_MANAGE, unit)
    title = check_text(title, "事件名称", max_length=100, code="title")
    check_choice(kind, EventKind, "事件类型", "kind")
    place = check_text(place, "地点", max_length=200, code="place")
    occurred_at = check_moment(occurred_at, "发生时间", not_future=True)
    try:
        scale = int(scale)
    except (TypeError, ValueError):
        raise ValidationError("波及人数须是整数。", code="scale") from None
    if not 0 < scale <= 10_000_000:
        raise ValidationError("波及人数须大于 0。", code="scale")
    check_choice(severity, Severity, "严重程度", "severity")
    description = check_text(description, "情况说明", max_length=5000, required=False)
    event = StressEvent.objects.create(
        unit=unit, unit_path=unit.path, title=title, kind=kind, place=place, occurred_at=occurred_at, scale=scale,
        severity=severity, description=description,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )  # fmt: skip
    log_change(actor, event, {}, snapshot(event))
    return event


@transaction.atomic
def do_close_event(*, actor, event: StressEvent, version=None) -> StressEvent:
    """End the response to an event; dispatches still open must be reported or cancelled first."""
    _require(actor, Perm.CRISIS_MANAGE, event)
    event = _locked(StressEvent, event, version)
    if event.status != EventStatus.OPEN:
        raise ValidationError("该事件的援助已经结束。", code="status")
    if event.dispatches.filter(status=DispatchStatus.DISPATCHED).exists():
        raise ValidationError("还有未登记服务情况的调派，请先登记或取消。", code="open_dispatches")
    before = snapshot(event)
    event.status = EventStatus.CLOSED
    _bump(event)
    event.save()
    log_change(actor, event, before, snapshot(event))
    return event


def available_at(responder: Responder, moment: dt.datetime) -> bool:
    """Whether ``responder`` is available and ``moment`` (Shanghai time) falls in their weekly period."""
    local = moment.astimezone(SHANGHAI)
    return (
        responder.status == Availability.AVAILABLE
        and str(local.isoweekday()) in responder.available_weekdays
        and responder.available_from <= local.time() <= responder.available_to
    )


def busy_between(responder_ids, starts_at, ends_at) -> set[int]:
    """Ids among ``responder_ids`` already dispatched or on hotline duty overlapping the window."""
    dispatched = Dispatch.objects.filter(
        responder_id__in=responder_ids, status=DispatchStatus.DISPATCHED, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).values_list("responder_id", flat=True)
    on_duty = HotlineShift.objects.filter(
        responder_id__in=responder_ids, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).values_list("responder_id", flat=True)
    return set(dispatched) | set(on_duty)


def check_qualified(responder, role: str, skill: str = "") -> None:
    """H-SVC-3: ``responder`` holds a skill the role needs (``ROLE_SKILLS``) and the skill asked for, if any."""
    have = {s.skill for s in responder.skills.all()}
    needed = ROLE_SKILLS.get(role, ())
    name = responder.user.full_name
    if needed and not have.intersection(needed):
        wanted = "、".join(Skill(s).label for s in needed) + ("之一" if len(needed) > 1 else "")
        raise _refuse(f"{name}不具备担任“{DispatchRole(role).label}”所需的技能（{wanted}），不能调派。", "unqualified")
    if skill and skill not in have:
        raise _refuse(f"{name}没有所需的“{Skill(skill).label}”技能，不能调派。", "unqualified")


def _refuse(message: str, code: str, field: str = "responders") -> ValidationError:
    """A refusal keyed to the form field it concerns (the mobilise page shows it there)."""
    return ValidationError({field: ValidationError(message, code=code)})


@transaction.atomic
def do_dispatch(
    *, actor, event: StressEvent, responders, role: str, starts_at, ends_at, reason: str = "", skill: str = "",
    urgent: bool = True,
) -> list[Dispatch]:  # fmt: skip
    """Send responders to an event for a time window, in one transaction, and tell each of them.

    Each responder is locked, then refused if marked unavailable, not qualified for the role (or
    without the ``skill`` asked for), outside the event's association, a lapsed member, or already
    dispatched or on hotline duty in that window. Someone whose weekly period does not cover the
    start (at 00:30 usually nobody's does) may still be sent when the coordinator gives a ``reason``;
    the reason is stored on the dispatch and in the audit entry. An urgent dispatch also sends an
    SMS to the roster's contact number; what went out is recorded per channel (apps.notifications).
    """
    _require(actor, Perm.CRISIS_MANAGE, event)
    if event.status != EventStatus.OPEN:
        raise ValidationError("该事件的援助已经结束，不能再调派。", code="status")
    check_choice(role, DispatchRole, "任务", "role")
    if skill:
        check_choice(skill, Skill, "所需技能", "skill")
    starts_at, ends_at = check_window(starts_at, ends_at, max_hours=24 * MAX_DISPATCH_DAYS)
    reason = check_text(reason, "越时段调派原因", max_length=500, required=False, code="reason")
    ids = sorted({r.pk for r in responders or []})
    if not ids:
        raise _refuse("请至少选择一名援助人员。", "responders")
    from apps.membership.selectors import lapsed_member_users, root_path_of

    locked = list(
        Responder.objects.select_for_update()
        .filter(pk__in=ids)
        .select_related("user")
        .prefetch_related("skills")
        .order_by("pk")
    )
    busy = busy_between(ids, starts_at, ends_at)
    lapsed = set(lapsed_member_users(root_path_of(event.unit_path)).values_list("user_id", flat=True))
    rows = []
    for responder in locked:
        name = responder.user.full_name
        if not responder.unit_path.startswith(event.unit_path):
            raise _refuse(f"{name}不属于负责该事件的单位，不能调派。", "scope")
        if responder.user_id in lapsed or not responder.user.is_active:
            raise _refuse(f"{name}已不是本协会在册会员，不能调派。", "lapsed")
        if responder.status != Availability.AVAILABLE:
            raise _refuse(f"{name}目前为“暂不可调派”状态，不能调派。", "unavailable")
        check_qualified(responder, role, skill)
        if responder.pk in busy:
            raise _refuse(f"{name}在该时段已有调派或热线值班，不能重复调派。", "busy")
        outside = not available_at(responder, starts_at)
        if outside and not reason:
            raise _refuse(
                f"{name}在该时段不在本人的可调派时段内（{responder.available_from:%H:%M}—"
                f"{responder.available_to:%H:%M}）；如确需调派，请填写越时段调派原因。",
                "unavailable",
                field="reason",
            )
        rows.append(
            Dispatch.objects.create(
                event=event,
                unit_path=event.unit_path,
                responder=responder,
                role=role,
                starts_at=starts_at,
                ends_at=ends_at,
                reason=reason if outside else "",
                urgent=bool(urgent),
                dispatched_by=actor if getattr(actor, "is_authenticated", False) else None,
            )  # fmt: skip
        )
    for dispatch in rows:
        purpose = f"越时段调派：{dispatch.reason}" if dispatch.reason else ""
        log_change(actor, dispatch, {}, snapshot(dispatch, exclude=NOTICE_FIELDS), purpose=purpose)
        notices.notify_dispatched(dispatch, event)
    return rows


@transaction.atomic
def do_report_dispatch(
    *, actor, dispatch: Dispatch, hours, people_served, services: dict, summary: str = "", version=None
) -> Dispatch:
    """Record the hours and services of a dispatch; the hours become confirmed volunteer hours."""
    _require(actor, Perm.CRISIS_MANAGE, dispatch)
    dispatch = _locked(Dispatch, dispatch, version)
    if dispatch.status != DispatchStatus.DISPATCHED:
        raise ValidationError("只有进行中的调派可以登记服务情况。", code="status")
    window = Decimal((dispatch.ends_at - dispatch.starts_at).total_seconds() / 3600).quantize(Decimal("0.1"))
    hours = check_hours(hours, limit=min(window, Decimal(24 * MAX_DISPATCH_DAYS)))
    try:
        people_served = int(people_served)
    except (TypeError, ValueError):
        raise ValidationError("服务人次须是整数。", code="people") from None
    if people_served < 0:
        raise ValidationError("服务人次不能为负数。", code="people")
    clean = {}
    for kind, people in (services or {}).items():
        check_choice(kind, ServiceKind, "服务方式", "services")
        try:
            clean[kind] = max(int(people or 0), 0)
        except (TypeError, ValueError):
            raise ValidationError("各项服务人次须是整数。", code="services") from None
    if not clean:
        raise ValidationError("请至少选择一项提供的服务。", code="services")
    summary = check_text(summary, "服务小结", max_length=500, required=False)
    before = snapshot(dispatch)
    dispatch.status, dispatch.hours, dispatch.people_served, dispatch.summary = (
        DispatchStatus.COMPLETED, hours, people_served, summary,
    )  # fmt: skip
    _bump(dispatch)
    dispatch.save()
    DispatchService.objects.bulk_create(
        [DispatchService(dispatch=dispatch, kind=k, people=p) for k, p in sorted(clean.items())]
    )
    responder = dispatch.responder
    actor_user = actor if getattr(actor, "is_authenticated", False) else None
    hours_row = HoursRecord.objects.create(
        member=responder.user, unit=responder.unit, unit_path=responder.unit_path, kind=HoursKind.VOLUNTEER,
        activity=f"应急援助：{dispatch.event.title}"[:100], date=shanghai_date(dispatch.starts_at), hours=hours,
        status=HoursStatus.CONFIRMED, dispatch=dispatch, recorded_by=actor_user, confirmed_by=actor_user,
        confirmed_at=timezone.now(),
    )  # fmt: skip
    log_change(actor, dispatch, before, {**snapshot(dispatch), "services": clean})
    log_change(actor, hours_row, {}, snapshot(hours_row))
    return dispatch


@transaction.atomic
def do_cancel_dispatch(*, actor, dispatch: Dispatch, reason: str, version=None) -> Dispatch:
    _require(actor, Perm.CRISIS_MANAGE, dispatch)
    dispatch = _locked(Dispatch, dispatch, version)
    if dispatch.status != DispatchStatus.DISPATCHED:
        raise ValidationError("只有进行中的调派可以取消。", code="status")
    reason = check_text(reason, "取消原因", max_length=200, code="reason")
    before = snapshot(dispatch)
    dispatch.status = DispatchStatus.CANCELLED
    _bump(dispatch)
    dispatch.save()
    log_change(actor, dispatch, before, snapshot(dispatch), purpose=f"取消原因：{reason}")
    return dispatch


@transaction.atomic
def do_add_shift(*, actor, unit, responder: Responder, starts_at, ends_at, note: str = "") -> HotlineShift:
    """Put a responder with the hotline skill on a duty shift; never two overlapping shifts for one person.

    The responder's row is locked before the overlap check, so two concurrent requests for the same
    person are serialised and the second one sees the first one's shift.
    """
    _require_in(actor, Perm.CRISIS_MANAGE, unit)
    starts_at, ends_at = check_window(starts_at, ends_at, max_hours=MAX_SHIFT_HOURS)
    note = check_text(note, "备注", max_length=200, required=False)
    if responder is None:
        raise ValidationError("请选择值班人员。", code="responder")
    responder = Responder.objects.select_for_update().select_related("user").get(pk=responder.pk)
    if not responder.unit_path.startswith(unit.path):
        raise ValidationError("值班人员须是本单位名册中的援助人员。", code="scope")
    if responder.status != Availability.AVAILABLE:
        raise ValidationError(f"{responder.user.full_name}目前暂不可调派，不能排班。", code="unavailable")
    if not responder.skills.filter(skill=Skill.HOTLINE).exists():
        raise ValidationError(f"{responder.user.full_name}没有“热线接听”技能，不能排热线值班。", code="skill")
    clash = (
        HotlineShift.objects.filter(responder=responder, starts_at__lt=ends_at, ends_at__gt=starts_at)
        .order_by("starts_at")
        .first()
    )
    if clash is not None:
        s, e = clash.starts_at.astimezone(SHANGHAI), clash.ends_at.astimezone(SHANGHAI)
        raise ValidationError(
            f"{responder.user.full_name}在 {s:%m-%d %H:%M}—{e:%m-%d %H:%M} 已有值班，同一人不能同时值两个班。",
            code="overlap",
        )
    if Dispatch.objects.filter(
        responder=responder, status=DispatchStatus.DISPATCHED, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).exists():
        raise ValidationError(
            f"{responder.user.full_name}在这一时段已被调派参加应急援助，不能排热线值班。", code="dispatched"
        )
    shift = HotlineShift.objects.create(
        unit=unit, unit_path=unit.path, responder=responder, starts_at=starts_at, ends_at=ends_at, note=note,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )  # fmt: skip
    log_change(actor, shift, {}, snapshot(shift))
    return shift


@transaction.atomic
def do_cancel_shift(*, actor, shift: HotlineShift, reason: str = "") -> None:
    """Remove a shift from the rota (the audit log keeps what it was)."""
    _require(actor, Perm.CRISIS_MANAGE, shift)
    reason = check_text(reason, "取消原因", max_length=200, required=False)
    log_change(actor, shift, snapshot(shift), {}, purpose=f"取消热线值班：{reason}" if reason else "取消热线值班")
    shift.delete()
