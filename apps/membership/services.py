"""Rules of association membership (H-MEM-1..6, H-ORG-1, H-ORG-4, H-SVC-5).

``do_*`` changes state in one transaction with its audit row; ``check_*`` validates. Every error
is a Chinese ``ValidationError`` and leaves nothing written.
"""

import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from apps.accounts.models import Assignment, Role, User
from apps.audit.choices import AuditAction
from apps.audit.services import log_change, log_event, snapshot
from apps.core.access import can, forget_grant
from apps.core.money import format_money, parse_amount
from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.identity.phones import normalize_mobile
from apps.identity.resident_id import validate_resident_id
from apps.orgs.choices import UnitKind
from apps.orgs.models import OrgUnit

from . import notices, selectors
from .choices import (
    COMMITTEE_POSITIONS,
    DEPARTMENT_POSITIONS,
    FILED_POSITIONS,
    LICENSED_KINDS,
    MEMBER_ROLE,
    POSITION_BODY,
    SINGLE_HOLDER_POSITIONS,
    AdmissionRoute,
    ApplicationStatus,
    BodyKind,
    CertificateKind,
    ComplaintStatus,
    ConductKind,
    DuesMethod,
    EthicsPrinciple,
    MemberStatus,
    PositionKind,
    RevocationReason,
    Tier,
    VoteChoice,
    VoteResult,
)
from .models import (
    AdmissionVote,
    Application,
    ApplicationEvent,
    Ballot,
    Body,
    Certificate,
    CommitteeMembership,
    ConductRecord,
    DuesPayment,
    DuesRate,
    EthicsComplaint,
    Member,
    Position,
    Revocation,
)
from .storage import check_photo, check_scan

CHARTER_VERSION = "2015-02"
# What the applicant is told when the board vote fails: the result, not who voted how.
VOTE_REJECTED_REASON = "经理事会表决，同意票未超过所投票数的半数。"
MAX_COMMITTEES = 2


def _now():
    return timezone.now()


def _require(actor, perm: str, obj) -> None:
    """Services trust no caller: the actor must hold ``perm`` over ``obj`` (None = the system)."""
    if actor is not None and not can(actor, perm, obj):
        raise ValidationError("您无权在该协会办理此事项。", code="forbidden")


def check_association(unit: OrgUnit) -> OrgUnit:
    if unit is None or unit.kind != UnitKind.ASSOCIATION or not unit.is_active or unit.parent_id is not None:
        raise ValidationError("请选择一个有效的心理援助协会。", code="association")
    return unit


def _secret_hash(secret: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), secret.encode(), hashlib.sha256).hexdigest()


# Status codes (查询码) avoid look-alikes: no 0/O, 1/I/L, 2/Z, 5/S, 8/B. 12 of 25 → about 56 bits,
# behind a reference number and a per-IP rate limit. Shown in groups of four: ``ACDE-FGHJ-KMNP``.
STATUS_CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
STATUS_CODE_LENGTH = 12


def new_status_code() -> str:
    code = "".join(secrets.choice(STATUS_CODE_ALPHABET) for _ in range(STATUS_CODE_LENGTH))
    return "-".join(code[i : i + 4] for i in range(0, STATUS_CODE_LENGTH, 4))


def normalize_status_code(secret: str) -> str:
    """Case-insensitive, full-width and spaces/hyphens tolerated: what the applicant meant."""
    text = unicodedata.normalize("NFKC", secret or "")
    return "".join(ch for ch in text if not ch.isspace() and ch not in "-_").upper()


def check_application_secret(application: Application | None, secret: str) -> Application:
    """The applicant's own key to the status page: reference and secret must both match.

    New codes are compared normalized (case-insensitive); codes issued before (URL-safe tokens,
    case-sensitive) still match as typed.
    """
    if application is not None:
        typed = (secret or "").strip()
        for candidate in (normalize_status_code(typed), typed):
            if candidate and hmac.compare_digest(application.secret_hash, _secret_hash(candidate)):
                return application
    raise ValidationError("申请编号或查询码不正确。", code="mismatch")


# --- applications (H-MEM-1) ---------------------------------------------------------------------------


def check_committees(association: OrgUnit, committees) -> list[OrgUnit]:
    committees = list(committees or [])
    if len(committees) > MAX_COMMITTEES:
        raise ValidationError("每位会员最多参加两个专业委员会。", code="too_many_committees")
    for committee in committees:
        if committee.kind != UnitKind.COMMITTEE or committee.parent_id != association.pk or not committee.is_active:
            raise ValidationError("请选择本协会的专业委员会。", code="committee")
    return committees


def check_certificate(data: dict) -> dict:
    kind = data.get("kind")
    if kind not in CertificateKind.values:
        raise ValidationError("请选择证书类别。", code="certificate_kind")
    number = (data.get("number") or "").strip()
    issuer = (data.get("issuer") or "").strip()
    if not number:
        raise ValidationError("请填写证书编号。", code="certificate_number")
    if not issuer:
        raise ValidationError("请填写发证机关。", code="certificate_issuer")
    issued, expires = data.get("issued_on"), data.get("expires_on")
    if issued and expires and expires < issued:
        raise ValidationError("证书有效期不能早于发证日期。", code="certificate_dates")
    check_scan(data.get("scan"))
    return {
        "kind": kind,
        "number": number[:50],
        "issuer": issuer[:100],
        "issued_on": issued,
        "expires_on": expires,
        "scan": data.get("scan"),
    }


