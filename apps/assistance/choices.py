"""Choices of the association's services: help requests, hours, rapid crisis response."""

from django.db import models


class Specialty(models.TextChoices):
    """The field a help request belongs to; each maps to one specialty committee (configurable)."""

    YOUTH = "youth", "青少年心理"
    CAREER = "career", "职业心理"
    FAMILY = "family", "婚姻家庭"
    ELDERLY = "elderly", "老年心理"
    CRISIS = "crisis", "危机干预"
    ART = "art", "艺术治疗"


class HelpChannel(models.TextChoices):
    HOTLINE = "hotline", "援助热线"
    PHONE = "phone", "电话"
    ONLINE = "online", "网络/微信"
    WALK_IN = "walk_in", "来访"
    REFERRAL = "referral", "单位转来"


class Urgency(models.TextChoices):
    NORMAL = "normal", "一般"
    URGENT = "urgent", "较急"
    CRISIS = "crisis", "紧急（危机）"


class HelpStatus(models.TextChoices):
    """Received by the association → routed to a committee → assigned → accepted → closed."""

    RECEIVED = "received", "待分流"
    ROUTED = "routed", "待分派"
    ASSIGNED = "assigned", "待接案"
    ACCEPTED = "accepted", "接待中"
    CLOSED = "closed", "已结案"


OPEN_HELP_STATUSES = (HelpStatus.RECEIVED, HelpStatus.ROUTED, HelpStatus.ASSIGNED, HelpStatus.ACCEPTED)
UNASSIGNED_STATUSES = (HelpStatus.RECEIVED, HelpStatus.ROUTED)


class HelpOutcome(models.TextChoices):
    RESOLVED = "resolved", "已接待，问题缓解"
    ONGOING = "ongoing", "转为长期咨询"
    REFERRED = "referred", "已转介医疗或其他机构"
    NO_CONTACT = "no_contact", "多次联系未果"
    WITHDRAWN = "withdrawn", "求助者撤回"


class HelpEventKind(models.TextChoices):
    RECEIVED = "received", "登记"
    ROUTED = "routed", "分流到专业委员会"
    ASSIGNED = "assigned", "分派"
    REASSIGNED = "reassigned", "改派"
    ACCEPTED = "accepted", "接案"
    DECLINED = "declined", "婉拒"
    CLOSED = "closed", "结案"


class HoursKind(models.TextChoices):
    """Hours a member logs: continuing education (training, case practice), supervision, volunteering."""

    TRAINING = "training", "学术培训"
    CASE_PRACTICE = "case_practice", "个案实践"
    SUPERVISION = "supervision", "专家督导"
    VOLUNTEER = "volunteer", "志愿服务"


EDUCATION_KINDS = (HoursKind.TRAINING, HoursKind.CASE_PRACTICE, HoursKind.SUPERVISION)


class HoursStatus(models.TextChoices):
    PENDING = "pending", "待确认"
    CONFIRMED = "confirmed", "已确认"
    REJECTED = "rejected", "未通过"


class Skill(models.TextChoices):
    CRISIS_INTERVENTION = "crisis_intervention", "危机干预"
    GRIEF = "grief", "哀伤辅导"
    CHILDREN = "children", "儿童青少年"
    HOTLINE = "hotline", "热线接听"
    GROUP = "group", "团体辅导"


class Availability(models.TextChoices):
    AVAILABLE = "available", "可调派"
    UNAVAILABLE = "unavailable", "暂不可调派"


class EventKind(models.TextChoices):
    NATURAL_DISASTER = "natural_disaster", "自然灾害"
    ACCIDENT = "accident", "意外事故"
    SCHOOL_SUICIDE = "school_suicide", "校园自杀事件"
    PUBLIC_HEALTH = "public_health", "公共卫生事件"
    SOCIAL_SECURITY = "social_security", "社会安全事件"
    OTHER = "other", "其他"


class Severity(models.TextChoices):
    GENERAL = "general", "一般（Ⅳ级）"
    LARGER = "larger", "较大（Ⅲ级）"
    MAJOR = "major", "重大（Ⅱ级）"
    GRAVE = "grave", "特别重大（Ⅰ级）"


class EventStatus(models.TextChoices):
    OPEN = "open", "援助中"
    CLOSED = "closed", "已结束"


class DispatchRole(models.TextChoices):
    LEADER = "leader", "现场负责人"
    COUNSELLOR = "counsellor", "心理援助员"
    HOTLINE = "hotline", "热线接听"
    SUPPORT = "support", "后勤联络"


# H-SVC-3: who is qualified for a task. A responder must hold at least one of the role's skills;
# an empty tuple means any trained responder on the roster (logistics needs no clinical skill).
ROLE_SKILLS = {
    DispatchRole.LEADER: (Skill.CRISIS_INTERVENTION,),
    DispatchRole.COUNSELLOR: (Skill.CRISIS_INTERVENTION, Skill.GRIEF, Skill.CHILDREN, Skill.GROUP),
    DispatchRole.HOTLINE: (Skill.HOTLINE,),
    DispatchRole.SUPPORT: (),
}


class DispatchStatus(models.TextChoices):
    DISPATCHED = "dispatched", "已调派"
    COMPLETED = "completed", "已完成"
    CANCELLED = "cancelled", "已取消"


class ServiceKind(models.TextChoices):
    GROUP_DEBRIEFING = "group_debriefing", "团体晤谈（心理疏泄）"
    INDIVIDUAL = "individual", "个体危机咨询"
    PSYCHOEDUCATION = "psychoeducation", "心理健康教育"
    REFERRAL = "referral", "转介"
