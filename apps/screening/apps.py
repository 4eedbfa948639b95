from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "apps.screening"
    verbose_name = "日常排查"
