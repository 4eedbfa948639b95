from django.apps import AppConfig


class AssistanceConfig(AppConfig):
    name = "apps.assistance"
    verbose_name = "协会服务与应急援助"
