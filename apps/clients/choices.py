from django.db import models

# The twelve service-target categories of the standard (§ 社会心理服务对象); the list is data,
# units may add their own.
STANDARD_CATEGORIES = [
    ("petition", "涉稳信访人员"),
    ("cult", "邪教人员"),
    ("drugs", "涉毒人员"),
    ("community_correction", "社区矫正人员"),
    ("mental_illness", "精神疾病人员"),
    ("civil_assistance", "民政救助人员"),
    ("disability", "残疾人员"),
    ("family_change", "家庭变故人员"),
    ("emergency_event", "突发事件人员"),
    ("unemployed", "失业、待业人员"),
    ("psychological_shadow", "心理阴影、心理偏差人员"),
    ("other", "其他需要心理服务人员"),
]


class Gender(models.TextChoices):
    MALE = "male", "男"
    FEMALE = "female", "女"
    UNKNOWN = "unknown", "未说明"


class Education(models.TextChoices):
    NONE = "none", "未上学"
    PRIMARY = "primary", "小学"
    JUNIOR = "junior", "初中"
    SENIOR = "senior", "高中/中专"
    COLLEGE = "college", "大专"
    BACHELOR = "bachelor", "本科"
    POSTGRADUATE = "postgraduate", "研究生"
    UNKNOWN = "unknown", "未说明"


class PoliticalStatus(models.TextChoices):
    MASSES = "masses", "群众"
    CPC = "cpc", "中共党员"
    CYL = "cyl", "共青团员"
    OTHER_PARTY = "other_party", "民主党派"
    UNKNOWN = "unknown", "未说明"


class EmergencyReason(models.TextChoices):
    """Why someone read a client outside their scope (break the glass)."""

    SUICIDE_RISK = "suicide_risk", "自杀或自伤风险"
    HARM_TO_OTHERS = "harm_to_others", "伤害他人风险"
    PUBLIC_SAFETY = "public_safety", "危及公共安全"
    MEDICAL = "medical", "紧急就医"
    OTHER = "other", "其他紧急情况"


class ConsentMethod(models.TextChoices):
    """How a guardian's consent was given (S-CLIENT-4): kept with the consent, never guessed."""

    IN_PERSON = "in_person", "当面签字确认"
    WRITTEN = "written", "书面同意书"
    PHONE = "phone", "电话确认（已录音或有见证人）"
    ONLINE = "online", "线上确认"
