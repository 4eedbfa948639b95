from django.db import models


class BandLevel(models.TextChoices):
    """How serious a severity band is; alerts map levels to colours, "severe" notifies at once."""

    NONE = "none", "无/正常"
    MILD = "mild", "轻度"
    MODERATE = "moderate", "中度"
    SEVERE = "severe", "重度"


class Mode(models.TextChoices):
    """How the answers reached us."""

    PAPER = "paper", "纸质录入"
    ONLINE = "online", "在线自评"


class CutoffSource(models.TextChoices):
    """Whose severity bands scored a result."""

    SCALE = "scale", "量表默认"
    UNIT = "unit", "单位设置"
