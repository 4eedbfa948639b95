"""Rules of association projects (H-PROJ-1).

Every ``do_*`` runs in one transaction, checks that the actor may act on the project's unit,
validates its input (bad input changes nothing) and writes an audit entry for what it changed.
Money is ``Decimal`` with two places. Expenses take a row lock on their budget line, so two
concurrent expenses cannot both fit into the same remaining budget.
"""

import datetime as dt
from decimal import Decimal
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from apps.audit.services import log_change, snapshot
from apps.core.access import can, can_in_unit
from apps.core.money import format_money, parse_amount
from apps.core.perms import Perm
from apps.orgs.choices import UnitKind

from .choices import (
    TRANSITIONS,
    ExpenseDecision,
    ExpenseStatus,
    ProjectKind,
    ProjectStatus,
    QualityResult,
    ReportRecipient,
)
from .models import BudgetLine, Document, Expense, Milestone, ProgressReport, Project, QualityCheck
from .selectors import ZERO, today

MAX_AMOUNT = Decimal("99999999.99")
MAX_LINES = 50
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
DOCUMENT_SUFFIXES = frozenset(
    {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".jpg", ".jpeg", ".png", ".txt", ".zip"}
)
OWNER_KINDS = (UnitKind.DEPARTMENT, UnitKind.COMMITTEE, UnitKind.ASSOCIATION)


# --- shared checks -----------------------------------------------------------------------------


def check_text(value, label: str, *, max_length: int, required: bool = True, code: str = "text") -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(f"请填写{label}。", code=code)
    if len(text) > max_length:
        raise ValidationError(f"{label}不能超过 {max_length} 个字符。", code=code)
    return text


def check_amount(value, label: str = "金额", *, allow_zero: bool = False) -> Decimal:
    """A positive amount of yuan with at most two decimals; full-width digits, spaces and commas accepted."""
    return parse_amount(value, label, allow_zero=allow_zero, max_amount=MAX_AMOUNT)


def field_error(field: str, message: str, code: str) -> ValidationError:
    """A refusal shown on form field ``field`` (``error.error_dict[field][0].code == code``)."""
    return ValidationError({field: ValidationError(message, code=code)})


def check_date(value, label: str) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ValidationError(f"请填写{label}。", code="date")
    return value


def check_version(obj, version) -> None:
    if version is None or int(version) != obj.version:
        raise ValidationError("该记录已被他人修改，请刷新页面后重新填写。", code="stale")


def _require_in(actor, perm, unit) -> None:
    if actor is not None and not (unit.is_active and can_in_unit(actor, perm, unit)):
        raise ValidationError("您只能在本部门及下级单位办理项目事务。", code="forbidden")


def _require(actor, perm, obj) -> None:
    if actor is not None and not can(actor, perm, obj):
        raise ValidationError("您无权办理这个项目的事务。", code="forbidden")


def _lock(project: Project) -> Project:
    return Project.objects.select_for_update().get(pk=project.pk)


def _require_open(project: Project) -> None:
    if project.status == ProjectStatus.ACCEPTED:
        raise ValidationError("项目已验收，不能再修改。", code="accepted")


def check_manager(unit, manager):
    """The manager is an active account of the same association as the owning unit — not a member whose
    membership there was revoked (unless they also hold a staff role there)."""
    from apps.accounts.models import User
    from apps.membership.selectors import lapsed_member_users

    root = "/" + unit.path.strip("/").split("/")[0] + "/"
    in_tree = Q(unit__path__startswith=root) | Q(assignments__unit__path__startswith=root)
    people = User.objects.filter(in_tree, is_active=True).exclude(pk__in=lapsed_member_users(root))
    if manager is None or not people.filter(pk=manager.pk).exists():
        raise ValidationError("项目负责人或检查人须是本协会在册的人员。", code="manager")
    return manager


def check_dates(start_date, end_date) -> tuple[dt.date, dt.date]:
    start_date, end_date = check_date(start_date, "开始日期"), check_date(end_date, "结束日期")
    if end_date < start_date:
        raise ValidationError("结束日期不能早于开始日期。", code="dates")
    return start_date, end_date


LINES_FIELD = "budget_lines"


def line_key(row: int, field: str) -> str:
    """The key of an error on row ``row`` of the budget table — the formset's field name."""
    return f"{LINES_FIELD}-{row}-{field}"


