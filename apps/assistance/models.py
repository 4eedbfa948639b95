"""Association services: help requests, hours of members, and rapid crisis response.

Every row belongs to one org unit (an association or one of its committees): ``unit_path`` copies
the unit's path so scoped lists are one prefix scan, and two associations never see each other's
rows. Help-seekers' names, phone numbers and their problem are encrypted at rest; ``__str__``
never shows them.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.core.scoping import ScopedManagerMixin, ScopedQuerySetMixin
from apps.vault.fields import EncryptedCharField, EncryptedTextField
from apps.vault.models import VaultQuerySet

from .choices import (
    Availability,
    DispatchRole,
    DispatchStatus,
    EventKind,
    EventStatus,
    HelpChannel,
    HelpEventKind,
    HelpOutcome,
    HelpStatus,
    HoursKind,
    HoursStatus,
    ServiceKind,
    Severity,
    Skill,
    Specialty,
    Urgency,
)


def _user_fk(label, related_name="+", null=True):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, null=null, blank=null, on_delete=models.PROTECT, related_name=related_name,
        verbose_name=label,
    )  # fmt: skip


def _unit_fk(label="所属单位"):
    return models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=label)


class ServiceSettings(models.Model):
    """Per-unit rules of this module; a unit without a row inherits from the nearest ancestor that has one."""

    scope_path_field = "unit__path"

    unit = models.OneToOneField(
        "orgs.OrgUnit", on_delete=models.CASCADE, related_name="assistance_settings", verbose_name="单位"
    )
    assign_working_days = models.PositiveSmallIntegerField(
        "分派时限（工作日）", default=2, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    education_minimum = models.DecimalField(
        "年度继续教育最低学时", max_digits=6, decimal_places=1, default=Decimal("24.0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1000"))],
    )  # fmt: skip
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "协会服务设置"
        verbose_name_plural = "协会服务设置"

    def __str__(self):
        return f"协会服务设置 #{self.pk}"


class SpecialtyRoute(models.Model):
    """Which specialty committee receives the help requests of one specialty, for a unit's subtree."""

    scope_path_field = "unit__path"

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.CASCADE, related_name="+", verbose_name="协会")
    specialty = models.CharField("专业领域", max_length=20, choices=Specialty.choices)
    committee = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="专业委员会")

    class Meta:
        verbose_name = "求助分流规则"
        verbose_name_plural = "求助分流规则"
        constraints = [models.UniqueConstraint(fields=["unit", "specialty"], name="assistance_route_unique")]

    def __str__(self):
        return f"{self.get_specialty_display()} → {self.committee}"


class HelpRequestQuerySet(ScopedQuerySetMixin, VaultQuerySet):
    pass


class HelpRequestManager(ScopedManagerMixin, models.Manager.from_queryset(HelpRequestQuerySet)):
    pass


