"""HubSpot → Kleer: receiving webhook events, and processing them into Kleer writes (DESIGN §5).

Receiving stores every event first (`InboundEvent`, unique per source, portal and event id, so a redelivery is
a no-op) and answers at once; events that cannot lead to a Kleer write are stored *ignored* with the reason,
so HubSpot stops retrying and support can see why. Processing runs on a worker, coalesces the events of one
record into one Kleer write, and ends every event processed, ignored or failed, with the reason.

Webhook payloads: https://developers.hubspot.com/docs/api-reference/2026-03/webhooks/guide (hubspot-api.md §8.1).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integration import catalog
from integration.clients.errors import PermanentError, TransientError
from integration.logs import log_context_set
from integration.models import (
    FieldMapping,
    HubSpotInstallation,
    InboundEvent,
    ObjectSync,
    Portal,
    SyncDirection,
    SyncedRecord,
)
from integration.services.audit import Actor, audit_record
from integration.services.object_syncs import inbound_active
from integration.services.record_errors import record_error_upsert, record_errors_resolve
from integration.sync import explain

logger = logging.getLogger("integration.inbound")

SOURCE = "webhook"
MAX_EVENTS = 100  # HubSpot batches up to 100 events per request (hubspot-api.md §8.1)
# HubSpot marks writes by an app with this change source and the app id as `sourceId` (hubspot-api.md §8.1:
# exact values unverified; the fake HubSpot uses the same reading).
INTEGRATION_SOURCE = "INTEGRATION"
UNINSTALL = "app.uninstall"
# Legacy subscription types name the object ("company.propertyChange"); generic ones say "object." and carry
# objectTypeId ("0-2").
_BY_SINGULAR = {obj.singular_label.lower().replace(" ", "_"): name for name, obj in catalog.HUBSPOT_OBJECTS.items()}
_BY_TYPE_ID = {obj.object_type_id: name for name, obj in catalog.HUBSPOT_OBJECTS.items()}


class MalformedEvents(ValueError):
    """The request body is not a list of HubSpot webhook events; nothing is stored."""


@dataclass(frozen=True)
class Event:
    """One webhook event as HubSpot sent it, with the fields the product reads checked."""

    event_id: str
    hub_id: int
    subscription_type: str
    occurred_at: dt.datetime | None
    object_id: str
    hubspot_object: str
    property_name: str
    change_source: str
    source_id: str
    raw: Mapping[str, Any]

    @property
    def is_own_write(self) -> bool:
        return self.change_source == INTEGRATION_SOURCE and self.source_id in {
            str(settings.HUBSPOT_APP_ID),
            f"appId:{settings.HUBSPOT_APP_ID}",
        }


def _int(item: Mapping[str, Any], key: str, *, required: bool = True) -> int | None:
    value = item.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isascii():
        raise MalformedEvents(f"event field {key!r} must be an integer")
    if not str(value).lstrip("-").isdigit() or len(str(value)) > 20:
        raise MalformedEvents(f"event field {key!r} must be an integer")
    return int(value)


def _text(item: Mapping[str, Any], key: str, limit: int) -> str:
    value = item.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise MalformedEvents(f"event field {key!r} must be a string")
    text = str(value)
    if "\x00" in text or len(text) > limit:
        raise MalformedEvents(f"event field {key!r} is not a valid value")
    return text


def _object_of(subscription_type: str, object_type_id: str) -> str:
    prefix = subscription_type.split(".", 1)[0]
    if prefix == "object":
        return _BY_TYPE_ID.get(object_type_id, "")
    return _BY_SINGULAR.get(prefix, "")


def event_parse(item: Any) -> Event:
    """One event of the request body; MalformedEvents for anything that is not a HubSpot event."""
    if not isinstance(item, Mapping):
        raise MalformedEvents("each event must be a JSON object")
    subscription_type = _text(item, "subscriptionType", 60)
    if not subscription_type:
        raise MalformedEvents("event field 'subscriptionType' is required")
    occurred = _int(item, "occurredAt", required=False)
    object_id = _int(item, "objectId", required=subscription_type != UNINSTALL)
    try:
        occurred_at = dt.datetime.fromtimestamp(occurred / 1000, tz=dt.UTC) if occurred is not None else None
    except (OverflowError, OSError, ValueError):
        raise MalformedEvents("event field 'occurredAt' is not a millisecond epoch") from None
    return Event(
        event_id=str(_int(item, "eventId")),
        hub_id=_int(item, "portalId"),  # type: ignore[arg-type]
        subscription_type=subscription_type,
        occurred_at=occurred_at,
        object_id="" if object_id is None else str(object_id),
        hubspot_object=_object_of(subscription_type, _text(item, "objectTypeId", 20)),
        property_name=_text(item, "propertyName", 100),
        change_source=_text(item, "changeSource", 60),
        source_id=_text(item, "sourceId", 100),
        raw=item,
    )


def events_parse(body: Any) -> list[Event]:
    """The request body (already JSON-decoded) as events; all or nothing."""
    if not isinstance(body, list) or not body:
        raise MalformedEvents("the body must be a non-empty JSON array of events")
    if len(body) > MAX_EVENTS:
        raise MalformedEvents(f"at most {MAX_EVENTS} events per request")
    return [event_parse(item) for item in body]


# -- receiving -------------------------------------------------------------------------------------------------


@dataclass
class _Context:
    """What one portal's events are checked against, loaded once per request."""

    portal: Portal | None
    syncs: dict[str, ObjectSync]
    two_way: dict[str, set[str]]


