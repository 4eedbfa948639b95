from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "apps.alerts"
    verbose_name = "三色预警"

    def ready(self):
        from apps.assessments.signals import result_scored
        from apps.notifications.reminders import register_reminder_provider

        from .reminders import cycles_due, feedback_due
        from .services import on_result_scored

        register_reminder_provider("alerts.feedback", feedback_due)
        register_reminder_provider("alerts.cycles", cycles_due)
        result_scored.connect(on_result_scored, dispatch_uid="alerts.on_result_scored")
        from apps.workdays.deadlines import register_deadline_source

        from . import datasets  # noqa: F401 - registers the exportable lists (X-3)
        from .deadline_sources import WARNING_CYCLE, WARNING_FEEDBACK

        register_deadline_source(WARNING_FEEDBACK)  # calendar days: listed, never estimated
        register_deadline_source(WARNING_CYCLE)
