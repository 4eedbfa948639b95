from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _load_scales(sender, **kwargs):
    from .services import load_builtin_scales

    load_builtin_scales()


class AssessmentsConfig(AppConfig):
    name = "apps.assessments"
    verbose_name = "心理测评"

    def ready(self):
        # The shipped free instruments are data; loading them after every migrate is idempotent and
        # adds a new version only when a shipped definition file changed.
        post_migrate.connect(_load_scales, sender=self, dispatch_uid="assessments_load_builtin_scales")
        from . import datasets  # noqa: F401 - registers the exportable lists (X-3)
