from django.apps import AppConfig
from django.db.models.signals import post_migrate


def seed_categories(**kwargs):
    """Make sure the standard's twelve service-target categories exist (after every migrate/flush)."""
    from .choices import STANDARD_CATEGORIES
    from .models import ServiceTargetCategory

    for order, (code, name) in enumerate(STANDARD_CATEGORIES, start=1):
        ServiceTargetCategory.objects.get_or_create(code=code, defaults={"name": name, "order": order})


class ClientsConfig(AppConfig):
    name = "apps.clients"
    verbose_name = "来访者"

    def ready(self):
        from . import datasets  # noqa: F401 - registers the exportable register list

        post_migrate.connect(seed_categories, sender=self)
