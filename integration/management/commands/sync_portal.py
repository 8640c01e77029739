"""Run a portal's sync in the foreground and print what it did.

    python manage.py sync_portal HUB_ID [--object clients] [--full] [--json]

With --json, prints exactly one JSON object:
{"portal": …, "objects": {"clients": {"read", "unchanged", "created", "matched", "updated", "failed", "skipped",
"deleted", "hubspot_calls", "seconds", "status"[, "error"]}, …}} — one entry per object type of the run order,
line items after their parent; an object that could not run has status "skipped" and the reason in "error".
Line items run once per parent (invoices, agreements): their entry sums both runs, with the worse status; when
no parent run reached them (the parents failed), they still get an entry, "skipped" with the reason.

Exits 1 (after printing) when any run failed or was abandoned, so scripts and cron can tell.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integration import catalog
from integration.models import Portal, SyncRun
from integration.services.sync import portal_sync_run

FIELDS = ("read", "unchanged", "created", "matched", "updated", "failed", "skipped", "deleted", "hubspot_calls")


# From best to worst: a merged entry keeps the worse of two statuses.
STATUS_ORDER = [
    SyncRun.Status.SKIPPED,
    SyncRun.Status.SUCCEEDED,
    SyncRun.Status.RUNNING,
    SyncRun.Status.PARTIAL,
    SyncRun.Status.ABANDONED,
    SyncRun.Status.FAILED,
]


def run_summary(run: SyncRun) -> dict:
    summary = {name: getattr(run, name) for name in FIELDS}
    summary["seconds"] = round(run.duration.total_seconds(), 3) if run.duration else 0.0
    summary["status"] = run.status
    if run.error:
        summary["error"] = run.error
    return summary


def summary_merge(first: dict, second: dict) -> dict:
    """Combine two runs of the same object type (line items of invoices and of agreements)."""
    merged = {name: first[name] + second[name] for name in FIELDS}
    merged["seconds"] = round(first["seconds"] + second["seconds"], 3)
    worse = max(first, second, key=lambda s: STATUS_ORDER.index(s["status"]))
    merged["status"] = worse["status"]
    errors = list(dict.fromkeys(s["error"] for s in (first, second) if s.get("error")))
    if errors:
        merged["error"] = "; ".join(errors)
    return merged


def runs_summarise(runs: list[SyncRun]) -> dict[str, dict]:
    """One summary per object type, in run order, line items after their first parent."""
    objects: dict[str, dict] = {}
    for run in runs:
        for each in (run, *run.children.all()):
            summary = run_summary(each)
            known = objects.get(each.object_type)
            objects[each.object_type] = summary_merge(known, summary) if known else summary
    _line_items_without_parents(runs, objects)
    return objects


def _line_items_without_parents(runs: list[SyncRun], objects: dict[str, dict]) -> None:
    """Line items ride with invoices and agreements; if every parent run failed, say so in their own entry."""
    parents = [r for r in runs if r.object_type in catalog.get("line_items").synced_with]
    if "line_items" in objects or not parents:
        return
    if not parents[0].portal.object_syncs.filter(object_type="line_items", enabled=True).exists():
        return
    reasons = "; ".join(f"{r.object_type} {r.status}" + (f": {r.error}" if r.error else "") for r in parents)
    objects["line_items"] = {
        **dict.fromkeys(FIELDS, 0),
        "seconds": 0.0,
        "status": SyncRun.Status.SKIPPED,
        "error": f"not synced, their parent runs did not finish: {reasons}",
    }


def failed_objects(objects: dict[str, dict]) -> list[str]:
    return [name for name, s in objects.items() if s["status"] in (SyncRun.Status.FAILED, SyncRun.Status.ABANDONED)]


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
        objects = runs_summarise(runs)
        if options["json"]:
            self.stdout.write(json.dumps({"portal": portal.hub_id, "objects": objects}))
        else:
            for name, summary in objects.items():
                details = " ".join(f"{k}={v}" for k, v in summary.items())
                self.stdout.write(f"{name}: {details}")
        failed = failed_objects(objects)
        if failed:
            raise CommandError(f"{len(failed)} of {len(objects)} object types failed: {', '.join(failed)}")
