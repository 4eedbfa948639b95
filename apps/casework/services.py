"""Casework rules: cases and their state machine, counsellors, consents, sessions, receptions and
the limits of confidentiality. Each ``do_*`` is one transaction that writes its audit row."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.audit.choices import AuditAction
from apps.audit.services import log_change, log_event, snapshot
from apps.clients.services import has_consenting_guardian
from apps.core.access import active_grant, can
from apps.core.perms import Perm
from apps.core.scoping import unscoped

from .choices import (
    CaseState,
    ConsentKind,
    Decision,
    DisorderJudgement,
    EventKind,
    GivenBy,
    OverrideGround,
    Requester,
    Severity,
)
from .models import Case, CaseEvent, ConfidentialityOverride, Consent, CounsellingSession, Reception

# The explicit state machine (S-PRIN-1): from-state → states it may move to.
TRANSITIONS: dict[str, frozenset[str]] = {
    CaseState.REQUESTED: frozenset({CaseState.ACTIVE, CaseState.WITHDRAWN}),
    CaseState.ACTIVE: frozenset(
        {CaseState.PAUSED, CaseState.POSTPONED, CaseState.TERMINATED, CaseState.REFERRED, CaseState.CLOSED}
    ),
    CaseState.PAUSED: frozenset({CaseState.ACTIVE, CaseState.TERMINATED}),
    CaseState.POSTPONED: frozenset({CaseState.ACTIVE, CaseState.TERMINATED}),
    CaseState.TERMINATED: frozenset({CaseState.CLOSED}),
    CaseState.REFERRED: frozenset({CaseState.CLOSED}),
    CaseState.CLOSED: frozenset(),
    CaseState.WITHDRAWN: frozenset(),
}
FINAL_STATES = frozenset(state for state, targets in TRANSITIONS.items() if not targets)
OPEN_STATES = frozenset(set(CaseState.values) - FINAL_STATES)
# Ways out: the standard lets the client (or a minor's guardian) stop at every step (S-PRIN-1,
# "在心理咨询服务的所有环节…都可以要求终止"), so no guardian or consent rule ever blocks these; every
# non-final state has one of them (tests/test_case_machine.py walks each state to prove it).
EXIT_STATES = frozenset(
    {CaseState.PAUSED, CaseState.POSTPONED, CaseState.TERMINATED, CaseState.CLOSED, CaseState.WITHDRAWN}
)
# Acts that start, resume or hand on service: for a minor they need a consenting guardian who asks
# (S-CLIENT-4), unless the standard's crisis clause applies (see ``check_requester``).
CONSENT_STATES = frozenset({CaseState.REQUESTED, CaseState.ACTIVE, CaseState.REFERRED})
# Withdrawing a request is the client's (or guardian's) own decision, never the counsellor's.
WITHDRAW_REQUESTERS = frozenset({Requester.CLIENT, Requester.GUARDIAN})
# Besides the case's own counsellor, roles that may read session notes when they hold NOTE_VIEW over the unit.
# A psychiatrist is not one of them (issue 14): they read the notes of the cases assigned or referred to them,
# i.e. where they are the case's counsellor (a referral inside the service changes the counsellor to them).
NOTE_READER_ROLES = frozenset({"district_admin"})
MIN_JUSTIFICATION = 10


def is_minor(client, on: date | None = None) -> bool:
    """Under 18 on ``on`` (today by default); unknown birth date counts as adult."""
    birth = client.birth_date
    if birth is None:
        return False
    on = on or timezone.localdate()
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return age < 18


def _text(value, field: str, label: str, limit: int = 4000, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: f"请填写{label}。"})
    if len(value) > limit:
        raise ValidationError({field: f"{label}不能超过 {limit} 个字。"})
    return value


def _require(actor, perm, obj, message: str) -> None:
    if actor is not None and not can(actor, perm, obj):
        raise ValidationError(message, code="forbidden")


def check_requester(client, requested_by: str, *, to_state: str = CaseState.REQUESTED, crisis_ground: str = "") -> None:
    """Who may ask for ``to_state`` (opening a case asks for "requested"); errors name the field.

    * A way out (pause, postpone, terminate, close, withdraw) is never blocked by the guardian rules:
      the standard lets the client or a minor's guardian stop at every step (S-PRIN-1), so a minor
      without a guardian can still leave.
    * Starting, resuming or referring a minor's service needs a current guardian who consented and
      who asks (S-CLIENT-4) — except in the standard's crisis clause (self-harm or harm-to-others intent,
      danger to public safety: staff "有责任立即采取必要的措施"), recorded with its ground.
    """
    if requested_by not in Requester.values:
        raise ValidationError({"requested_by": "请选择提出人。"})
    if crisis_ground and crisis_ground not in OverrideGround.values:
        raise ValidationError({"crisis_ground": "请选择有效的危机情形。"})
    if requested_by == Requester.GUARDIAN and not client.guardians.current().exists():
        raise ValidationError(
            {"requested_by": "该来访者没有在册的监护人，不能以监护人名义提出；请先在来访者页面登记监护人。"}
        )
    if to_state == CaseState.WITHDRAWN and requested_by not in WITHDRAW_REQUESTERS:
        raise ValidationError({"requested_by": "撤回申请须由来访者本人或其监护人提出。"})
    if to_state in EXIT_STATES or to_state not in CONSENT_STATES or not is_minor(client):
        return
    if crisis_ground:
        return
    if requested_by != Requester.GUARDIAN:
        raise ValidationError(
            {
                "requested_by": "来访者未满 18 周岁，申请、开始、恢复服务或转介须由监护人提出；"
                "如存在自伤、伤人或危害公共安全的危机情形，请选择危机例外依据并说明。"
            },
            code="minor",
        )
    if not has_consenting_guardian(client):
        raise ValidationError({"requested_by": "监护人尚未表示同意，请先在来访者页面记录监护人的同意。"}, code="minor")


def counsellor_covers(user, unit) -> bool:
    """Whether ``user`` holds a counselling role at ``unit`` or one of its ancestors (S-STAFF-2, issue 13)."""
    from apps.accounts.selectors import is_counsellor_over

    return is_counsellor_over(user, unit)


def check_counsellor(counsellor, unit) -> None:
    if counsellor is not None and not counsellor_covers(counsellor, unit):
        raise ValidationError(
            {"counsellor": "所选人员不是该单位或其上级单位的心理咨询师、精神科医生，不能担任负责咨询师。"},
            code="counsellor",
        )


def _bump(case: Case) -> None:
    with unscoped("version bump of one case already authorised by the caller"):
        rows = Case.objects.filter(pk=case.pk, version=case.version).update(version=F("version") + 1)
    if rows != 1:
        raise ValidationError("该个案已被他人修改，请刷新页面后重试。", code="conflict")
    case.version += 1


@transaction.atomic
def do_open_case(
    *,
    actor,
    client,
    counsellor=None,
    requested_by: str = Requester.CLIENT,
    reason: str = "",
    crisis_ground: str = "",
) -> Case:
    """Open a case for ``client`` in the client's unit (S-PRIN-1: at the client's or guardian's request).

    A minor's case is opened at a consenting guardian's request, or under the crisis exception with
    its ground and reason (``check_requester``)."""
    _require(actor, Perm.CLIENT_MANAGE, client, "您只能为本单位及下级单位的来访者建立个案。")
    if client.merged_into_id:
        raise ValidationError("该来访者记录已合并，请在合并后的记录上建立个案。", code="merged")
    check_requester(client, requested_by, crisis_ground=crisis_ground)
    reason = _text(reason, "reason", "申请原因", 1000, required=bool(crisis_ground))
    check_one_open_case(actor, client)
    check_counsellor(counsellor, client.unit)
    case = Case.objects.create(client=client, unit=client.unit, unit_path=client.unit_path, counsellor=counsellor)
    CaseEvent.objects.create(
        case=case,
        from_state="",
        to_state=CaseState.REQUESTED,
        requested_by=requested_by,
        reason=reason or "申请心理咨询服务",
        crisis_ground=crisis_ground,
        recorded_by=actor,
        to_counsellor=counsellor,
    )
    purpose = "建立个案（危机例外：未经监护人同意）" if crisis_ground and is_minor(client) else "建立个案"
    log_change(actor, case, {}, snapshot(case), purpose=purpose)
    return case


def check_one_open_case(actor, client) -> None:
    """One case per client (S-PRIN-2); the refusal points to the open case and to withdrawing it.

    The case number is named only to someone who may see it (the check runs across units).
    """
    with unscoped("one open case per client, checked across units"):
        existing = Case.objects.filter(client=client, state__in=OPEN_STATES).order_by("-id").first()
    if existing is None:
        return
    if actor is None or can(actor, Perm.CLIENT_VIEW, existing):
        where = f"个案 #{existing.pk}（{existing.get_state_display()}）"
    else:
        where = "其他单位的个案"
    hint = "；如来访者（或监护人）不再需要该申请，可在原个案中撤回申请" if existing.state == CaseState.REQUESTED else ""
    raise ValidationError(
        {"client": f"该来访者已有未结案的{where}，一人一案，请在原个案中继续服务{hint}。"}, code="duplicate"
    )


@transaction.atomic
def do_transition_case(
    *, actor, case: Case, to_state: str, requested_by: str, reason: str, crisis_ground: str = ""
) -> CaseEvent:
    """Move ``case`` along the state machine; refuse an illegal move and change nothing.

    Withdrawing a requested case (S-PRIN-1) ends it like closing does, so the one-open-case rule
    never keeps a client from a new request."""
    _require(actor, Perm.CLIENT_MANAGE, case, "您无权变更该个案的状态。")
    if to_state not in CaseState.values:
        raise ValidationError({"to_state": "未知的个案状态。"}, code="state")
    if to_state not in TRANSITIONS[case.state]:
        allowed = "、".join(CaseState(s).label for s in CaseState.values if s in TRANSITIONS[case.state]) or "无"
        raise ValidationError(
            {
                "to_state": f"个案当前为“{case.get_state_display()}”，不能变更为“{CaseState(to_state).label}”"
                f"（可变更为：{allowed}）。"
            },
            code="illegal_transition",
        )
    check_requester(case.client, requested_by, to_state=to_state, crisis_ground=crisis_ground)
    reason = _text(reason, "reason", "变更原因", 1000, required=True)
    if to_state == CaseState.ACTIVE and case.counsellor_id is None:
        raise ValidationError("请先为个案指派咨询师，再开始服务。", code="no_counsellor")
    before = snapshot(case)
    _bump(case)
    from_state = case.state
    case.state = to_state
    if to_state in FINAL_STATES:
        case.closed_at = timezone.now()
    case.save(update_fields=["state", "closed_at"])
    event = CaseEvent.objects.create(
        case=case,
        from_state=from_state,
        to_state=to_state,
        requested_by=requested_by,
        reason=reason,
        crisis_ground=crisis_ground,
        recorded_by=actor,
    )
    purpose = f"个案状态变更：{event}"
    if crisis_ground and to_state in CONSENT_STATES and is_minor(case.client):
        purpose += f"（危机例外：{OverrideGround(crisis_ground).label}，未经监护人同意）"
    log_change(actor, case, before, snapshot(case), purpose=purpose)
    return event


@transaction.atomic
def do_change_counsellor(*, actor, case: Case, counsellor, reason: str, client_informed: bool) -> CaseEvent:
    """Assign or change the case's counsellor (S-PRIN-2): reason given and the client informed."""
    _require(actor, Perm.CLIENT_MANAGE, case, "您无权为该个案指派咨询师。")
    if case.state in FINAL_STATES:
        raise ValidationError(f"个案已{case.get_state_display().removeprefix('已')}，不能更换咨询师。", code="closed")
    if counsellor is None:
        raise ValidationError({"counsellor": "请选择咨询师。"})
    if counsellor.pk == case.counsellor_id:
        raise ValidationError({"counsellor": "所选咨询师已是本个案的咨询师。"})
    reason = _text(reason, "reason", "更换原因", 1000, required=True)
    if case.counsellor_id and client_informed is not True:
        raise ValidationError({"client_informed": "更换咨询师须先告知来访者，并在此确认。"}, code="not_informed")
    check_counsellor(counsellor, case.unit)
    before = snapshot(case)
    _bump(case)
    previous = case.counsellor
    case.counsellor = counsellor
    case.save(update_fields=["counsellor"])
    event = CaseEvent.objects.create(
        case=case,
        kind=EventKind.COUNSELLOR,
        from_state=case.state,
        to_state=case.state,
        requested_by="",
        reason=reason,
        recorded_by=actor,
        from_counsellor=previous,
        to_counsellor=counsellor,
        client_informed=bool(client_informed),
    )
    log_change(actor, case, before, snapshot(case), purpose="更换咨询师" if previous else "指派咨询师")
    return event


