"""Exportable lists of the association's membership (X-3, H-MEM, H-ORG-4, H-SVC-5).

One dataset per list page: applications, members, expiring certificates, the dues ledger, the
arrears list, positions and ethics complaints. Each reads the page's own GET filters, scopes its
query with ``apps.core.access`` exactly as the page does, ignores junk values, and returns every
row the filtered page would show (the pages stop at 500 rows; exports do not). ID numbers,
phones and complaint texts are not exported: no list shows them.
"""

from django.utils import timezone

from apps.core.access import scope
from apps.core.perms import Perm
from apps.exports.registry import Dataset, register

from . import selectors
from .choices import (
    ApplicationStatus,
    CertificateKind,
    ComplaintStatus,
    DuesMethod,
    EthicsPrinciple,
    MemberStatus,
    PositionKind,
    Tier,
)
from .models import CommitteeMembership, DuesPayment, EthicsComplaint

CHUNK = 2000
FILED_KINDS = ("president", "vice_president", "secretary_general")


def _day(value) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _money(value) -> float:
    return float(value or 0)


def _year(filters) -> int:
    """The ``year`` filter as the dues pages read it: 2000–2100, else this year."""
    try:
        year = int(str(filters.get("year", "")).strip())
    except ValueError:
        return selectors.today().year
    return year if 2000 <= year <= 2100 else selectors.today().year


def _association(user, filters, perm):
    """The ``association`` filter as the pages read it: one the user holds ``perm`` in, else the first."""
    options = list(selectors.associations_for(user, perm))
    wanted = str(filters.get("association", ""))
    return next((a for a in options if str(a.pk) == wanted), None) or (options[0] if options else None)


# --- applications ---------------------------------------------------------------------------------


def _applications(user, filters):
    statuses = dict(ApplicationStatus.choices)
    rows = selectors.filtered_applications(user, filters).order_by("-id")
    for reference, association, name, submitted_at, status in rows.values_list(
        "reference", "association__name", "name", "submitted_at", "status"
    ).iterator(chunk_size=CHUNK):
        yield (reference, association, name, _when(submitted_at), statuses.get(status, status))


# --- members --------------------------------------------------------------------------------------


def _members(user, filters):
    rows = selectors.filtered_members(user, filters).order_by("id")
    tier_labels = dict(Tier.choices)
    statuses = dict(MemberStatus.choices)
    chunk = []

    def flush():
        ids = [row[0] for row in chunk]
        tiers = selectors.tiers_of(ids)
        committees: dict[int, list[str]] = {}
        for member_id, name in (
            CommitteeMembership.objects.filter(member_id__in=ids, left_on__isnull=True)
            .order_by("slot", "id")
            .values_list("member_id", "committee__name")
        ):
            committees.setdefault(member_id, []).append(name)
        for pk, association, number, name, joined_on, status in chunk:
            yield (
                number,
                name,
                association,
                tier_labels.get(tiers[pk], ""),
                "、".join(committees.get(pk, [])),
                _day(joined_on),
                statuses.get(status, status),
            )

    # Tiers and committees are looked up per chunk of members: a fixed number of queries per 2,000 rows.
    for values in rows.values_list("pk", "association__name", "number", "name", "joined_on", "status").iterator(
        chunk_size=CHUNK
    ):
        chunk.append(values)
        if len(chunk) >= CHUNK:
            yield from flush()
            chunk = []
    if chunk:
        yield from flush()


# --- certificates ---------------------------------------------------------------------------------


def _certificates(user, filters):
    kinds = dict(CertificateKind.choices)
    today = selectors.today()
    rows = selectors.expiring_certificates_in_scope(user).order_by("expires_on", "id")
    for number, name, kind, issuer, expires_on in rows.values_list(
        "member__number", "member__name", "kind", "issuer", "expires_on"
    ).iterator(chunk_size=CHUNK):
        yield (
            number,
            name,
            kinds.get(kind, kind),
            issuer,
            _day(expires_on),
            "已过期" if expires_on < today else "即将到期",
        )


# --- dues -----------------------------------------------------------------------------------------


def _ledger(user, filters):
    methods = dict(DuesMethod.choices)
    rows = (
        scope(DuesPayment.objects.filter(year=_year(filters)), user, Perm.DUES_MANAGE)
        .order_by("-paid_on", "-id")
        .values_list(
            "receipt_number",
            "member__number",
            "member__name",
            "year",
            "amount",
            "paid_on",
            "method",
            "recorded_by__full_name",
        )
    )
    for receipt, number, name, year, amount, paid_on, method, recorder in rows.iterator(chunk_size=CHUNK):
        yield (receipt, number, name, year, _money(amount), _day(paid_on), methods.get(method, method), recorder or "")