def check_applicant(data: dict) -> dict:
    """Validate the registration form: name, ID number (GB 11643), mobile, charter accepted."""
    if not data.get("charter_accepted"):
        raise ValidationError("请先阅读并同意协会章程。", code="charter")
    name = (data.get("name") or "").strip()
    if not name or len(name) > 50:
        raise ValidationError("请填写姓名（不超过 50 个字）。", code="name")
    resident = validate_resident_id(data.get("id_number"))
    clean = {
        "name": name,
        "id_number": resident.number,
        "birth_date": resident.birth_date,
        "gender": str(resident.gender),
        "phone": normalize_mobile(data.get("phone")),
    }
    for field, limit in (
        ("ethnicity", 20), ("political_status", 20), ("education", 20), ("major", 50), ("employer", 100),
        ("job_title", 50), ("email", 100), ("address", 200), ("specialties", 200),
    ):  # fmt: skip
        clean[field] = (data.get(field) or "").strip()[:limit]
    clean["experience"] = (data.get("experience") or "").strip()[:4000]
    return clean


def _event(application, from_status, to_status, actor, note=""):
    ApplicationEvent.objects.create(
        application=application, from_status=from_status, to_status=to_status, actor=actor, note=note
    )


def _new_reference(year: int) -> str:
    return f"SQ{year}{secrets.randbelow(10**8):08d}"


@transaction.atomic
def do_submit_application(
    *, association: OrgUnit, data: dict, photo, certificates: list[dict], committees, actor=None
) -> tuple[Application, str]:
    """H-MEM-1: store an application from the public page; return it and its one-time secret."""
    association = check_association(association)
    clean = check_applicant(data)
    committees = check_committees(association, committees)
    check_photo(photo)
    certs = [check_certificate(c) for c in certificates]
    with unscoped("重复申请检查：同一身份证号在本协会的未结申请"):
        pending = (
            Application.objects.search_exact("id_number", clean["id_number"])
            .filter(association=association, status__in=[ApplicationStatus.SUBMITTED, ApplicationStatus.VOTING])
            .exists()
        )
    if pending:
        raise ValidationError("您在本协会已有一份正在办理的申请，请用申请编号查询进度。", code="duplicate")
    previous = (
        Member.objects.search_exact("id_number", clean["id_number"])
        .filter(association=association)
        .order_by("-id")
        .first()
    )
    if previous is not None and previous.status == MemberStatus.ACTIVE:
        raise ValidationError("您已是本协会会员，无需重复申请。", code="already_member")
    if previous is not None:
        when = f"已于 {previous.revoked_on:%Y-%m-%d} " if previous.revoked_on else "已"
        raise ValidationError(
            f"您在本协会的会员资格{when}被撤销，不能在线重新申请。如需重新入会，请与协会秘书处（会员工作部）联系办理。",
            code="revoked_member",
        )
    secret = new_status_code()
    now = _now()
    application = Application(
        association=association,
        unit_path=association.path,
        reference=_new_reference(timezone.localdate().year),
        secret_hash=_secret_hash(normalize_status_code(secret)),
        charter_version=CHARTER_VERSION,
        charter_accepted_at=now,
        **clean,
    )
    application.photo.save(f"{secrets.token_hex(16)}.{_ext(photo)}", photo, save=False)
    application.save()
    application.committees.set(committees)
    for cert in certs:
        _save_certificate(cert, unit_path=association.path, application=application)
    _event(application, "", ApplicationStatus.SUBMITTED, actor, "申请人在线提交")
    log_event(actor=actor, action=AuditAction.CREATE, obj=application, unit=association, purpose="在线提交入会申请")
    notices.notify_applicant(application, notices.SUBMITTED)
    return application, secret


def _ext(upload) -> str:
    name = (getattr(upload, "name", "") or "").lower()
    return "png" if name.endswith(".png") else "jpg"


def _save_certificate(cert: dict, *, unit_path: str, application=None, member=None) -> Certificate:
    scan = cert.get("scan")
    row = Certificate(
        unit_path=unit_path,
        application=application,
        member=member,
        kind=cert["kind"],
        number=cert["number"],
        issuer=cert["issuer"],
        issued_on=cert.get("issued_on"),
        expires_on=cert.get("expires_on"),
    )
    if scan:
        suffix = (scan.name or "").rsplit(".", 1)[-1].lower()
        suffix = suffix if suffix in ("pdf", "png", "jpg", "jpeg") else "bin"
        row.scan.save(f"{secrets.token_hex(16)}.{suffix}", scan, save=False)
    row.save()
    return row


def _lock(application: Application) -> Application:
    with unscoped("锁定本申请行以串行化状态变更（调用方已做范围检查）"):
        return Application.objects.select_for_update().get(pk=application.pk)


@transaction.atomic
def do_review_application(
    *, actor, application: Application, passed: bool, note: str, final: bool = False
) -> Application:
    """H-MEM-1: the membership department's first review.

    Pass (to the board vote), return for changes with a reason, or — ``final`` — refuse with a
    reason (the applicant does not qualify; nothing to amend). The applicant is told a return or
    a refusal at the mobile number and e-mail they gave.
    """
    _require(actor, Perm.MEMBERSHIP_REVIEW, application)
    application = _lock(application)
    note = (note or "").strip()
    if application.status != ApplicationStatus.SUBMITTED:
        raise ValidationError("只有待初审的申请可以初审。", code="state")
    if passed and final:
        raise ValidationError("初审意见只能是通过、退回或不予通过之一。", code="decision")
    if not passed and not note:
        raise ValidationError("不予通过须写明理由。" if final else "退回申请须写明理由。", code="reason_required")
    before = snapshot(application, exclude=("secret_hash",))
    application.reviewed_by, application.reviewed_at, application.review_note = actor, _now(), note
    if passed:
        application.status = ApplicationStatus.VOTING
        application.route = AdmissionRoute.VOTE
        application.save()
        AdmissionVote.objects.create(
            application=application, association=application.association, unit_path=application.unit_path
        )
        _notify_board(application)
    else:
        application.status = ApplicationStatus.REJECTED if final else ApplicationStatus.RETURNED
        application.decided_at = _now()
        application.save()
        notices.notify_applicant(application, notices.REJECTED if final else notices.RETURNED, reason=note)
    _event(application, ApplicationStatus.SUBMITTED, application.status, actor, note)
    log_change(actor, application, before, snapshot(application, exclude=("secret_hash",)), purpose="会员申请初审")
    return application


