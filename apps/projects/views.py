from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import User
from apps.audit.services import log_read
from apps.core.access import access_by_id, active_grant, can, scope
from apps.core.forms import add_service_error, report_form, run_service
from apps.core.money import format_money
from apps.core.pagination import keyset_page
from apps.core.perms import Perm, requires
from apps.membership.selectors import lapsed_member_users, root_path_of
from apps.orgs.models import OrgUnit

from . import selectors, services
from .choices import ExpenseStatus, ProjectKind, ProjectStatus
from .forms import (
    AcceptForm,
    AdvanceForm,
    BudgetLineForm,
    DocumentForm,
    ExpenseDecisionForm,
    ExpenseForm,
    FinalAccountsForm,
    MilestoneDoneForm,
    MilestoneForm,
    ProjectForm,
    QualityCheckForm,
    ReportScheduleForm,
    ReportSubmitForm,
    budget_formset,
)
from .models import Document, Expense, Milestone, ProgressReport, Project

VIEW, MANAGE, APPROVE = Perm.PROJECT_VIEW, Perm.PROJECT_MANAGE, Perm.PROJECT_APPROVE


def _units(user):
    rows = OrgUnit.objects.filter(is_active=True, kind__in=services.OWNER_KINDS)
    return scope(rows, user, MANAGE).order_by("path")


def _people(user):
    grant = active_grant(user)
    if grant is None:
        return User.objects.none()
    prefix = grant.unit_path
    return (
        User.objects.filter(is_active=True)
        .filter(Q(unit__path__startswith=prefix) | Q(assignments__unit__path__startswith=prefix))
        .exclude(pk__in=lapsed_member_users(root_path_of(prefix)))
        .distinct()
        .order_by("full_name", "id")
    )


def _project(request, pk, perm=VIEW):
    return access_by_id(Project.objects.select_related("unit", "manager"), pk, request.user, perm)


def _form_page(request, form, title, project=None, intro="", multipart=False):
    context = {"form": form, "title": title, "project": project, "intro": intro, "multipart": multipart}
    return render(request, "projects/form.html", context)


def _project_form_page(request, form, formset, title, project=None, locked_ids=()):
    context = {"form": form, "formset": formset, "title": title, "project": project, "locked_ids": set(locked_ids)}
    return render(request, "projects/project_form.html", context)


def _run_with_lines(form, formset, action):
    """Like ``run_service``, but a service error keyed ``budget_lines-<row>-<field>`` goes on that row."""
    try:
        return action()
    except ValidationError as error:
        if not hasattr(error, "error_dict") or formset is None:
            add_service_error(form, error)
            return None
        rest = {}
        for key, errors in error.error_dict.items():
            prefix, _, tail = key.partition("-")
            row, _, field = tail.partition("-")
            if prefix == services.LINES_FIELD and row.isdigit() and int(row) < len(formset.forms):
                formset.forms[int(row)].add_error(field, errors)
            else:
                rest[key] = errors
        if rest:
            add_service_error(form, ValidationError(rest))
        return None


def _back(project):
    return redirect("projects:project-detail", pk=project.pk)


@requires(VIEW)
def project_list(request):
    """H-PROJ-1: projects in scope with budget and spent totals, keyset-paginated."""
    status, kind, q = (request.GET.get(k, "").strip() for k in ("status", "kind", "q"))
    page = keyset_page(selectors.projects(request.user, status=status, kind=kind, q=q), request, descending=True)
    context = {
        "page": page, "status": status, "kind": kind, "q": q, "statuses": ProjectStatus.choices,
        "kinds": ProjectKind.choices, "can_manage": can(request.user, MANAGE),
        "awaiting": list(selectors.pending_expenses(request.user).exclude(recorded_by=request.user)[:20]),
    }  # fmt: skip
    return render(request, "projects/project_list.html", context)