def check_lines(lines) -> list[dict]:
    """Validate every row of a budget table at once; blank rows are dropped.

    ``lines``: ``(name, amount)`` pairs, or dicts with ``id`` (an existing line), ``name``, ``amount``
    and ``delete``. Returns ``{"row", "id", "name", "amount", "delete"}`` dicts. All row errors are
    raised together, keyed ``budget_lines-<row>-name`` / ``-amount`` so a page puts each on its row; a
    row with an amount but no name is an error, not silently dropped.
    """
    errors, rows, seen = {}, [], {}
    for index, item in enumerate(lines or ()):
        if isinstance(item, dict):
            line_id, name, amount, delete = item.get("id"), item.get("name"), item.get("amount"), item.get("delete")
        else:
            (name, amount), line_id, delete = item, None, False
        name = (name or "").strip()
        if delete and line_id:
            rows.append({"row": index, "id": line_id, "name": name, "amount": None, "delete": True})
            continue
        if not name and (amount is None or str(amount).strip() == "") and not line_id:
            continue
        if not name:
            errors[line_key(index, "name")] = "请填写预算科目名称。"
        elif len(name) > 50:
            errors[line_key(index, "name")] = "预算科目名称不能超过 50 个字符。"
        elif name in seen:
            errors[line_key(index, "name")] = f"预算科目“{name}”与第 {seen[name] + 1} 行重复。"
        else:
            seen[name] = index
        try:
            amount = check_amount(amount, "预算金额", allow_zero=True)
        except ValidationError as error:
            errors[line_key(index, "amount")] = error.messages[0]
        rows.append({"row": index, "id": line_id, "name": name, "amount": amount, "delete": False})
    if sum(1 for row in rows if not row["delete"]) > MAX_LINES:
        errors[LINES_FIELD] = f"预算科目不能超过 {MAX_LINES} 个。"
    if errors:
        raise ValidationError({key: ValidationError(message, code="line") for key, message in errors.items()})
    return rows


def _apply_lines(actor, project: Project, rows: list[dict], locked: dict) -> None:
    """Create, change and delete budget lines of ``project`` from checked ``rows`` (all or nothing).

    ``locked``: the project's lines by id, already row-locked. A line with expenses cannot be
    deleted, nor set below what is booked on it; names stay unique; nothing changes after the
    final accounts.
    """
    errors = {}
    mentioned = {row["id"] for row in rows if row["id"]}
    names = {line.name: None for line_id, line in locked.items() if line_id not in mentioned}
    changed = False
    for row in rows:
        line = locked.get(int(row["id"])) if row["id"] else None
        if row["id"] and line is None:
            errors[line_key(row["row"], "name")] = "该预算科目不属于本项目，请刷新页面。"
            continue
        if row["delete"]:
            changed = True
            if line.expenses.exists():
                errors[line_key(row["row"], "name")] = f"“{line.name}”已有支出记录，不能删除。"
            continue
        if row["name"] in names:
            errors[line_key(row["row"], "name")] = f"预算科目“{row['name']}”已存在。"
        names[row["name"]] = row["row"]
        if line is None or (line.name, line.amount) != (row["name"], row["amount"]):
            changed = True
        if line is not None and row["amount"] < line.amount:  # an approved overspend may stay as it is
            spent = spent_on_line(line)
            if row["amount"] < spent:
                errors[line_key(row["row"], "amount")] = f"不能低于该科目已支出的 {format_money(spent)}。"
    if changed and project.final_accounts_at:
        raise ValidationError("决算已编制，不能再调整预算。", code="final")
    if errors:
        raise ValidationError({key: ValidationError(message, code="line") for key, message in errors.items()})
    # Deletions first, renamed lines through a temporary name, then new lines: two lines swapping names
    # or a new line taking a deleted line's name never trips the unique constraint halfway.
    pairs = [(row, locked.get(int(row["id"])) if row["id"] else None) for row in rows]
    for row, line in pairs:
        if row["delete"]:
            log_change(actor, line, snapshot(line), {})
            line.delete()
    changed_lines = [(row, line) for row, line in pairs if line is not None and not row["delete"]]
    changed_lines = [
        (row, line) for row, line in changed_lines if (line.name, line.amount) != (row["name"], row["amount"])
    ]
    for row, line in changed_lines:
        if line.name != row["name"]:
            BudgetLine.objects.filter(pk=line.pk).update(name=f"~{line.pk}")  # held only inside this transaction
    for row, line in changed_lines:
        before = snapshot(line)
        line.name, line.amount, line.version = row["name"], row["amount"], line.version + 1
        line.save(update_fields=["name", "amount", "version"])
        log_change(actor, line, before, snapshot(line))
    for row, line in pairs:
        if line is None and not row["delete"]:
            created = BudgetLine.objects.create(project=project, name=row["name"], amount=row["amount"])
            log_change(actor, created, {}, snapshot(created))


