from django.apps import AppConfig


class MembershipConfig(AppConfig):
    name = "apps.membership"
    verbose_name = "协会会员"

    def ready(self):
        from apps.notifications.reminders import register_reminder_provider

        from . import reminders

        register_reminder_provider("membership.dues_arrears", reminders.dues_arrears)
        register_reminder_provider("membership.certificate_expiry", reminders.expiring_certificates)
        from . import datasets, notices  # noqa: F401 - register the exportable lists (X-3), the applicant's notices