@transaction.atomic
def do_record_consent(
    *,
    actor,
    client,
    kind: str,
    given_by: str,
    case: Case | None = None,
    session: CounsellingSession | None = None,
    notice_version: str = "",
    given_at=None,
) -> Consent:
    """Record a consent or acknowledged notice (S-PRIN-3); a minor's is given by the guardian."""
    _require(actor, Perm.CLIENT_MANAGE, client, "您无权为该来访者记录知情同意。")
    if kind not in ConsentKind.values:
        raise ValidationError({"kind": "请选择知情同意类别。"})
    if given_by not in GivenBy.values:
        raise ValidationError({"given_by": "请选择同意人。"})
    if case is not None and case.client_id != client.pk:
        raise ValidationError("个案与来访者不符。", code="mismatch")
    if kind == ConsentKind.RECORDING and session is None:
        raise ValidationError("录音录像同意须按每次咨询分别记录，请在咨询记录中勾选。", code="per_session")
    if given_by == GivenBy.GUARDIAN and not client.guardians.current().exists():
        raise ValidationError({"given_by": "该来访者没有在册的监护人，请先在来访者页面登记监护人。"})
    if is_minor(client) and given_by != GivenBy.GUARDIAN:
        raise ValidationError({"given_by": "来访者未满 18 周岁，须由监护人表示同意。"}, code="minor")
    if kind == ConsentKind.GUARDIAN and given_by != GivenBy.GUARDIAN:
        raise ValidationError({"given_by": "监护人同意须由监护人作出。"})
    given_at = given_at or timezone.now()
    if given_at > timezone.now():
        raise ValidationError({"given_at": "同意时间不能晚于现在。"})
    consent = Consent.objects.create(
        client=client,
        unit_path=client.unit_path,
        case=case,
        session=session,
        kind=kind,
        notice_version=_text(notice_version, "notice_version", "告知书版本", 20),
        given_by=given_by,
        given_at=given_at,
        recorded_by=actor,
    )
    log_change(actor, consent, {}, snapshot(consent), purpose=f"记录知情同意：{consent.get_kind_display()}")
    return consent