# --- projects ----------------------------------------------------------------------------------


@transaction.atomic
def do_create_project(
    *,
    actor,
    unit,
    name: str,
    kind: str,
    manager,
    start_date: dt.date,
    end_date: dt.date,
    sponsor: str = "",
    description: str = "",
    budget_lines=(),
) -> Project:
    """H-PROJ-1: register a project run by a department or committee, with its budget lines."""
    _require_in(actor, Perm.PROJECT_MANAGE, unit)
    if unit.kind not in OWNER_KINDS:
        raise ValidationError("项目须由协会的部门或专业委员会承办。", code="unit")
    name = check_text(name, "项目名称", max_length=100)
    if kind not in ProjectKind.values:
        raise ValidationError("请选择项目类别。", code="kind")
    sponsor = check_text(sponsor, "主办方/委托方", max_length=100, required=kind != ProjectKind.OWN)
    description = check_text(description, "项目简介", max_length=5000, required=False)
    start_date, end_date = check_dates(start_date, end_date)
    check_manager(unit, manager)
    lines = [(row["name"], row["amount"]) for row in check_lines(budget_lines) if not row["delete"]]
    project = Project.objects.create(
        unit=unit, unit_path=unit.path, name=name, kind=kind, sponsor=sponsor, manager=manager,
        start_date=start_date, end_date=end_date, description=description, created_by=actor,
    )  # fmt: skip
    BudgetLine.objects.bulk_create(BudgetLine(project=project, name=n, amount=a) for n, a in lines)
    log_change(actor, project, {}, {**snapshot(project), "budget": {n: str(a) for n, a in lines}})
    return project


@transaction.atomic
def do_update_project(
    *,
    actor,
    project: Project,
    version,
    name: str,
    sponsor: str,
    manager,
    start_date,
    end_date,
    description: str = "",
    budget_lines=None,
) -> Project:
    """Edit a project's particulars and, when ``budget_lines`` is given, its budget table (see
    ``check_lines``); optimistic ``version``; an accepted project is frozen.

    Lines are locked before the project — the order ``do_record_expense`` takes them in.
    """
    locked = {}
    if budget_lines is not None:
        locked = {
            line.pk: line for line in BudgetLine.objects.select_for_update().filter(project=project).order_by("id")
        }
    project = _lock(project)
    _require(actor, Perm.PROJECT_MANAGE, project)
    check_version(project, version)
    _require_open(project)
    name = check_text(name, "项目名称", max_length=100)
    sponsor = check_text(sponsor, "主办方/委托方", max_length=100, required=project.kind != ProjectKind.OWN)
    description = check_text(description, "项目简介", max_length=5000, required=False)
    start_date, end_date = check_dates(start_date, end_date)
    check_manager(project.unit, manager)
    if budget_lines is not None:
        _apply_lines(actor, project, check_lines(budget_lines), locked)
    before = snapshot(project)
    project.name, project.sponsor, project.manager = name, sponsor, manager
    project.start_date, project.end_date, project.description = start_date, end_date, description
    project.version += 1
    project.save()
    log_change(actor, project, before, snapshot(project))
    return project


@transaction.atomic
def do_advance_project(*, actor, project: Project, version) -> Project:
    """H-PROJ-1: planned → running (start), running → closing (wind up); acceptance is separate."""
    project = _lock(project)
    _require(actor, Perm.PROJECT_MANAGE, project)
    check_version(project, version)
    target = TRANSITIONS.get(project.status)
    if target is None:
        raise ValidationError("项目当前状态不能再推进；结项中的项目请编制决算并申请验收。", code="state")
    if target == ProjectStatus.RUNNING and not project.lines.exists():
        raise ValidationError("请先编制预算科目，再启动项目。", code="budget")
    before = snapshot(project)
    project.status = target
    project.version += 1
    project.save(update_fields=["status", "version"])
    log_change(actor, project, before, snapshot(project))
    return project