def _notify_board(application: Application) -> None:
    from apps.notifications.services import notify_user

    for user in selectors.current_holders(application.association, BodyKind.BOARD):
        notify_user(
            user=user,
            template="generic",
            context={"title": "入会申请待理事会表决", "body": f"申请 {application.reference} 已通过初审，请表决。"},
            url=f"/membership/applications/{application.pk}/ballot/",
        )


def vote_passes(approve: int, reject: int, abstain: int) -> bool:
    """H-MEM-2: 半数以上同意即批准 — more than half of the votes cast approve.

    Every ballot is a vote cast, abstentions included (弃权 is a way of voting; it is counted
    in the denominator and so weighs like a "no"). A tie fails; no ballots at all fails.
    """
    cast = approve + reject + abstain
    return cast > 0 and approve * 2 > cast


@transaction.atomic
def do_cast_ballot(*, actor, application: Application, choice: str) -> Ballot:
    """H-MEM-2: a current board member votes once on an open admission vote.

    The actor acts through a role holding MEMBERSHIP_VOTE or through their ``member`` assignment
    in the association (``selectors.may_vote_as``); either way only a current board or standing-board
    position holder may vote, once, and not after the vote is closed.
    """
    if not selectors.may_vote_as(actor, application):
        raise ValidationError("您无权在该协会办理此事项。", code="forbidden")
    if choice not in VoteChoice.values:
        raise ValidationError("请选择同意、反对或弃权。", code="choice")
    application = _lock(application)
    vote = getattr(application, "vote", None)
    if vote is None or application.status != ApplicationStatus.VOTING:
        raise ValidationError("该申请不在理事会表决阶段。", code="state")
    vote = AdmissionVote.objects.select_for_update().get(pk=vote.pk)
    if vote.closed_at is not None:
        raise ValidationError("表决已结束，不能再投票。", code="closed")
    if not selectors.is_board_member(actor, application.association):
        raise ValidationError("只有现任理事可以参加入会表决。", code="not_board")
    if Ballot.objects.filter(vote=vote, voter=actor).exists():
        raise ValidationError("您已对该申请投过票，每位理事只能投一次。", code="second_vote")
    try:
        with transaction.atomic():
            ballot = Ballot.objects.create(vote=vote, voter=actor, choice=choice)
    except IntegrityError:
        raise ValidationError("您已对该申请投过票，每位理事只能投一次。", code="second_vote") from None
    log_change(actor, ballot, {}, snapshot(ballot), purpose="入会表决投票")
    return ballot


def check_vote_quorum(application: Application) -> dict:
    """H-MEM-2: refuse to count a vote before the association's quorum of the board has voted.

    Abstentions are ballots cast and count towards the quorum. The message names who has not voted.
    """
    quorum = selectors.vote_quorum_status(application)
    if not quorum["met"]:
        missing = "、".join(u.full_name or u.username for u in quorum["not_voted"]) or "—"
        raise ValidationError(
            f"未达到法定人数，不能结束表决：本协会规定{quorum['rule']}。现有应表决理事 {quorum['entitled_count']} 人，"
            f"至少须 {quorum['required']} 人投票，目前只有 {quorum['cast']} 人投票。尚未投票：{missing}。",
            code="quorum",
        )
    return quorum


@transaction.atomic
def do_set_vote_quorum(*, actor, association: OrgUnit, numerator: int, denominator: int):
    """H-MEM-2: set the association's quorum for board votes (a fraction of the board entitled to vote).

    Its charter decides; more than half is the lowest a charter may set (a quorum of a minority
    would let a minority admit members), at most all of the board.
    """
    from .models import MembershipSettings

    check_association(association)
    _require(actor, Perm.POSITION_MANAGE, Body(association=association, unit_path=association.path))
    try:
        numerator, denominator = int(numerator), int(denominator)
    except (TypeError, ValueError):
        raise ValidationError(
            {"vote_quorum_numerator": ValidationError("法定人数须写成分数，如 2/3。", code="quorum_setting")}
        ) from None
    if not (1 <= numerator <= denominator <= 100) or numerator * 2 <= denominator:
        raise ValidationError(
            {
                "vote_quorum_numerator": ValidationError(
                    "法定人数须超过理事会的半数且不超过全体，如 2/3。", code="quorum_setting"
                )
            }
        )
    row = MembershipSettings.objects.select_for_update().filter(association=association).first()
    before = snapshot(row) if row else {}
    if row is None:
        row = MembershipSettings(association=association, unit_path=association.path)
    row.vote_quorum_numerator, row.vote_quorum_denominator = numerator, denominator
    row.save()
    log_change(actor, row, before, snapshot(row), purpose="设置理事会表决法定人数")
    return row


