from django.conf import settings
from django.db import models


class CalendarOverride(models.Model):
    """One day whose working status an administrator has set by hand.

    An override always wins over the ``chinesecalendar`` package: it is how a year the package
    does not know yet (next year's holiday notice) or a correction reaches the deadlines.
    ``is_workday`` True is an adjusted working day (调休上班), False a day off (放假).
    The calendar is national, not owned by an org unit.
    """

    date = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("是否上班")
    name = models.CharField("名称", max_length=50)
    note = models.CharField("备注", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="录入人",
    )
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    class Meta:
        verbose_name = "节假日调整"
        verbose_name_plural = "节假日调整"
        ordering = ["date"]
        constraints = [models.CheckConstraint(condition=~models.Q(name=""), name="calendaroverride_name_not_empty")]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.name}（{'上班' if self.is_workday else '放假'}）"
