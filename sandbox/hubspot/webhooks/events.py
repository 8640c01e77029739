"""Webhook events from CRM writes: collected during a call, matched to subscriptions, inserted in one go.

A write path opens a `capture` (the gateway does it for every API call, `user_edits` for user edits); the CRM's
write services (`sandbox.hubspot_crm.objects`) call `note_write` / `note_deletion` / `note_merge`, which do
nothing outside a capture. When the capture closes without an exception, `enqueue` turns the notes into events:
one per matching active subscription and changed property (HubSpot sends no event for a write that leaves a
value unchanged), inserted with a single `bulk_create` (one query for the app row, one for the portal when the
caller did not vouch for it, one insert). A batch input that fails inside its savepoint drops its notes
(`savepoint`). Events of a portal without the app installed are not enqueued.

Event fields: hubspot-api.md §8.1 (https://developers.hubspot.com/docs/api/webhooks, "Webhook payloads"):
`eventId`, `subscriptionId`, `portalId`, `appId`, `occurredAt` (ms), `subscriptionType`, `attemptNumber`,
`objectId`, `objectTypeId` (generic `object.*` subscriptions only), `propertyName`, `propertyValue`,
`changeSource`, `sourceId`; creation and deletion add `changeFlag`; merge adds `primaryObjectId`,
`mergedObjectIds`, `newObjectId`, `numberOfPropertiesMoved`
(https://developers.hubspot.com/changelog/new-subscription-types-for-webhooks).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sandbox.hubspot import clock, state
from sandbox.hubspot.models import Portal, WebhookApp, WebhookEvent
from sandbox.hubspot.webhooks import config

logger = logging.getLogger(__name__)

# [unverified] What HubSpot puts in `changeSource` / `sourceId` (hubspot-api.md §8.1 marks the exact values
# unverified): a write made through the API with the app's OAuth token, and an edit a user makes in HubSpot.
# Everything the fake sends takes them from here; `{app_id}` and `{user_id}` are filled in.
CHANGE_SOURCES = {
    "app": {"changeSource": "INTEGRATION", "sourceId": "{app_id}"},
    "user": {"changeSource": "CRM_UI", "sourceId": "userId:{user_id}"},
}
# [unverified] `changeFlag` of creation and deletion events: "CREATED" in recent payload samples
# (https://prismatic.io/docs/example-payloads/hubspot/triggers/webhook.json), "NEW" in HubSpot's 2019 v1
# signature example (hubspot-api.md §7.2).
CHANGE_FLAGS = {"creation": "CREATED", "deletion": "DELETED"}
# [unverified] The app-uninstall event: see `uninstall_payload`.
UNINSTALL_SUBSCRIPTION_TYPE = "app.uninstall"
UNINSTALL_EVENT_TYPE_ID = "4-1916193"  # "App uninstall event" (webhooks.json, AppLifecycleEventSubscription…)

# The order in which HubSpot's examples list an event's fields; the body is built in this order.
FIELD_ORDER = (
    "eventId",
    "subscriptionId",
    "portalId",
    "appId",
    "eventTypeId",
    "occurredAt",
    "subscriptionType",
    "attemptNumber",
    "objectId",
    "objectTypeId",
    "propertyName",
    "propertyValue",
    "changeFlag",
    "changeSource",
    "sourceId",
    "primaryObjectId",
    "mergedObjectIds",
    "newObjectId",
    "numberOfPropertiesMoved",
)


@dataclass(frozen=True)
class Source:
    """Who made a change: `changeSource` and `sourceId` of its events."""

    change_source: str
    source_id: str


def app_source() -> Source:
    """A write through the API with the app's OAuth token."""
    spec = CHANGE_SOURCES["app"]
    return Source(spec["changeSource"], spec["sourceId"].format(app_id=state.app_id()))


def user_source(user_id: int) -> Source:
    """An edit made by HubSpot user `user_id` in the CRM's UI."""
    spec = CHANGE_SOURCES["user"]
    return Source(spec["changeSource"], spec["sourceId"].format(user_id=user_id))


