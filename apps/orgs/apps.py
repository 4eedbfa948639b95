from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "apps.orgs"
    verbose_name = "组织架构"
