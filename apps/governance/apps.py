from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "apps.governance"
    verbose_name = "协会治理与会议"
