from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "apps.assessments"
    verbose_name = "心理测评"
