"""Enumerations of the three-colour warning (三色预警); no magic strings for states or colours."""

from django.db import models

from apps.assessments.choices import BandLevel  # noqa: F401 - re-exported for the colour rules


class Colour(models.IntegerChoices):
    """Warning colours, ordered by severity so "lowering" is a comparison (0 = not yet set)."""

    NONE = 0, "待定色"
    YELLOW = 1, "黄色"
    ORANGE = 2, "橙色"
    RED = 3, "红色"


WARNING_COLOURS = (Colour.YELLOW, Colour.ORANGE, Colour.RED)


class State(models.TextChoices):
    REPORTED = "reported", "已上报待定色"
    OPEN = "open", "建档跟踪中"
    CONTROL = "control", "管控流程"
    CLOSED = "closed", "已结案"


ACTIVE_STATES = (State.REPORTED, State.OPEN, State.CONTROL)
TRACKED_STATES = (State.OPEN, State.CONTROL)


class Proposal(models.TextChoices):
    NONE = "", "无"
    ADJUST = "adjust", "分值有变化，建议调整预警颜色"
    CONTROL = "control", "分值基本不变，建议转入管控流程"


class ControlMeasure(models.TextChoices):
    """The standard's control flow (管控流程): 加强监管、动态跟踪、及时转送精神专科医疗机构."""

    SUPERVISION = "supervision", "加强监管"
    TRACKING = "tracking", "动态跟踪"
    REFERRAL = "referral", "转送精神专科医疗机构"


class ContactKind(models.TextChoices):
    PHONE = "phone", "电话联系"
    FACE = "face", "当面约谈"
    ONLINE = "online", "网络联系"
    OTHER = "other", "其他方式"


class EventKind(models.TextChoices):
    TAGGED = "tagged", "标记并上报"
    COLOUR_SET = "colour_set", "定色建档"
    FEEDBACK_SENT = "feedback_sent", "反馈街道、社区与咨询师"
    CONTACT_RECORDED = "contact_recorded", "登记联系记录"
    CYCLE_COMPLETED = "cycle_completed", "完成随访周期"
    PROPOSAL_MADE = "proposal_made", "系统提出建议"
    COLOUR_CHANGED = "colour_changed", "调整预警颜色"
    TRACKING_CONTINUED = "tracking_continued", "维持颜色继续跟踪"
    CONTROL_ENTERED = "control_entered", "转入管控流程"
    RESPONDER_CHANGED = "responder_changed", "更换负责咨询师"
    CLOSED = "closed", "结案"
