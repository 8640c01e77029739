from django.apps import AppConfig


class SandboxHubSpotConfig(AppConfig):
    name = "sandbox.hubspot"
    label = "sandbox_hubspot"
    verbose_name = "Sandbox: fake HubSpot"
    default_auto_field = "django.db.models.BigAutoField"