@dataclass
class Change:
    """One record's change within a call: created/deleted/merged, and the properties whose value changed."""

    type_id: str
    object_id: int
    stamp: datetime
    values: dict[str, str] = field(default_factory=dict)
    action: str = "propertyChange"  # or "creation", "deletion", "merge"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Capture:
    """The changes noted during one call of `hub_id` by `source`."""

    hub_id: int
    source: Source
    installed: bool | None = None  # True when the caller knows the app is installed (a valid token)
    changes: list[Change] = field(default_factory=list)


_current: ContextVar[Capture | None] = ContextVar("sandbox_webhook_capture", default=None)


@contextmanager
def capture(hub_id: int, source: Source, *, installed: bool | None = None) -> Iterator[Capture]:
    """Collect the changes made inside the block; enqueue their events if it ends without an exception."""
    current = Capture(hub_id=hub_id, source=source, installed=installed)
    token = _current.set(current)
    try:
        yield current
    finally:
        _current.reset(token)
    # Reached only when the block did not raise: its writes committed (or will with the caller's transaction).
    try:
        enqueue(current)
    except Exception:  # the write succeeded; a webhook problem must not turn it into an error
        logger.exception("could not enqueue webhook events for hub %s", hub_id)


@contextmanager
def savepoint() -> Iterator[None]:
    """Forget the changes noted inside the block if it raises (a batch input rolled back to its savepoint)."""
    current = _current.get()
    mark = len(current.changes) if current else 0
    try:
        yield
    except BaseException:
        if current is not None:
            del current.changes[mark:]
        raise


def _diff(before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    names = sorted(set(before) | set(after))
    return {name: after.get(name, "") for name in names if before.get(name) != after.get(name)}


def note_write(
    type_id: str, object_id: int, before: dict[str, str], after: dict[str, str], stamp: datetime, *, created: bool
) -> None:
    """A record was created (`before` empty) or updated; no-op outside a capture or when nothing changed."""
    current = _current.get()
    if current is None:
        return
    if created:
        current.changes.append(Change(type_id, object_id, stamp, action="creation"))
    changed = _diff(before, after)
    if changed:
        current.changes.append(Change(type_id, object_id, stamp, values=changed))


def note_deletion(type_id: str, object_id: int, stamp: datetime) -> None:
    """A record was archived (deleted)."""
    current = _current.get()
    if current is not None:
        current.changes.append(Change(type_id, object_id, stamp, action="deletion"))


def note_merge(type_id: str, primary_id: int, merged_id: int, moved: int, stamp: datetime) -> None:
    """`merged_id` was merged into `primary_id`, which took `moved` property values from it."""
    current = _current.get()
    if current is None:
        return
    extra = {
        "primaryObjectId": primary_id,
        "mergedObjectIds": [merged_id],
        "newObjectId": primary_id,
        "numberOfPropertiesMoved": moved,
    }
    current.changes.append(Change(type_id, primary_id, stamp, action="merge", extra=extra))


# -- enqueueing ----------------------------------------------------------------------------------------


Index = dict[tuple[str, str, str | None], list[config.Subscription]]


def _index(app: WebhookApp | None) -> Index:
    """Active subscriptions of modelled types by (object type id, action, property name or None)."""
    index: Index = defaultdict(list)
    for sub in config.subscriptions_of(app):
        if sub.active and sub.object_type_id is not None:
            index[(sub.object_type_id, sub.action, sub.property_name)].append(sub)
    return index


def _event(sub: config.Subscription, hub_id: int, change: Change, source: Source) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "subscriptionId": sub.id,
        "portalId": hub_id,
        "appId": state.app_id(),
        "occurredAt": clock.to_ms(change.stamp),
        "subscriptionType": sub.subscription_type,
        "objectId": change.object_id,
        "changeSource": source.change_source,
        "sourceId": source.source_id,
        **change.extra,
    }
    if sub.generic:
        payload["objectTypeId"] = change.type_id
    if change.action in CHANGE_FLAGS:
        payload["changeFlag"] = CHANGE_FLAGS[change.action]
    return payload


