from django.apps import AppConfig


class SandboxHubSpotCrmConfig(AppConfig):
    name = "sandbox.hubspot_crm"
    label = "sandbox_hubspot_crm"
    verbose_name = "Sandbox: fake HubSpot CRM"
    default_auto_field = "django.db.models.BigAutoField"
