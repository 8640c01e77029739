"""First-run setup for `make run`: an admin login and, with the sandbox on, a seeded demo portal.

Idempotent: does nothing on later starts (the demo portal is seeded once).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from integration.models import Portal

DEMO_EMAIL = "admin@example.com"
DEMO_PASSWORD = "admin"  # development-only login, created only with DEBUG on
FIRST_SYNC_MARKER = Path(settings.VAR_DIR) / "demo-first-sync"


class Command(BaseCommand):
    help = "Create a development admin login and a seeded demo portal (DEBUG and SANDBOX_ENABLED only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--invoices", type=int, default=300)

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            self.stdout.write("demo_setup: DEBUG is off; nothing to do.")
            return
        user_model = get_user_model()
        if not user_model.objects.filter(is_superuser=True).exists():
            user_model.objects.create_superuser(email=DEMO_EMAIL, password=DEMO_PASSWORD)
            self.stdout.write(f"demo_setup: admin login {DEMO_EMAIL} / {DEMO_PASSWORD} (development only)")
        if settings.SANDBOX_ENABLED and not Portal.objects.exists():
            try:
                call_command(
                    "sandbox_seed",
                    "--clients=40",
                    "--products=15",
                    f"--invoices={options['invoices']}",
                    "--agreements=20",
                    "--projects=10",
                    "--connect",
                    # Pro with every object on: the first screen a newcomer sees is the whole product syncing.
                    "--pro",
                    stdout=self.stdout,
                )
                portal = Portal.objects.get()
                # bin/run-dev runs the first sync once the server (which serves the sandbox) answers.
                FIRST_SYNC_MARKER.write_text(str(portal.hub_id))
            except Exception as exc:  # the demo must never stop the app from starting
                self.stderr.write(f"demo_setup: could not seed the demo portal: {exc}")