def _context(hub_id: int) -> _Context:
    portal = Portal.objects.select_related("installation").filter(hub_id=hub_id).first()
    syncs: dict[str, ObjectSync] = {}
    two_way: dict[str, set[str]] = {}
    if portal is not None:
        for object_sync in portal.object_syncs.all():
            if object_sync.spec.two_way:
                syncs[object_sync.hubspot_object] = object_sync
        rows = FieldMapping.objects.filter(
            object_sync__in=list(syncs.values()), direction=FieldMapping.Direction.TWO_WAY
        ).values_list("object_sync__hubspot_object", "hubspot_property")
        for hubspot_object, prop in rows:
            two_way.setdefault(hubspot_object, set()).add(prop)
    return _Context(portal, syncs, two_way)


def _ignore_reason(event: Event, context: _Context) -> str:
    """Why this event cannot lead to a Kleer write ("" when it may)."""
    portal = context.portal
    if portal is None:
        return f"HubSpot portal {event.hub_id} has not installed the app"
    if event.subscription_type == UNINSTALL:
        return ""
    installation = getattr(portal, "installation", None)
    if installation is None or installation.status == HubSpotInstallation.Status.UNINSTALLED:
        return "the app is uninstalled from this portal"
    if not event.subscription_type.endswith(".propertyChange"):
        return f"{event.subscription_type} events are not synced to Kleer"
    object_sync = context.syncs.get(event.hubspot_object)
    if object_sync is None:
        return f"no two-way object type syncs to HubSpot {event.hubspot_object or 'objects of this type'}"
    if not inbound_active(object_sync):  # the rule the settings tab words
        return f"HubSpot → Kleer is switched off for {object_sync.spec.label}"
    if event.property_name not in context.two_way.get(event.hubspot_object, set()):
        return f"{event.property_name or 'this property'} is not mapped two-way"
    if event.is_own_write:
        return "an echo of the app's own write to HubSpot"
    return ""


def _row(event: Event, context: _Context, reason: str) -> InboundEvent:
    return InboundEvent(
        portal=context.portal,
        hub_id=event.hub_id,
        source=SOURCE,
        event_id=event.event_id,
        status=InboundEvent.Status.IGNORED if reason else InboundEvent.Status.PENDING,
        error=reason,
        subscription_type=event.subscription_type,
        hubspot_object=event.hubspot_object,
        object_id=event.object_id,
        property_name=event.property_name,
        change_source=event.change_source,
        occurred_at=event.occurred_at,
        payload=dict(event.raw),
        processed_at=timezone.now() if reason else None,
    )


def inbound_events_receive(*, events: Sequence[Event]) -> dict[str, int]:
    """Store a webhook request's events (duplicates of stored ones are dropped by the unique constraint) and
    queue the processing of each portal with pending events once the transaction commits."""
    contexts = {hub_id: _context(hub_id) for hub_id in {e.hub_id for e in events}}
    rows = []
    for event in events:
        context = contexts[event.hub_id]
        rows.append(_row(event, context, _ignore_reason(event, context)))
    with transaction.atomic():
        InboundEvent.objects.bulk_create(rows, ignore_conflicts=True)
        portals = {r.portal_id for r in rows if r.status == InboundEvent.Status.PENDING and r.portal_id}
        for portal_id in portals:
            transaction.on_commit(lambda pid=portal_id: _enqueue(pid))
    pending = sum(r.status == InboundEvent.Status.PENDING for r in rows)
    return {"received": len(rows), "pending": pending, "ignored": len(rows) - pending}


def _enqueue(portal_id: int) -> None:
    from integration.tasks import inbound_events_process  # tasks import services; enqueueing is this one call

    inbound_events_process.delay(portal_id)


