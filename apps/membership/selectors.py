"""Reads of the membership module, scoped to the acting user where a user asks."""

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from apps.core.access import active_grant, can, scope
from apps.core.perms import Perm
from apps.core.scoping import unscoped
from apps.orgs.choices import UnitKind
from apps.orgs.models import OrgUnit

from .choices import (
    BODY_INCLUDES,
    BUILDER_POSITIONS,
    LEADER_POSITIONS,
    MEMBER_ROLE,
    ApplicationStatus,
    BodyKind,
    MemberStatus,
    Tier,
)
from .models import (
    Application,
    Certificate,
    CommitteeMembership,
    DuesPayment,
    DuesRate,
    Member,
    MembershipSettings,
    Position,
)

EXPIRY_WARNING_DAYS = 60


def today() -> dt.date:
    return timezone.localdate()


def association_of(unit: OrgUnit) -> OrgUnit | None:
    """The association (root of kind ``association``) a unit belongs to, or None."""
    if unit is None:
        return None
    root_id = int(unit.path.strip("/").split("/")[0])
    root = unit if unit.pk == root_id else OrgUnit.objects.filter(pk=root_id).first()
    return root if root is not None and root.kind == UnitKind.ASSOCIATION else None


def associations_for(user, perm: str):
    """Associations in which ``user`` holds ``perm`` (their active grant covers the root)."""
    return scope(OrgUnit.objects.filter(kind=UnitKind.ASSOCIATION, is_active=True), user, perm).order_by("name")


def committees_of(association: OrgUnit):
    return OrgUnit.objects.filter(parent=association, kind=UnitKind.COMMITTEE, is_active=True).order_by("code", "id")


def departments_of(association: OrgUnit):
    return OrgUnit.objects.filter(parent=association, kind=UnitKind.DEPARTMENT, is_active=True).order_by("code", "id")


def current_positions(on: dt.date | None = None):
    """Positions whose term covers ``on`` (default today) and that were not ended early."""
    on = on or today()
    return Position.objects.filter(
        Q(term_start__lte=on),
        Q(term_end__isnull=True) | Q(term_end__gte=on),
        Q(ended_on__isnull=True) | Q(ended_on__gt=on),
        member__status=MemberStatus.ACTIVE,
    )


def current_holders(association_unit: OrgUnit, body_kind: str, on: dt.date | None = None) -> list:
    """H-ORG-1: the users holding a current position in ``body_kind`` of the association.

    The standing board is drawn from the board, so its holders count as board members. The
    general assembly is every active member.
    """
    from apps.accounts.models import User

    if body_kind == BodyKind.GENERAL_ASSEMBLY:
        users = Member.objects.filter(association=association_unit, status=MemberStatus.ACTIVE).values("user_id")
    else:
        kinds = BODY_INCLUDES.get(body_kind, (body_kind,))
        users = (
            current_positions(on).filter(association=association_unit, body__kind__in=kinds).values("member__user_id")
        )
    return list(User.objects.filter(pk__in=users, is_active=True).order_by("id"))


def seats_on(association_unit: OrgUnit, body_kind: str, on: dt.date) -> int:
    """H-MEM-5: how many people sat in ``body_kind`` (the board includes the standing board) on ``on``.

    Counted from the positions whose term covered that day, whatever became of the holders later
    (a director revoked since still sat on that day).
    """
    kinds = BODY_INCLUDES.get(body_kind, (body_kind,))
    return (
        Position.objects.filter(
            Q(term_start__lte=on),
            Q(term_end__isnull=True) | Q(term_end__gte=on),
            Q(ended_on__isnull=True) | Q(ended_on__gt=on),
            association=association_unit,
            body__kind__in=kinds,
        )
        .values("member_id")
        .distinct()
        .count()
    )


def is_board_member(user, association_unit: OrgUnit) -> bool:
    return (
        current_positions()
        .filter(association=association_unit, body__kind__in=BODY_INCLUDES[BodyKind.BOARD], member__user=user)
        .exists()
    )


def member_grant_association(user) -> OrgUnit | None:
    """The association in which ``user`` acts through their own ``member`` assignment, or None.

    That is the active grant (one per request, apps.core.access) when its role is ``member`` and
    its unit — the association root or one of its committees — belongs to an active association.
    """
    grant = active_grant(user)
    if grant is None or grant.role_code != MEMBER_ROLE:
        return None
    root_id = int(grant.unit_path.strip("/").split("/")[0])
    return OrgUnit.objects.filter(pk=root_id, kind=UnitKind.ASSOCIATION, is_active=True, parent__isnull=True).first()