@transaction.atomic
def do_close_vote(*, actor, application: Application) -> Application:
    """H-MEM-2: the secretariat closes the vote; approval admits the applicant, else it is rejected."""
    _require(actor, Perm.MEMBERSHIP_VOTE_CLOSE, application)
    application = _lock(application)
    vote = getattr(application, "vote", None)
    if vote is None or application.status != ApplicationStatus.VOTING:
        raise ValidationError("该申请不在理事会表决阶段。", code="state")
    vote = AdmissionVote.objects.select_for_update().get(pk=vote.pk)
    if vote.closed_at is not None:
        raise ValidationError("表决已结束。", code="closed")
    choices = list(vote.ballots.values_list("choice", flat=True))
    if not choices:
        raise ValidationError("尚无理事投票，不能结束表决。", code="no_ballots")
    check_vote_quorum(application)
    before = snapshot(vote)
    vote.approve_count = choices.count(VoteChoice.APPROVE)
    vote.reject_count = choices.count(VoteChoice.REJECT)
    vote.abstain_count = choices.count(VoteChoice.ABSTAIN)
    passed = vote_passes(vote.approve_count, vote.reject_count, vote.abstain_count)
    vote.result = VoteResult.APPROVED if passed else VoteResult.REJECTED
    vote.closed_at, vote.closed_by = _now(), actor
    vote.save()
    log_change(actor, vote, before, snapshot(vote), purpose="结束入会表决")
    note = f"同意 {vote.approve_count}，反对 {vote.reject_count}，弃权 {vote.abstain_count}"
    if passed:
        _admit(actor=actor, application=application, route=AdmissionRoute.VOTE, note=note)
    else:
        application.status = ApplicationStatus.REJECTED
        application.decided_at = _now()
        application.save(update_fields=["status", "decided_at"])
        _event(application, ApplicationStatus.VOTING, ApplicationStatus.REJECTED, actor, note)
        notices.notify_applicant(application, notices.REJECTED, reason=VOTE_REJECTED_REASON)
    return application


@transaction.atomic
def do_admit_simplified(*, actor, application: Application, licence: Certificate) -> Application:
    """H-MEM-2 简易程序: the membership department admits a licensed applicant directly."""
    _require(actor, Perm.MEMBERSHIP_REVIEW, application)
    application = _lock(application)
    if application.status != ApplicationStatus.SUBMITTED:
        raise ValidationError("只有待初审的申请可以按简易程序直接入会。", code="state")
    if licence is None or licence.application_id != application.pk:
        raise ValidationError("请选择申请人本人提交的执业资格证书。", code="licence")
    if licence.kind not in LICENSED_KINDS:
        raise ValidationError(
            "简易程序只适用于心理咨询师、心理治疗师、社会工作师、医师等执业资格。", code="not_licensed"
        )
    if licence.expires_on and licence.expires_on < selectors.today():
        raise ValidationError("该执业资格证书已过期，不能按简易程序入会。", code="expired")
    application.licence = licence
    application.reviewed_by, application.reviewed_at = actor, _now()
    application.review_note = f"简易程序：{licence.get_kind_display()}"
    application.save(update_fields=["licence", "reviewed_by", "reviewed_at", "review_note"])
    _admit(actor=actor, application=application, route=AdmissionRoute.SIMPLIFIED, note=application.review_note)
    return application


def _admit(*, actor, application: Application, route: str, note: str) -> Member:
    """Create the account (role ``member`` at the association root) and the member; tell the applicant."""
    from apps.notifications.services import notify_user

    association = application.association
    user = User(
        username=_free_username(association),
        full_name=application.name,
        mobile=application.phone,
        email=application.email,
        unit=association,
    )
    user.set_unusable_password()
    user.save()
    log_change(actor, user, {}, snapshot(user), purpose="入会创建会员账号")
    member = do_create_member(
        actor=None,
        association=association,
        user=user,
        name=application.name,
        gender=application.gender,
        id_number=application.id_number,
        phone=application.phone,
        employer=application.employer,
        joined_on=selectors.today(),
        photo_from=application.photo,
    )
    with unscoped("入会：把申请中的证书与意向专委会转到会员档案"):
        for cert in application.certificates.all():
            Certificate.objects.create(
                unit_path=member.unit_path, member=member, kind=cert.kind, number=cert.number, issuer=cert.issuer,
                issued_on=cert.issued_on, expires_on=cert.expires_on, scan=cert.scan.name or "",
            )  # fmt: skip
        committees = list(application.committees.all())
    for committee in committees:
        do_join_committee(actor=None, member=member, committee=committee)
    from_status = application.status
    application.status = ApplicationStatus.ADMITTED
    application.route = route
    application.decided_at = _now()
    application.member = member
    application.save(update_fields=["status", "route", "decided_at", "member"])
    _event(application, from_status, ApplicationStatus.ADMITTED, actor, note)
    notify_user(
        user=user,
        template="generic",
        context={
            "title": "入会申请已获批准",
            "body": f"您已成为{association.name}会员，会员编号 {member.number}。请在申请进度页设置登录密码。",
        },
        url="/membership/me/",
    )
    notices.notify_applicant(application, notices.ADMITTED, member_number=member.number)
    return member


def _free_username(association: OrgUnit) -> str:
    while True:
        name = f"hy{association.pk}-{secrets.randbelow(10**6):06d}"
        if not User.objects.filter(username=name).exists():
            return name


def do_set_initial_password(*, application: Application, secret: str, password: str) -> User:
    """The admitted applicant sets the first password of their new account from the status page."""
    check_application_secret(application, secret)
    if application.status != ApplicationStatus.ADMITTED or application.member is None:
        raise ValidationError("申请尚未获批准。", code="state")
    user = application.member.user
    if user.has_usable_password():
        raise ValidationError("登录密码已设置，请直接登录；忘记密码请联系会员工作部。", code="already_set")
    password_validation.validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        log_event(actor=user, action=AuditAction.UPDATE, obj=user, purpose="新会员设置初始密码")
    return user


# --- members (H-MEM-3, H-MEM-4, H-ORG-3) ----------------------------------------------------------------


