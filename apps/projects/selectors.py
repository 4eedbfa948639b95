"""Reads of projects, always scoped to the acting user — except ``project_summary``, which the
caller (a dashboard) gives an association unit it has already authorised."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.core.access import scope
from apps.core.perms import Perm

from .choices import ExpenseStatus, ProjectKind, ProjectStatus
from .models import BudgetLine, Expense, Milestone, ProgressReport, Project

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZERO = Decimal("0.00")
_MONEY = DecimalField(max_digits=14, decimal_places=2)


def today() -> dt.date:
    return timezone.now().astimezone(SHANGHAI).date()


def _sum(queryset, field="amount") -> Decimal:
    total = queryset.aggregate(total=Coalesce(Sum(field), Value(ZERO), output_field=_MONEY))["total"]
    return Decimal(total).quantize(ZERO)  # SQLite sums come back without the two places


def project_summary(association_unit) -> dict:
    """H-PROJ-1: statistics of the projects under ``association_unit`` (the unit and its subtree).

    Returns ``{"total", "by_status": {code: n}, "by_kind": {code: n}, "budget_total", "spent_total",
    "remaining", "overdue_reports", "overdue_milestones"}``; every status and kind code is present
    (0 when none); money as ``Decimal``; spent means booked (approved), never pending or
    rejected. The caller must have checked the user may see the unit.
    """
    prefix = association_unit.path
    projects = Project.objects.filter(unit_path__startswith=prefix)
    by_status = dict.fromkeys(ProjectStatus.values, 0)
    for row in projects.values("status").annotate(n=Count("id")).order_by():
        by_status[row["status"]] = row["n"]
    by_kind = dict.fromkeys(ProjectKind.values, 0)
    for row in projects.values("kind").annotate(n=Count("id")).order_by():
        by_kind[row["kind"]] = row["n"]
    budget = _sum(BudgetLine.objects.filter(project__unit_path__startswith=prefix))
    spent = _sum(Expense.objects.filter(project__unit_path__startswith=prefix, status=ExpenseStatus.BOOKED))
    day = today()
    return {
        "total": sum(by_status.values()),
        "by_status": by_status,
        "by_kind": by_kind,
        "budget_total": budget,
        "spent_total": spent,
        "remaining": budget - spent,
        "overdue_reports": ProgressReport.objects.filter(
            project__unit_path__startswith=prefix, submitted_at__isnull=True, due_date__lt=day
        ).count(),
        "overdue_milestones": Milestone.objects.filter(
            project__unit_path__startswith=prefix, done_on__isnull=True, due_date__lt=day
        ).count(),
    }


def with_money(projects):
    """Annotate ``budget_total`` and ``spent_total`` (booked expenses) with subqueries (no row multiplication)."""
    budget = (
        BudgetLine.objects.filter(project=OuterRef("pk")).order_by().values("project")
        .annotate(t=Sum("amount")).values("t")
    )  # fmt: skip
    spent = (
        Expense.objects.filter(project=OuterRef("pk"), status=ExpenseStatus.BOOKED).order_by().values("project")
        .annotate(t=Sum("amount")).values("t")
    )  # fmt: skip
    return projects.annotate(
        budget_total=Coalesce(Subquery(budget, output_field=_MONEY), Value(ZERO), output_field=_MONEY),
        spent_total=Coalesce(Subquery(spent, output_field=_MONEY), Value(ZERO), output_field=_MONEY),
    )


def projects(user, *, status: str = "", kind: str = "", q: str = ""):
    rows = scope(Project.objects.all(), user, Perm.PROJECT_VIEW).select_related("unit", "manager")
    if status in ProjectStatus.values:
        rows = rows.filter(status=status)
    if kind in ProjectKind.values:
        rows = rows.filter(kind=kind)
    if q:
        rows = rows.filter(Q(name__icontains=q) | Q(sponsor__icontains=q))
    return with_money(rows)


def lines_with_spent(project):
    """The project's budget lines with ``spent`` (booked), ``pending`` (awaiting approval),
    ``remaining`` (budget − spent) and ``available`` (remaining − pending) annotated."""
    booked = Q(expenses__status=ExpenseStatus.BOOKED)
    pending = Q(expenses__status=ExpenseStatus.PENDING)
    rows = project.lines.annotate(
        spent=Coalesce(Sum("expenses__amount", filter=booked), Value(ZERO), output_field=_MONEY),
        pending=Coalesce(Sum("expenses__amount", filter=pending), Value(ZERO), output_field=_MONEY),
    ).order_by("id")
    for line in rows:
        line.remaining = line.amount - line.spent
        line.available = line.remaining - line.pending
        yield line


def pending_expenses(user):
    """Over-budget expenses awaiting a decision that ``user`` may decide on (approval permission)."""
    rows = scope(Expense.objects.filter(status=ExpenseStatus.PENDING), user, Perm.PROJECT_APPROVE)
    return rows.select_related("project", "line", "recorded_by").order_by("created_at", "id")


def progress_reports(user, *, state: str = ""):
    """Progress reports in scope; ``state`` overdue | open | submitted."""
    rows = scope(ProgressReport.objects.all(), user, Perm.PROJECT_VIEW).select_related("project")
    if state == "overdue":
        rows = rows.filter(submitted_at__isnull=True, due_date__lt=today())
    elif state == "open":
        rows = rows.filter(submitted_at__isnull=True)
    elif state == "submitted":
        rows = rows.filter(submitted_at__isnull=False)
    return rows


def expenses(user):
    return scope(Expense.objects.all(), user, Perm.PROJECT_VIEW).select_related("line", "project")