def board_seat_association(user) -> OrgUnit | None:
    """H-MEM-2: the association where ``user``, acting as a member, holds a current board/standing-board seat.

    The handbook gives the vote on admissions to the board's members: the seat, not a separate
    role, carries it. None when the active grant is not a ``member`` assignment or no current
    position in the board or standing board of that association is held.
    """
    association = member_grant_association(user)
    if association is None or not is_board_member(user, association):
        return None
    return association


def application_for_voter(user, pk) -> Application:
    """The application a voter opens (page or API): in MEMBERSHIP_VOTE scope, or — for a board seat held
    as a member — one of that association's put to the board vote. 404 for missing and forbidden alike."""
    from django.http import Http404

    from apps.core.access import access_by_id
    from apps.core.scoping import unscoped

    if can(user, Perm.MEMBERSHIP_VOTE):
        return access_by_id(Application.objects.select_related("association", "vote"), pk, user, Perm.MEMBERSHIP_VOTE)
    association = board_seat_association(user)
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    if association is None:
        raise Http404
    with unscoped("现任理事以会员身份表决：只取本会已提交理事会表决的申请"):
        application = (
            Application.objects.select_related("association", "vote")
            .filter(pk=pk, association=association, vote__isnull=False)
            .first()
        )
    if application is None:
        raise Http404
    return application


def may_vote_as(user, application: Application) -> bool:
    """Whether ``user``'s active grant lets them take part in the admission vote on ``application``.

    Either a role holding MEMBERSHIP_VOTE over it (e.g. ``board_member``), or their ``member``
    assignment in that association. A current board/standing-board position is required on top
    of either (``is_board_member``; checked by the service and ``awaiting_my_ballot``).
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if can(user, Perm.MEMBERSHIP_VOTE, application):
        return True
    association = member_grant_association(user)
    return association is not None and association.pk == application.association_id


def awaiting_my_ballot(user) -> list[Application]:
    """H-MEM-2: open admission votes where ``user`` holds a current seat, may vote as now acting, and has not voted."""
    seats = (
        current_positions()
        .filter(body__kind__in=BODY_INCLUDES[BodyKind.BOARD], member__user=user)
        .values("association_id")
    )
    with unscoped("表决人本人：所任理事会的待表决申请（随后逐条核对表决资格）"):
        rows = list(
            Application.objects.filter(
                association_id__in=seats, status=ApplicationStatus.VOTING, vote__closed_at__isnull=True
            )
            .exclude(vote__ballots__voter=user)
            .select_related("association")
            .order_by("id")
        )
    return [application for application in rows if may_vote_as(user, application)]


def tier_from_kinds(kinds) -> str:
    """H-MEM-4: leader if any leader position, builder if a director or department staff, else participant."""
    kinds = set(kinds)
    if kinds & LEADER_POSITIONS:
        return Tier.LEADER
    if kinds & BUILDER_POSITIONS:
        return Tier.BUILDER
    return Tier.PARTICIPANT


def tiers_of(member_ids, on: dt.date | None = None) -> dict[int, str]:
    """{member id: tier} for many members in one query."""
    kinds = defaultdict(set)
    for member_id, kind in (
        current_positions(on).filter(member_id__in=list(member_ids)).values_list("member_id", "kind")
    ):
        kinds[member_id].add(kind)
    return {member_id: tier_from_kinds(kinds.get(member_id, ())) for member_id in member_ids}


def tier_of(member: Member) -> str:
    return tiers_of([member.pk])[member.pk]


def members_for_user(user):
    """The user's own member records (one per association), for self-service."""
    return Member.objects.filter(user=user).select_related("association").order_by("id")


def application_by_reference(reference: str) -> Application | None:
    from apps.core.scoping import unscoped

    with unscoped("公开申请进度查询：按申请编号与查询码核对申请人本人"):
        return Application.objects.filter(reference=normalize_reference(reference)).first()


