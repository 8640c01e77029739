from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Sandbox (fake Kleer and HubSpot)"
    default_auto_field = "django.db.models.BigAutoField"
