"""Scales as data, their immutable versions, per-tenant cut-offs, results and one-time links.

A scale's items, options, reverse items, scoring, severity bands and critical items are one JSON
definition (format in docs/assessments.md), validated by ``apps.assessments.engine``. A version
is never edited once saved: a result keeps the version (and the bands) it was scored with.
"""

from django.conf import settings
from django.db import models

from apps.core.scoping import ScopedManager

from .choices import BandLevel, CutoffSource, Mode


class ImmutableError(RuntimeError):
    """A scale version or a result was about to be changed after it was saved."""


class Scale(models.Model):
    """A psychological scale (量表), e.g. PHQ-9.

    ``tenant`` empty: a shipped free instrument every tenant sees. Set: imported by that tenant
    (e.g. a licensed SCL-90) and visible only in its tree.
    """

    code = models.CharField("量表编码", max_length=30)
    name = models.CharField("量表名称", max_length=100)
    tenant = models.ForeignKey(
        "orgs.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="所属体系"
    )
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "量表"
        verbose_name_plural = "量表"
        ordering = ["code", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"],
                condition=models.Q(tenant__isnull=True),
                name="scale_code_unique_shipped",
                violation_error_message="已存在同编码的内置量表。",
            ),
            models.UniqueConstraint(
                fields=["tenant", "code"],
                name="scale_code_unique_tenant",
                violation_error_message="本体系已有同编码量表。",
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"


class ScaleVersion(models.Model):
    """One immutable version of a scale's definition; results point at the version that scored them."""

    scale = models.ForeignKey(Scale, on_delete=models.PROTECT, related_name="versions", verbose_name="量表")
    number = models.PositiveIntegerField("版本号")
    definition = models.JSONField("定义")
    checksum = models.CharField("定义摘要", max_length=64, editable=False)
    licence_holder = models.CharField("版权/授权持有方", max_length=200)
    licence_terms = models.TextField("授权说明", blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="导入人",
    )
    created_at = models.DateTimeField("导入时间", auto_now_add=True)

    class Meta:
        verbose_name = "量表版本"
        verbose_name_plural = "量表版本"
        ordering = ["scale_id", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["scale", "number"], name="scaleversion_unique_number", violation_error_message="版本号重复。"
            )
        ]

    def __str__(self):
        return f"{self.scale.code} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ImmutableError("量表版本一经保存不可修改，请导入新版本。")
        super().save(*args, **kwargs)

    @property
    def items(self) -> list[dict]:
        return self.definition["items"]

    @property
    def bands(self) -> list[dict]:
        return self.definition["bands"]


class CutoffSetting(models.Model):
    """A unit's own severity bands for one scale (S-WARN-6), replacing the scale's defaults.

    A unit inherits the setting of its nearest ancestor (the tenant root sets the default for the
    whole tree). Checked against every version of the scale when saved; results scored earlier
    keep their band.
    """

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="设置单位")
    scale = models.ForeignKey(Scale, on_delete=models.PROTECT, related_name="cutoffs", verbose_name="量表")
    bands = models.JSONField("分段")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="设置人"
    )
    updated_at = models.DateTimeField("设置时间", auto_now=True)

    class Meta:
        verbose_name = "划界分设置"
        verbose_name_plural = "划界分设置"
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "scale"],
                name="cutoffsetting_unique",
                violation_error_message="本单位已设置该量表的划界分。",
            )
        ]

    def __str__(self):
        return f"划界分设置 #{self.pk}"


class AssessmentResult(models.Model):
    """One scored administration of a scale to a client (client data: every query is scoped).

    ``answers`` maps item number (as a string) to the chosen option score as entered (before
    reverse scoring). Scores, band and critical flags are computed once, at recording, with the
    version and cut-offs then in force, and never recomputed.
    """

    scope_path_field = "unit_path"

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+", verbose_name="来访者")
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="所属单位")
    unit_path = models.CharField(max_length=255, editable=False)
    tenant = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", editable=False)
    scale_version = models.ForeignKey(
        ScaleVersion, on_delete=models.PROTECT, related_name="results", verbose_name="量表版本"
    )
    answers = models.JSONField("作答")
    raw_score = models.DecimalField("原始分", max_digits=8, decimal_places=2)
    score = models.DecimalField("得分", max_digits=8, decimal_places=2)
    factor_scores = models.JSONField("因子分", default=dict, blank=True)
    band_code = models.CharField("分段编码", max_length=30)
    band_label = models.CharField("结果分级", max_length=50)
    band_level = models.CharField("严重程度", max_length=20, choices=BandLevel.choices)
    cutoff_source = models.CharField("划界分来源", max_length=10, choices=CutoffSource.choices)
    cutoff_unit = models.ForeignKey(
        "orgs.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="划界分设置单位"
    )
    critical = models.BooleanField("危急条目阳性", default=False)
    critical_items = models.JSONField("阳性危急条目", default=list, blank=True)
    administered_at = models.DateTimeField("测评时间")
    administered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="施测人",
    )
    mode = models.CharField("方式", max_length=10, choices=Mode.choices, default=Mode.PAPER)
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    objects = ScopedManager()

    class Meta:
        verbose_name = "测评结果"
        verbose_name_plural = "测评结果"
        indexes = [
            models.Index(fields=["unit_path", "id"], name="assessment_scope_id"),
            models.Index(fields=["client", "administered_at"], name="assessment_client_time"),
        ]

    def __str__(self):
        return f"测评结果 #{self.pk}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("update_fields"):
            raise ImmutableError("测评结果一经计分不可修改。")
        super().save(*args, **kwargs)

    @property
    def scale_code(self) -> str:
        return self.scale_version.scale.code

    @property
    def is_alarming(self) -> bool:
        return self.critical or self.band_level == BandLevel.SEVERE


class AssessmentLink(models.Model):
    """A one-time self-report link for one client and one scale version (no login).

    Only the SHA-256 of the token is stored; the token itself is shown once, at creation, as a URL
    and a QR code. Answers are saved between visits in ``progress``; one submission kills the link.
    """

    scope_path_field = "unit_path"

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+", verbose_name="来访者")
    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="所属单位")
    unit_path = models.CharField(max_length=255, editable=False)
    scale_version = models.ForeignKey(ScaleVersion, on_delete=models.PROTECT, related_name="+", verbose_name="量表版本")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="发送人"
    )
    created_at = models.DateTimeField("发送时间", auto_now_add=True)
    expires_at = models.DateTimeField("有效期至")
    consented_at = models.DateTimeField("知情同意时间", null=True, blank=True)
    progress = models.JSONField("已保存作答", default=dict, blank=True)
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    revoked_at = models.DateTimeField("作废时间", null=True, blank=True)
    result = models.OneToOneField(
        AssessmentResult, null=True, blank=True, on_delete=models.PROTECT, related_name="link", verbose_name="测评结果"
    )

    objects = ScopedManager()

    class Meta:
        verbose_name = "测评链接"
        verbose_name_plural = "测评链接"
        indexes = [
            models.Index(fields=["unit_path", "id"], name="assessmentlink_scope_id"),
            models.Index(fields=["client", "-id"], name="assessmentlink_client"),
        ]

    def __str__(self):
        return f"测评链接 #{self.pk}"

    def state_at(self, now) -> str:
        if self.submitted_at:
            return "submitted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "open"

    STATE_LABELS = {"submitted": "已提交", "revoked": "已作废", "expired": "已过期", "open": "待填写"}
