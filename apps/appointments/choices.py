from django.db import models


class RoomKind(models.TextChoices):
    INDIVIDUAL = "individual", "个体咨询室"
    GROUP = "group", "团体辅导室"
    ASSESSMENT = "assessment", "心理测评室"
    RELAXATION = "relaxation", "放松减压室"
    CATHARSIS = "catharsis", "情绪宣泄室"
    OTHER = "other", "其他功能室"


class Channel(models.TextChoices):
    ONSITE = "onsite", "现场"
    PHONE = "phone", "电话"
    ONLINE = "online", "网络"
    SMS = "sms", "短信"


class Status(models.TextChoices):
    REQUESTED = "requested", "待确认"
    CONFIRMED = "confirmed", "已确认"
    CHANGED = "changed", "已改约"
    CANCELLED = "cancelled", "已取消"
    DONE = "done", "已完成"
    NO_SHOW = "no_show", "未到"


class Weekday(models.IntegerChoices):
    MON = 0, "星期一"
    TUE = 1, "星期二"
    WED = 2, "星期三"
    THU = 3, "星期四"
    FRI = 4, "星期五"
    SAT = 5, "星期六"
    SUN = 6, "星期日"


# Statuses that hold a time slot: a booked counsellor or room is not free for anyone else.
ACTIVE = (Status.REQUESTED, Status.CONFIRMED, Status.CHANGED)
# Statuses staff may still change, cancel or close.
OPEN = ACTIVE
GENDERS = [("", "—"), ("male", "男"), ("female", "女"), ("other", "其他")]