# --- budget and expenses -----------------------------------------------------------------------


@transaction.atomic
def do_add_budget_line(*, actor, project: Project, name: str, amount) -> BudgetLine:
    """Add a budget line (before the final accounts are drawn up)."""
    project = _lock(project)
    _require(actor, Perm.PROJECT_MANAGE, project)
    _require_open(project)
    if project.final_accounts_at:
        raise ValidationError("决算已编制，不能再调整预算。", code="final")
    if not (name or "").strip():
        raise field_error("name", "请填写预算科目。", "line")
    try:
        amount = check_amount(amount, "预算金额", allow_zero=True)
    except ValidationError as error:
        raise field_error("amount", error.messages[0], "amount") from None
    name = check_text(name, "预算科目", max_length=50, code="line")
    if project.lines.filter(name=name).exists():
        raise ValidationError(f"预算科目“{name}”已存在。", code="line")
    line = BudgetLine.objects.create(project=project, name=name, amount=amount)
    log_change(actor, line, {}, snapshot(line))
    return line


def spent_on_line(line: BudgetLine) -> Decimal:
    """What is booked on ``line`` so far (read after the line's row lock is held); pending and
    rejected expenses are not spent."""
    return line.expenses.filter(status=ExpenseStatus.BOOKED).aggregate(total=Sum("amount"))["total"] or ZERO


def pending_on_line(line: BudgetLine) -> Decimal:
    """What over-budget expenses awaiting a decision hold against ``line``."""
    return line.expenses.filter(status=ExpenseStatus.PENDING).aggregate(total=Sum("amount"))["total"] or ZERO


@transaction.atomic
def do_change_budget_line(*, actor, line: BudgetLine, version, amount) -> BudgetLine:
    """Change a line's amount; it may not drop below what is already spent on it."""
    line = BudgetLine.objects.select_for_update().select_related("project").get(pk=line.pk)
    project = line.project
    _require(actor, Perm.PROJECT_MANAGE, line)
    check_version(line, version)
    _require_open(project)
    if project.final_accounts_at:
        raise ValidationError("决算已编制，不能再调整预算。", code="final")
    amount = check_amount(amount, "预算金额", allow_zero=True)
    spent = spent_on_line(line)
    if amount < spent:
        raise ValidationError(f"预算金额不能低于该科目已支出的 {format_money(spent)}。", code="below_spent")
    before = snapshot(line)
    line.amount = amount
    line.version += 1
    line.save(update_fields=["amount", "version"])
    log_change(actor, line, before, snapshot(line))
    return line


@transaction.atomic
def do_record_expense(
    *, actor, project: Project, line: BudgetLine, amount, spent_on: dt.date, description: str, approval_reason: str = ""
) -> Expense:
    """H-PROJ-1: charge an expense to a budget line.

    Within the line's available budget (budget − booked − pending) it is booked at once. Beyond it,
    it needs a reason and is recorded *pending*: a finance office books nothing it has not approved,
    so it is not spent (not in the spent totals or the final accounts) until a second person
    approves it (``do_decide_expense``) — but it holds its amount against the line meanwhile, so
    later expenses cannot use money it would take. The holders of the approval permission are
    told. The budget line is locked (``SELECT … FOR UPDATE``) before the totals are read, so a
    concurrent expense waits and then sees this one.
    """
    _require(actor, Perm.PROJECT_MANAGE, project)
    line = BudgetLine.objects.select_for_update().get(pk=line.pk)
    # Also hold the project row (line first, then project — the order every writer takes them in),
    # so final accounts cannot be drawn between reading the budget and writing this expense.
    project = Project.objects.select_for_update().get(pk=project.pk)
    if line.project_id != project.pk:
        raise field_error("line", "所选预算科目不属于该项目。", "line")
    if project.status not in (ProjectStatus.RUNNING, ProjectStatus.CLOSING):
        raise ValidationError("只有实施中或结项中的项目可以登记支出。", code="state")
    if project.final_accounts_at:
        raise ValidationError("决算已编制，不能再登记支出。", code="final")
    try:
        amount = check_amount(amount)
    except ValidationError as error:
        raise field_error("amount", error.messages[0], "amount") from None
    spent_on = check_date(spent_on, "支出日期")
    if spent_on > today():
        raise field_error("spent_on", "支出日期不能晚于今天。", "future")
    if spent_on < project.start_date:
        raise field_error(
            "spent_on", f"支出日期不能早于项目开始日期（{project.start_date:%Y-%m-%d}）。", "before_start"
        )
    description = check_text(description, "用途", max_length=200)
    approval_reason = check_text(approval_reason, "超预算理由", max_length=500, required=False)
    available = line.amount - spent_on_line(line) - pending_on_line(line)
    over = amount > available
    if over and not approval_reason:
        raise field_error(
            "approval_reason",
            f"该支出超出“{line.name}”的可用预算（可用 {format_money(max(available, ZERO))}），"
            "须填写超预算理由，提交秘书处审批（须由登记人以外的人员批准）。",
            "over_budget",
        )
    expense = Expense.objects.create(
        project=project, line=line, amount=amount, spent_on=spent_on, description=description, over_budget=over,
        status=ExpenseStatus.PENDING if over else ExpenseStatus.BOOKED,
        approval_reason=approval_reason if over else "", recorded_by=actor,
    )  # fmt: skip
    log_change(actor, expense, {}, snapshot(expense), purpose="超预算支出（待审批）" if over else "")
    if over:
        _notify_approvers(project, expense, actor)
    return expense


