"""Association projects (H-PROJ-1): government, social and own projects with budget, expenses,
milestones, progress reports, quality checks, documents, final accounts and acceptance.

A project belongs to the department or committee that runs it: ``unit_path`` copies that unit's
path, and every child row is scoped through ``project__unit_path``. Only
``apps.projects.services`` writes these rows.
"""

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models

from .choices import ExpenseStatus, ProjectKind, ProjectStatus, QualityResult, ReportRecipient
from .storage import private_documents

MONEY = {"max_digits": 12, "decimal_places": 2}


def _user_fk(label, related_name="+", null=True):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=null,
        blank=null,
        on_delete=models.PROTECT,
        related_name=related_name,
        verbose_name=label,
    )


class Project(models.Model):
    """A project the association runs; status moves planned → running → closing → accepted.

    ``final_*`` hold the final accounts (决算) drawn up at closing; acceptance (验收) needs them and
    every milestone done.
    """

    scope_path_field = "unit_path"

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="承办部门")
    unit_path = models.CharField(max_length=255, editable=False)
    name = models.CharField("项目名称", max_length=100)
    kind = models.CharField("项目类别", max_length=20, choices=ProjectKind.choices)
    sponsor = models.CharField("主办方/委托方", max_length=100, blank=True)
    manager = _user_fk("项目负责人", null=False)
    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期")
    status = models.CharField("状态", max_length=10, choices=ProjectStatus.choices, default=ProjectStatus.PLANNED)
    description = models.TextField("项目简介", blank=True)
    final_budget_total = models.DecimalField("决算：预算合计", null=True, blank=True, **MONEY)
    final_spent_total = models.DecimalField("决算：支出合计", null=True, blank=True, **MONEY)
    final_accounts_at = models.DateTimeField("决算编制时间", null=True, blank=True)
    final_accounts_by = _user_fk("决算编制人")
    final_accounts_note = models.TextField("决算说明", blank=True)
    accepted_at = models.DateTimeField("验收时间", null=True, blank=True)
    accepted_by = _user_fk("验收人")
    acceptance_note = models.TextField("验收意见", blank=True)
    created_by = _user_fk("登记人")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = "项目"
        verbose_name_plural = "项目"
        indexes = [
            models.Index(fields=["unit_path", "id"], name="project_scope_id"),
            models.Index(fields=["status", "kind"], name="project_status_kind"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(name=""), name="project_name_not_empty"),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")), name="project_dates_order"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="accepted") | models.Q(final_accounts_at__isnull=False),
                name="project_accepted_needs_final_accounts",
            ),
        ]

    def __str__(self):
        return self.name


class BudgetLine(models.Model):
    """One line of the budget (预算科目); expenses are charged against a line and may not exceed it
    without a recorded approval."""

    scope_path_field = "project__unit_path"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="lines", verbose_name="项目")
    name = models.CharField("预算科目", max_length=50)
    amount = models.DecimalField("预算金额（元）", **MONEY)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = "预算科目"
        verbose_name_plural = "预算科目"
        ordering = ["project", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="budgetline_unique_name"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="budgetline_amount_not_negative"),
        ]

    def __str__(self):
        return self.name


