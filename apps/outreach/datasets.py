"""Outreach lists as exportable datasets (X-3): remote inquiries (all and overdue), the home visits
due (and overdue) of the requester, and referrals — each with the page's own selector and columns.

Contact names stay masked as the lists show them; questions, answers, visit records, preparation
notes and referral reasons (encrypted free text) are never read.
"""

from django.utils import timezone

from apps.core.perms import Perm
from apps.exports.registry import Dataset, register
from apps.identity.masks import mask_name
from apps.workdays.deadlines import ESTIMATE_COLUMN, estimate_note

from . import selectors, services
from .choices import Channel, ReferralStatus, VisitKind

CHUNK = 2000
CHANNELS = dict(Channel.choices)
VISIT_KINDS = dict(VisitKind.choices)
REFERRAL_STATUSES = dict(ReferralStatus.choices)
INQUIRY_FIELDS = (
    "pk", "channel", "received_at", "contact_name", "reply_due", "answered_at", "unit__name",
    "reply_due_estimate_reason",
)  # fmt: skip


def _received(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _inquiry_state(answered_at, reply_due, today) -> str:
    if answered_at:
        return "已回复"
    return "逾期" if reply_due and reply_due < today else "待回复"


def inquiry_rows(user, filters):
    """The inquiry list's rows for its ``state`` filter (open, overdue, answered; else all), every page."""
    today = services.today()
    rows = selectors.list_inquiries(user, filters or {}).order_by("-pk")
    for pk, channel, received_at, name, reply_due, answered_at, unit, estimate in rows.values_list(
        *INQUIRY_FIELDS
    ).iterator(chunk_size=CHUNK):
        yield (
            pk,
            CHANNELS.get(channel, channel),
            _received(received_at),
            mask_name(name) if name else "",
            reply_due or "",
            _inquiry_state(answered_at, reply_due, today),
            unit,
            estimate_note(estimate),
        )


def overdue_inquiry_rows(user, filters):
    """The overdue page's rows (no filters): unanswered past their deadline, oldest deadline first."""
    today = services.today()
    rows = selectors.overdue_inquiries(user, today)
    for pk, channel, received_at, name, reply_due, _, unit, estimate in rows.values_list(*INQUIRY_FIELDS).iterator(
        chunk_size=CHUNK
    ):
        yield (
            pk,
            CHANNELS.get(channel, channel),
            _received(received_at),
            mask_name(name) if name else "",
            reply_due,
            (today - reply_due).days,
            unit,
            estimate_note(estimate),
        )


def visit_rows(user, filters):
    """The requester's home visits due within a week or overdue ("my visits", no filters)."""
    today = services.today()
    rows = selectors.my_visits(user, today)
    fields = ("pk", "planned_for", "kind", "interval_days", "client_id", "unit__name")
    for pk, planned_for, kind, interval, client_id, unit in rows.values_list(*fields).iterator(chunk_size=CHUNK):
        label = VISIT_KINDS.get(kind, kind) + (f"（每 {interval} 天）" if interval else "")
        yield (pk, planned_for, label, client_id, unit, "已逾期" if planned_for < today else "待上门")


def referral_rows(user, filters):
    """Every referral of the referral list (it takes no filters), newest first like the list."""
    rows = selectors.visible_referrals(user).order_by("-pk")
    fields = ("pk", "client_id", "institution", "referred_on", "status", "unit__name")
    for pk, client_id, institution, referred_on, status, unit in rows.values_list(*fields).iterator(chunk_size=CHUNK):
        yield (pk, client_id, institution, referred_on, REFERRAL_STATUSES.get(status, status), unit)


INQUIRIES = register(
    Dataset(
        key="remote_inquiries",
        label="电话网络短信咨询",
        view_permission=Perm.CLIENT_VIEW,
        columns=("编号", "渠道", "收到时间", "联系人（已脱敏）", "回复期限", "状态", "受理单位", ESTIMATE_COLUMN),
        rows=inquiry_rows,
    )
)
OVERDUE_INQUIRIES = register(
    Dataset(
        key="remote_inquiries_overdue",
        label="逾期未回复的咨询",
        view_permission=Perm.CLIENT_VIEW,
        columns=("编号", "渠道", "收到时间", "联系人（已脱敏）", "回复期限", "逾期天数", "受理单位", ESTIMATE_COLUMN),
        rows=overdue_inquiry_rows,
    )
)
VISITS_DUE = register(
    Dataset(
        key="home_visits_due",
        label="我的上门关怀（到期与逾期）",
        view_permission=Perm.CLIENT_VIEW,
        columns=("编号", "计划日期", "类型", "来访者编号", "单位", "状态"),
        rows=visit_rows,
    )
)
REFERRALS = register(
    Dataset(
        key="referrals",
        label="转介记录",
        view_permission=Perm.CLIENT_VIEW,
        columns=("编号", "来访者编号", "接收机构", "转介日期", "状态", "单位"),
        rows=referral_rows,
    )
)