@transaction.atomic
def do_create_member(
    *,
    actor,
    association: OrgUnit,
    user: User,
    name: str,
    joined_on: dt.date,
    gender: str = "",
    id_number: str = "",
    phone: str = "",
    employer: str = "",
    photo_from=None,
) -> Member:
    """Give ``user`` the next member number of the association (YYYY-NNNN) and the ``member`` role."""
    check_association(association)
    _require(actor, Perm.MEMBERSHIP_MANAGE, Member(association=association, unit_path=association.path))
    OrgUnit.objects.select_for_update().filter(pk=association.pk).first()  # one number at a time
    year = joined_on.year
    seq = (
        Member.objects.filter(association=association, number_year=year).aggregate(m=Max("number_seq"))["m"] or 0
    ) + 1
    member = Member(
        association=association,
        unit_path=association.path,
        user=user,
        number=f"{year}-{seq:04d}",
        number_year=year,
        number_seq=seq,
        name=name,
        gender=gender,
        id_number=id_number,
        phone=phone,
        employer=employer,
        joined_on=joined_on,
        card_token=secrets.token_urlsafe(32),
    )
    if photo_from:
        member.photo.name = photo_from.name
    member.save()
    role = Role.objects.get(code=MEMBER_ROLE)
    Assignment.objects.get_or_create(user=user, unit=association, role=role, defaults={"created_by": actor})
    forget_grant(user)
    log_change(actor, member, {}, snapshot(member), purpose="登记会员")
    return member


@transaction.atomic
def do_set_member_photo(*, actor, member: Member, photo) -> Member:
    _require(actor, Perm.MEMBERSHIP_MANAGE, member)
    check_photo(photo)
    before = snapshot(member)
    member.photo.save(f"{secrets.token_hex(16)}.{_ext(photo)}", photo, save=False)
    member.save(update_fields=["photo"])
    log_change(actor, member, before, snapshot(member), purpose="更换会员照片")
    return member


def _require_active(member: Member) -> None:
    if member.status != MemberStatus.ACTIVE:
        raise ValidationError("该会员资格已撤销。", code="revoked")


@transaction.atomic
def do_join_committee(*, actor, member: Member, committee: OrgUnit) -> CommitteeMembership:
    """H-ORG-3: join a specialty committee (at most two) and get role ``member`` at its unit."""
    _require(actor, Perm.MEMBERSHIP_MANAGE, member)
    _require_active(member)
    check_committees(member.association, [committee])
    Member.objects.select_for_update().filter(pk=member.pk).first()
    active = list(CommitteeMembership.objects.filter(member=member, left_on__isnull=True))
    if any(row.committee_id == committee.pk for row in active):
        raise ValidationError("该会员已在此专业委员会。", code="duplicate")
    if len(active) >= MAX_COMMITTEES:
        raise ValidationError("每位会员最多参加两个专业委员会，请先退出一个。", code="too_many_committees")
    slot = ({1, 2} - {row.slot for row in active}).pop()
    row = CommitteeMembership.objects.create(
        member=member,
        committee=committee,
        association=member.association,
        unit_path=member.unit_path,
        slot=slot,
        joined_on=selectors.today(),
    )
    Assignment.objects.get_or_create(
        user=member.user, unit=committee, role=Role.objects.get(code=MEMBER_ROLE), defaults={"created_by": actor}
    )
    forget_grant(member.user)
    log_change(actor, row, {}, snapshot(row), purpose="加入专业委员会")
    return row


@transaction.atomic
def do_leave_committee(*, actor, membership: CommitteeMembership) -> CommitteeMembership:
    _require(actor, Perm.MEMBERSHIP_MANAGE, membership)
    if membership.left_on is not None:
        raise ValidationError("该会员已退出此专业委员会。", code="state")
    before = snapshot(membership)
    membership.left_on = selectors.today()
    membership.save(update_fields=["left_on"])
    Assignment.objects.filter(user=membership.member.user, unit=membership.committee, role__code=MEMBER_ROLE).delete()
    forget_grant(membership.member.user)
    log_change(actor, membership, before, snapshot(membership), purpose="退出专业委员会")
    return membership


@transaction.atomic
def do_add_certificate(*, actor, member: Member, data: dict) -> Certificate:
    _require(actor, Perm.MEMBERSHIP_MANAGE, member)
    cert = _save_certificate(check_certificate(data), unit_path=member.unit_path, member=member)
    log_change(actor, cert, {}, snapshot(cert, exclude=("number",)), purpose="登记会员资格证书")
    return cert


# --- dues (H-MEM-3) ---------------------------------------------------------------------------------------


MAX_DUES = Decimal("100000")


def check_amount(value, label: str = "金额") -> Decimal:
    """An amount of 0 to 100,000 yuan, as typed (full-width digits, spaces, ¥ accepted: apps.core.money)."""
    return parse_amount(value, label, allow_zero=True, max_amount=MAX_DUES)


def check_year(year) -> int:
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise ValidationError("年度格式不正确。", code="year") from None
    if not 2000 <= year <= selectors.today().year + 1:
        raise ValidationError("年度须在 2000 年至明年之间。", code="year")
    return year


@transaction.atomic
def do_set_dues_rate(*, actor, association: OrgUnit, year: int, tier: str, amount) -> DuesRate:
    """Set the yearly dues of a tier (configuration per association)."""
    check_association(association)
    _require(actor, Perm.DUES_MANAGE, DuesRate(association=association, unit_path=association.path))
    if tier not in Tier.values:
        raise ValidationError("请选择会员类别。", code="tier")
    year, amount = check_year(year), check_amount(amount)
    rate = DuesRate.objects.filter(association=association, year=year, tier=tier).first()
    before = snapshot(rate) if rate else {}
    if rate is None:
        rate = DuesRate(association=association, unit_path=association.path, year=year, tier=tier)
    rate.amount = amount
    rate.save()
    log_change(actor, rate, before, snapshot(rate), purpose="设置会费标准")
    return rate


