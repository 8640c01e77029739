"""Support-staff operations on a whole portal (the admin back office calls these).

Sync now, full resync, pause/resume, retrying parked record errors, disconnecting and switching plan. Each one
writes an audit event naming the actor and leaves the portal's configuration (toggles, mappings, schedules
edited by ops) in place; schedules only follow through `schedules_apply_for_portal`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from integration import catalog
from integration.catalog import Plan
from integration.models import HubSpotInstallation, ObjectSync, Portal, RecordError, SyncedRecord, SyncRun
from integration.services.audit import Actor, audit_record
from integration.services.installations import installation_mark_disconnected
from integration.services.object_syncs import object_sync_set_enabled
from integration.services.record_errors import record_errors_retry
from integration.services.schedules import schedules_apply_for_portal
from integration.services.sync import RUN_ORDER, SyncRequestError, object_sync_request_run

# Fields support staff may edit on the portal form; plan and status change only through their services.
EDITABLE_FIELDS = ("name", "hub_domain", "invoice_history_months", "archive_deleted")


class PortalActionError(ValueError):
    """A portal operation that is refused; the message is safe to show to staff."""


@dataclass(frozen=True)
class SyncRequest:
    """What a sync request did: object labels queued, and (label, reason) for those it could not queue."""

    queued: tuple[str, ...]
    refused: tuple[tuple[str, str], ...]
    records_reset: int = 0


@dataclass(frozen=True)
class PlanChange:
    """The outcome of a plan switch: whether it changed, and the Pro-only objects it switched off."""

    changed: bool
    disabled: tuple[str, ...] = ()


def _portal_target(portal: Portal) -> str:
    return f"portal {portal.hub_id}"


def _enabled_syncs(portal: Portal) -> list[ObjectSync]:
    """The portal's enabled, independently scheduled objects in dependency order, sharing one Portal instance."""
    syncs = [s for s in portal.object_syncs.filter(enabled=True) if not s.spec.synced_with]
    for object_sync in syncs:
        object_sync.portal = portal  # one instance: the blocker's relation look-ups are cached once
    order = {key: n for n, key in enumerate(RUN_ORDER)}
    return sorted(syncs, key=lambda s: order.get(s.object_type, len(order)))


def _request_runs(portal: Portal, *, full: bool, actor: Actor) -> SyncRequest:
    queued: list[str] = []
    refused: list[tuple[str, str]] = []
    for object_sync in _enabled_syncs(portal):
        try:
            object_sync_request_run(object_sync=object_sync, full=full, actor=actor, audit=False)
        except SyncRequestError as exc:
            refused.append((object_sync.spec.label, str(exc)))
        else:
            queued.append(object_sync.spec.label)
    return SyncRequest(queued=tuple(queued), refused=tuple(refused))


def portal_sync_now(*, portal: Portal, actor: Actor) -> SyncRequest:
    """Queue a run of every enabled object (after commit); objects that cannot run are reported, not queued."""
    result = _request_runs(portal, full=False, actor=actor)
    if result.queued:
        audit_record(
            portal=portal,
            actor=actor,
            action="portal.sync_requested",
            target=_portal_target(portal),
            after={"objects": list(result.queued)},
        )
    return result


@transaction.atomic
def portal_full_resync(*, portal: Portal, actor: Actor) -> SyncRequest:
    """Forget what was sent (every fingerprint of the portal) and queue full runs of the enabled objects.

    Refused, changing nothing, when no enabled object can run now (paused, disconnected, nothing enabled):
    forgetting fingerprints without a run to resend would only make the next scheduled run slower.
    """
    result = _request_runs(portal, full=True, actor=actor)
    if not result.queued:
        reasons = "; ".join(f"{label}: {reason}" for label, reason in result.refused) or "no object is switched on."
        raise PortalActionError(f"Nothing to resync for portal {portal.hub_id} ({reasons})")
    reset = SyncedRecord.objects.filter(portal=portal).update(fingerprint="", associations_fingerprint="")
    audit_record(
        portal=portal,
        actor=actor,
        action="portal.full_resync",
        target=_portal_target(portal),
        after={"objects": list(result.queued), "records_reset": reset},
    )
    return SyncRequest(queued=result.queued, refused=result.refused, records_reset=reset)


@transaction.atomic
def portal_set_status(*, portal: Portal, status: str, actor: Actor) -> bool:
    """Pause or resume a portal; toggles, mappings and schedule intervals are kept. False when unchanged.

    The beat entries follow through `schedules_apply_for_portal` (enabled flag only); runs that beat fires
    anyway are skipped with the reason "the portal is paused".
    """
    if status not in Portal.Status.values:
        raise PortalActionError(f"Unknown portal status {status!r}.")
    before = Portal.objects.select_for_update().get(pk=portal.pk).status
    if before == status:
        portal.status = status
        return False
    portal.status = status
    portal.save(update_fields=["status", "updated_at"])
    schedules_apply_for_portal(portal=portal)
    audit_record(
        portal=portal,
        actor=actor,
        action="portal.paused" if status == Portal.Status.PAUSED else "portal.resumed",
        target=_portal_target(portal),
        before={"status": before},
        after={"status": status},
    )
    return True


