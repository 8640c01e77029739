from django.apps import AppConfig


class SandboxKleerConfig(AppConfig):
    name = "sandbox.kleer"
    label = "sandbox_kleer"
    verbose_name = "Sandbox: fake Kleer"
    default_auto_field = "django.db.models.BigAutoField"
