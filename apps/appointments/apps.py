from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "apps.appointments"
    verbose_name = "预约"

    def ready(self):
        from apps.notifications.reminders import register_reminder_provider

        from . import datasets  # noqa: F401 - registers the exportable lists (X-3)
        from .reminders import appointments_tomorrow

        register_reminder_provider("appointments.tomorrow", appointments_tomorrow)