def portal_retry_parked(*, portal: Portal, actor: Actor) -> int:
    """Un-park the portal's parked record errors so the next run retries them; returns how many."""
    ids = list(RecordError.objects.filter(portal=portal, status=RecordError.Status.PARKED).values_list("pk", flat=True))
    if not ids:
        return 0
    return _retry(portal, ids, actor)


def _retry(portal: Portal, ids: list[int], actor: Actor) -> int:
    with transaction.atomic():
        count = record_errors_retry(portal=portal, ids=ids)
        audit_record(
            portal=portal,
            actor=actor,
            action="record_errors.retried",
            target=_portal_target(portal),
            after={"count": count},
        )
    return count


def record_errors_retry_selected(*, ids: Iterable[int], actor: Actor) -> dict[int, int]:
    """Retry chosen unresolved record errors (any portals); returns {hub_id: count retried}."""
    rows = RecordError.objects.filter(pk__in=list(ids), status__in=[RecordError.Status.OPEN, RecordError.Status.PARKED])
    by_portal: dict[int, list[int]] = {}
    for portal_id, pk in rows.values_list("portal_id", "pk"):
        by_portal.setdefault(portal_id, []).append(pk)
    done = {}
    for portal in Portal.objects.filter(pk__in=by_portal).order_by("hub_id"):
        done[portal.hub_id] = _retry(portal, by_portal[portal.pk], actor)
    return done


def portal_disconnect(*, portal: Portal, actor: Actor, reason: str = "") -> bool:
    """Mark the HubSpot connection as lost (the customer must reconnect); False when already disconnected."""
    installation = HubSpotInstallation.objects.filter(portal=portal).first()
    if installation is None or installation.status != HubSpotInstallation.Status.CONNECTED:
        return False
    reason = reason or f"disconnected by {actor.label}"
    with transaction.atomic():
        installation_mark_disconnected(installation=installation, reason=reason)
        audit_record(
            portal=portal,
            actor=actor,
            action="portal.disconnected",
            target=_portal_target(portal),
            before={"hubspot": HubSpotInstallation.Status.CONNECTED},
            after={"hubspot": HubSpotInstallation.Status.DISCONNECTED, "reason": reason},
        )
    return True


@transaction.atomic
def portal_set_plan(*, portal: Portal, plan: str, actor: Actor) -> PlanChange:
    """Switch Free ↔ Pro. To Free: Pro-only objects are switched off (their schedules disabled) first."""
    if plan not in {p.value for p in Plan}:
        raise PortalActionError(f"Unknown plan {plan!r}.")
    before = Portal.objects.select_for_update().get(pk=portal.pk).plan
    if before == plan:
        portal.plan = plan
        return PlanChange(changed=False)
    disabled = []
    if plan == Plan.FREE:
        for object_sync in portal.object_syncs.filter(enabled=True).select_related("portal", "periodic_task"):
            if object_sync.spec.plan == Plan.PRO:
                object_sync_set_enabled(object_sync=object_sync, enabled=False, actor=actor)
                disabled.append(object_sync.spec.label)
    disabled = _in_tab_order(disabled)
    portal.plan = plan
    portal.save(update_fields=["plan", "updated_at"])
    schedules_apply_for_portal(portal=portal)
    audit_record(
        portal=portal,
        actor=actor,
        action="portal.plan_changed",
        target=_portal_target(portal),
        before={"plan": before},
        after={"plan": plan, "switched_off": disabled},
    )
    return PlanChange(changed=True, disabled=tuple(disabled))


def _in_tab_order(labels: list[str]) -> list[str]:
    order = [spec.label for spec in catalog.REGISTRY.values()]
    return sorted(labels, key=order.index)


@transaction.atomic
def portal_update(*, portal: Portal, changes: Mapping[str, Any], actor: Actor) -> Portal:
    """Save staff edits of the portal's plain settings (EDITABLE_FIELDS), audited with before/after values."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise PortalActionError(f"These portal fields are not edited here: {', '.join(sorted(unknown))}.")
    changed = {name: value for name, value in changes.items() if getattr(portal, name) != value}
    if not changed:
        return portal
    before = {name: getattr(portal, name) for name in changed}
    for name, value in changed.items():
        setattr(portal, name, value)
    portal.save(update_fields=[*changed, "updated_at"])
    audit_record(
        portal=portal,
        actor=actor,
        action="portal.updated",
        target=_portal_target(portal),
        before=before,
        after=changed,
    )
    return portal


@transaction.atomic
def portal_detach_synced_records(*, portal: Portal, actor: Actor) -> int:
    """Forget which HubSpot record each Kleer record was synced to (SyncedRecords and RecordErrors), so that the
    portal can be connected to another Kleer company. Returns how many synced records were forgotten.

    The HubSpot records themselves are left as they are (they keep their `kleer_id`, nothing archives or flags
    them). Refused while a run of the portal is in progress: it would write the links back.
    """
    if SyncRun.objects.filter(portal=portal, status=SyncRun.Status.RUNNING).exists():
        raise PortalActionError(f"Portal {portal.hub_id} has a sync in progress; detach after it has finished.")
    forgotten, _ = SyncedRecord.objects.filter(portal=portal).delete()
    errors, _ = RecordError.objects.filter(portal=portal).delete()
    audit_record(
        portal=portal,
        actor=actor,
        action="portal.detach_synced_records",
        target=_portal_target(portal),
        after={"synced_records": forgotten, "record_errors": errors},
    )
    return forgotten