class Expense(models.Model):
    """An expense charged to a budget line (H-PROJ-1, four eyes).

    Within the line's available budget it is ``booked`` at once. Over it, it is recorded ``pending``
    with the requester's reason (``approval_reason``) and counts as spent only once a second person
    with the approval permission — never its author — approves it (``decided_by``); a rejected one
    never counts. A pending expense holds its amount against the line meanwhile.
    """

    scope_path_field = "project__unit_path"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="expenses", verbose_name="项目")
    line = models.ForeignKey(BudgetLine, on_delete=models.PROTECT, related_name="expenses", verbose_name="预算科目")
    amount = models.DecimalField("金额（元）", **MONEY)
    spent_on = models.DateField("支出日期")
    description = models.CharField("用途", max_length=200)
    status = models.CharField("审批状态", max_length=10, choices=ExpenseStatus.choices, default=ExpenseStatus.BOOKED)
    over_budget = models.BooleanField("超预算", default=False)
    approval_reason = models.CharField("超预算理由", max_length=500, blank=True)
    decided_by = _user_fk("审批人")
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=500, blank=True)
    recorded_by = _user_fk("登记人")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = "项目支出"
        verbose_name_plural = "项目支出"
        indexes = [models.Index(fields=["project", "id"], name="expense_project_id")]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="expense_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(over_budget=False) | ~models.Q(approval_reason=""),
                name="expense_over_budget_needs_reason",
            ),
            # Within budget: booked, nobody decides. Over budget: pending without a decider, or
            # booked/rejected with one. (Author ≠ decider is checked in the service: rows recorded
            # before the four-eyes rule may hold a self-approval, which a constraint would refuse.)
            models.CheckConstraint(
                condition=models.Q(over_budget=False, status="booked", decided_by__isnull=True)
                | models.Q(over_budget=True, status="pending", decided_by__isnull=True)
                | models.Q(over_budget=True, status__in=["booked", "rejected"], decided_by__isnull=False),
                name="expense_decision_consistent",
            ),
        ]

    def __str__(self):
        return f"支出 #{self.pk}"


class Milestone(models.Model):
    """A milestone of the schedule (进度节点); done when ``done_on`` is set."""

    scope_path_field = "project__unit_path"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones", verbose_name="项目")
    title = models.CharField("节点", max_length=100)
    due_date = models.DateField("计划完成日期")
    done_on = models.DateField("完成日期", null=True, blank=True)
    done_by = _user_fk("确认人")
    note = models.CharField("进展说明", max_length=500, blank=True)

    class Meta:
        verbose_name = "项目节点"
        verbose_name_plural = "项目节点"
        ordering = ["project", "due_date", "id"]

    def __str__(self):
        return self.title


class ProgressReport(models.Model):
    """A periodic progress report owed to the board or the sponsor; overdue = due passed, not submitted."""

    scope_path_field = "project__unit_path"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reports", verbose_name="项目")
    recipient = models.CharField("报送对象", max_length=10, choices=ReportRecipient.choices)
    period = models.CharField("报告期", max_length=50)
    due_date = models.DateField("报送期限")
    content = models.TextField("报告内容", blank=True)
    submitted_at = models.DateTimeField("报送时间", null=True, blank=True)
    submitted_by = _user_fk("报送人")

    class Meta:
        verbose_name = "进度报告"
        verbose_name_plural = "进度报告"
        ordering = ["project", "due_date", "id"]
        indexes = [models.Index(fields=["due_date", "submitted_at"], name="progress_report_due")]
        constraints = [
            models.UniqueConstraint(fields=["project", "recipient", "period"], name="progress_report_unique")
        ]

    def __str__(self):
        return f"{self.period}进度报告"


class QualityCheck(models.Model):
    """A quality check (质量检查) of a project: date, checker, findings and result."""

    scope_path_field = "project__unit_path"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="checks", verbose_name="项目")
    checked_on = models.DateField("检查日期")
    checker = _user_fk("检查人", null=False)
    findings = models.TextField("检查发现")
    result = models.CharField("结论", max_length=10, choices=QualityResult.choices)
    recorded_by = _user_fk("登记人")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "质量检查"
        verbose_name_plural = "质量检查"
        ordering = ["project", "-checked_on", "-id"]

    def __str__(self):
        return f"质量检查 #{self.pk}"


def document_path(instance, filename: str) -> str:
    """A random name under the project's folder: uploaded names never reach the file system."""
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"{instance.project_id}/{uuid.uuid4().hex}{suffix}"


class Document(models.Model):
    """A project document (项目档案) stored privately and served only by a permission-checked view."""

    scope_path_field = "project__unit_path"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="documents", verbose_name="项目")
    title = models.CharField("标题", max_length=100)
    file = models.FileField("文件", upload_to=document_path, storage=private_documents, max_length=200)
    original_name = models.CharField("原文件名", max_length=200)
    size = models.PositiveIntegerField("大小（字节）")
    uploaded_by = _user_fk("上传人")
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = "项目文档"
        verbose_name_plural = "项目文档"
        ordering = ["project", "-id"]

    def __str__(self):
        return self.title
