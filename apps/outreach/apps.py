from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "apps.outreach"
    verbose_name = "远程咨询、上门关怀与转介"

    def ready(self):
        from apps.notifications.reminders import register_reminder_provider

        from . import datasets  # noqa: F401 - registers the exportable lists (X-3)
        from .reminders import inquiry_replies_due, visits_due

        register_reminder_provider("outreach.inquiries", inquiry_replies_due)
        register_reminder_provider("outreach.visits", visits_due)

        from apps.workdays.deadlines import register_deadline_source

        from .deadline_sources import INQUIRY_REPLY

        register_deadline_source(INQUIRY_REPLY)  # recomputed when a year's holidays are entered
