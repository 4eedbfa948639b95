from django.db import models


class CaseState(models.TextChoices):
    """States of a case (S-PRIN-1): every change is asked for by the client or guardian, never forced."""

    REQUESTED = "requested", "已申请"
    ACTIVE = "active", "服务中"
    PAUSED = "paused", "暂停"
    POSTPONED = "postponed", "延期"
    TERMINATED = "terminated", "已终止"
    REFERRED = "referred", "已转介"
    CLOSED = "closed", "已结案"
    WITHDRAWN = "withdrawn", "已撤回申请"


class Requester(models.TextChoices):
    """Who asked for a change of state."""

    CLIENT = "client", "来访者本人"
    GUARDIAN = "guardian", "监护人"
    COUNSELLOR = "counsellor", "咨询师（经来访者同意）"


class EventKind(models.TextChoices):
    STATE = "state", "状态变更"
    COUNSELLOR = "counsellor", "更换咨询师"


class ConsentKind(models.TextChoices):
    """What a consent covers (S-PRIN-3)."""

    CONFIDENTIALITY_NOTICE = "confidentiality_notice", "保密原则及其例外告知"
    RECORDING = "recording", "录音录像同意"
    GUARDIAN = "guardian", "监护人同意"


class GivenBy(models.TextChoices):
    CLIENT = "client", "来访者本人"
    GUARDIAN = "guardian", "监护人"


class OverrideGround(models.TextChoices):
    """The limits of confidentiality (S-PRIN-5)."""

    SUICIDE = "suicide", "自杀或自伤意图"
    HARM_TO_OTHERS = "harm_to_others", "伤害他人意图"
    PUBLIC_SAFETY = "public_safety", "危害公共安全"


class DisorderJudgement(models.TextChoices):
    NONE = "none", "未见严重精神障碍"
    SUSPECTED = "suspected", "疑似严重精神障碍"
    PRESENT = "present", "存在严重精神障碍"


class Severity(models.TextChoices):
    MILD = "mild", "轻度"
    MODERATE = "moderate", "中度"
    SEVERE = "severe", "重度"


class Decision(models.TextChoices):
    CONTINUE = "continue", "继续咨询"
    REFER = "refer", "转介"
    CLOSE = "close", "结束咨询"
