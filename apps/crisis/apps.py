from django.apps import AppConfig


class CrisisConfig(AppConfig):
    name = "apps.crisis"
    verbose_name = "危机表述提示"

    def ready(self):
        from . import notifications  # noqa: F401 - registers the crisis notification template