def normalize_reference(reference: str) -> str:
    """An application number as typed → as stored: case-insensitive, full-width and spaces tolerated,
    and in its digits the look-alikes O→0 and I/L→1 (``SQ2026O1234567`` finds ``SQ20260123…``)."""
    import unicodedata

    text = "".join(ch for ch in unicodedata.normalize("NFKC", reference or "") if not ch.isspace() and ch != "-")
    text = text.upper()
    if text.startswith("SQ"):
        text = "SQ" + text[2:].translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    return text


def member_by_card_token(token: str) -> Member | None:
    return Member.objects.filter(card_token=token).select_related("association").first()


def dues_owed(due: Decimal | None, paid: Decimal | None) -> Decimal:
    """H-MEM-3: what is still owed for one year: the year's standard for the tier minus the year's payments.

    The one arithmetic behind the arrears list (``dues_status``) and the card's validity
    (``paid_years``): a year counts as paid only when this is zero.
    """
    return max((due or Decimal("0")) - (paid or Decimal("0")), Decimal("0"))


def paid_years(member: Member) -> list[int]:
    """H-MEM-3: the years with payments whose sum reaches that year's standard for the member's tier."""
    totals = dict(member.payments.values("year").annotate(total=Sum("amount")).values_list("year", "total"))
    if not totals:
        return []
    tier = tier_of(member)
    rates = dict(
        DuesRate.objects.filter(association_id=member.association_id, tier=tier, year__in=list(totals)).values_list(
            "year", "amount"
        )
    )
    return sorted(year for year, total in totals.items() if dues_owed(rates.get(year), total) == 0)


def card_valid_until(member: Member) -> dt.date | None:
    """The card is valid to the end of the last year whose dues were paid in full."""
    years = paid_years(member)
    return dt.date(years[-1], 12, 31) if years else None


def card_state(member: Member, on: dt.date | None = None) -> dict:
    """H-MEM-3: whether the membership card is valid on ``on`` (default today), and why not, said plainly.

    Valid only for an active member whose dues are paid in full up to the current year; a card
    of a member with unpaid dues is never shown as valid (card page, PDF, verification page).
    """
    on = on or today()
    valid_until = card_valid_until(member)
    if member.status == MemberStatus.REVOKED:
        state, label = "revoked", "已撤销"
        message = (
            f"该会员资格已于 {member.revoked_on:%Y-%m-%d} 撤销，此会员证失效。"
            if member.revoked_on
            else "该会员资格已撤销，此会员证失效。"
        )
    elif valid_until is not None and valid_until >= on:
        state, label, message = (
            "valid",
            "有效",
            f"会费已缴至 {valid_until.year} 年度，会员证有效期至 {valid_until:%Y-%m-%d}。",
        )
    else:
        state, label = "unpaid", "会费未缴 · 无效"
        last = f"（最近缴清的是 {valid_until.year} 年度）" if valid_until else ""
        message = f"{on.year} 年度会费未缴清{last}，此会员证无效；缴清会费后恢复有效。"
    short = {"revoked": "会员资格已撤销，本证无效", "unpaid": f"{on.year} 年度会费未缴清，本证无效"}.get(state, "")
    return {
        "state": state,
        "valid": state == "valid",
        "label": label,
        "message": message,
        "short": short,
        "valid_until": valid_until,
    }


def rates_for(association: OrgUnit, year: int) -> dict[str, Decimal]:
    return {r.tier: r.amount for r in DuesRate.objects.filter(association=association, year=year)}


def dues_status(association: OrgUnit, year: int, members) -> list[dict]:
    """Per member: tier, amount due, amount paid, arrears for ``year`` (three queries in all)."""
    members = list(members)
    ids = [m.pk for m in members]
    tiers = tiers_of(ids)
    rates = rates_for(association, year)
    paid = dict(
        DuesPayment.objects.filter(member_id__in=ids, year=year)
        .values("member_id")
        .annotate(total=Sum("amount"))
        .values_list("member_id", "total")
    )
    rows = []
    for m in members:
        due = rates.get(tiers[m.pk], Decimal("0"))
        got = paid.get(m.pk) or Decimal("0")
        rows.append({"member": m, "tier": tiers[m.pk], "due": due, "paid": got, "owed": dues_owed(due, got)})
    return rows