@transaction.atomic
def do_record_payment(
    *,
    actor,
    member: Member,
    year: int,
    amount,
    paid_on: dt.date,
    method: str,
    receipt_number: str,
    is_supplement: bool = False,
    supplement_reason: str = "",
) -> DuesPayment:
    """H-MEM-3: one line of the dues ledger, with a receipt number unique in the association.

    A member pays a year's dues once: a second payment for the same member and year (the
    ledger's one kind of dues, the year's standard for the tier) is refused unless it is marked
    as a supplement (补缴, e.g. the difference after a change of tier) with its reason.
    """
    _require(actor, Perm.DUES_MANAGE, member)
    _require_active(member)
    year = check_year(year)
    try:
        amount = check_amount(amount, "缴费金额")
    except ValidationError as error:
        raise ValidationError({"amount": error}) from None
    if amount <= 0:
        raise ValidationError({"amount": ValidationError("缴费金额须大于 0。", code="amount")})
    supplement_reason = (supplement_reason or "").strip()
    if is_supplement and not supplement_reason:
        raise ValidationError({"supplement_reason": ValidationError("补缴须写明原因。", code="supplement_reason")})
    if len(supplement_reason) > 200:
        raise ValidationError(
            {"supplement_reason": ValidationError("补缴原因不能超过 200 个字。", code="supplement_reason")}
        )
    if year < member.joined_on.year:
        raise ValidationError(
            f"该会员于 {member.joined_on:%Y-%m-%d} 入会，不能登记入会前（{year} 年）的会费。", code="before_joined"
        )
    if method not in DuesMethod.values:
        raise ValidationError("请选择缴费方式。", code="method")
    if paid_on is None or paid_on > selectors.today():
        raise ValidationError("缴费日期不能晚于今天。", code="paid_on")
    receipt_number = (receipt_number or "").strip()
    if not receipt_number or len(receipt_number) > 40:
        raise ValidationError("请填写收据编号（不超过 40 个字符）。", code="receipt")
    if DuesPayment.objects.filter(association=member.association, receipt_number=receipt_number).exists():
        raise ValidationError(f"收据编号“{receipt_number}”已登记过。", code="receipt_duplicate")
    # One payment decision per member at a time: lock the member row, then look at the year's ledger.
    Member.objects.select_for_update().filter(pk=member.pk).first()
    earlier = (
        DuesPayment.objects.filter(member=member, year=year)
        .order_by("paid_on", "id")
        .values_list("receipt_number", "paid_on", "amount")
    )
    if earlier and not is_supplement:
        receipt, on, paid = earlier[0]
        raise ValidationError(
            {
                "is_supplement": ValidationError(
                    f"{member.name}的 {year} 年度会费已于 {on:%Y-%m-%d} 登记（收据 {receipt}，{format_money(paid)}），"
                    "不能重复登记；如确需补缴，请勾选“补缴”并写明原因。",
                    code="dues_duplicate",
                )
            }
        )
    if not is_supplement:
        supplement_reason = ""
    payment = DuesPayment.objects.create(
        association=member.association,
        unit_path=member.unit_path,
        member=member,
        year=year,
        amount=amount,
        paid_on=paid_on,
        method=method,
        receipt_number=receipt_number,
        is_supplement=bool(is_supplement),
        supplement_reason=supplement_reason,
        recorded_by=actor,
    )
    log_change(actor, payment, {}, snapshot(payment), purpose="登记会费补缴" if is_supplement else "登记会费")
    return payment


# --- bodies and positions (H-ORG-1, H-ORG-4) --------------------------------------------------------------


def ensure_bodies(association: OrgUnit) -> dict[str, Body]:
    """The four bodies of an association, created on first use."""
    bodies = {b.kind: b for b in Body.objects.filter(association=association)}
    for kind, label in BodyKind.choices:
        if kind not in bodies:
            bodies[kind] = Body.objects.create(
                association=association, unit_path=association.path, kind=kind, name=label
            )
    return bodies


@transaction.atomic
def do_appoint(
    *,
    actor,
    member: Member,
    kind: str,
    term_start: dt.date,
    term_end: dt.date | None = None,
    unit: OrgUnit | None = None,
    filing_date: dt.date | None = None,
    filing_number: str = "",
) -> Position:
    """H-ORG-4: give a member a position with a term, in its body or in a department/committee."""
    _require(actor, Perm.POSITION_MANAGE, member)
    _require_active(member)
    if kind not in PositionKind.values:
        raise ValidationError("请选择职务。", code="kind")
    if term_start is None:
        raise ValidationError("请填写任期开始日期。", code="term_start")
    if term_end is not None and term_end < term_start:
        raise ValidationError("任期届满日期不能早于开始日期。", code="term_order")
    body = None
    if kind in DEPARTMENT_POSITIONS or kind in COMMITTEE_POSITIONS:
        want = UnitKind.DEPARTMENT if kind in DEPARTMENT_POSITIONS else UnitKind.COMMITTEE
        if unit is None or unit.kind != want or unit.parent_id != member.association_id:
            raise ValidationError(
                "请选择本协会的部门。" if want == UnitKind.DEPARTMENT else "请选择本协会的专业委员会。", code="unit"
            )
    else:
        unit = None
        body = ensure_bodies(member.association)[POSITION_BODY[kind]]
    filing_number = (filing_number or "").strip()
    if kind not in FILED_POSITIONS and (filing_date or filing_number):
        raise ValidationError("只有秘书长及以上职务需要登记管理机关备案。", code="filing_not_needed")
    if bool(filing_date) != bool(filing_number):
        raise ValidationError("备案日期与备案文号须同时填写。", code="filing_pair")
    # One appointment at a time per association: lock the association row, as member numbering does.
    OrgUnit.objects.select_for_update().filter(pk=member.association_id).first()
    check_no_overlapping_position(
        member=member, kind=kind, body=body, unit=unit, term_start=term_start, term_end=term_end
    )
    position = Position.objects.create(
        association=member.association,
        unit_path=member.unit_path,
        member=member,
        kind=kind,
        body=body,
        unit=unit,
        term_start=term_start,
        term_end=term_end,
        filing_date=filing_date,
        filing_number=filing_number,
    )
    log_change(actor, position, {}, snapshot(position), purpose="任命职务")
    return position


