"""Exportable lists of association projects (X-3, H-PROJ-1): projects with budget and spending,
expenses (all in scope, or one project's with ``project=``), and progress reports.

Each dataset reads its page's GET filters through the page's selector, scoped to the requester;
junk values are ignored. Money is exported as numbers formatted ¥1,234.00 (the pages' format);
"已支出" counts booked expenses only, as on the pages.
"""

from decimal import Decimal

from django.utils import timezone

from apps.core.perms import Perm
from apps.core.spreadsheets import Money
from apps.exports.registry import Dataset, register

from . import selectors
from .choices import ExpenseStatus, ProjectKind, ProjectStatus, ReportRecipient

CHUNK = 2000
KINDS = dict(ProjectKind.choices)
STATUSES = dict(ProjectStatus.choices)
RECIPIENTS = dict(ReportRecipient.choices)
EXPENSE_STATUSES = dict(ExpenseStatus.choices)


def _day(value) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def _money(value) -> Money:
    """A number in the sheet, shown ¥1,234.00 like the pages (apps.core.spreadsheets.Money)."""
    return Money(Decimal(value or 0).quantize(Decimal("0.01")))


def _text(filters, name) -> str:
    return str(filters.get(name, "")).strip()


def _projects(user, filters):
    rows = selectors.projects(
        user, status=_text(filters, "status"), kind=_text(filters, "kind"), q=_text(filters, "q")
    ).order_by("-id")
    for name, kind, sponsor, unit, manager, start, end, budget, spent, status in rows.values_list(
        "name",
        "kind",
        "sponsor",
        "unit__name",
        "manager__full_name",
        "start_date",
        "end_date",
        "budget_total",
        "spent_total",
        "status",
    ).iterator(chunk_size=CHUNK):
        yield (
            name,
            KINDS.get(kind, kind),
            sponsor,
            unit,
            manager or "",
            _day(start),
            _day(end),
            _money(budget),
            _money(spent),
            STATUSES.get(status, status),
        )


def _expenses(user, filters):
    rows = selectors.expenses(user)
    project = _text(filters, "project")
    if project:
        if not project.isdigit():
            return
        rows = rows.filter(project_id=int(project))
    rows = rows.order_by("-spent_on", "-id").values_list(
        "project__name",
        "spent_on",
        "line__name",
        "description",
        "amount",
        "status",
        "over_budget",
        "approval_reason",
        "recorded_by__full_name",
        "decided_by__full_name",
        "decision_note",
    )
    for name, spent_on, line, description, amount, status, over, reason, recorder, decider, note in rows.iterator(
        chunk_size=CHUNK
    ):
        yield (
            name,
            _day(spent_on),
            line,
            description,
            _money(amount),
            EXPENSE_STATUSES.get(status, status),
            "是" if over else "否",
            reason if over else "",
            recorder or "",
            (decider or "") if over else "",
            note if over else "",
        )


def _reports(user, filters):
    today = selectors.today()
    state = _text(filters, "state") if "state" in filters else "open"
    rows = selectors.progress_reports(user, state=state).order_by("id")
    for project, period, recipient, due, submitted in rows.values_list(
        "project__name", "period", "recipient", "due_date", "submitted_at"
    ).iterator(chunk_size=CHUNK):
        if submitted:
            label = "已报送"
        else:
            label = "逾期" if due < today else "待报送"
        yield (
            project,
            period,
            RECIPIENTS.get(recipient, recipient),
            _day(due),
            label,
            _day(timezone.localtime(submitted)) if submitted else "",
        )


register(
    Dataset(
        key="projects_projects",
        label="协会项目",
        view_permission=Perm.PROJECT_VIEW,
        columns=(
            "项目名称",
            "项目类别",
            "主办方/委托方",
            "承办部门",
            "负责人",
            "开始日期",
            "结束日期",
            "预算",
            "已支出",
            "状态",
        ),
        rows=_projects,
    )
)
register(
    Dataset(
        key="projects_expenses",
        label="项目支出",
        view_permission=Perm.PROJECT_VIEW,
        columns=(
            "项目",
            "支出日期",
            "预算科目",
            "用途",
            "金额",
            "审批状态",
            "超预算",
            "超预算理由",
            "登记人",
            "审批人",
            "审批意见",
        ),  # fmt: skip
        rows=_expenses,
    )
)
register(
    Dataset(
        key="projects_reports",
        label="项目进度报告",
        view_permission=Perm.PROJECT_VIEW,
        columns=("项目", "报告期", "报送对象", "报送期限", "状态", "报送日期"),
        rows=_reports,
    )
)