def approvers(project: Project, *, exclude=None) -> list:
    """The active people holding the approval permission over ``project`` (an assignment at its unit
    or above), except ``exclude``."""
    from apps.accounts.models import Assignment, Role

    codes = [role.code for role in Role.objects.all() if Perm.PROJECT_APPROVE in (role.permissions or ())]
    rows = Assignment.objects.filter(role__code__in=codes, user__is_active=True, unit__is_active=True).select_related(
        "user", "unit"
    )
    people = {a.user_id: a.user for a in rows if project.unit_path.startswith(a.unit.path)}
    people.pop(getattr(exclude, "pk", None), None)
    return sorted(people.values(), key=lambda user: user.pk)


def _notify_approvers(project: Project, expense: Expense, actor) -> None:
    from apps.notifications.services import notify_user

    body = f"“{project.name}”的“{expense.line.name}”有一笔 {format_money(expense.amount)} 的超预算支出待审批。"
    for user in approvers(project, exclude=actor):
        notify_user(
            user=user,
            template="generic",
            context={"title": "超预算支出待审批", "body": body},
            url=f"/projects/expenses/{expense.pk}/decide/",
        )


@transaction.atomic
def do_decide_expense(*, actor, expense: Expense, decision: str, note: str = "") -> Expense:
    """H-PROJ-1 four eyes: approve or reject a pending over-budget expense.

    Only a person with the approval permission over the project, never the one who recorded the
    expense; a rejection needs a reason. Approved, it is booked (counts as spent); rejected, it
    releases what it held. The recorder is told.
    """
    row = Expense.objects.only("line_id", "project_id").get(pk=expense.pk)
    BudgetLine.objects.select_for_update().get(pk=row.line_id)  # line, then project, then expense
    project = Project.objects.select_for_update().get(pk=row.project_id)
    expense = Expense.objects.select_for_update().select_related("line").get(pk=expense.pk)
    if actor is None or not can(actor, Perm.PROJECT_APPROVE, project):
        raise field_error("decision", "超预算支出须由秘书处等有审批权限的人员审批。", "forbidden")
    if expense.status != ExpenseStatus.PENDING:
        raise field_error("decision", f"这笔支出已{expense.get_status_display()}，不能再审批。", "decided")
    if expense.recorded_by_id == actor.pk:
        raise field_error(
            "decision", "这笔支出是您本人登记的，不能由您自己审批；须由另一位有审批权限的人员审批。", "self_approval"
        )
    if decision not in ExpenseDecision.values:
        raise field_error("decision", "请选择批准或驳回。", "decision")
    if project.final_accounts_at:
        raise field_error("decision", "决算已编制，不能再审批支出。", "final")
    approve = decision == ExpenseDecision.APPROVE
    try:
        note = check_text(note, "驳回理由" if not approve else "审批意见", max_length=500, required=not approve)
    except ValidationError as error:
        raise field_error("note", error.messages[0], "note") from None
    before = snapshot(expense)
    expense.status = ExpenseStatus.BOOKED if approve else ExpenseStatus.REJECTED
    expense.decided_by, expense.decided_at, expense.decision_note = actor, timezone.now(), note
    expense.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    log_change(actor, expense, before, snapshot(expense), purpose="批准超预算支出" if approve else "驳回超预算支出")
    if expense.recorded_by_id and expense.recorded_by.is_active:
        from apps.notifications.services import notify_user

        verdict = "已批准" if approve else f"被驳回：{note}"
        notify_user(
            user=expense.recorded_by,
            template="generic",
            context={
                "title": "超预算支出" + ("已批准" if approve else "被驳回"),
                "body": f"您为“{project.name}”登记的 {format_money(expense.amount)} 超预算支出{verdict}",
            },
            url=f"/projects/{project.pk}/",
        )
    return expense


