from django.db import models


class Channel(models.TextChoices):
    PHONE = "phone", "电话"
    ONLINE = "online", "网络"
    SMS = "sms", "短信"


class VisitKind(models.TextChoices):
    PLANNED = "planned", "计划（定期）上门"
    AD_HOC = "ad_hoc", "临时上门"


class VisitStatus(models.TextChoices):
    PLANNED = "planned", "待上门"
    DONE = "done", "已完成"
    CANCELLED = "cancelled", "已取消"


class InterventionKind(models.TextChoices):
    """The standard's eight kinds of intervention (S-FLOW-7)."""

    CARE_COMFORT_GUIDANCE = "care_comfort_guidance", "心理关怀、抚慰、疏导"
    HEALTHY_ACTIVITIES = "healthy_activities", "开展有益的健康活动"
    HEALTH_LECTURE = "health_lecture", "组织心理健康知识讲座"
    PRACTICAL_HELP = "practical_help", "帮助解决实际困难"
    ACCOMPANIED_CONSOLATION = "accompanied_consolation", "陪同（上门）进行心理慰藉"
    PSYCHIATRIC_REFERRAL = "psychiatric_referral", "转介精神医疗机构就医"
    FAMILY_COMMUNICATION = "family_communication", "与家庭人员、周围人群沟通"
    OTHER_MEASURES = "other_measures", "采取必要的相关措施"


class ReferralStatus(models.TextChoices):
    SENT = "sent", "已转出"
    ACCEPTED = "accepted", "已接收"
    DECLINED = "declined", "未接收"
    COMPLETED = "completed", "已完成"