@transaction.atomic
def do_withdraw_consent(*, actor, consent: Consent) -> Consent:
    _require(actor, Perm.CLIENT_MANAGE, consent, "您无权撤回该知情同意。")
    if consent.withdrawn_at is not None:
        raise ValidationError("该知情同意已撤回。", code="withdrawn")
    before = snapshot(consent)
    consent.withdrawn_at = timezone.now()
    consent.save(update_fields=["withdrawn_at"])
    log_change(actor, consent, before, snapshot(consent), purpose="撤回知情同意")
    return consent


def may_write_session(actor, case: Case) -> bool:
    grant = active_grant(actor)
    return (
        grant is not None
        and can(actor, Perm.NOTE_VIEW, case)
        and (case.counsellor_id == actor.pk or grant.role_code in NOTE_READER_ROLES)
    )


SESSION_TEXT = ("notes", "problem_focus", "framework", "diagnosis")


@transaction.atomic
def do_record_session(*, actor, case: Case, data: dict) -> CounsellingSession:
    """Record one counselling session (S-FLOW-5) by the case's counsellor (or a psychiatrist).

    The diagnosis is written only by holders of ``Perm.DIAGNOSE``; recording consent, when given,
    is stored as a per-session consent row (S-PRIN-3)."""
    if not may_write_session(actor, case):
        raise ValidationError("只有本个案的咨询师（含被指派或转介该个案的精神科医生）可以记录咨询。", code="forbidden")
    if case.state != CaseState.ACTIVE:
        raise ValidationError(f"个案当前为“{case.get_state_display()}”，只有服务中的个案可以记录咨询。", code="state")
    clean = {
        field: _text(data.get(field), field, CounsellingSession._meta.get_field(field).verbose_name)
        for field in SESSION_TEXT
    }
    if clean["diagnosis"] and not can(actor, Perm.DIAGNOSE, case):
        raise ValidationError({"diagnosis": "初步诊断只能由具有诊断资格的人员（精神科医生）填写。"}, code="diagnose")
    happened_at = data.get("happened_at") or timezone.now()
    if happened_at > timezone.now():
        raise ValidationError({"happened_at": "咨询时间不能晚于现在。"})
    duration = data.get("duration_minutes")
    if not isinstance(duration, int) or not 1 <= duration <= 600:
        raise ValidationError({"duration_minutes": "时长须在 1 至 600 分钟之间。"})
    choices = {
        "severe_disorder_judgement": (DisorderJudgement, DisorderJudgement.NONE),
        "severity": (Severity, ""),
        "decision": (Decision, Decision.CONTINUE),
    }
    for field, (enum, default) in choices.items():
        value = data.get(field) or default
        if value and value not in enum.values:
            raise ValidationError({field: "请选择有效的选项。"})
        clean[field] = value
    recording = bool(data.get("recording_consent"))
    given_by = data.get("recording_given_by") or GivenBy.CLIENT
    session = CounsellingSession.objects.create(
        case=case,
        unit_path=case.unit_path,
        counsellor=actor,
        happened_at=happened_at,
        duration_minutes=duration,
        expected_effect=_text(data.get("expected_effect"), "expected_effect", "预期效果", 200),
        suitable_to_continue=bool(data.get("suitable_to_continue", True)),
        recording_consent=recording,
        recorded_by=actor,
        **clean,
    )
    log_change(actor, session, {}, snapshot(session), purpose="记录心理咨询")
    if recording:
        do_record_consent(
            actor=None,  # authorised above: the session's writer records the consent given in it
            client=case.client,
            case=case,
            session=session,
            kind=ConsentKind.RECORDING,
            given_by=given_by,
            given_at=happened_at,
        )
    return session