# --- schedule, reports, quality, documents -----------------------------------------------------


@transaction.atomic
def do_add_milestone(*, actor, project: Project, title: str, due_date: dt.date) -> Milestone:
    project = _lock(project)
    _require(actor, Perm.PROJECT_MANAGE, project)
    _require_open(project)
    title = check_text(title, "节点名称", max_length=100)
    due_date = check_date(due_date, "计划完成日期")
    milestone = Milestone.objects.create(project=project, title=title, due_date=due_date)
    log_change(actor, milestone, {}, snapshot(milestone))
    return milestone


@transaction.atomic
def do_complete_milestone(*, actor, milestone: Milestone, done_on: dt.date, note: str = "") -> Milestone:
    """H-PROJ-1: mark a milestone done (not in the future)."""
    milestone = Milestone.objects.select_for_update().select_related("project").get(pk=milestone.pk)
    _require(actor, Perm.PROJECT_MANAGE, milestone)
    _require_open(milestone.project)
    if milestone.done_on:
        raise ValidationError("该节点已经完成。", code="done")
    done_on = check_date(done_on, "完成日期")
    if done_on > today():
        raise ValidationError("完成日期不能晚于今天。", code="future")
    note = check_text(note, "进展说明", max_length=500, required=False)
    before = snapshot(milestone)
    milestone.done_on, milestone.done_by, milestone.note = done_on, actor, note
    milestone.save()
    log_change(actor, milestone, before, snapshot(milestone))
    return milestone


@transaction.atomic
def do_schedule_progress_report(*, actor, project: Project, recipient: str, period: str, due_date) -> ProgressReport:
    """H-PROJ-1: a progress report owed to the board or the sponsor by ``due_date``."""
    project = _lock(project)
    _require(actor, Perm.PROJECT_MANAGE, project)
    _require_open(project)
    if recipient not in ReportRecipient.values:
        raise ValidationError("请选择报送对象。", code="recipient")
    if recipient == ReportRecipient.SPONSOR and not project.sponsor:
        raise ValidationError("自主项目没有主办方，请报送理事会。", code="recipient")
    period = check_text(period, "报告期", max_length=50)
    due_date = check_date(due_date, "报送期限")
    if project.reports.filter(recipient=recipient, period=period).exists():
        raise ValidationError("该报告期的进度报告已经安排过了。", code="duplicate")
    report = ProgressReport.objects.create(project=project, recipient=recipient, period=period, due_date=due_date)
    log_change(actor, report, {}, snapshot(report))
    return report


@transaction.atomic
def do_submit_progress_report(*, actor, report: ProgressReport, content: str) -> ProgressReport:
    """H-PROJ-1: record the progress report as submitted (once)."""
    report = ProgressReport.objects.select_for_update().get(pk=report.pk)
    _require(actor, Perm.PROJECT_MANAGE, report)
    if report.submitted_at:
        raise ValidationError("该进度报告已经报送。", code="submitted")
    content = check_text(content, "报告内容", max_length=20000)
    before = snapshot(report)
    report.content, report.submitted_at, report.submitted_by = content, timezone.now(), actor
    report.save()
    log_change(actor, report, before, snapshot(report))
    return report


@transaction.atomic
def do_record_quality_check(
    *, actor, project: Project, checked_on: dt.date, checker, findings: str, result: str
) -> QualityCheck:
    """H-PROJ-1: a quality check with its date, checker, findings and result."""
    project = _lock(project)
    _require(actor, Perm.PROJECT_MANAGE, project)
    checked_on = check_date(checked_on, "检查日期")
    if checked_on > today():
        raise ValidationError("检查日期不能晚于今天。", code="future")
    if result not in QualityResult.values:
        raise ValidationError("请选择检查结论。", code="result")
    findings = check_text(findings, "检查发现", max_length=5000)
    check_manager(project.unit, checker)
    check = QualityCheck.objects.create(
        project=project, checked_on=checked_on, checker=checker, findings=findings, result=result, recorded_by=actor
    )
    log_change(actor, check, {}, snapshot(check))
    return check