def _overlapping(positions, term_start: dt.date, term_end: dt.date | None):
    """Positions whose term (to ``term_end``, or to the day before an early ``ended_on``) meets [start, end]."""
    rows = positions.filter(Q(term_end__isnull=True) | Q(term_end__gte=term_start)).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gt=term_start)
    )
    if term_end is not None:
        rows = rows.filter(term_start__lte=term_end)
    return rows


def check_no_overlapping_position(
    *, member: Member, kind: str, body: Body | None, unit: OrgUnit | None, term_start: dt.date, term_end
) -> None:
    """H-ORG-4: no second appointment of the same person to the same position in the same body or unit
    for an overlapping term, and no second holder of a single-holder position (会长, 秘书长, 专委会主任)."""
    same_place = Position.objects.filter(association_id=member.association_id, kind=kind, body=body, unit=unit)
    label = PositionKind(kind).label
    place = body.name if body is not None else (unit.name if unit is not None else "")
    if _overlapping(same_place.filter(member=member), term_start, term_end).exists():
        raise ValidationError(
            f"{member.name}已在{place}担任{label}，任期与本次任命重叠，不能重复任命。", code="duplicate_position"
        )
    if kind in SINGLE_HOLDER_POSITIONS:
        holder = (
            _overlapping(same_place.exclude(member=member), term_start, term_end)
            .select_related("member")
            .order_by("term_start")
            .first()
        )
        if holder is not None:
            end = f"{holder.term_end:%Y-%m-%d}" if holder.term_end else "未定"
            raise ValidationError(
                f"{place}的{label}只能由一人担任：{holder.member.number} {holder.member.name}"
                f"的任期（{holder.term_start:%Y-%m-%d} 至 {end}）与本次任命重叠，请先登记其卸任。",
                code="single_holder",
            )


@transaction.atomic
def do_record_filing(*, actor, position: Position, filing_date: dt.date, filing_number: str) -> Position:
    """H-ORG-4: record the filing of a secretary-general-or-above with the registration authority."""
    _require(actor, Perm.POSITION_MANAGE, position)
    if position.kind not in FILED_POSITIONS:
        raise ValidationError("只有秘书长及以上职务需要登记管理机关备案。", code="filing_not_needed")
    filing_number = (filing_number or "").strip()
    if filing_date is None or not filing_number:
        raise ValidationError("请填写备案日期与备案文号。", code="filing_pair")
    before = snapshot(position)
    position.filing_date, position.filing_number = filing_date, filing_number[:50]
    position.save(update_fields=["filing_date", "filing_number"])
    log_change(actor, position, before, snapshot(position), purpose="登记备案")
    return position


@transaction.atomic
def do_end_position(*, actor, position: Position, ended_on: dt.date) -> Position:
    _require(actor, Perm.POSITION_MANAGE, position)
    if position.ended_on is not None:
        raise ValidationError("该职务已卸任。", code="state")
    if ended_on is None or ended_on < position.term_start:
        raise ValidationError("卸任日期不能早于任期开始。", code="ended_on")
    before = snapshot(position)
    position.ended_on = ended_on
    position.save(update_fields=["ended_on"])
    log_change(actor, position, before, snapshot(position), purpose="卸任")
    return position


# --- conduct (H-MEM-5, H-MEM-6, H-SVC-5) -----------------------------------------------------------------


@transaction.atomic
def do_register_complaint(
    *, actor, member: Member, complainant: str, contact: str, principle: str, description: str, received_on
) -> EthicsComplaint:
    """H-SVC-5: register an ethics complaint against a member."""
    _require(actor, Perm.CONDUCT_MANAGE, member)
    complainant, description = (complainant or "").strip(), (description or "").strip()
    if not complainant:
        raise ValidationError("请填写投诉人。", code="complainant")
    if principle not in EthicsPrinciple.values:
        raise ValidationError("请选择涉及的伦理原则。", code="principle")
    if not description:
        raise ValidationError("请填写投诉内容。", code="description")
    if received_on is None or received_on > selectors.today():
        raise ValidationError("收到日期不能晚于今天。", code="received_on")
    complaint = EthicsComplaint.objects.create(
        association=member.association,
        unit_path=member.unit_path,
        member=member,
        complainant=complainant[:50],
        complainant_contact=(contact or "").strip()[:50],
        principle=principle,
        description=description,
        received_on=received_on,
        recorded_by=actor,
    )
    log_event(actor=actor, action=AuditAction.CREATE, obj=complaint, purpose="登记伦理投诉")
    return complaint


@transaction.atomic
def do_decide_complaint(*, actor, complaint: EthicsComplaint, upheld: bool, decision: str) -> EthicsComplaint:
    """H-SVC-5: decide a registered complaint (upheld or dismissed) with the reasons."""
    _require(actor, Perm.CONDUCT_MANAGE, complaint)
    complaint = EthicsComplaint.objects.select_for_update().get(pk=complaint.pk)
    if complaint.status != ComplaintStatus.RECEIVED:
        raise ValidationError("该投诉已处理。", code="state")
    decision = (decision or "").strip()
    if not decision:
        raise ValidationError("请填写处理结论。", code="decision")
    complaint.status = ComplaintStatus.UPHELD if upheld else ComplaintStatus.DISMISSED
    complaint.decision, complaint.decided_on, complaint.decided_by = decision, selectors.today(), actor
    complaint.save(update_fields=["status", "decision", "decided_on", "decided_by"])
    log_event(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=complaint,
        changes={"status": {"before": ComplaintStatus.RECEIVED, "after": complaint.status}},
        purpose="伦理投诉处理",
    )
    return complaint


