from django.db import models


class ProjectKind(models.TextChoices):
    """H-PROJ-1: who the project is for (handbook: 政府项目、社会项目、自主项目)."""

    GOVERNMENT = "government", "政府项目"
    SOCIAL = "social", "社会项目"
    OWN = "own", "自主项目"


class ProjectStatus(models.TextChoices):
    PLANNED = "planned", "立项筹备"
    RUNNING = "running", "实施中"
    CLOSING = "closing", "结项中"
    ACCEPTED = "accepted", "已验收"


# The only moves a project makes besides acceptance (which has its own rule).
TRANSITIONS = {
    ProjectStatus.PLANNED: ProjectStatus.RUNNING,
    ProjectStatus.RUNNING: ProjectStatus.CLOSING,
}


class ExpenseStatus(models.TextChoices):
    """H-PROJ-1: an expense within its line is booked at once; one over the line waits for a second person."""

    BOOKED = "booked", "已入账"
    PENDING = "pending", "待审批"
    REJECTED = "rejected", "已驳回"


class ExpenseDecision(models.TextChoices):
    APPROVE = "approve", "批准"
    REJECT = "reject", "驳回"


class ReportRecipient(models.TextChoices):
    BOARD = "board", "理事会"
    SPONSOR = "sponsor", "主办方"


class QualityResult(models.TextChoices):
    PASS = "pass", "合格"
    IMPROVE = "improve", "需整改"
    FAIL = "fail", "不合格"