def check_upload(upload) -> tuple[str, int]:
    if upload is None:
        raise ValidationError("请选择要上传的文件。", code="file")
    name = PurePath(upload.name or "").name[:200]
    if PurePath(name).suffix.lower() not in DOCUMENT_SUFFIXES:
        raise ValidationError(
            "只能上传 PDF、Word、Excel、PowerPoint、图片（JPG/PNG）、文本或 ZIP 文件。", code="file_type"
        )
    if not upload.size:
        raise ValidationError("文件是空的。", code="file_empty")
    if upload.size > MAX_DOCUMENT_BYTES:
        raise ValidationError("文件不能超过 20 MB。", code="file_size")
    return name, upload.size


@transaction.atomic
def do_upload_document(*, actor, project: Project, title: str, upload) -> Document:
    """H-PROJ-1: add a file to the project archive (stored privately; removed again if the transaction fails)."""
    project = _lock(project)
    _require(actor, Perm.PROJECT_MANAGE, project)
    title = check_text(title, "标题", max_length=100)
    name, size = check_upload(upload)
    document = Document(project=project, title=title, original_name=name, size=size, uploaded_by=actor)
    document.file.save(name, upload, save=False)
    stored = document.file.name
    try:
        document.save()
        log_change(actor, document, {}, snapshot(document))
    except Exception:
        document.file.storage.delete(stored)
        raise
    return document


# --- final accounts and acceptance -------------------------------------------------------------


@transaction.atomic
def do_draw_final_accounts(*, actor, project: Project, version, note: str = "") -> Project:
    """H-PROJ-1: draw up the final accounts of a closing project: totals from the budget and expenses.

    After this no expense or budget change is accepted.
    """
    project = _lock(project)
    _require(actor, Perm.PROJECT_MANAGE, project)
    check_version(project, version)
    if project.status != ProjectStatus.CLOSING:
        raise ValidationError("只有结项中的项目可以编制决算。", code="state")
    if project.final_accounts_at:
        raise ValidationError("决算已经编制。", code="final")
    pending = project.expenses.filter(status=ExpenseStatus.PENDING).count()
    if pending:
        raise ValidationError(f"还有 {pending} 笔超预算支出待审批，审批后才能编制决算。", code="pending")
    note = check_text(note, "决算说明", max_length=5000, required=False)
    before = snapshot(project)
    project.final_budget_total = project.lines.aggregate(t=Sum("amount"))["t"] or ZERO
    booked = project.expenses.filter(status=ExpenseStatus.BOOKED)
    project.final_spent_total = booked.aggregate(t=Sum("amount"))["t"] or ZERO
    project.final_accounts_at, project.final_accounts_by = timezone.now(), actor
    project.final_accounts_note = note
    project.version += 1
    project.save()
    log_change(actor, project, before, snapshot(project))
    return project


@transaction.atomic
def do_accept_project(*, actor, project: Project, version, note: str) -> Project:
    """H-PROJ-1: inspection and acceptance — only when every milestone is done and the final accounts exist."""
    project = _lock(project)
    if actor is not None and not can(actor, Perm.PROJECT_APPROVE, project):
        raise ValidationError("项目验收须由秘书处办理。", code="forbidden")
    check_version(project, version)
    if project.status != ProjectStatus.CLOSING:
        raise ValidationError("只有结项中的项目可以验收。", code="state")
    open_milestones = list(project.milestones.filter(done_on__isnull=True).values_list("title", flat=True)[:5])
    if open_milestones:
        raise ValidationError(
            f"还有未完成的项目节点：{'、'.join(open_milestones)}。全部节点完成后才能验收。", code="open_milestones"
        )
    if not project.final_accounts_at:
        raise ValidationError("请先编制项目决算，再办理验收。", code="no_final_accounts")
    note = check_text(note, "验收意见", max_length=5000)
    before = snapshot(project)
    project.status, project.accepted_at, project.accepted_by = ProjectStatus.ACCEPTED, timezone.now(), actor
    project.acceptance_note = note
    project.version += 1
    project.save()
    log_change(actor, project, before, snapshot(project))
    return project