@transaction.atomic
def do_record_conduct(*, actor, member: Member, kind: str, title: str, detail: str, decided_on) -> ConductRecord:
    """H-MEM-6: record an assessment, reward or sanction."""
    _require(actor, Perm.CONDUCT_MANAGE, member)
    if kind not in ConductKind.values:
        raise ValidationError("请选择考核、奖励或惩处。", code="kind")
    title = (title or "").strip()
    if not title:
        raise ValidationError("请填写事项。", code="title")
    if decided_on is None:
        raise ValidationError("请填写决定日期。", code="decided_on")
    row = ConductRecord.objects.create(
        association=member.association,
        unit_path=member.unit_path,
        member=member,
        kind=kind,
        title=title[:100],
        detail=(detail or "").strip(),
        decided_on=decided_on,
        recorded_by=actor,
    )
    log_change(actor, row, {}, snapshot(row), purpose="记录考核奖惩")
    return row


@transaction.atomic
def do_revoke_membership(
    *,
    actor,
    member: Member,
    body: Body | None,
    reason: str,
    meeting_date,
    resolution_number: str,
    votes_for: int,
    votes_against: int,
    votes_abstain: int,
    detail: str,
    complaint: EthicsComplaint | None = None,
) -> Revocation:
    """H-MEM-5: revoke by a recorded vote of the board or standing board, for one of the four reasons.

    The member record stays, marked revoked; member-role assignments, committee memberships and
    positions end; the card's verification page then says 已撤销.
    """
    _require(actor, Perm.CONDUCT_MANAGE, member)
    member = Member.objects.select_for_update().get(pk=member.pk)
    _require_active(member)
    revoking_bodies = (BodyKind.BOARD, BodyKind.STANDING_BOARD)
    if body is None or body.association_id != member.association_id or body.kind not in revoking_bodies:
        raise ValidationError("撤销会员资格只能由本协会理事会或常务理事会表决决定。", code="body")
    if reason not in RevocationReason.values:
        raise ValidationError("撤销事由须为会员手册所列四种情形之一。", code="reason")
    if reason == RevocationReason.ETHICS_COMPLAINT:
        complaint = EthicsComplaint.objects.filter(pk=complaint.pk).first() if complaint is not None else None
        if complaint is None or complaint.member_id != member.pk or complaint.status != ComplaintStatus.UPHELD:
            raise ValidationError("以伦理投诉为由撤销，须选择针对该会员且已认定成立的投诉。", code="complaint")
    else:
        complaint = None
    resolution_number, detail = (resolution_number or "").strip(), (detail or "").strip()
    if not resolution_number:
        raise ValidationError("请填写决议文号。", code="resolution")
    if not detail:
        raise ValidationError("请填写情况说明。", code="detail")
    if meeting_date is None or meeting_date > selectors.today():
        raise ValidationError("表决日期不能晚于今天。", code="meeting_date")
    if meeting_date < member.joined_on:
        raise ValidationError(
            f"表决日期不能早于该会员的入会日期（{member.joined_on:%Y-%m-%d}）。", code="meeting_date_before_joined"
        )
    counts = [votes_for, votes_against, votes_abstain]
    if any(c is None or int(c) < 0 for c in counts):
        raise ValidationError("票数须为非负整数。", code="votes")
    seats = selectors.seats_on(member.association, body.kind, meeting_date)
    if sum(int(c) for c in counts) > seats:
        raise ValidationError(
            f"{meeting_date:%Y-%m-%d}{body.name}共有现任成员 {seats} 人，"
            f"同意、反对、弃权票合计（{sum(int(c) for c in counts)}）不能超过 {seats}。",
            code="votes_exceed_seats",
        )
    numerator, denominator = selectors.vote_quorum(member.association)
    required = max(1, -(-seats * numerator // denominator))  # H-MEM-2's quorum applies to this vote too
    if sum(int(c) for c in counts) < required:
        raise ValidationError(
            f"未达到法定人数：本协会规定{selectors.quorum_rule_text(numerator, denominator)}。"
            f"{meeting_date:%Y-%m-%d}{body.name}共有现任成员 {seats} 人，至少须 {required} 人投票，"
            f"登记的票数合计只有 {sum(int(c) for c in counts)} 票。",
            code="quorum",
        )
    if not vote_passes(*(int(c) for c in counts)):
        raise ValidationError("表决未获半数以上同意，不能撤销会员资格。", code="vote_failed")
    revocation = Revocation.objects.create(
        association=member.association,
        unit_path=member.unit_path,
        member=member,
        body=body,
        reason=reason,
        complaint=complaint,
        meeting_date=meeting_date,
        resolution_number=resolution_number[:50],
        votes_for=votes_for,
        votes_against=votes_against,
        votes_abstain=votes_abstain,
        detail=detail,
        recorded_by=actor,
    )
    before = snapshot(member)
    member.status, member.revoked_on = MemberStatus.REVOKED, meeting_date
    member.save(update_fields=["status", "revoked_on"])
    today = selectors.today()
    CommitteeMembership.objects.filter(member=member, left_on__isnull=True).update(left_on=today)
    Position.objects.filter(member=member, ended_on__isnull=True).update(ended_on=max(today, meeting_date))
    association_units = OrgUnit.objects.filter(path__startswith=member.association.path)
    ended = Assignment.objects.filter(user=member.user, unit__in=association_units, role__code=MEMBER_ROLE)
    for assignment in ended:
        log_change(actor, assignment, snapshot(assignment), {}, purpose="撤销会员资格：结束会员角色")
    ended.delete()
    forget_grant(member.user)
    log_change(actor, revocation, {}, snapshot(revocation), purpose="撤销会员资格")
    log_change(actor, member, before, snapshot(member), purpose="撤销会员资格")
    return revocation