def _arrears(user, filters):
    year = _year(filters)
    association = _association(user, filters, Perm.DUES_MANAGE)
    if association is None:
        return
    tier_labels = dict(Tier.choices)
    for row in selectors.arrears(association, year):
        member = row["member"]
        yield (
            member.number,
            member.name,
            tier_labels.get(row["tier"], ""),
            year,
            _money(row["due"]),
            _money(row["paid"]),
            _money(row["owed"]),
        )


# --- positions ------------------------------------------------------------------------------------


def _positions(user, filters):
    kinds = dict(PositionKind.choices)
    rows = selectors.filtered_positions(user, filters).order_by("kind", "term_start", "id")
    for kind, body, unit, number, name, start, end, ended, filing_date, filing_number in rows.values_list(
        "kind",
        "body__name",
        "unit__name",
        "member__number",
        "member__name",
        "term_start",
        "term_end",
        "ended_on",
        "filing_date",
        "filing_number",
    ).iterator(chunk_size=CHUNK):
        if filing_number:
            filing = "已备案"
        else:
            filing = "未备案" if kind in FILED_KINDS else "无需备案"
        yield (
            kinds.get(kind, kind),
            f"{body or ''}{unit or ''}",
            number,
            name,
            _day(start),
            _day(end),
            _day(ended),
            filing,
            _day(filing_date),
            filing_number,
        )


# --- ethics complaints ----------------------------------------------------------------------------


def _complaints(user, filters):
    principles = dict(EthicsPrinciple.choices)
    statuses = dict(ComplaintStatus.choices)
    rows = (
        scope(EthicsComplaint.objects.all(), user, Perm.CONDUCT_MANAGE)
        .order_by("-received_on", "-id")
        .values_list("received_on", "member__number", "member__name", "principle", "status", "decided_on")
    )
    for received_on, number, name, principle, status, decided_on in rows.iterator(chunk_size=CHUNK):
        yield (
            _day(received_on),
            number,
            name,
            principles.get(principle, principle),
            statuses.get(status, status),
            _day(decided_on),
        )


register(
    Dataset(
        key="membership_applications",
        label="入会申请",
        view_permission=Perm.MEMBERSHIP_VIEW,
        columns=("申请编号", "协会", "姓名", "提交时间", "状态"),
        rows=_applications,
    )
)
register(
    Dataset(
        key="membership_members",
        label="会员名册",
        view_permission=Perm.MEMBERSHIP_VIEW,
        columns=("会员编号", "姓名", "协会", "会员类别", "专业委员会", "入会日期", "状态"),
        rows=_members,
    )
)
register(
    Dataset(
        key="membership_certificates_expiring",
        label="证书即将到期",
        view_permission=Perm.MEMBERSHIP_VIEW,
        columns=("会员编号", "姓名", "证书类别", "发证机关", "有效期至", "到期情况"),
        rows=_certificates,
    )
)
register(
    Dataset(
        key="membership_dues_ledger",
        label="会费缴纳台帐",
        view_permission=Perm.DUES_MANAGE,
        columns=("收据编号", "会员编号", "姓名", "会费年度", "金额（元）", "缴费日期", "缴费方式", "登记人"),
        rows=_ledger,
    )
)
register(
    Dataset(
        key="membership_dues_arrears",
        label="欠缴会费名单",
        view_permission=Perm.DUES_MANAGE,
        columns=("会员编号", "姓名", "会员类别", "会费年度", "应缴（元）", "已缴（元）", "欠缴（元）"),
        rows=_arrears,
    )
)
register(
    Dataset(
        key="membership_positions",
        label="协会职务",
        view_permission=Perm.MEMBERSHIP_VIEW,
        columns=(
            "职务",
            "机构/部门",
            "会员编号",
            "姓名",
            "任期开始",
            "任期届满",
            "提前卸任日期",
            "备案情况",
            "备案日期",
            "备案文号",
        ),
        rows=_positions,
    )
)
register(
    Dataset(
        key="membership_complaints",
        label="伦理投诉",
        view_permission=Perm.CONDUCT_MANAGE,
        columns=("收到日期", "会员编号", "被投诉会员", "涉及伦理原则", "状态", "处理日期"),
        rows=_complaints,
    )
)
