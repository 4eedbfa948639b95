from django.db import models


class DeadlineKind(models.TextChoices):
    """How a deadline counts: Chinese statutory working days or plain calendar days."""

    WORKING = "working", "工作日"
    CALENDAR = "calendar", "自然日"


class DayKind(models.TextChoices):
    """What a day is on the statutory calendar, as the year view shows it."""

    WORKDAY = "workday", "工作日"
    WEEKEND = "weekend", "周末"
    HOLIDAY = "holiday", "放假"
    ADJUSTED_WORKDAY = "adjusted_workday", "调休上班"


class DaySource(models.TextChoices):
    """Where a day's working status came from."""

    OVERRIDE = "override", "管理员录入"
    PACKAGE = "package", "法定节假日数据"
    WEEKDAY = "weekday", "按周一至周五推定"