@requires(VIEW)
def statistics(request):
    """H-PROJ-1: statistics for the board or sponsor — counts by status and kind, budget against spending."""
    grant = active_grant(request.user)
    unit = OrgUnit.objects.get(pk=grant.unit_id)
    summary = selectors.project_summary(unit)
    context = {
        "unit": unit,
        "summary": summary,
        "statuses": [(label, summary["by_status"][code]) for code, label in ProjectStatus.choices],
        "kinds": [(label, summary["by_kind"][code]) for code, label in ProjectKind.choices],
    }
    return render(request, "projects/statistics.html", context)


@requires(MANAGE)
@require_http_methods(["GET", "POST"])
def project_create(request):
    """H-PROJ-1: register a project with its budget table (one row per line)."""
    form = ProjectForm(request.POST or None, units=_units(request.user), people=_people(request.user))
    formset = budget_formset(request.POST or None)
    if request.method == "POST" and all([form.is_valid(), formset.is_valid()]):
        data = dict(form.cleaned_data)
        data.pop("version", None)
        project = _run_with_lines(
            form, formset, lambda: services.do_create_project(actor=request.user, budget_lines=formset.rows(), **data)
        )
        if project:
            messages.success(request, "项目已登记。")
            return _back(project)
    return _project_form_page(request, form, formset, "登记项目")


@requires(VIEW)
def project_detail(request, pk):
    project = _project(request, pk)
    manage = can(request.user, MANAGE, project) and project.status != ProjectStatus.ACCEPTED
    lines = list(selectors.lines_with_spent(project))
    milestones = list(project.milestones.select_related("done_by"))
    expenses = project.expenses.select_related("line", "decided_by", "recorded_by").order_by("-spent_on", "-id")
    context = {
        "project": project,
        "lines": lines,
        "budget_total": sum((line.amount for line in lines), selectors.ZERO),
        "spent_total": sum((line.spent for line in lines), selectors.ZERO),
        "pending_total": sum((line.pending for line in lines), selectors.ZERO),
        "expenses": list(expenses[:100]),
        "milestones": milestones,
        "open_milestones": sum(1 for m in milestones if not m.done_on),
        "reports": list(project.reports.all()),
        "checks": list(project.checks.select_related("checker")),
        "documents": list(project.documents.select_related("uploaded_by")),
        "today": selectors.today(),
        "can_manage": manage,
        "can_approve": can(request.user, APPROVE, project),
    }
    return render(request, "projects/project_detail.html", context)


@requires(MANAGE)
@require_http_methods(["GET", "POST"])
def project_edit(request, pk):
    """H-PROJ-1: edit a project and, until the final accounts, its budget table."""
    project = _project(request, pk, MANAGE)
    initial = {
        "name": project.name, "sponsor": project.sponsor, "manager": project.manager_id,
        "start_date": project.start_date, "end_date": project.end_date, "description": project.description,
        "version": project.version,
    }  # fmt: skip
    form = ProjectForm(request.POST or None, initial=initial, people=_people(request.user), editing=True)
    formset, locked_ids = None, ()
    if not project.final_accounts_at:
        lines = list(project.lines.order_by("id"))
        formset = budget_formset(request.POST or None, lines=lines)
        locked_ids = project.expenses.values_list("line_id", flat=True).distinct()
    if request.method == "POST" and all([form.is_valid(), formset is None or formset.is_valid()]):
        rows = formset.rows() if formset is not None else None
        if _run_with_lines(
            form,
            formset,
            lambda: services.do_update_project(
                actor=request.user, project=project, budget_lines=rows, **form.cleaned_data
            ),
        ):
            messages.success(request, "项目信息已修改。")
            return _back(project)
    return _project_form_page(request, form, formset, f"修改项目：{project.name}", project, locked_ids)


