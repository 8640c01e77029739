"""Run a portal's sync in the foreground and print what it did.

    python manage.py sync_portal HUB_ID [--object clients] [--full] [--json]

With --json, prints exactly one JSON object:
{"portal": …, "objects": {"clients": {"read", "unchanged", "created", "updated", "failed", "skipped",
"hubspot_calls", "seconds"}, …}}.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integration import catalog
from integration.models import Portal, SyncRun
from integration.services.sync import portal_sync_run

FIELDS = ("read", "unchanged", "created", "updated", "failed", "skipped", "deleted", "hubspot_calls")


def run_summary(run: SyncRun) -> dict:
    summary = {name: getattr(run, name) for name in FIELDS}
    summary["seconds"] = round(run.duration.total_seconds(), 3) if run.duration else 0.0
    summary["status"] = run.status
    if run.error:
        summary["error"] = run.error
    return summary


class Command(BaseCommand):
    help = "Sync one portal now (PORTAL_ID is the HubSpot portal id) and print a summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("portal_id", type=int)
        parser.add_argument("--object", choices=catalog.OBJECT_TYPES, help="Only this object type.")
        parser.add_argument("--full", action="store_true", help="Ignore fingerprints: re-send every record.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options) -> None:
        portal = Portal.objects.filter(hub_id=options["portal_id"]).first()
        if portal is None:
            raise CommandError(f"No portal with HubSpot portal id {options['portal_id']}.")
        wanted = [options["object"]] if options["object"] else None
        if wanted == ["line_items"]:
            wanted = ["invoices", "agreements"]
        runs = portal_sync_run(portal=portal, object_types=wanted, full=options["full"])
        objects: dict[str, dict] = {}
        for run in runs:
            objects[run.object_type] = run_summary(run)
            for child in run.children.all():
                objects[child.object_type] = run_summary(child)
        if options["json"]:
            self.stdout.write(json.dumps({"portal": portal.hub_id, "objects": objects}))
            return
        for name, summary in objects.items():
            details = " ".join(f"{k}={v}" for k, v in summary.items())
            self.stdout.write(f"{name}: {details}")
