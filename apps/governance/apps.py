from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "apps.governance"
    verbose_name = "协会治理与会议"

    def ready(self):
        from apps.notifications.reminders import register_reminder_provider

        from .reminders import duty_reports_due, work_reports_due

        register_reminder_provider("governance.work_reports", work_reports_due)
        register_reminder_provider("governance.duty_reports", duty_reports_due)
        from . import datasets  # noqa: F401 - registers the exportable lists (X-3)
