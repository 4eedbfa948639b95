import logging
import logging.handlers
from pathlib import Path

from django.apps import AppConfig, apps
from django.conf import settings


def attach_head_syslog() -> None:
    """Send the head-log lines (logger ``xinyuan.audit.head``) to the local syslog as well (AUDIT_HEAD_SYSLOG)."""
    logger = logging.getLogger("xinyuan.audit.head")
    if any(isinstance(handler, logging.handlers.SysLogHandler) for handler in logger.handlers):
        return
    address = "/dev/log" if Path("/dev/log").exists() else ("localhost", 514)
    handler = logging.handlers.SysLogHandler(address=address, facility=logging.handlers.SysLogHandler.LOG_AUTHPRIV)
    handler.setFormatter(logging.Formatter("xinyuan: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


class AuditConfig(AppConfig):
    name = "apps.audit"
    verbose_name = "安全审计"

    def ready(self):
        from . import checks, signals  # noqa: F401 - registers the checks and the auth signal receivers

        if getattr(settings, "AUDIT_HEAD_SYSLOG", False):
            attach_head_syslog()

        if apps.is_installed("axes"):
            from axes.signals import user_locked_out

            user_locked_out.connect(signals.on_locked_out, dispatch_uid="audit_locked_out")
