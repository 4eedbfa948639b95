"""Periodic: write the audit chain's head to the append-only head log (issue 14 item 12)."""

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .verification import record_tail


@db_periodic_task(crontab(minute=f"*/{max(1, min(59, settings.AUDIT_HEAD_TASK_MINUTES))}"))
def record_audit_head() -> str:
    """Append the current tail (time, entry id, seq, hash, seal status) to ``AUDIT_HEAD_LOG``."""
    return record_tail(source="task")