def inbound_events_claim(*, portal_id: int, limit: int = 500) -> list[InboundEvent]:
    """Claim the oldest pending events of one portal for this worker (others skip them).

    The claim is a short transaction of its own: processing calls Kleer and HubSpot, and no database lock may
    be held across those calls (with SQLite, `make run`'s fake HubSpot would wait on it). A claim older than the
    task time limit belongs to a dead worker and is taken over."""
    stale = timezone.now() - dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    with transaction.atomic():
        ids = list(
            InboundEvent.objects.select_for_update(skip_locked=True)
            .filter(portal_id=portal_id)
            .filter(
                Q(status=InboundEvent.Status.PENDING) | Q(status=InboundEvent.Status.PROCESSING, claimed_at__lt=stale)
            )
            .order_by("received_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        InboundEvent.objects.filter(pk__in=ids).update(status=InboundEvent.Status.PROCESSING, claimed_at=timezone.now())
    return list(InboundEvent.objects.filter(pk__in=ids).order_by("received_at", "id"))


def _release(events: Sequence[InboundEvent]) -> None:
    """Claimed events this worker did not finish go back to pending (for the retry)."""
    InboundEvent.objects.filter(pk__in=[e.pk for e in events], status=InboundEvent.Status.PROCESSING).update(
        status=InboundEvent.Status.PENDING, claimed_at=None
    )


# -- processing ------------------------------------------------------------------------------------------------


def _finish(events: Sequence[InboundEvent], status: str, reason: str = "") -> None:
    InboundEvent.objects.filter(pk__in=[e.pk for e in events]).update(
        status=status, error=reason[:5000], processed_at=timezone.now()
    )


def _portal_blocker(portal: Portal) -> str:
    installation = getattr(portal, "installation", None)
    if installation is None or installation.status != HubSpotInstallation.Status.CONNECTED:
        return "HubSpot is disconnected; the edit could not be read"
    if portal.status == Portal.Status.PAUSED:
        return "the portal is paused: HubSpot edits made while paused are not sent to Kleer"
    if not hasattr(portal, "kleer_credentials"):
        return "Kleer credentials are not configured"
    return ""


def inbound_events_process(*, portal_id: int, final_attempt: bool = True) -> dict[str, int]:
    """Process a portal's pending events: uninstalls first, then one Kleer write per changed record.

    Events are claimed first, so a second worker skips them; a dead worker's claim is taken over later, and
    re-processing reads both sides again and finds nothing left to write. Transient Kleer or
    HubSpot errors are raised for the task to retry, unless `final_attempt`: then they fail the record's events
    with the reason, as refusals do."""
    from integration.sync import inbound as engine  # services import the engine, never the reverse

    events = inbound_events_claim(portal_id=portal_id)
    if not events:
        return {}
    try:
        portal = Portal.objects.select_related("installation").get(pk=portal_id)
        log_context_set(portal=portal.hub_id)
        uninstalls = [e for e in events if e.subscription_type == UNINSTALL]
        if uninstalls:
            _uninstall(portal, uninstalls, [e for e in events if e.subscription_type != UNINSTALL])
            return {"uninstalled": 1}
        blocker = _portal_blocker(portal)
        if blocker:
            _finish(events, InboundEvent.Status.IGNORED, blocker)
            return {"ignored": len(events)}
        return engine_process(portal=portal, events=events, final_attempt=final_attempt, engine=engine)
    finally:
        _release(events)


def _uninstall(portal: Portal, uninstalls: Sequence[InboundEvent], others: Sequence[InboundEvent]) -> None:
    from integration.services.installations import portal_uninstalled

    portal_uninstalled(portal=portal)
    _finish(uninstalls, InboundEvent.Status.PROCESSED)
    if others:
        _finish(others, InboundEvent.Status.IGNORED, "the app was uninstalled from this portal")


def _by_record(events: Sequence[InboundEvent]) -> dict[str, dict[str, list[InboundEvent]]]:
    """Events grouped by HubSpot object type, then record id: ten property changes become one Kleer write."""
    grouped: dict[str, dict[str, list[InboundEvent]]] = {}
    for event in events:
        grouped.setdefault(event.hubspot_object, {}).setdefault(event.object_id, []).append(event)
    return grouped


def _changed_at(events: Sequence[InboundEvent]) -> dict[str, dt.datetime | None]:
    """When HubSpot says each property last changed (the latest event per property)."""
    found: dict[str, dt.datetime | None] = {}
    for event in events:
        known = found.get(event.property_name)
        if event.occurred_at is not None and (known is None or event.occurred_at > known):
            found[event.property_name] = event.occurred_at
    return found


def engine_process(*, portal: Portal, events: Sequence[InboundEvent], final_attempt: bool, engine: Any) -> dict:
    """Apply each record's events through the inbound engine; see `inbound_events_process`."""
    from integration.services.sync import clients_for

    kleer, hubspot = clients_for(portal)
    counts = {"processed": 0, "ignored": 0, "failed": 0, "retry": 0}
    for hubspot_object, records in _by_record(events).items():
        object_sync = portal.object_syncs.get(hubspot_object=hubspot_object, object_type__in=TWO_WAY_TYPES)
        context = engine.context_for(object_sync, hubspot)
        found = hubspot.batch_read(hubspot_object, list(records), properties=context.properties_to_read())
        by_id = {str(item.get("id")): item for item in found}
        for object_id, group in records.items():
            outcome = _apply_one(context, by_id.get(object_id), group, kleer, final_attempt, engine)
            counts[outcome] += 1
    return counts


TWO_WAY_TYPES = [spec.key for spec in catalog.REGISTRY.values() if spec.two_way]


def _apply_one(
    context: Any, hubspot_record: Mapping[str, Any] | None, events: Sequence[InboundEvent], kleer: Any,
    final_attempt: bool, engine: Any,
) -> str:  # fmt: skip
    """One record: its events end processed, ignored or failed (or stay pending for a retry)."""
    object_id = events[0].object_id
    if hubspot_record is None:
        _finish(events, InboundEvent.Status.IGNORED, "the HubSpot record no longer exists")
        return "ignored"
    try:
        outcome = engine.record_apply(
            context=context, hubspot_record=hubspot_record, changed_at=_changed_at(events), kleer=kleer
        )
    except engine.Ignored as exc:
        _finish(events, InboundEvent.Status.IGNORED, str(exc))
        return "ignored"
    except TransientError as exc:
        if not final_attempt:
            return "retry"
        message = f"Kleer did not accept the change after several tries: {exc}"
        return _fail(context, object_id, events, message, reason=exc.message, retried=True)
    except (PermanentError, catalog.TransformError) as exc:
        reason = exc.message if isinstance(exc, PermanentError) else str(exc)
        return _fail(context, object_id, events, f"Kleer refused the change: {exc}", reason=reason)
    _succeed(context, object_id, events, outcome)
    return "processed"


def _fail(
    context: Any,
    object_id: str,
    events: Sequence[InboundEvent],
    message: str,
    *,
    reason: str = "",
    retried: bool = False,
) -> str:
    object_sync = context.object_sync
    linked = SyncedRecord.objects.filter(
        portal_id=object_sync.portal_id, object_type=object_sync.object_type, hubspot_id=object_id
    ).first()
    kleer_id = linked.kleer_id if linked else f"hubspot:{object_id}"
    properties = sorted({e.property_name for e in events})
    customer = explain.inbound_error_text(
        spec=object_sync.spec,
        kleer_id=kleer_id,
        hubspot_id=object_id,
        properties=properties,
        reason=reason or message,
        retried=retried,
    )
    record_error_upsert(
        run=None,
        portal_id=object_sync.portal_id,
        object_type=object_sync.object_type,
        kleer_id=kleer_id,
        hubspot_id=object_id,
        message=message,
        category="INBOUND",
        direction=SyncDirection.INBOUND,
        payload={"properties": properties},
        customer_message=customer,
    )
    _finish(events, InboundEvent.Status.FAILED, message)
    return "failed"


def _succeed(context: Any, object_id: str, events: Sequence[InboundEvent], outcome: Any) -> None:
    object_sync = context.object_sync
    label = f"{object_sync.spec.label} {outcome.kleer_id}"
    actor = Actor(label="HubSpot (webhook)")
    for conflict in outcome.conflicts:
        audit_record(
            portal=object_sync.portal,
            actor=actor,
            action="conflict.resolved",
            target=f"{label}: {conflict.hubspot_property}",
            before={"hubspot": conflict.hubspot_value, "kleer": conflict.kleer_value},
            after={"kept": conflict.winner, "rule": object_sync.portal.conflict_rule},
        )
    if outcome.written:
        audit_record(
            portal=object_sync.portal, actor=actor, action="kleer.updated", target=label, after=outcome.written
        )
    record_errors_resolve(
        portal_id=object_sync.portal_id,
        object_type=object_sync.object_type,
        kleer_ids=[outcome.kleer_id, f"hubspot:{object_id}"],
        direction=SyncDirection.INBOUND,
    )
    _finish(events, InboundEvent.Status.PROCESSED, "" if outcome.written else "nothing to write: Kleer already agrees")
