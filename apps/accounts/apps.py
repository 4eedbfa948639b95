from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    verbose_name = "人员与角色"

    def ready(self):
        from .roles import sync_builtin_roles

        post_migrate.connect(sync_builtin_roles, sender=self)
        from . import signals  # noqa: F401 - starts the session clocks at login
