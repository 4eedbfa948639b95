"""Remote inquiries, home visits, interventions, referrals and the disclosure register.

All are client data owned by one org unit: ``unit_path`` copies the unit's path and every query
must be scoped (``Model.objects.visible_to(user, perm)``). Names, phone numbers and free text are
encrypted at rest; ``__str__`` never shows them.
"""

from django.conf import settings
from django.db import models

from apps.core.scoping import ScopedManagerMixin, ScopedQuerySetMixin
from apps.vault.fields import EncryptedCharField, EncryptedTextField
from apps.vault.models import VaultQuerySet

from .choices import Channel, InterventionKind, ReferralStatus, VisitKind, VisitStatus


class OutreachQuerySet(ScopedQuerySetMixin, VaultQuerySet):
    pass


class OutreachManager(ScopedManagerMixin, models.Manager.from_queryset(OutreachQuerySet)):
    pass


def _user_fk(label, related_name="+", null=True):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=null,
        blank=null,
        on_delete=models.PROTECT,
        related_name=related_name,
        verbose_name=label,
    )


class RemoteInquiry(models.Model):
    """A phone, online or SMS inquiry (电话/网络/短信咨询); unanswered ones get a reply within
    three working days (``reply_due``, computed once on create)."""

    scope_path_field = "unit_path"

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="受理单位")
    unit_path = models.CharField(max_length=255, editable=False)
    channel = models.CharField("渠道", max_length=10, choices=Channel.choices)
    received_at = models.DateTimeField("收到时间")
    client = models.ForeignKey(
        "clients.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="来访者"
    )
    contact_name = EncryptedCharField("联系人", max_length=50, blank=True)
    contact_phone = EncryptedCharField("联系电话", max_length=20, blank=True)
    question = EncryptedTextField("咨询内容")
    answered_at = models.DateTimeField("回复时间", null=True, blank=True)
    answer = EncryptedTextField("回复内容", blank=True)
    answered_by = _user_fk("回复人")
    reply_due = models.DateField("回复期限", null=True, blank=True)
    # apps.workdays.deadlines: the deadline counted through a year whose holidays nobody has entered
    reply_due_estimated = models.BooleanField("回复期限为预估", default=False)
    reply_due_estimate_reason = models.CharField("回复期限预估原因", max_length=100, blank=True)
    recorded_by = _user_fk("登记人")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = OutreachManager()

    class Meta:
        verbose_name = "远程咨询"
        verbose_name_plural = "远程咨询"
        indexes = [
            models.Index(fields=["unit_path", "id"], name="inquiry_scope_id"),
            models.Index(fields=["reply_due", "answered_at"], name="inquiry_due"),
        ]

    def __str__(self):
        return f"远程咨询 #{self.pk}"

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None


class HomeVisit(models.Model):
    """A home visit (上门关怀): at least two staff and a family member or guardian; a record is mandatory."""

    scope_path_field = "unit_path"

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+", verbose_name="来访者")
    case = models.ForeignKey(
        "casework.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="个案"
    )
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="所属单位")
    unit_path = models.CharField(max_length=255, editable=False)
    kind = models.CharField("类型", max_length=10, choices=VisitKind.choices)
    planned_for = models.DateField("计划日期", null=True, blank=True)
    interval_days = models.PositiveSmallIntegerField("周期（天）", null=True, blank=True)
    preparation_notes = EncryptedTextField("准备工作", blank=True)
    visited_at = models.DateTimeField("上门时间", null=True, blank=True)
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name="上门人员")
    family_present = EncryptedCharField("在场家属或监护人", max_length=100, blank=True)
    record = EncryptedTextField("上门记录", blank=True)
    status = models.CharField("状态", max_length=10, choices=VisitStatus.choices, default=VisitStatus.PLANNED)
    next_visit = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="previous_visit", editable=False
    )
    recorded_by = _user_fk("登记人")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = OutreachManager()

    class Meta:
        verbose_name = "上门关怀"
        verbose_name_plural = "上门关怀"
        indexes = [
            models.Index(fields=["unit_path", "id"], name="visit_scope_id"),
            models.Index(fields=["status", "planned_for"], name="visit_due"),
        ]

    def __str__(self):
        return f"上门关怀 #{self.pk}"


class Intervention(models.Model):
    """One intervention, recorded by one of the standard's eight kinds (S-FLOW-7)."""

    scope_path_field = "unit_path"

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+", verbose_name="来访者")
    case = models.ForeignKey(
        "casework.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="个案"
    )
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="所属单位")
    unit_path = models.CharField(max_length=255, editable=False)
    kind = models.CharField("干预方式", max_length=30, choices=InterventionKind.choices)
    happened_at = models.DateTimeField("时间")
    description = EncryptedTextField("情况说明")
    recorded_by = _user_fk("记录人")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = OutreachManager()

    class Meta:
        verbose_name = "心理干预"
        verbose_name_plural = "心理干预"
        indexes = [models.Index(fields=["unit_path", "id"], name="intervention_scope_id")]

    def __str__(self):
        return f"心理干预 #{self.pk}"


class Referral(models.Model):
    """A referral (转介) to a psychiatric or other professional institution (S-FLOW-8)."""

    scope_path_field = "unit_path"

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+", verbose_name="来访者")
    case = models.ForeignKey(
        "casework.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="个案"
    )
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="所属单位")
    unit_path = models.CharField(max_length=255, editable=False)
    institution = models.CharField("接收机构", max_length=100)
    reason = EncryptedTextField("转介原因")
    materials = models.TextField("移交材料", help_text="每行一项")
    referred_on = models.DateField("转介日期")
    consent_reference = models.CharField("同意记录或法定依据", max_length=200)
    outcome = models.TextField("转介结果", blank=True)
    outcome_at = models.DateTimeField("结果登记时间", null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.SENT)
    recorded_by = _user_fk("登记人")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = OutreachManager()

    class Meta:
        verbose_name = "转介"
        verbose_name_plural = "转介"
        indexes = [models.Index(fields=["unit_path", "id"], name="referral_scope_id")]

    def __str__(self):
        return f"转介 #{self.pk}"

    @property
    def material_list(self) -> list[str]:
        return [line.strip() for line in self.materials.splitlines() if line.strip()]


class Disclosure(models.Model):
    """The register of every disclosure of a client's data to someone outside the service."""

    scope_path_field = "unit_path"

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+", verbose_name="来访者")
    unit_path = models.CharField(max_length=255, editable=False)
    recipient = models.CharField("接收方", max_length=100)
    what = models.TextField("提供的信息")
    legal_basis = models.CharField("依据", max_length=200)
    disclosed_at = models.DateTimeField("提供时间")
    recorded_by = _user_fk("登记人")
    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.PROTECT, related_name="disclosures", verbose_name="转介"
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = OutreachManager()

    class Meta:
        verbose_name = "信息提供登记"
        verbose_name_plural = "信息提供登记"
        indexes = [models.Index(fields=["unit_path", "client", "id"], name="disclosure_scope_client")]

    def __str__(self):
        return f"信息提供 #{self.pk}"
