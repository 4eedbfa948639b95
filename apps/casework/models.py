from django.conf import settings
from django.db import models

from apps.core.scoping import ScopedManager

from .choices import CaseState, Requester


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
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="咨询师"
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
    requested_by = models.CharField("提出人", max_length=20, choices=Requester.choices)
    reason = models.TextField("原因")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", verbose_name="记录人"
    )
    happened_at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = "个案变更记录"
        verbose_name_plural = "个案变更记录"
        ordering = ["id"]

    def __str__(self):
        return f"{self.get_from_state_display()} → {self.get_to_state_display()}"
