from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "apps.reports"
    verbose_name = "信息归集"

    def ready(self):
        from . import datasets  # noqa: F401 - registers the de-identified case export
