from django.apps import AppConfig


class CaseworkConfig(AppConfig):
    name = "apps.casework"
    verbose_name = "个案服务"
