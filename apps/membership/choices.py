from django.db import models

# The built-in role every member holds at the association root (and at each committee joined).
MEMBER_ROLE = "member"


class ApplicationStatus(models.TextChoices):
    """Where a membership application stands (handbook §如何成为会员)."""

    SUBMITTED = "submitted", "待初审"
    RETURNED = "returned", "已退回"
    VOTING = "voting", "理事会表决中"
    ADMITTED = "admitted", "已入会"
    REJECTED = "rejected", "未获通过"


class AdmissionRoute(models.TextChoices):
    VOTE = "vote", "理事会表决"
    SIMPLIFIED = "simplified", "简易程序（持执业资格直接入会）"


class VoteChoice(models.TextChoices):
    APPROVE = "approve", "同意"
    REJECT = "reject", "反对"
    ABSTAIN = "abstain", "弃权"


class VoteResult(models.TextChoices):
    OPEN = "open", "表决中"
    APPROVED = "approved", "通过"
    REJECTED = "rejected", "未通过"


class CertificateKind(models.TextChoices):
    COUNSELLOR = "counsellor", "心理咨询师"
    PSYCHOTHERAPIST = "psychotherapist", "心理治疗师"
    SOCIAL_WORKER = "social_worker", "社会工作师"
    PHYSICIAN = "physician", "医师"
    TEACHER = "teacher", "教师资格"
    OTHER = "other", "其他"


# 简易程序: "已取得心理咨询师、社会工作师、医师等执业资格的可以直接入会".
LICENSED_KINDS = frozenset(
    {
        CertificateKind.COUNSELLOR,
        CertificateKind.PSYCHOTHERAPIST,
        CertificateKind.SOCIAL_WORKER,
        CertificateKind.PHYSICIAN,
    }
)


class MemberStatus(models.TextChoices):
    ACTIVE = "active", "有效"
    REVOKED = "revoked", "已撤销"


class Tier(models.TextChoices):
    """The handbook's 协会的三种人, derived from current positions."""

    PARTICIPANT = "participant", "普通会员（参与者）"
    BUILDER = "builder", "理事及部门工作人员（建设者）"
    LEADER = "leader", "常务理事及副秘书长以上（引领者）"


class BodyKind(models.TextChoices):
    GENERAL_ASSEMBLY = "general_assembly", "会员大会"
    BOARD = "board", "理事会"
    STANDING_BOARD = "standing_board", "常务理事会"
    SECRETARIAT = "secretariat", "秘书处"


class PositionKind(models.TextChoices):
    PRESIDENT = "president", "会长"
    VICE_PRESIDENT = "vice_president", "副会长"
    SECRETARY_GENERAL = "secretary_general", "秘书长"
    DEPUTY_SECRETARY_GENERAL = "deputy_secretary_general", "副秘书长"
    STANDING_DIRECTOR = "standing_director", "常务理事"
    DIRECTOR = "director", "理事"
    DEPARTMENT_HEAD = "department_head", "部门负责人"
    DEPARTMENT_STAFF = "department_staff", "部门工作人员"
    COMMITTEE_CHAIR = "committee_chair", "专业委员会主任"
    COMMITTEE_VICE_CHAIR = "committee_vice_chair", "专业委员会副主任"


# Which body a position belongs to (None: it sits in a department or committee unit instead).
POSITION_BODY = {
    PositionKind.PRESIDENT: BodyKind.STANDING_BOARD,
    PositionKind.VICE_PRESIDENT: BodyKind.STANDING_BOARD,
    PositionKind.SECRETARY_GENERAL: BodyKind.SECRETARIAT,
    PositionKind.DEPUTY_SECRETARY_GENERAL: BodyKind.SECRETARIAT,
    PositionKind.STANDING_DIRECTOR: BodyKind.STANDING_BOARD,
    PositionKind.DIRECTOR: BodyKind.BOARD,
    PositionKind.DEPARTMENT_HEAD: None,
    PositionKind.DEPARTMENT_STAFF: None,
    PositionKind.COMMITTEE_CHAIR: None,
    PositionKind.COMMITTEE_VICE_CHAIR: None,
}
DEPARTMENT_POSITIONS = frozenset({PositionKind.DEPARTMENT_HEAD, PositionKind.DEPARTMENT_STAFF})
COMMITTEE_POSITIONS = frozenset({PositionKind.COMMITTEE_CHAIR, PositionKind.COMMITTEE_VICE_CHAIR})
# Positions one person holds at a time in their body or committee: 会长, 秘书长, 专业委员会主任.
SINGLE_HOLDER_POSITIONS = frozenset(
    {PositionKind.PRESIDENT, PositionKind.SECRETARY_GENERAL, PositionKind.COMMITTEE_CHAIR}
)
# 担任秘书长以上职务的成员，需在社团登记管理机关备案.
FILED_POSITIONS = frozenset({PositionKind.PRESIDENT, PositionKind.VICE_PRESIDENT, PositionKind.SECRETARY_GENERAL})
# 引领者: 常务理事及副秘书长以上; the handbook also names 各部门负责人 among the leaders.
LEADER_POSITIONS = frozenset(
    {
        PositionKind.PRESIDENT,
        PositionKind.VICE_PRESIDENT,
        PositionKind.SECRETARY_GENERAL,
        PositionKind.DEPUTY_SECRETARY_GENERAL,
        PositionKind.STANDING_DIRECTOR,
        PositionKind.DEPARTMENT_HEAD,
    }
)
# 建设者: 理事及部门工作人员.
BUILDER_POSITIONS = frozenset({PositionKind.DIRECTOR, PositionKind.DEPARTMENT_STAFF})
# The standing board is drawn from the board: its holders are board members too.
BODY_INCLUDES = {
    BodyKind.BOARD: (BodyKind.BOARD, BodyKind.STANDING_BOARD),
    BodyKind.STANDING_BOARD: (BodyKind.STANDING_BOARD,),
    BodyKind.SECRETARIAT: (BodyKind.SECRETARIAT,),
}


class DuesMethod(models.TextChoices):
    TRANSFER = "transfer", "银行转账"
    WECHAT = "wechat", "微信"
    ALIPAY = "alipay", "支付宝"
    CASH = "cash", "现金"


class EthicsPrinciple(models.TextChoices):
    BENEFICENCE = "beneficence", "善行"
    RESPONSIBILITY = "responsibility", "责任"
    INTEGRITY = "integrity", "诚信"
    JUSTICE = "justice", "公正"
    RESPECT = "respect", "尊重"


class ComplaintStatus(models.TextChoices):
    RECEIVED = "received", "已登记待处理"
    UPHELD = "upheld", "投诉成立"
    DISMISSED = "dismissed", "投诉不成立"


class ConductKind(models.TextChoices):
    ASSESSMENT = "assessment", "考核"
    REWARD = "reward", "奖励"
    SANCTION = "sanction", "惩处"


class RevocationReason(models.TextChoices):
    """The handbook's four grounds for losing membership (§失去会员资格)."""

    CRIMINAL = "criminal", "被追究刑事责任"
    DUTIES_REFUSED = "duties_refused", "拒不履行《章程》规定的会员义务"
    ETHICS_COMPLAINT = "ethics_complaint", "违反伦理守则，被有效投诉"
    REPUTATION = "reputation", "给协会声誉造成不良影响"
