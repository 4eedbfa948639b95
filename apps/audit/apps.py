from django.apps import AppConfig, apps


class AuditConfig(AppConfig):
    name = "apps.audit"
    verbose_name = "安全审计"

    def ready(self):
        from . import checks, signals  # noqa: F401 - registers the checks and the auth signal receivers

        if apps.is_installed("axes"):
            from axes.signals import user_locked_out

            user_locked_out.connect(signals.on_locked_out, dispatch_uid="audit_locked_out")
