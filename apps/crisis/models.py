"""Crisis expressions, the per-unit crisis handler and the flags raised on records (S-FLOW-3, S-WARN-2).

An expression is a plain phrase (never a pattern). Shipped expressions have no unit and apply
everywhere; a unit's own expressions apply to records of that unit and its descendants. A flag
says which expressions matched in which fields of a remote inquiry or a reception; it never
copies the client's text.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core.scoping import ScopedManager


class CrisisExpression(models.Model):
    """One crisis expression (危机表述) looked for in free text, compared after normalisation."""

    scope_path_field = "unit_path"

    unit = models.ForeignKey(
        "orgs.OrgUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="所属单位"
    )
    unit_path = models.CharField(max_length=255, blank=True, editable=False)
    phrase = models.CharField("表述", max_length=30)
    normalized = models.CharField("规范化表述", max_length=30, editable=False)
    is_active = models.BooleanField("启用", default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="添加人",
    )
    created_at = models.DateTimeField("添加时间", default=timezone.now)

    class Meta:
        verbose_name = "危机表述"
        verbose_name_plural = "危机表述"
        constraints = [
            models.UniqueConstraint(
                fields=["unit_path", "normalized"],
                name="crisisexpression_unique_in_unit",
                violation_error_message="该表述已在词表中。",
            )
        ]

    def __str__(self):
        return self.phrase


class CrisisHandler(models.Model):
    """The unit's designated crisis handler (危机处置负责人), set by the unit's manager."""

    scope_path_field = "unit_path"

    unit = models.OneToOneField("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="单位")
    unit_path = models.CharField(max_length=255, editable=False)
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="危机处置负责人"
    )
    designated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="指定人",
    )
    designated_at = models.DateTimeField("指定时间", default=timezone.now)

    class Meta:
        verbose_name = "危机处置负责人"
        verbose_name_plural = "危机处置负责人"

    def __str__(self):
        return f"危机处置负责人 #{self.pk}"


class CrisisFlag(models.Model):
    """A crisis expression found in a remote inquiry or a reception: the phrases and fields, not the text."""

    scope_path_field = "unit_path"

    unit = models.ForeignKey("orgs.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name="所属单位")
    unit_path = models.CharField(max_length=255, editable=False)
    inquiry = models.ForeignKey(
        "outreach.RemoteInquiry", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="远程咨询",
    )  # fmt: skip
    reception = models.ForeignKey(
        "casework.Reception", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="咨询接待"
    )
    client = models.ForeignKey(
        "clients.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="来访者"
    )
    expressions = models.ManyToManyField(CrisisExpression, related_name="+", verbose_name="匹配的表述")
    phrases = models.JSONField("匹配的表述", default=list)
    fields = models.JSONField("出现在", default=list)
    notified = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name="已通知")
    notified_designated = models.BooleanField("通知的是指定的危机处置负责人", default=False)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="登记人",
    )
    created_at = models.DateTimeField("提示时间", default=timezone.now)

    objects = ScopedManager()

    class Meta:
        verbose_name = "危机表述提示"
        verbose_name_plural = "危机表述提示"
        indexes = [models.Index(fields=["unit_path", "id"], name="crisisflag_scope_id")]
        constraints = [
            models.CheckConstraint(
                condition=Q(inquiry__isnull=False, reception__isnull=True)
                | Q(inquiry__isnull=True, reception__isnull=False),
                name="crisisflag_one_record",
                violation_error_message="危机表述提示须对应一条远程咨询或一次咨询接待。",
            )
        ]

    def __str__(self):
        return f"危机表述提示 #{self.pk}"