class HelpRequest(models.Model):
    """A help request (个案求助) received by the association, routed to a specialty committee by
    specialty, assigned by the committee head to a counsellor member who accepts or declines it.

    ``unit`` is where the request sits now: the association on receipt, the committee once routed.
    ``assign_due`` (N working days after receipt) is computed once on create; "overdue" is the query
    ``assign_due < today and not yet assigned``.
    """

    scope_path_field = "unit_path"

    unit = _unit_fk("当前受理单位")
    unit_path = models.CharField(max_length=255, editable=False)
    tenant = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", editable=False)
    channel = models.CharField("求助渠道", max_length=20, choices=HelpChannel.choices)
    received_at = models.DateTimeField("收到时间")
    seeker_name = EncryptedCharField("求助者姓名", max_length=50)
    seeker_phone = EncryptedCharField("联系电话", max_length=20, blank=True)
    topic = EncryptedTextField("求助问题")
    specialty = models.CharField("专业领域", max_length=20, choices=Specialty.choices)
    urgency = models.CharField("紧急程度", max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    status = models.CharField("状态", max_length=10, choices=HelpStatus.choices, default=HelpStatus.RECEIVED)
    committee = models.ForeignKey(
        "orgs.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="专业委员会"
    )
    assignee = _user_fk("接案心理师", related_name="assigned_help_requests")
    assigned_at = models.DateTimeField("分派时间", null=True, blank=True)
    assign_due = models.DateField("分派期限")
    # apps.workdays.deadlines: the deadline counted through a year whose holidays nobody has entered
    assign_due_estimated = models.BooleanField("分派期限为预估", default=False)
    assign_due_estimate_reason = models.CharField("分派期限预估原因", max_length=100, blank=True)
    accepted_at = models.DateTimeField("接案时间", null=True, blank=True)
    closed_at = models.DateTimeField("结案时间", null=True, blank=True)
    outcome = models.CharField("结案结果", max_length=20, choices=HelpOutcome.choices, blank=True)
    outcome_note = EncryptedTextField("结案说明", blank=True)
    recorded_by = _user_fk("登记人")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = HelpRequestManager()

    class Meta:
        verbose_name = "个案求助"
        verbose_name_plural = "个案求助"
        indexes = [
            models.Index(fields=["unit_path", "id"], name="help_scope_id"),
            models.Index(fields=["status", "assign_due"], name="help_due"),
            models.Index(fields=["assignee", "status"], name="help_assignee"),
        ]

    def __str__(self):
        # Never the help-seeker's name: str() ends up in logs and audit labels.
        return f"个案求助 #{self.pk}"


class HelpRequestEvent(models.Model):
    """One step of a help request (who, when, what, why): routing, assignment, decline, closing."""

    scope_path_field = "request__unit_path"

    request = models.ForeignKey(HelpRequest, on_delete=models.CASCADE, related_name="events", verbose_name="求助")
    kind = models.CharField("环节", max_length=20, choices=HelpEventKind.choices)
    actor = _user_fk("操作人")
    assignee = _user_fk("涉及心理师")
    committee = models.ForeignKey(
        "orgs.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="专业委员会"
    )
    reason = models.CharField("说明", max_length=500, blank=True)
    happened_at = models.DateTimeField("时间")

    class Meta:
        verbose_name = "求助处理记录"
        verbose_name_plural = "求助处理记录"
        ordering = ["happened_at", "id"]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


class HoursRecord(models.Model):
    """Hours of one member: training, case practice, supervision (continuing education) or volunteering.

    Recorded by the secretariat (confirmed at once) or self-reported by the member (pending until
    confirmed). Hours of a completed crisis dispatch are written here as confirmed volunteer hours.
    Only confirmed hours count in totals.
    """

    scope_path_field = "unit_path"

    member = _user_fk("会员", related_name="assistance_hours", null=False)
    unit = _unit_fk()
    unit_path = models.CharField(max_length=255, editable=False)
    kind = models.CharField("类别", max_length=20, choices=HoursKind.choices)
    activity = models.CharField("活动名称", max_length=100)
    date = models.DateField("日期")
    hours = models.DecimalField("时长（小时）", max_digits=5, decimal_places=1)
    status = models.CharField("状态", max_length=10, choices=HoursStatus.choices, default=HoursStatus.PENDING)
    self_reported = models.BooleanField("本人申报", default=False)
    note = models.CharField("备注", max_length=200, blank=True)
    dispatch = models.OneToOneField(
        "Dispatch", null=True, blank=True, on_delete=models.PROTECT, related_name="hours_record",
        verbose_name="应急调派",
    )  # fmt: skip
    recorded_by = _user_fk("登记人")
    confirmed_by = _user_fk("确认人")
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = "学时与服务时长"
        verbose_name_plural = "学时与服务时长"
        indexes = [
            models.Index(fields=["unit_path", "id"], name="hours_scope_id"),
            models.Index(fields=["member", "status", "date"], name="hours_member"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hours__gt=0) & models.Q(hours__lte=24), name="assistance_hours_range"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


class Responder(models.Model):
    """A trained crisis responder on the association's roster, with skills and available periods.

    Available periods are weekdays (``available_weekdays``, ISO digits 1–7) and daily hours
    (``available_from``–``available_to``); mobilisation filters on them with one query.
    """

    scope_path_field = "unit_path"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="crisis_responder", verbose_name="人员"
    )
    unit = _unit_fk("所属委员会或协会")
    unit_path = models.CharField(max_length=255, editable=False)
    trained_on = models.DateField("受训日期")
    status = models.CharField("调派状态", max_length=20, choices=Availability.choices, default=Availability.AVAILABLE)
    available_weekdays = models.CharField("可调派星期", max_length=7, default="1234567")
    available_from = models.TimeField("每日可调派开始")
    available_to = models.TimeField("每日可调派结束")
    contact = models.CharField("联系电话", max_length=20)
    note = models.CharField("备注", max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = "应急援助人员"
        verbose_name_plural = "应急援助人员"
        indexes = [models.Index(fields=["unit_path", "id"], name="responder_scope_id")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(available_from__lt=models.F("available_to")), name="assistance_responder_period"
            ),
        ]

    def __str__(self):
        return f"应急援助人员 #{self.pk}"


class ResponderSkill(models.Model):
    """One skill of a responder (a row each, so mobilisation filters with a join, not a loop)."""

    responder = models.ForeignKey(Responder, on_delete=models.CASCADE, related_name="skills", verbose_name="人员")
    skill = models.CharField("技能", max_length=30, choices=Skill.choices)

    class Meta:
        verbose_name = "援助技能"
        verbose_name_plural = "援助技能"
        constraints = [models.UniqueConstraint(fields=["responder", "skill"], name="assistance_skill_unique")]

    def __str__(self):
        return self.get_skill_display()


class StressEvent(models.Model):
    """A psychological stress event (心理应激事件) the association responds to."""

    scope_path_field = "unit_path"

    unit = _unit_fk("负责单位")
    unit_path = models.CharField(max_length=255, editable=False)
    title = models.CharField("事件名称", max_length=100)
    kind = models.CharField("事件类型", max_length=20, choices=EventKind.choices)
    place = models.CharField("地点", max_length=200)
    occurred_at = models.DateTimeField("发生时间")
    scale = models.PositiveIntegerField("波及人数（约）")
    severity = models.CharField("严重程度", max_length=10, choices=Severity.choices)
    description = models.TextField("情况说明", blank=True)
    status = models.CharField("状态", max_length=10, choices=EventStatus.choices, default=EventStatus.OPEN)
    recorded_by = _user_fk("登记人")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = "心理应激事件"
        verbose_name_plural = "心理应激事件"
        indexes = [models.Index(fields=["unit_path", "id"], name="event_scope_id")]

    def __str__(self):
        return self.title


class Dispatch(models.Model):
    """One responder sent to an event for a time window, with the role, then hours and services."""

    scope_path_field = "unit_path"

    event = models.ForeignKey(StressEvent, on_delete=models.PROTECT, related_name="dispatches", verbose_name="事件")
    unit_path = models.CharField(max_length=255, editable=False)
    responder = models.ForeignKey(
        Responder, on_delete=models.PROTECT, related_name="dispatches", verbose_name="援助人员"
    )
    role = models.CharField("任务", max_length=20, choices=DispatchRole.choices)
    starts_at = models.DateTimeField("开始时间")
    ends_at = models.DateTimeField("结束时间")
    status = models.CharField("状态", max_length=20, choices=DispatchStatus.choices, default=DispatchStatus.DISPATCHED)
    hours = models.DecimalField("服务时长（小时）", max_digits=5, decimal_places=1, null=True, blank=True)
    people_served = models.PositiveIntegerField("服务人次", null=True, blank=True)
    summary = models.CharField("服务小结", max_length=500, blank=True)
    dispatched_by = _user_fk("调派人")
    # H-SVC-3: sent outside the responder's own available period — allowed only with a reason.
    reason = models.CharField("越时段调派原因", max_length=500, blank=True)
    urgent = models.BooleanField("紧急调派（同时发短信）", default=True)
    # What the responder was really told: the inbox row, and the SMS to the roster's contact number.
    notification = models.ForeignKey(
        "notifications.Notification", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name="站内信",
    )  # fmt: skip
    sms_notification = models.ForeignKey(
        "notifications.Notification", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name="短信",
    )  # fmt: skip
    created_at = models.DateTimeField("调派时间", auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = "应急调派"
        verbose_name_plural = "应急调派"
        indexes = [
            models.Index(fields=["unit_path", "id"], name="dispatch_scope_id"),
            models.Index(fields=["responder", "starts_at", "ends_at"], name="dispatch_window"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_at__lt=models.F("ends_at")), name="assistance_dispatch_window"
            )
        ]

    def __str__(self):
        return f"应急调派 #{self.pk}"


class DispatchService(models.Model):
    """A kind of service a dispatched responder gave, and to how many people."""

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="services", verbose_name="调派")
    kind = models.CharField("服务方式", max_length=20, choices=ServiceKind.choices)
    people = models.PositiveIntegerField("人次", default=0)

    class Meta:
        verbose_name = "援助服务"
        verbose_name_plural = "援助服务"
        constraints = [models.UniqueConstraint(fields=["dispatch", "kind"], name="assistance_service_unique")]

    def __str__(self):
        return self.get_kind_display()


class HotlineShift(models.Model):
    """A duty shift on the psychological-assistance hotline; one responder never holds two overlapping."""

    scope_path_field = "unit_path"

    unit = _unit_fk("排班单位")
    unit_path = models.CharField(max_length=255, editable=False)
    responder = models.ForeignKey(Responder, on_delete=models.PROTECT, related_name="shifts", verbose_name="值班人员")
    starts_at = models.DateTimeField("开始时间")
    ends_at = models.DateTimeField("结束时间")
    note = models.CharField("备注", max_length=200, blank=True)
    created_by = _user_fk("排班人")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "热线值班"
        verbose_name_plural = "热线值班"
        indexes = [
            models.Index(fields=["unit_path", "starts_at"], name="shift_scope_start"),
            models.Index(fields=["responder", "starts_at", "ends_at"], name="shift_window"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_at__lt=models.F("ends_at")), name="assistance_shift_window"
            )
        ]

    def __str__(self):
        return f"热线值班 #{self.pk}"
