from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    verbose_name = "通知"

    def ready(self):
        from . import checks  # noqa: F401 - registers the SMS backend configuration check
