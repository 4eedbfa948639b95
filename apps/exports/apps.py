from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "apps.exports"
    verbose_name = "数据导出"

    def ready(self):
        from . import datasets  # noqa: F401 - registers the built-in datasets
