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


class Requester(models.TextChoices):
    """Who asked for a change of state."""

    CLIENT = "client", "来访者本人"
    GUARDIAN = "guardian", "监护人"
    COUNSELLOR = "counsellor", "咨询师（经来访者同意）"
