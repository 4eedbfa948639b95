from django.apps import AppConfig


class CaseworkConfig(AppConfig):
    name = "apps.casework"
    verbose_name = "个案服务"

    def ready(self):
        from . import datasets  # noqa: F401 - registers the exportable lists (X-3)
