from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "apps.screening"
    verbose_name = "日常排查"

    def ready(self):
        from . import datasets  # noqa: F401 - registers the exportable lists (X-3)