@requires(MANAGE)
@require_POST
def project_advance(request, pk):
    """H-PROJ-1: start a planned project, or move a running one to closing."""
    project = _project(request, pk, MANAGE)
    form = AdvanceForm(request.POST)
    if form.is_valid():
        run_service(form, lambda: services.do_advance_project(actor=request.user, project=project, **form.cleaned_data))
    report_form(request, form, "项目状态已更新。")
    return _back(project)


@requires(MANAGE)
@require_POST
def line_add(request, pk):
    project = _project(request, pk, MANAGE)
    form = BudgetLineForm(request.POST)
    if form.is_valid():
        run_service(form, lambda: services.do_add_budget_line(actor=request.user, project=project, **form.cleaned_data))
    report_form(request, form, "预算科目已添加。")
    return _back(project)


@requires(MANAGE)
@require_http_methods(["GET", "POST"])
def expense_create(request, pk):
    """H-PROJ-1: charge an expense to a budget line; over the line it waits for a second person's approval."""
    project = _project(request, pk, MANAGE)
    form = ExpenseForm(
        request.POST or None, lines=project.lines.order_by("id"), initial={"spent_on": selectors.today()}
    )
    if request.method == "POST" and form.is_valid():
        expense = run_service(
            form, lambda: services.do_record_expense(actor=request.user, project=project, **form.cleaned_data)
        )
        if expense:
            if expense.status == ExpenseStatus.PENDING:
                messages.warning(request, "支出超出科目可用预算，已登记为待审批，须由另一位有审批权限的人员批准。")
            else:
                messages.success(request, "支出已登记。")
            return _back(project)
    available = "；".join(
        f"{line.name} 可用 {format_money(max(line.available, selectors.ZERO))}"
        for line in selectors.lines_with_spent(project)
    )
    return _form_page(request, form, f"登记支出：{project.name}", project, intro=available)


@requires(APPROVE)
@require_http_methods(["GET", "POST"])
def expense_decide(request, pk):
    """H-PROJ-1 four eyes: a second person approves or rejects a pending over-budget expense."""
    expense = access_by_id(
        Expense.objects.select_related("project", "line", "recorded_by", "decided_by"), pk, request.user, APPROVE
    )
    form = ExpenseDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        decided = run_service(
            form, lambda: services.do_decide_expense(actor=request.user, expense=expense, **form.cleaned_data)
        )
        if decided:
            approved = decided.status == ExpenseStatus.BOOKED
            messages.success(request, "超预算支出已批准，计入支出。" if approved else "超预算支出已驳回。")
            return _back(expense.project)
    line = next(row for row in selectors.lines_with_spent(expense.project) if row.pk == expense.line_id)
    context = {
        "expense": expense, "line": line, "form": form, "own": expense.recorded_by_id == request.user.pk,
        "after_approval": line.remaining - expense.amount,
    }  # fmt: skip
    return render(request, "projects/expense_decide.html", context)


@requires(MANAGE)
@require_POST
def milestone_add(request, pk):
    project = _project(request, pk, MANAGE)
    form = MilestoneForm(request.POST)
    if form.is_valid():
        run_service(form, lambda: services.do_add_milestone(actor=request.user, project=project, **form.cleaned_data))
    report_form(request, form, "项目节点已添加。")
    return _back(project)


@requires(MANAGE)
@require_POST
def milestone_done(request, pk):
    milestone = access_by_id(Milestone.objects.select_related("project"), pk, request.user, MANAGE)
    form = MilestoneDoneForm(request.POST)
    if form.is_valid():
        run_service(
            form, lambda: services.do_complete_milestone(actor=request.user, milestone=milestone, **form.cleaned_data)
        )
    report_form(request, form, "节点已标记完成。")
    return _back(milestone.project)


@requires(MANAGE)
@require_POST
def report_schedule(request, pk):
    project = _project(request, pk, MANAGE)
    form = ReportScheduleForm(request.POST)
    if form.is_valid():
        run_service(
            form, lambda: services.do_schedule_progress_report(actor=request.user, project=project, **form.cleaned_data)
        )
    report_form(request, form, "进度报告已安排。")
    return _back(project)


