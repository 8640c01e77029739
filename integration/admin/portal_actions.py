"""The portal actions (list actions, and the portal page's buttons that run them), one service per portal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from integration import models
from integration.admin.common import joined
from integration.catalog import Plan
from integration.services import portals
from integration.services.audit import Actor

# name → (label, confirmation, shown when): the portal page's buttons, which run the list's actions.
PORTAL_BUTTONS: dict[str, tuple[str, str, Callable[[models.Portal], bool]]] = {
    "sync_now": ("Sync now", "", lambda p: True),
    "full_resync": ("Full resync", "Forget what was sent and resend every record of this portal?", lambda p: True),
    "retry_parked": ("Retry parked errors", "", lambda p: True),
    "pause": ("Pause", "Pause syncing for this portal? Its configuration is kept.", lambda p: p.status == "active"),
    "resume": ("Resume", "", lambda p: p.status == "paused"),
    "switch_to_pro": ("Switch to Pro", "", lambda p: p.plan == Plan.FREE),
    "switch_to_free": ("Switch to Free", "Pro-only objects will be switched off.", lambda p: p.plan == Plan.PRO),
    "detach_synced_records": (
        "Detach synced records",
        "Forget which HubSpot record each Kleer record was synced to? Only before connecting another Kleer "
        "company: the HubSpot records stay as they are, and the next run creates new ones.",
        lambda p: p.synced_records.exists(),
    ),
    "disconnect": (
        "Disconnect HubSpot",
        "Mark the HubSpot connection as lost? The customer must reconnect the app.",
        lambda p: p.hubspot_status == "connected",
    ),
}


class PortalActionsMixin:
    """The portal actions: each calls one service per portal, then reports once with message_user."""

    def _portals(self, queryset: QuerySet) -> list[models.Portal]:
        return list(models.Portal.objects.filter(pk__in=queryset.values("pk")).order_by("hub_id"))

    def _report_requests(self, request: HttpRequest, results: list[tuple[Any, portals.SyncRequest]], verb: str) -> None:
        queued = [f"{p.hub_id} ({', '.join(r.queued)})" for p, r in results if r.queued]
        refused = [f"{p.hub_id} {label} — {reason}" for p, r in results for label, reason in r.refused]
        idle = [str(p.hub_id) for p, r in results if not r.queued and not r.refused]
        if queued:
            self.message_user(request, f"{verb} for {joined(queued)}.", messages.SUCCESS)
        if refused:
            self.message_user(request, f"Not queued: {joined(refused, '; ')}", messages.WARNING)
        if idle:
            self.message_user(request, f"No object is switched on in {joined(idle)}; nothing queued.", messages.WARNING)

    @admin.action(description="Sync now (all enabled objects)", permissions=["change"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = Actor.staff(request.user)
        results = [(p, portals.portal_sync_now(portal=p, actor=actor)) for p in self._portals(queryset)]
        self._report_requests(request, results, "Sync queued")

    @admin.action(description="Full resync (forget fingerprints, resend everything)", permissions=["change"])
    def full_resync(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = Actor.staff(request.user)
        done, refused = [], []
        for portal in self._portals(queryset):
            try:
                result = portals.portal_full_resync(portal=portal, actor=actor)
            except portals.PortalActionError as exc:
                refused.append(str(exc))
                continue
            done.append(f"{portal.hub_id} ({', '.join(result.queued)}; {result.records_reset} records to resend)")
            refused += [f"{portal.hub_id} {label} — {reason}" for label, reason in result.refused]
        if done:
            self.message_user(request, f"Full resync queued for {joined(done)}.", messages.SUCCESS)
        if refused:
            self.message_user(request, joined(refused, "; "), messages.WARNING)

    def _set_status(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        actor = Actor.staff(request.user)
        changed, unchanged = [], []
        for portal in self._portals(queryset):
            did = portals.portal_set_status(portal=portal, status=status, actor=actor)
            (changed if did else unchanged).append(str(portal.hub_id))
        paused = status == models.Portal.Status.PAUSED
        if changed:
            what = "schedules disabled, configuration kept" if paused else "schedules of enabled objects re-enabled"
            self.message_user(request, f"{'Paused' if paused else 'Resumed'} {joined(changed)}: {what}.")
        if unchanged:
            self.message_user(request, f"Already {status}: {joined(unchanged)}.", messages.WARNING)

    @admin.action(description="Pause syncing (keeps configuration)", permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, models.Portal.Status.PAUSED)

    @admin.action(description="Resume syncing", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, models.Portal.Status.ACTIVE)

    @admin.action(description="Retry parked record errors", permissions=["change"])
    def retry_parked(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = Actor.staff(request.user)
        counts = {p.hub_id: portals.portal_retry_parked(portal=p, actor=actor) for p in self._portals(queryset)}
        done = [f"{hub_id} ({n})" for hub_id, n in counts.items() if n]
        if not done:
            self.message_user(request, "No parked record errors in the selected portals.", messages.WARNING)
            return
        total = sum(counts.values())
        noun = "parked record error" if total == 1 else "parked record errors"
        self.message_user(request, f"{total} {noun} will be retried on the next run: {joined(done)}.")

    @admin.action(description="Detach synced records (before connecting another Kleer company)", permissions=["change"])
    def detach_synced_records(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = Actor.staff(request.user)
        for portal in self._portals(queryset):
            try:
                forgotten = portals.portal_detach_synced_records(portal=portal, actor=actor)
            except portals.PortalActionError as exc:
                self.message_user(request, str(exc), messages.WARNING)
                continue
            noun = "synced record" if forgotten == 1 else "synced records"
            self.message_user(
                request,
                f"Portal {portal.hub_id}: forgot {forgotten} {noun}. Another Kleer company can now be connected.",
            )

    @admin.action(description="Disconnect HubSpot (customer must reconnect)", permissions=["change"])
    def disconnect(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = Actor.staff(request.user)
        done, skipped = [], []
        for portal in self._portals(queryset):
            reason = f"disconnected in admin by {actor.label}"
            did = portals.portal_disconnect(portal=portal, actor=actor, reason=reason)
            (done if did else skipped).append(str(portal.hub_id))
        if done:
            self.message_user(
                request, f"Disconnected from HubSpot: {joined(done)}. Syncs are skipped until the customer reconnects."
            )
        if skipped:
            self.message_user(request, f"Not connected to HubSpot: {joined(skipped)}.", messages.WARNING)

    def _set_plan(self, request: HttpRequest, queryset: QuerySet, plan: str) -> None:
        actor = Actor.staff(request.user)
        changed, unchanged = [], []
        for portal in self._portals(queryset):
            result = portals.portal_set_plan(portal=portal, plan=plan, actor=actor)
            if not result.changed:
                unchanged.append(str(portal.hub_id))
                continue
            off = f" (switched off {', '.join(result.disabled)})" if result.disabled else ""
            changed.append(f"{portal.hub_id}{off}")
        name = dict(models.PLAN_CHOICES)[plan]
        if changed:
            self.message_user(request, f"Switched to {name}: {joined(changed)}.")
        if unchanged:
            self.message_user(request, f"Already on {name}: {joined(unchanged)}.", messages.WARNING)

    @admin.action(description="Switch plan to Pro", permissions=["change"])
    def switch_to_pro(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_plan(request, queryset, Plan.PRO)

    @admin.action(description="Switch plan to Free (switches off Pro-only objects)", permissions=["change"])
    def switch_to_free(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_plan(request, queryset, Plan.FREE)