def arrears(association: OrgUnit, year: int) -> list[dict]:
    """H-MEM-3: active members who joined by the end of ``year`` and paid less than their tier's dues."""
    members = Member.objects.filter(
        association=association, status=MemberStatus.ACTIVE, joined_on__lte=dt.date(year, 12, 31)
    ).order_by("number")
    return [row for row in dues_status(association, year, members) if row["owed"] > 0]


def expiring_certificates(association: OrgUnit, days: int = EXPIRY_WARNING_DAYS):
    from .models import Certificate

    now = today()
    return (
        Certificate.objects.filter(
            member__association=association,
            member__status=MemberStatus.ACTIVE,
            expires_on__isnull=False,
            expires_on__lte=now + dt.timedelta(days=days),
        )
        .select_related("member")
        .order_by("expires_on", "id")
    )


def dashboard(association: OrgUnit, year: int) -> dict:
    """Members by tier and committee, applications by stage, dues collected and owed for ``year``."""
    from apps.core.scoping import unscoped

    active = Member.objects.filter(association=association, status=MemberStatus.ACTIVE)
    ids = list(active.values_list("id", flat=True))
    tiers = Counter(tiers_of(ids).values())
    committees = Counter(
        dict(
            CommitteeMembership.objects.filter(association=association, left_on__isnull=True, member__in=active)
            .values("committee__name")
            .annotate(n=Count("id"))
            .values_list("committee__name", "n")
        )
    )
    with unscoped("协会仪表盘按状态统计申请数量（只取计数）"):
        stages = Counter(
            dict(
                Application.objects.filter(association=association)
                .values("status")
                .annotate(n=Count("id"))
                .values_list("status", "n")
            )
        )
    collected = DuesPayment.objects.filter(association=association, year=year).aggregate(total=Sum("amount"))[
        "total"
    ] or Decimal("0")
    owed_rows = arrears(association, year)
    return {
        "member_count": len(ids),
        "revoked_count": Member.objects.filter(association=association, status=MemberStatus.REVOKED).count(),
        "tiers": [(label, tiers.get(value, 0)) for value, label in Tier.choices],
        "committees": [(c.name, committees.get(c.name, 0)) for c in committees_of(association)],
        "stages": [(label, stages.get(value, 0)) for value, label in ApplicationStatus.choices],
        "collected": collected,
        "arrears_count": len(owed_rows),
        "arrears_total": sum((r["owed"] for r in owed_rows), Decimal("0")),
    }


# --- the list pages' rows (pages and exports, X-3) ---------------------------------------------------


def filtered_applications(user, filters):
    rows = Application.objects.visible_to(user, Perm.MEMBERSHIP_VIEW)
    status = str(filters.get("status", ""))
    if status in ApplicationStatus.values:
        rows = rows.filter(status=status)
    return rows


def filtered_members(user, filters):
    """The member list with its filters ``q``, ``status``, ``committee`` and ``tier``."""
    rows = scope(Member.objects.all(), user, Perm.MEMBERSHIP_VIEW)
    q = str(filters.get("q", "")).strip()
    if q:
        rows = rows.filter(Q(number__icontains=q) | Q(name__icontains=q))
    status = str(filters.get("status", ""))
    if status in MemberStatus.values:
        rows = rows.filter(status=status)
    committee = str(filters.get("committee", ""))
    if committee.isdigit():
        rows = rows.filter(committees__committee_id=int(committee), committees__left_on__isnull=True)
    tier = str(filters.get("tier", ""))
    if tier in Tier.values:
        ids = list(rows.values_list("id", flat=True))
        rows = rows.filter(id__in=[i for i, t in tiers_of(ids).items() if t == tier])
    return rows


def expiring_certificates_in_scope(user):
    """Certificates of active members expiring within 60 days or already expired (the page's rows)."""
    return scope(Certificate.objects.filter(member__isnull=False), user, Perm.MEMBERSHIP_VIEW).filter(
        member__status=MemberStatus.ACTIVE,
        expires_on__isnull=False,
        expires_on__lte=today() + dt.timedelta(days=EXPIRY_WARNING_DAYS),
    )


def filtered_positions(user, filters):
    """Positions in scope: the current ones, or every one with ``all=1`` (as the page)."""
    rows = scope(Position.objects.all(), user, Perm.MEMBERSHIP_VIEW)
    if filters.get("all") != "1":
        rows = rows.filter(id__in=current_positions().values("id"))
    return rows