@transaction.atomic
def do_override_confidentiality(*, actor, case: Case, ground: str, justification: str) -> ConfidentialityOverride:
    """Lift confidentiality on explicit grounds (S-PRIN-5): justified, audited, responders told at once."""
    if not (can(actor, Perm.CONFIDENTIALITY_OVERRIDE, case) and can(actor, Perm.NOTE_VIEW, case)):
        raise ValidationError(
            "突破保密须同时具有“突破保密”和“查看咨询记录”权限，且个案在您的管辖范围内。", code="forbidden"
        )
    if ground not in OverrideGround.values:
        raise ValidationError({"ground": "请选择保密例外的依据。"})
    justification = _text(justification, "justification", "理由说明", 2000, required=True)
    if len(justification) < MIN_JUSTIFICATION:
        raise ValidationError({"justification": f"请具体说明理由（至少 {MIN_JUSTIFICATION} 个字）。"})
    override = ConfidentialityOverride.objects.create(
        case=case, unit_path=case.unit_path, ground=ground, justification=justification, actor=actor
    )
    log_event(
        actor=actor,
        action=AuditAction.OTHER,
        obj=override,
        unit=case.unit,
        purpose=f"突破保密：个案 #{case.pk}，依据：{override.get_ground_display()}",
    )
    notify_responders(case, actor, override)
    return override


