from django.conf import settings
from django.db import models

from apps.core.scoping import ScopedManagerMixin, ScopedQuerySetMixin
from apps.vault.fields import BlindIndexField, EncryptedCharField, EncryptedTextField
from apps.vault.models import VaultModel, VaultQuerySet
from apps.vault.normalizers import normalize_id_number, normalize_phone, normalize_text

from .choices import ConsentMethod, Education, EmergencyReason, Gender, PoliticalStatus


class ServiceTargetCategory(models.Model):
    """A service-target category (服务对象类别); seeded with the standard's twelve."""

    code = models.SlugField("编码", max_length=40, unique=True)
    name = models.CharField("名称", max_length=40, unique=True)
    is_active = models.BooleanField("启用", default=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "服务对象类别"
        verbose_name_plural = "服务对象类别"
        ordering = ["order", "id"]

    def __str__(self):
        return self.name


class ClientQuerySet(ScopedQuerySetMixin, VaultQuerySet):
    pass


class ClientManager(ScopedManagerMixin, models.Manager.from_queryset(ClientQuerySet)):
    pass


class Client(VaultModel):
    """A person the service units serve (来访者), owned by exactly one org unit.

    Direct identifiers (name, ID number, phone, address, employer) are encrypted at rest; exact
    search goes through blind indexes and name search through pinyin initials, which alone do not
    identify anyone. ``unit_path`` copies the owner unit's path so scoped lists are one index scan.
    Every query must be scoped (``Client.objects.visible_to``).
    """

    scope_path_field = "unit_path"

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="所属单位")
    unit_path = models.CharField(max_length=255, editable=False)
    tenant = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", editable=False)
    name = EncryptedCharField("姓名", max_length=50)
    name_index = BlindIndexField(source="name", normalizer=normalize_text)
    name_initials = models.CharField("姓名拼音首字母", max_length=30, editable=False)
    gender = models.CharField("性别", max_length=10, choices=Gender.choices, default=Gender.UNKNOWN)
    birth_date = models.DateField("出生日期", null=True, blank=True)
    id_number = EncryptedCharField("身份证号码", max_length=18, blank=True)
    id_number_index = BlindIndexField(source="id_number", normalizer=normalize_id_number)
    phone = EncryptedCharField("联系电话", max_length=20, blank=True)
    phone_index = BlindIndexField(source="phone", normalizer=normalize_phone)
    address = EncryptedTextField("住址", blank=True)
    employer = EncryptedCharField("工作单位", max_length=100, blank=True)
    ethnicity = models.CharField("民族", max_length=20, blank=True)
    native_place = models.CharField("籍贯", max_length=50, blank=True)
    education = models.CharField("文化程度", max_length=20, choices=Education.choices, blank=True)
    political_status = models.CharField("政治面貌", max_length=20, choices=PoliticalStatus.choices, blank=True)
    religion = models.CharField("宗教信仰", max_length=20, blank=True)
    categories = models.ManyToManyField(ServiceTargetCategory, blank=True, verbose_name="服务对象类别")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="登记人"
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="已合并到"
    )
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = ClientManager()

    class Meta:
        verbose_name = "来访者"
        verbose_name_plural = "来访者"
        # Scoped lists filter ``unit_path LIKE '<scope>%'``; the database collation is not "C",
        # so only *_pattern_ops indexes serve that prefix. Partial (live rows only) and ending in
        # id, they answer a keyset page's ids by an index-only scan (see selectors.client_page).
        indexes = [
            models.Index(
                fields=["unit_path", "id"],
                name="client_scope_live",
                opclasses=["varchar_pattern_ops", "int8_ops"],
                condition=models.Q(merged_into__isnull=True),
            ),
            models.Index(
                fields=["name_initials", "unit_path", "id"],
                name="client_initials_live",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops", "int8_ops"],
                condition=models.Q(merged_into__isnull=True),
            ),
        ]

    def __str__(self):
        # Never the name: str() ends up in logs, audit labels and error pages.
        return f"来访者 #{self.pk}"


class EmergencyAccess(models.Model):
    """Break the glass: one user may read one client outside their scope for a short time.

    Granted with a reason category and text after re-authentication; the client's unit managers
    are told; every read during the window is audited; an expired grant allows nothing.
    """

    scope_path_field = "client_unit_path"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="emergency_accesses", verbose_name="调阅人"
    )
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+", verbose_name="来访者")
    client_unit_path = models.CharField(max_length=255, editable=False)
    reason = models.CharField("事由类别", max_length=20, choices=EmergencyReason.choices)
    reason_text = models.TextField("事由说明")
    granted_at = models.DateTimeField("开始时间", auto_now_add=True)
    expires_at = models.DateTimeField("截止时间")

    class Meta:
        verbose_name = "紧急调阅"
        verbose_name_plural = "紧急调阅"
        indexes = [models.Index(fields=["user", "client", "expires_at"], name="emergency_active")]

    def __str__(self):
        return f"紧急调阅 #{self.pk}"


class GuardianQuerySet(VaultQuerySet):
    def current(self):
        """Guardians not ended: the ones who may act for the client today."""
        return self.filter(ended_at__isnull=True)


class Guardian(VaultModel):
    """A client's guardian (S-CLIENT-4): acts for a minor in every consent and request.

    Recorded with the guardian's consent (when, how, which notice); ended rather than deleted, so
    who could act for the client at any time stays on record.
    """

    scope_path_field = "client__unit_path"

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="guardians", verbose_name="来访者")
    name = EncryptedCharField("监护人姓名", max_length=50)
    relationship = models.CharField("与来访者关系", max_length=20)
    phone = EncryptedCharField("监护人电话", max_length=20)
    phone_index = BlindIndexField(source="phone", normalizer=normalize_phone)
    consent_given_at = models.DateTimeField("监护人同意时间", null=True, blank=True)
    consent_notice_version = models.CharField("告知书版本", max_length=20, blank=True)
    consent_method = models.CharField("同意方式", max_length=20, choices=ConsentMethod.choices, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="记录人"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField("终止时间", null=True, blank=True)
    ended_reason = models.CharField("终止原因", max_length=200, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="终止记录人",
    )

    objects = models.Manager.from_queryset(GuardianQuerySet)()

    class Meta:
        verbose_name = "监护人"
        verbose_name_plural = "监护人"

    def __str__(self):
        return f"监护人 #{self.pk}"


class ClientTransfer(models.Model):
    """A handover of a client who moved to another unit; the old unit loses access at that moment."""

    scope_path_field = "to_unit__path"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="transfers", verbose_name="来访者")
    from_unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="移出单位")
    to_unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="接收单位")
    reason = models.CharField("原因", max_length=200)
    handover_notes = EncryptedTextField("交接说明", blank=True)
    handed_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="移交人"
    )
    happened_at = models.DateTimeField("移交时间", auto_now_add=True)

    class Meta:
        verbose_name = "来访者移交"
        verbose_name_plural = "来访者移交"

    def __str__(self):
        return f"移交 #{self.pk}"