# --- pick-lists of people in an association's pages (meetings, projects, assistance) -------------------


def lapsed_member_users(root_path: str):
    """Users whose membership of the association at ``root_path`` is not active (e.g. revoked) and who
    hold no other (staff) role in that association: they may no longer be chosen for anything there."""
    from apps.accounts.models import Assignment

    staff = (
        Assignment.objects.filter(unit__path__startswith=root_path).exclude(role__code=MEMBER_ROLE).values("user_id")
    )
    return (
        Member.objects.filter(unit_path=root_path)
        .exclude(status=MemberStatus.ACTIVE)
        .exclude(user_id__in=staff)
        .values("user_id")
    )


def root_path_of(path: str) -> str:
    """The path of the tree root (the association) a unit path belongs to."""
    return "/" + path.strip("/").split("/")[0] + "/"


def member_numbers(user_ids) -> dict[int, str]:
    """{user id: member number} of active memberships (the oldest one when a person is in two associations)."""
    numbers = {}
    rows = (
        Member.objects.filter(user_id__in=list(user_ids), status=MemberStatus.ACTIVE)
        .order_by("id")
        .values_list("user_id", "number")
    )
    for user_id, number in rows:
        numbers.setdefault(user_id, number)
    return numbers


def people_labels(users) -> dict[int, str]:
    """{user id: label} for a pick-list: "2026-0007 林雨欣" for an active member (the dues form's
    label), else the name with the person's unit ("林雨欣（会员工作部）"), so equal names differ."""
    users = list(users or [])
    numbers = member_numbers([u.pk for u in users])
    unit_names = dict(OrgUnit.objects.filter(pk__in={u.unit_id for u in users if u.unit_id}).values_list("id", "name"))
    labels = {}
    for user in users:
        if user.pk in numbers:
            labels[user.pk] = f"{numbers[user.pk]} {user.full_name}"
        elif user.unit_id in unit_names:
            labels[user.pk] = f"{user.full_name}（{unit_names[user.unit_id]}）"
        else:
            labels[user.pk] = user.full_name
    return labels


def label_people(field, queryset=None) -> None:
    """Give a ModelChoiceField / ModelMultipleChoiceField of users the ``people_labels`` labels."""
    queryset = field.queryset if queryset is None else queryset
    labels = people_labels(queryset) if queryset is not None else {}
    field.label_from_instance = lambda user: labels.get(user.pk) or user.full_name


# --- board vote quorum (H-MEM-2) ---------------------------------------------------------------------------


def vote_quorum(association_unit: OrgUnit) -> tuple[int, int]:
    """The association's quorum for a board vote as a fraction (numerator, denominator); default 2/3."""
    row = MembershipSettings.objects.filter(association=association_unit).first()
    if row is None:
        return MembershipSettings.DEFAULT_QUORUM
    return row.vote_quorum_numerator, row.vote_quorum_denominator


def quorum_rule_text(numerator: int, denominator: int) -> str:
    return f"应有表决权的理事（含常务理事）{numerator}/{denominator} 以上投票，表决方为有效"


def vote_quorum_status(application: Application) -> dict:
    """H-MEM-2: who is entitled to vote (current board and standing board), who voted, who has not, the quorum.

    ``required`` is the smallest head count reaching the fraction (2/3 of 5 → 4; "以上" includes
    the fraction itself). An abstention is a ballot cast: it counts towards the quorum (and, in
    ``services.vote_passes``, in the denominator).
    """
    from apps.accounts.models import User

    numerator, denominator = vote_quorum(application.association)
    entitled = current_holders(application.association, BodyKind.BOARD)
    vote = getattr(application, "vote", None)
    voter_ids = set(vote.ballots.values_list("voter_id", flat=True)) if vote else set()
    required = max(1, -(-len(entitled) * numerator // denominator))  # ceiling
    voted = list(User.objects.filter(pk__in=voter_ids).order_by("id"))
    return {
        "numerator": numerator,
        "denominator": denominator,
        "rule": quorum_rule_text(numerator, denominator),
        "entitled": entitled,
        "entitled_count": len(entitled),
        "required": required,
        "cast": len(voter_ids),
        "voted": voted,
        "not_voted": [u for u in entitled if u.pk not in voter_ids],
        "met": len(voter_ids) >= required,
    }