def responders(case: Case, actor) -> list:
    """Users holding USER_MANAGE at the case's unit or its nearest ancestor having one, plus the counsellor."""
    from apps.accounts.selectors import nearest_unit_managers

    people = {user.pk: user for user in nearest_unit_managers(case.unit)}
    if case.counsellor_id and case.counsellor.is_active:
        people[case.counsellor_id] = case.counsellor
    people.pop(actor.pk, None)
    return list(people.values())


def notify_responders(case: Case, actor, override: ConfidentialityOverride) -> None:
    from apps.notifications.services import notify_user

    contact = case.counsellor.full_name if case.counsellor_id else actor.full_name
    body = f"来访者 #{case.client_id} 的个案触发保密例外（{override.get_ground_display()}），请立即联系 {contact}"
    for person in responders(case, actor):
        notify_user(
            user=person,
            template="generic",
            context={"title": "保密例外紧急通知", "body": body},
            url=f"/casework/cases/{case.pk}/",
        )


RECEPTION_TEXT = ("reason", "history", "preliminary_analysis", "counselling_effect", "next_step_plan", "crisis_action")


@transaction.atomic
def do_record_reception(*, actor, client, data: dict) -> Reception:
    """Record a reception (S-FLOW-3) in the client's unit; the actor is the receptionist."""
    _require(actor, Perm.CLIENT_MANAGE, client, "您只能接待本单位及下级单位的来访者。")
    if not data.get("told_flow_rights"):
        raise ValidationError({"told_flow_rights": "请先向来访者告知服务流程、权利与注意事项，并在此确认。"})
    clean = {
        field: _text(data.get(field), field, Reception._meta.get_field(field).verbose_name) for field in RECEPTION_TEXT
    }
    crisis = bool(data.get("crisis"))
    if crisis and not clean["crisis_action"]:
        raise ValidationError({"crisis_action": "接待中出现危机时，请记录按应急预案采取的处置。"})
    received_at = data.get("received_at") or timezone.now()
    if received_at > timezone.now():
        raise ValidationError({"received_at": "接待时间不能晚于现在。"})
    reception = Reception.objects.create(
        client=client,
        unit=client.unit,
        unit_path=client.unit_path,
        receptionist=actor,
        received_at=received_at,
        told_flow_rights=True,
        crisis=crisis,
        **clean,
    )
    log_change(actor, reception, {}, snapshot(reception), purpose="咨询接待登记")
    from apps.crisis.services import do_flag_crisis  # S-FLOW-3, S-WARN-2: crisis words flagged at once

    # the client's own account only: staff notes such as "排除自杀风险" would flag every careful reception
    texts = {str(Reception._meta.get_field(f).verbose_name): clean[f] for f in ("reason", "history")}
    do_flag_crisis(actor=actor, unit=reception.unit, texts=texts, reception=reception, client=client)
    return reception


@transaction.atomic
def do_open_case_from_reception(
    *, actor, reception: Reception, counsellor=None, requested_by: str = Requester.CLIENT
) -> Case:
    """Open a case from a reception and link the two."""
    if reception.case_id:
        raise ValidationError("该接待已建立个案。", code="has_case")
    case = do_open_case(
        actor=actor, client=reception.client, counsellor=counsellor, requested_by=requested_by, reason="咨询接待后建档"
    )
    before = snapshot(reception)
    reception.case = case
    reception.save(update_fields=["case"])
    log_change(actor, reception, before, snapshot(reception), purpose="接待转为个案")
    return case
