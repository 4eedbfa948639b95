from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "apps.vault"
    verbose_name = "敏感字段加密"
