from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = "Kleer ⇄ HubSpot integration"
    default_auto_field = "django.db.models.BigAutoField"
