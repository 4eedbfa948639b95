from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "apps.projects"
    verbose_name = "协会项目"

    def ready(self):
        from . import datasets  # noqa: F401 - registers the exportable lists (X-3)
