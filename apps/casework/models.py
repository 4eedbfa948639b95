from django.conf import settings
from django.db import models

from apps.core.scoping import ScopedManager
from apps.vault.fields import EncryptedTextField

from .choices import (
    CaseState,
    ConsentKind,
    Decision,
    DisorderJudgement,
    EventKind,
    GivenBy,
    OverrideGround,
    Requester,
    Severity,
)


class Case(models.Model):
    """One case of counselling service for one client (一案一人): state, counsellor, unit.

    Belongs to the client's unit; its state changes only through ``apps.casework.services``,
    each writing a ``CaseEvent``. Client data: every query must be scoped.
    """

    scope_path_field = "unit_path"

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+", verbose_name="来访者")
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="所属单位")
    unit_path = models.CharField(max_length=255, editable=False)
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="咨询师",
    )
    state = models.CharField("状态", max_length=20, choices=CaseState.choices, default=CaseState.REQUESTED)
    opened_at = models.DateTimeField("建档时间", auto_now_add=True)
    closed_at = models.DateTimeField("结案时间", null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = ScopedManager()

    class Meta:
        verbose_name = "个案"
        verbose_name_plural = "个案"
        indexes = [
            models.Index(fields=["unit_path", "id"], name="case_scope_id"),
            models.Index(fields=["client", "-id"], name="case_client_recent"),
            models.Index(fields=["counsellor", "state"], name="case_counsellor_state"),
        ]

    def __str__(self):
        return f"个案 #{self.pk}"


class CaseEvent(models.Model):
    """A change of a case: the state before and after, who asked, who recorded it, when and why."""

    scope_path_field = "case__unit_path"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events", verbose_name="个案")
    from_state = models.CharField("原状态", max_length=20, choices=CaseState.choices, blank=True)
    to_state = models.CharField("新状态", max_length=20, choices=CaseState.choices)
    kind = models.CharField("类别", max_length=20, choices=EventKind.choices, default=EventKind.STATE)
    requested_by = models.CharField("提出人", max_length=20, choices=Requester.choices, blank=True)
    reason = models.TextField("原因")
    crisis_ground = models.CharField(
        "危机例外依据", max_length=20, choices=OverrideGround.choices, blank=True,
        help_text="未成年人未经监护人同意而开始服务时的危机情形（S-CLIENT-4 的例外）",
    )  # fmt: skip
    from_counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="原咨询师",
    )
    to_counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="新咨询师",
    )
    client_informed = models.BooleanField("已告知来访者", null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", verbose_name="记录人"
    )
    happened_at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = "个案变更记录"
        verbose_name_plural = "个案变更记录"
        ordering = ["id"]

    def __str__(self):
        if self.kind == EventKind.COUNSELLOR:
            return "更换咨询师"
        return f"{self.get_from_state_display() or '—'} → {self.get_to_state_display()}"


class CounsellingSession(models.Model):
    """One counselling session of a case (S-FLOW-5). Notes and judgements are encrypted at rest and
    readable only by the case's counsellor or a note reader (see ``selectors.can_read_notes``)."""

    scope_path_field = "unit_path"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="sessions", verbose_name="个案")
    unit_path = models.CharField(max_length=255, editable=False)
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="咨询师"
    )
    happened_at = models.DateTimeField("咨询时间")
    duration_minutes = models.PositiveSmallIntegerField("时长（分钟）")
    notes = EncryptedTextField("咨询记录", blank=True)
    problem_focus = EncryptedTextField("问题焦点评估", blank=True)
    framework = EncryptedTextField("咨询框架", blank=True)
    severe_disorder_judgement = models.CharField(
        "是否存在严重精神障碍", max_length=20, choices=DisorderJudgement.choices, default=DisorderJudgement.NONE
    )
    diagnosis = EncryptedTextField("初步诊断", blank=True)
    severity = models.CharField("严重程度", max_length=20, choices=Severity.choices, blank=True)
    expected_effect = models.CharField("预期效果", max_length=200, blank=True)
    suitable_to_continue = models.BooleanField("适合继续咨询", default=True)
    decision = models.CharField("处理决定", max_length=20, choices=Decision.choices, default=Decision.CONTINUE)
    recording_consent = models.BooleanField("已取得录音录像同意", default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", verbose_name="记录人"
    )
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "心理咨询记录"
        verbose_name_plural = "心理咨询记录"
        indexes = [
            models.Index(fields=["unit_path", "id"], name="session_scope_id"),
            models.Index(fields=["case", "happened_at"], name="session_case_time"),
        ]

    def __str__(self):
        return f"咨询记录 #{self.pk}"


class Consent(models.Model):
    """A consent or notice acknowledged by the client or guardian (S-PRIN-3, S-CLIENT-4)."""

    scope_path_field = "unit_path"

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+", verbose_name="来访者")
    unit_path = models.CharField(max_length=255, editable=False)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="consents", verbose_name="个案"
    )
    session = models.ForeignKey(
        CounsellingSession,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consents",
        verbose_name="咨询记录",
    )
    kind = models.CharField("类别", max_length=30, choices=ConsentKind.choices)
    notice_version = models.CharField("告知书版本", max_length=20, blank=True)
    given_by = models.CharField("同意人", max_length=20, choices=GivenBy.choices)
    given_at = models.DateTimeField("同意时间")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", verbose_name="记录人"
    )
    withdrawn_at = models.DateTimeField("撤回时间", null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "知情同意"
        verbose_name_plural = "知情同意"
        indexes = [models.Index(fields=["unit_path", "id"], name="consent_scope_id")]

    def __str__(self):
        return f"知情同意 #{self.pk}"


class ConfidentialityOverride(models.Model):
    """An explicit, justified, logged lifting of confidentiality (S-PRIN-5)."""

    scope_path_field = "unit_path"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="overrides", verbose_name="个案")
    unit_path = models.CharField(max_length=255, editable=False)
    ground = models.CharField("依据", max_length=20, choices=OverrideGround.choices)
    justification = EncryptedTextField("理由说明")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="操作人"
    )
    happened_at = models.DateTimeField("时间", auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "保密例外"
        verbose_name_plural = "保密例外"
        indexes = [models.Index(fields=["unit_path", "id"], name="override_scope_id")]

    def __str__(self):
        return f"保密例外 #{self.pk}"


class Reception(models.Model):
    """A reception visit (S-FLOW-3): the per-visit part of the registration form (Appendix C)."""

    scope_path_field = "unit_path"

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+", verbose_name="来访者")
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="receptions", verbose_name="个案"
    )
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="接待单位")
    unit_path = models.CharField(max_length=255, editable=False)
    receptionist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="接待人"
    )
    received_at = models.DateTimeField("接待时间")
    reason = EncryptedTextField("自述症状（咨询原因）", blank=True)
    history = EncryptedTextField("咨询或用药史", blank=True)
    preliminary_analysis = EncryptedTextField("初步诊断分析", blank=True)
    counselling_effect = EncryptedTextField("咨询效果", blank=True)
    next_step_plan = EncryptedTextField("下一步计划", blank=True)
    told_flow_rights = models.BooleanField("已告知服务流程、权利与注意事项", default=False)
    crisis = models.BooleanField("接待中出现危机", default=False)
    crisis_action = EncryptedTextField("危机处置", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "咨询接待"
        verbose_name_plural = "咨询接待"
        indexes = [models.Index(fields=["unit_path", "id"], name="reception_scope_id")]

    def __str__(self):
        return f"接待 #{self.pk}"
