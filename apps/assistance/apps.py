from django.apps import AppConfig


class AssistanceConfig(AppConfig):
    name = "apps.assistance"
    verbose_name = "协会服务与应急援助"

    def ready(self):
        from apps.notifications.reminders import register_reminder_provider

        from .reminders import help_requests_due, shifts_tomorrow

        register_reminder_provider("assistance.help_requests", help_requests_due)
        register_reminder_provider("assistance.shifts", shifts_tomorrow)
        from apps.workdays.deadlines import register_deadline_source

        from . import datasets  # noqa: F401 - registers the exportable lists (X-3)
        from .notices import register as register_notices

        register_notices()  # the crisis-dispatch notification template (H-SVC-3)
        from .deadline_sources import HELP_ASSIGNMENT

        register_deadline_source(HELP_ASSIGNMENT)  # recomputed when a year's holidays are entered