@requires(MANAGE)
@require_http_methods(["GET", "POST"])
def report_submit(request, pk):
    """H-PROJ-1: submit a periodic progress report to the board or the sponsor."""
    report = access_by_id(ProgressReport.objects.select_related("project"), pk, request.user, MANAGE)
    form = ReportSubmitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if run_service(
            form, lambda: services.do_submit_progress_report(actor=request.user, report=report, **form.cleaned_data)
        ):
            messages.success(request, "进度报告已报送。")
            return _back(report.project)
    recipient = report.get_recipient_display()
    intro = f"{report.project.name} · {report.period} · 报送{recipient} · 期限 {report.due_date:%Y-%m-%d}"
    return _form_page(request, form, "报送进度报告", report.project, intro=intro)


@requires(VIEW)
def report_list(request):
    """H-PROJ-1: progress reports due; ``state=overdue`` lists those past due and not submitted."""
    state = request.GET.get("state", "open").strip()
    page = keyset_page(selectors.progress_reports(request.user, state=state), request)
    return render(request, "projects/report_list.html", {"page": page, "state": state, "today": selectors.today()})


@requires(MANAGE)
@require_http_methods(["GET", "POST"])
def quality_create(request, pk):
    """H-PROJ-1: record a quality check of the project."""
    project = _project(request, pk, MANAGE)
    form = QualityCheckForm(
        request.POST or None,
        people=_people(request.user),
        initial={"checked_on": selectors.today(), "checker": request.user.pk},
    )
    if request.method == "POST" and form.is_valid():
        if run_service(
            form, lambda: services.do_record_quality_check(actor=request.user, project=project, **form.cleaned_data)
        ):
            messages.success(request, "质量检查已登记。")
            return _back(project)
    return _form_page(request, form, f"质量检查：{project.name}", project)


@requires(MANAGE)
@require_POST
def document_upload(request, pk):
    project = _project(request, pk, MANAGE)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        run_service(
            form,
            lambda: services.do_upload_document(
                actor=request.user,
                project=project,
                title=form.cleaned_data["title"],
                upload=form.cleaned_data["upload"],
            ),
        )
    report_form(request, form, "文档已归档。")
    return _back(project)


@requires(VIEW)
def document_download(request, pk):
    """H-PROJ-1: serve a project document, after the permission check, as an attachment."""
    document = access_by_id(Document.objects.select_related("project"), pk, request.user, VIEW)
    try:
        with document.file.open("rb") as handle:
            content = handle.read()
    except FileNotFoundError:
        raise Http404 from None
    log_read(request.user, document, purpose="下载项目文档", request=request)
    # Files are at most 20 MB; a plain response (not streamed) keeps the audit and the bytes together.
    response = HttpResponse(content, content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, document.original_name)
    response["Cache-Control"] = "private, no-store"
    return response


@requires(MANAGE)
@require_POST
def final_accounts(request, pk):
    """H-PROJ-1: draw up the final accounts of a closing project."""
    project = _project(request, pk, MANAGE)
    form = FinalAccountsForm(request.POST)
    if form.is_valid():
        run_service(
            form, lambda: services.do_draw_final_accounts(actor=request.user, project=project, **form.cleaned_data)
        )
    report_form(request, form, "项目决算已编制。")
    return _back(project)


@requires(APPROVE)
@require_POST
def project_accept(request, pk):
    """H-PROJ-1: inspection and acceptance (all milestones done, final accounts drawn up)."""
    project = _project(request, pk, APPROVE)
    form = AcceptForm(request.POST)
    if form.is_valid():
        run_service(form, lambda: services.do_accept_project(actor=request.user, project=project, **form.cleaned_data))
    report_form(request, form, "项目已验收。")
    return _back(project)
