"""The three-colour warning (三色预警): key-person files, their follow-up cycles, contacts and events.

A ``Warning`` is client data owned by the client's unit: ``unit_path`` copies the unit's path and
every query must be scoped (``Warning.objects.visible_to(user, perm)``). Free text (the reason for
tagging, contact notes, event reasons) is encrypted at rest; ``__str__`` never shows a name.
Per-tenant rules (band → colour, cycle lengths, "essentially unchanged") live in ``AlertPolicy``
and ``ColourRule``; a tenant without rows uses the documented defaults (docs/alerts.md).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.scoping import ScopedManagerMixin, ScopedQuerySetMixin
from apps.vault.fields import EncryptedTextField
from apps.vault.models import VaultQuerySet

from .choices import BandLevel, Colour, ContactKind, EventKind, Proposal, State

DEFAULT_CYCLE_DAYS = {Colour.RED: 7, Colour.ORANGE: 14, Colour.YELLOW: 30}
DEFAULT_FEEDBACK_DAYS = 3
DEFAULT_REVIEW_CYCLES = 3
DEFAULT_UNCHANGED_DELTA = 2
DEFAULT_REASSESS_EVERY = 3
DEFAULT_BAND_COLOURS = {
    BandLevel.NONE: Colour.NONE,
    BandLevel.MILD: Colour.YELLOW,
    BandLevel.MODERATE: Colour.ORANGE,
    BandLevel.SEVERE: Colour.RED,
}


class AlertQuerySet(ScopedQuerySetMixin, VaultQuerySet):
    pass


class AlertManager(ScopedManagerMixin, models.Manager.from_queryset(AlertQuerySet)):
    pass


def _user_fk(label, null=True, related_name="+"):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, null=null, blank=null, on_delete=models.PROTECT, related_name=related_name,
        verbose_name=label,
    )  # fmt: skip


class AlertPolicy(models.Model):
    """The warning rules of one tenant (the root unit of an org tree), S-WARN-6."""

    scope_path_field = "tenant__path"

    tenant = models.OneToOneField(
        "orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="所属体系（根单位）"
    )
    red_cycle_days = models.PositiveSmallIntegerField("红色随访周期（天）", default=DEFAULT_CYCLE_DAYS[Colour.RED])
    orange_cycle_days = models.PositiveSmallIntegerField(
        "橙色随访周期（天）", default=DEFAULT_CYCLE_DAYS[Colour.ORANGE]
    )
    yellow_cycle_days = models.PositiveSmallIntegerField(
        "黄色随访周期（天）", default=DEFAULT_CYCLE_DAYS[Colour.YELLOW]
    )
    feedback_days = models.PositiveSmallIntegerField("反馈期限（日历日）", default=DEFAULT_FEEDBACK_DAYS)
    review_cycles = models.PositiveSmallIntegerField("评估周期数", default=DEFAULT_REVIEW_CYCLES)
    unchanged_delta = models.DecimalField(
        "“分值基本不变”的最大变化", max_digits=6, decimal_places=2, default=DEFAULT_UNCHANGED_DELTA
    )
    reassess_every = models.PositiveSmallIntegerField("每几个周期复评一次", default=DEFAULT_REASSESS_EVERY)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_by = _user_fk("最后修改人")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "预警规则"
        verbose_name_plural = "预警规则"
        constraints = [
            models.CheckConstraint(
                condition=Q(red_cycle_days__gte=1, orange_cycle_days__gte=1, yellow_cycle_days__gte=1),
                name="alertpolicy_cycle_positive",
                violation_error_message="随访周期至少 1 天。",
            ),
            models.CheckConstraint(
                condition=Q(review_cycles__gte=1, reassess_every__gte=1, feedback_days__gte=1),
                name="alertpolicy_counts_positive",
                violation_error_message="周期数、复评间隔与反馈期限至少为 1。",
            ),
        ]

    def __str__(self):
        return f"预警规则 #{self.pk}"

    def cycle_days(self, colour: int) -> int:
        return {
            Colour.RED: self.red_cycle_days,
            Colour.ORANGE: self.orange_cycle_days,
            Colour.YELLOW: self.yellow_cycle_days,
        }[colour]


class ColourRule(models.Model):
    """Which colour a band of a scale maps to in one tenant; a blank scale code applies to any scale."""

    scope_path_field = "tenant__path"

    tenant = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="所属体系")
    scale_code = models.CharField("量表编码", max_length=40, blank=True, help_text="留空表示适用于所有量表")
    band_level = models.CharField("结果等级", max_length=10, choices=BandLevel.choices)
    colour = models.PositiveSmallIntegerField("预警颜色", choices=Colour.choices)

    class Meta:
        verbose_name = "分值与颜色对应"
        verbose_name_plural = "分值与颜色对应"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "scale_code", "band_level"],
                name="colourrule_unique",
                violation_error_message="该量表的这一等级已设置过颜色。",
            )
        ]

    def __str__(self):
        return f"颜色规则 #{self.pk}"


class Warning(models.Model):  # noqa: A001 - the glossary's name; never a module called ``warnings``
    """A key-person file (重点人员预警档案) of one client, S-WARN-1…6.

    ``reported`` (tagged by a community worker with a proposed colour) → ``open`` (the district
    centre set the colour from an assessment result, assigned a counsellor and must feed back
    within ``feedback_due``) → optionally ``control`` (管控流程) → ``closed``. The current
    follow-up cycle is ``cycle_number`` scheduled ``cycle_started``…``cycle_due``; it is current from
    ``cycle_started_at`` on, and only visits and contacts from then on count for it. Overdue feedback
    and overdue cycles are queries on the stored dates. At most one active warning per client.
    """

    scope_path_field = "unit_path"

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+", verbose_name="来访者")
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="所属单位")
    unit_path = models.CharField(max_length=255, editable=False)
    tenant = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", editable=False)
    centre = models.ForeignKey(
        "orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="上报至（区中心）"
    )
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.REPORTED)
    colour = models.PositiveSmallIntegerField("预警颜色", choices=Colour.choices, default=Colour.NONE)
    proposed_colour = models.PositiveSmallIntegerField("建议颜色", choices=Colour.choices)
    reason = EncryptedTextField("标记原因")
    tagged_by = _user_fk("标记人")
    tagged_at = models.DateTimeField("上报时间")
    colour_set_by = _user_fk("定色人")
    colour_set_at = models.DateTimeField("定色时间", null=True, blank=True)
    basis_result = models.ForeignKey(
        "assessments.AssessmentResult", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="定色依据（测评结果）",
    )  # fmt: skip
    basis_scale = models.CharField("依据量表", max_length=40, blank=True)
    basis_score = models.DecimalField("依据分值", max_digits=8, decimal_places=2, null=True, blank=True)
    counsellor = _user_fk("负责咨询师")
    feedback_due = models.DateField("反馈期限", null=True, blank=True)
    feedback_sent_at = models.DateTimeField("反馈时间", null=True, blank=True)
    feedback_by = _user_fk("反馈人")
    cycle_days = models.PositiveSmallIntegerField("随访周期（天）", null=True, blank=True)
    cycle_number = models.PositiveSmallIntegerField("当前周期", default=0)
    cycle_started = models.DateField("本周期开始", null=True, blank=True)
    # The moment the current cycle became current (colour set, or the previous cycle completed): only a
    # visit or contact from then on counts for it. ``cycle_started`` is the schedule, which may lie ahead.
    cycle_started_at = models.DateTimeField("本周期计入起点", null=True, blank=True)
    cycle_due = models.DateField("本周期截止", null=True, blank=True)
    cycles_in_review = models.PositiveSmallIntegerField("本轮已完成周期", default=0)
    review_baseline_score = models.DecimalField("本轮基线分值", max_digits=8, decimal_places=2, null=True, blank=True)
    proposal = models.CharField("系统建议", max_length=10, choices=Proposal.choices, blank=True, default="")
    proposal_colour = models.PositiveSmallIntegerField("建议调整为", choices=Colour.choices, null=True, blank=True)
    proposal_at = models.DateTimeField("建议时间", null=True, blank=True)
    control_entered_at = models.DateTimeField("转入管控时间", null=True, blank=True)
    control_measures = models.JSONField("管控措施", default=list, blank=True)
    control_institution = models.CharField("转送机构", max_length=100, blank=True)
    closed_at = models.DateTimeField("结案时间", null=True, blank=True)
    closed_by = _user_fk("结案人")
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField("建立时间", auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AlertManager()

    class Meta:
        verbose_name = "重点人员预警"
        verbose_name_plural = "重点人员预警"
        indexes = [
            # Scoped lists filter ``unit_path LIKE '<scope>%'``; the collation is not "C", so only
            # *_pattern_ops indexes serve that prefix (as in apps.clients).
            models.Index(
                fields=["unit_path", "id"], name="warning_scope_id", opclasses=["varchar_pattern_ops", "int8_ops"]
            ),
            # Dashboards read only active warnings: a partial, covering index (index-only scans on PostgreSQL).
            models.Index(
                fields=["unit_path"],
                opclasses=["varchar_pattern_ops"],
                include=["colour", "state", "created_at", "feedback_due", "feedback_sent_at", "cycle_due"],
                condition=~Q(state="closed"),
                name="warning_active_dash",
            ),
            models.Index(fields=["client", "state"], name="warning_client_state"),
            models.Index(fields=["counsellor", "cycle_due"], name="warning_counsellor_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=~Q(state="closed"),
                name="warning_one_active_per_client",
                violation_error_message="该来访者已有一份未结案的预警档案。",
            ),
            models.CheckConstraint(
                condition=~Q(colour=Colour.RED) | Q(counsellor__isnull=False),
                name="warning_red_has_responder",
                violation_error_message="红色预警必须指定负责咨询师。",
            ),
            models.CheckConstraint(
                condition=~Q(state="closed", colour=Colour.RED),
                name="warning_closed_not_red",
                violation_error_message="红色预警不能结案。",
            ),
            models.CheckConstraint(
                condition=Q(state="reported") | Q(state="closed") | Q(colour__gt=0),
                name="warning_tracked_has_colour",
                violation_error_message="跟踪中的预警必须有颜色。",
            ),
        ]

    def __str__(self):
        # Never the client's name: str() ends up in logs and audit labels.
        return f"预警 #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.state != State.CLOSED


class ContactRecord(models.Model):
    """A follow-up contact of a key person that is not a home visit (phone, interview, online)."""

    scope_path_field = "unit_path"

    warning = models.ForeignKey(Warning, on_delete=models.PROTECT, related_name="contacts", verbose_name="预警")
    unit_path = models.CharField(max_length=255, editable=False)
    kind = models.CharField("联系方式", max_length=10, choices=ContactKind.choices)
    happened_at = models.DateTimeField("联系时间")
    note = EncryptedTextField("情况记录")
    recorded_by = _user_fk("记录人")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = AlertManager()

    class Meta:
        verbose_name = "预警联系记录"
        verbose_name_plural = "预警联系记录"
        indexes = [models.Index(fields=["warning", "happened_at"], name="contact_warning_time")]

    def __str__(self):
        return f"联系记录 #{self.pk}"


class FollowUpCycle(models.Model):
    """One completed follow-up cycle: the window, what counted as the visit, and any re-assessment.

    ``started_at``…``completed_at`` is the window its visit or contact came from (empty on cycles
    completed before issue 13, which counted by date).
    """

    scope_path_field = "unit_path"

    warning = models.ForeignKey(Warning, on_delete=models.PROTECT, related_name="cycles", verbose_name="预警")
    unit_path = models.CharField(max_length=255, editable=False)
    number = models.PositiveSmallIntegerField("周期序号")
    colour = models.PositiveSmallIntegerField("当时颜色", choices=Colour.choices)
    starts_on = models.DateField("开始")
    due_on = models.DateField("截止")
    completed_on = models.DateField("完成日期")
    started_at = models.DateTimeField("计入起点", null=True, blank=True)
    completed_at = models.DateTimeField("完成时间", null=True, blank=True)
    visit = models.ForeignKey(
        "outreach.HomeVisit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="上门关怀"
    )
    contact = models.ForeignKey(
        ContactRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="联系记录"
    )
    reassessment = models.ForeignKey(
        "assessments.AssessmentResult", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="复评结果",
    )  # fmt: skip
    score = models.DecimalField("复评分值", max_digits=8, decimal_places=2, null=True, blank=True)
    completed_by = _user_fk("登记人")

    objects = AlertManager()

    class Meta:
        verbose_name = "随访周期"
        verbose_name_plural = "随访周期"
        constraints = [
            models.UniqueConstraint(fields=["warning", "number"], name="cycle_unique_number"),
            models.CheckConstraint(
                condition=Q(visit__isnull=False) | Q(contact__isnull=False),
                name="cycle_has_contact",
                violation_error_message="每个周期须有一次上门关怀或联系记录。",
            ),
        ]

    def __str__(self):
        return f"随访周期 #{self.pk}"


class WarningEvent(models.Model):
    """One transition of a warning: who, when, why, the colours and the scores behind it."""

    scope_path_field = "unit_path"

    warning = models.ForeignKey(Warning, on_delete=models.PROTECT, related_name="events", verbose_name="预警")
    unit_path = models.CharField(max_length=255, editable=False)
    kind = models.CharField("事件", max_length=20, choices=EventKind.choices)
    actor = _user_fk("操作人")
    at = models.DateTimeField("时间")
    from_state = models.CharField("原状态", max_length=10, choices=State.choices, blank=True)
    to_state = models.CharField("新状态", max_length=10, choices=State.choices, blank=True)
    from_colour = models.PositiveSmallIntegerField("原颜色", choices=Colour.choices, null=True, blank=True)
    to_colour = models.PositiveSmallIntegerField("新颜色", choices=Colour.choices, null=True, blank=True)
    reason = EncryptedTextField("原因说明", blank=True)
    scores = models.JSONField("依据分值", default=dict, blank=True)
    detail = models.JSONField("详情", default=dict, blank=True)

    objects = AlertManager()

    class Meta:
        verbose_name = "预警事件"
        verbose_name_plural = "预警事件"
        indexes = [models.Index(fields=["warning", "at"], name="warningevent_warning_at")]

    def __str__(self):
        return f"预警事件 #{self.pk}"
