from django.db import models


class Body(models.TextChoices):
    """Who meets (H-ORG-1): one of the association's bodies, or a department / committee unit."""

    GENERAL_ASSEMBLY = "general_assembly", "会员大会"
    BOARD = "board", "理事会"
    STANDING_BOARD = "standing_board", "常务理事会"
    SECRETARIAT = "secretariat", "秘书处"
    UNIT = "unit", "部门或专业委员会会议"


# Bodies of the association as a whole: their meetings belong to the association root unit.
ASSOCIATION_BODIES = frozenset({Body.GENERAL_ASSEMBLY, Body.BOARD, Body.STANDING_BOARD, Body.SECRETARIAT})


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", "已安排"
    HELD = "held", "已召开"
    CANCELLED = "cancelled", "已取消"


class Attendance(models.TextChoices):
    """An invitee's attendance; ``excused`` only follows an approved leave request."""

    PENDING = "pending", "未登记"
    PRESENT = "present", "出席"
    EXCUSED = "excused", "请假"
    ABSENT = "absent", "缺席"


class LeaveStatus(models.TextChoices):
    NONE = "none", "未请假"
    REQUESTED = "requested", "待审批"
    APPROVED = "approved", "已批准"
    REFUSED = "refused", "未批准"


class AgendaKind(models.TextChoices):
    ITEM = "item", "议题"
    DUTY_REPORT = "duty_report", "述职报告"