def _payloads(index: Index, current: Capture) -> list[dict[str, Any]]:
    payloads = []
    for change in current.changes:
        if change.action != "propertyChange":
            for sub in index.get((change.type_id, change.action, None), []):
                payloads.append(_event(sub, current.hub_id, change, current.source))
            continue
        for name, value in change.values.items():
            for sub in index.get((change.type_id, "propertyChange", name), []):
                event = _event(sub, current.hub_id, change, current.source)
                payloads.append({**event, "propertyName": name, "propertyValue": value})
    return payloads


def enqueue(current: Capture) -> int:
    """Insert the events of a capture's changes (one insert); returns how many."""
    if not current.changes:
        return 0
    app = WebhookApp.objects.filter(pk=config.APP_PK).first()
    index = _index(app)
    if not index:
        return 0
    installed = current.installed
    if installed is None:
        installed = Portal.objects.filter(hub_id=current.hub_id, installed=True).exists()
    if not installed:
        return 0
    payloads = _payloads(index, current)
    return insert(current.hub_id, payloads, app)


def insert(hub_id: int, payloads: list[dict[str, Any]], app: WebhookApp | None, *, lifecycle: bool = False) -> int:
    """Queue `payloads` for `hub_id`, due now (or after the `delay_seconds` fault)."""
    if not payloads:
        return 0
    now = clock.now()
    due = now + timedelta(seconds=app.delay_seconds if app else 0.0)
    rows = [
        WebhookEvent(hub_id=hub_id, payload=payload, lifecycle=lifecycle, due_at=due, created_at=now)
        for payload in payloads
    ]
    WebhookEvent.objects.bulk_create(rows)
    from sandbox.hubspot.webhooks import autodeliver  # the deliverer imports delivery, which imports this

    autodeliver.ensure_started()
    return len(rows)


# -- app lifecycle -------------------------------------------------------------------------------------


def uninstall_payload(sub: config.Subscription, portal: Portal, source: Source) -> dict[str, Any]:
    """[unverified] The app-uninstall event. HubSpot documents the APP_LIFECYCLE_EVENT subscription (webhooks.json,
    eventTypeId 4-1916193 "App uninstall event", hubspot-api.md §1.4) but not how it is delivered to a
    marketplace app; this is the fake's reading: the common event fields plus `eventTypeId`, no object."""
    return {
        "subscriptionId": sub.id,
        "portalId": portal.hub_id,
        "appId": state.app_id(),
        "eventTypeId": UNINSTALL_EVENT_TYPE_ID,
        "occurredAt": clock.to_ms(clock.now()),
        "subscriptionType": UNINSTALL_SUBSCRIPTION_TYPE,
        "changeSource": source.change_source,
    }


def enqueue_uninstall(portal: Portal, source: Source) -> int:
    """Queue the uninstall event of `portal` if the component subscribes to `app.uninstall` (hubEvents)."""
    app = WebhookApp.objects.filter(pk=config.APP_PK).first()
    subs = [
        sub
        for sub in config.subscriptions_of(app)
        if sub.active and sub.subscription_type == UNINSTALL_SUBSCRIPTION_TYPE
    ]
    payloads = [uninstall_payload(sub, portal, source) for sub in subs]
    return insert(portal.hub_id, payloads, app, lifecycle=True)


def body_event(row: WebhookEvent) -> dict[str, Any]:
    """The event as sent: `eventId` and `attemptNumber` added, fields in HubSpot's order (jsonb reorders keys)."""
    data = {**row.payload, "eventId": row.pk, "attemptNumber": row.attempts}
    ordered = {name: data[name] for name in FIELD_ORDER if name in data}
    ordered.update({name: value for name, value in data.items() if name not in ordered})
    return ordered
