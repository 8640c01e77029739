"""Write (or check) the app's HubSpot project files, generated from the catalog.

    python manage.py hubspot_project [--base-url https://your.host] [--check] [--directory DIR]

Writes `hubspot-project/` (hsproject.json, src/app/app-hsmeta.json, src/app/webhooks/webhooks-hsmeta.json) for a
deployment at --base-url (default: the clearly fake https://kleer-hubspot.example.com, which the committed files
use). With --check, writes nothing and exits non-zero naming every stale, missing or unexpected file. To deploy,
generate for your PUBLIC_BASE_URL into another --directory and run `hs project upload` there (README "Two-way
sync"); the committed files stay on the placeholder, which the stale-files test compares against.

With --legacy-actions, prints the body of `POST /automation/actions/2026-03/{appId}` for each workflow action
instead (one JSON object, action → body), for apps still on the legacy developer platform.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integration.hubspot_project import (
    DEFAULT_BASE_URL,
    PROJECT_DIR,
    ProjectError,
    legacy_action_definitions,
    normalise_base_url,
    stale_files,
    webhook_subscriptions,
    write_project,
)


class Command(BaseCommand):
    help = "Write the app's HubSpot project files (app, webhooks) from the catalog, or --check they are current."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            default=DEFAULT_BASE_URL,
            help=f"This service's public https URL as HubSpot reaches it (default: {DEFAULT_BASE_URL}, a placeholder).",
        )
        parser.add_argument("--check", action="store_true", help="Write nothing; fail when a file is stale.")
        parser.add_argument("--directory", type=Path, default=PROJECT_DIR, help=f"Default: {PROJECT_DIR}.")
        parser.add_argument(
            "--legacy-actions",
            action="store_true",
            help="Print the legacy API's workflow action definition bodies (JSON) instead of writing files.",
        )

    def handle(self, *args, base_url: str, check: bool, directory: Path, legacy_actions: bool, **options) -> None:
        try:
            base = normalise_base_url(base_url)
            if legacy_actions:
                self.stdout.write(json.dumps(legacy_action_definitions(base), indent=2, ensure_ascii=False))
                return
            if check:
                self._check(directory, base)
                return
            changed = write_project(directory, base)
        except ProjectError as exc:
            raise CommandError(str(exc)) from exc
        for path in changed:
            self.stdout.write(f"wrote {directory / path}")
        count = len(webhook_subscriptions())
        self.stdout.write(
            f"{len(changed)} file(s) changed in {directory} for {base}; {count} property subscriptions. "
            f"Deploy with: cd {directory} && hs project upload"
        )

    def _check(self, directory: Path, base: str) -> None:
        stale = stale_files(directory, base)
        if stale:
            lines = "\n".join(f"  {path}: {why}" for path, why in stale.items())
            raise CommandError(
                f"The HubSpot project files in {directory} are stale for {base}:\n{lines}\n"
                f"Regenerate them with: python manage.py hubspot_project --base-url {base}"
            )
        self.stdout.write(f"The HubSpot project files in {directory} are current for {base}.")
