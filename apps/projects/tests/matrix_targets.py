"""Authorization-matrix targets of apps.projects: every row is created in the unit the request aims at."""

import datetime as dt

from tests.authz import Target

MATRIX_FILE = "matrix/matrix-document.txt"


def _project_row(world, unit, status="running"):
    from apps.projects.models import BudgetLine, Project

    project = Project.objects.create(
        unit=unit, unit_path=unit.path, name="矩阵项目", kind="government", sponsor="矩阵民政局",
        manager=world.resident[unit.pk], start_date=dt.date(2026, 1, 1), end_date=dt.date(2026, 12, 31),
        status=status,
    )  # fmt: skip
    BudgetLine.objects.create(project=project, name="劳务费", amount="1000.00")
    return project


def _project(world, unit):
    return {"pk": _project_row(world, unit).pk}


def _milestone(world, unit):
    from apps.projects.models import Milestone

    row = Milestone.objects.create(project=_project_row(world, unit), title="矩阵节点", due_date=dt.date(2026, 6, 1))
    return {"pk": row.pk}


def _report(world, unit):
    from apps.projects.models import ProgressReport

    row = ProgressReport.objects.create(
        project=_project_row(world, unit), recipient="board", period="矩阵期", due_date=dt.date(2026, 6, 30)
    )
    return {"pk": row.pk}


def _document(world, unit):
    from django.core.files.base import ContentFile

    from apps.projects.models import Document
    from apps.projects.storage import private_documents

    if not private_documents.exists(MATRIX_FILE):
        private_documents.save(MATRIX_FILE, ContentFile(b"matrix"))
    row = Document.objects.create(
        project=_project_row(world, unit), title="矩阵文档", file=MATRIX_FILE, original_name="矩阵.txt", size=6
    )
    return {"pk": row.pk}


def _expense(world, unit):
    from apps.projects.models import Expense

    project = _project_row(world, unit)
    row = Expense.objects.create(
        project=project, line=project.lines.get(), amount="10.00", spent_on=dt.date(2026, 3, 1), description="矩阵支出"
    )
    return {"pk": row.pk}


def _pending_expense(world, unit):
    """An over-budget expense awaiting approval, recorded by nobody in the matrix (so no one is its author)."""
    from apps.projects.models import Expense

    project = _project_row(world, unit)
    row = Expense.objects.create(
        project=project, line=project.lines.get(), amount="5000.00", spent_on=dt.date(2026, 3, 1),
        description="矩阵超预算支出", over_budget=True, status="pending", approval_reason="矩阵理由",
    )  # fmt: skip
    return {"pk": row.pk}


def _project_body(world, unit):
    return {
        "unit": unit.pk, "name": "矩阵新项目", "kind": "own", "manager": world.resident[unit.pk].pk,
        "start_date": "2026-01-01", "end_date": "2026-12-31",
    }  # fmt: skip


TARGETS = {
    "projects:project-list": Target(),
    "projects:statistics": Target(),
    "projects:project-create": Target(body=_project_body),
    "projects:project-detail": Target(_project),
    "projects:project-edit": Target(_project),
    "projects:project-advance": Target(_project),
    "projects:line-add": Target(_project),
    "projects:expense-create": Target(_project),
    "projects:expense-decide": Target(_pending_expense),
    "projects:milestone-add": Target(_project),
    "projects:milestone-done": Target(_milestone),
    "projects:report-schedule": Target(_project),
    "projects:report-list": Target(),
    "projects:report-submit": Target(_report),
    "projects:quality-create": Target(_project),
    "projects:document-upload": Target(_project),
    "projects:document-download": Target(_document),
    "projects:final-accounts": Target(_project),
    "projects:project-accept": Target(_project),
    "projects-project-list": Target(body=_project_body),
    "projects-project-detail": Target(_project),
    "projects-project-summary": Target(),
    "projects-project-expenses": Target(_project),
    "projects-project-milestones": Target(_project),
    "projects-project-final-accounts": Target(_project),
    "projects-project-accept": Target(_project),
    "projects-expense-list": Target(),
    "projects-expense-detail": Target(_expense),
    "projects-expense-decide": Target(_pending_expense),
}
