"""The app's webhooks component (`webhooks-hsmeta.json`, developer platform 2025.2+), validated and stored.

Reference: https://developers.hubspot.com/docs/apps/developer-platform/add-features/configure-webhooks and
hubspot-api.md §8.1. The file is `{"uid", "type": "webhooks", "config": {"settings": {"targetUrl",
"maxConcurrentRequests"}, "subscriptions": {"crmObjects", "legacyCrmObjects", "hubEvents"}}}`. Uploading it
(`PUT /_fake/apps/webhooks` or `webhooks_configure`) plays `hs project upload`: an invalid file is refused with a
message naming the field, as HubSpot's CLI refuses to build it, and nothing changes.

Fake's readings, because HubSpot does not document them: every field of the docs' example is required
(`uid`, `type`, `settings.targetUrl`, `settings.maxConcurrentRequests`, `subscriptionType`, `active`); unknown
fields are refused; `maxConcurrentRequests` must be 1 to 50; `targetUrl` may be http (HubSpot demands a public
https URL; the fake delivers to local receivers); `objectName` is accepted for `objectType` (older docs,
https://developers.hubspot.com/docs/apps/legacy-apps/private-apps/build-with-projects/configure-webhooks), and
object type names are case-insensitive. The app-uninstall subscription is the fake's own `hubEvents` entry
`{"subscriptionType": "app.uninstall", "active": true}` (see `events.uninstall_payload`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from sandbox.hubspot import clock, state
from sandbox.hubspot.models import WebhookApp
from sandbox.hubspot_crm import registry

APP_PK = 1
DEFAULT_TARGET_PATH = "/hubspot/webhooks"
# [unverified] bounds; the docs only call it "the upper threshold of HTTP requests that HubSpot will make".
MIN_CONCURRENT, MAX_CONCURRENT = 1, 50
# "Webhook Subscriptions: 1000 per app" (https://developers.hubspot.com/changelog/announcing-new-limits-for-
# developer-accounts-and-applications).
MAX_SUBSCRIPTIONS = 1000
CRM_OBJECTS, LEGACY_CRM_OBJECTS, HUB_EVENTS = "crmObjects", "legacyCrmObjects", "hubEvents"

# `object.*` actions and the object types generic subscriptions support (generic webhook subscriptions guide,
# https://developers.hubspot.com/docs/apps/legacy-apps/public-apps/create-generic-webhook-subscriptions;
# changelog https://developers.hubspot.com/changelog/public-beta-generic-webhook-subscriptions). Projects are
# not in the list, so the fake refuses them.
GENERIC_ACTIONS = ("creation", "deletion", "merge", "restore", "propertyChange", "associationChange")
GENERIC_OBJECT_TYPES = frozenset(
    {
        "appointment",
        "call",
        "cart",
        "commerce_payment",
        "communication",
        "company",
        "contact",
        "course",
        "deal",
        "discount",
        "email",
        "fee",
        "feedback_submission",
        "goal_target",
        "invoice",
        "lead",
        "line_item",
        "listing",
        "meeting_event",
        "note",
        "order",
        "partner_client",
        "postal_mail",
        "product",
        "quote",
        "quote_template",
        "service",
        "subscription",
        "task",
        "tax",
        "ticket",
        "user",
    }
)
# Classic types: the `eventType` enum of HubSpot's webhooks.json (hubspot-openapi-2026-03), minus the hub events.
_SIX = ("associationChange", "creation", "deletion", "merge", "propertyChange", "restore")
LEGACY_SUBSCRIPTION_TYPES = frozenset(
    [f"{name}.{action}" for name in ("company", "contact", "deal", "line_item", "ticket") for action in _SIX]
    + [f"product.{action}" for action in ("creation", "deletion", "merge", "propertyChange", "restore")]
)
HUB_EVENT_TYPES = frozenset(
    {
        "contact.privacyDeletion",
        "conversation.creation",
        "conversation.deletion",
        "conversation.newMessage",
        "conversation.privacyDeletion",
        "conversation.propertyChange",
        "app.uninstall",  # the fake's spelling of the APP_LIFECYCLE_EVENT subscription (eventTypeId 4-1916193)
    }
)
# The types the fake's CRM has, by singular name; only these ever produce events.
MODELLED_TYPES = {spec.singular: spec.type_id for spec in registry.OBJECT_TYPES.values()}

_ENTRY_FIELDS = {
    CRM_OBJECTS: {"subscriptionType", "objectType", "objectName", "propertyName", "active"},
    LEGACY_CRM_OBJECTS: {"subscriptionType", "propertyName", "active"},
    HUB_EVENTS: {"subscriptionType", "propertyName", "active"},
}


class ConfigError(ValueError):
    """The component file is invalid; the message names the field (answered 400 by the control endpoint)."""


@dataclass(frozen=True)
class Subscription:
    """One subscription entry, normalised. `object_type_id` is None for types the fake does not model."""

    id: int
    group: str
    subscription_type: str
    action: str
    object_type: str  # singular name ("company"), "" for hub events
    object_type_id: str | None
    property_name: str | None
    active: bool

    @property
    def generic(self) -> bool:
        """An `object.*` subscription: its events carry `objectTypeId`."""
        return self.group == CRM_OBJECTS

    def as_json(self) -> dict[str, Any]:
        """How the subscription is stored and shown by `GET /_fake/apps/webhooks`."""
        return {
            "id": self.id,
            "group": self.group,
            "subscriptionType": self.subscription_type,
            "objectType": self.object_type or None,
            "objectTypeId": self.object_type_id,
            "propertyName": self.property_name,
            "active": self.active,
        }


def subscription_from_json(data: dict[str, Any]) -> Subscription:
    """The inverse of `Subscription.as_json` (how subscriptions are stored)."""
    return Subscription(
        id=data["id"],
        group=data["group"],
        subscription_type=data["subscriptionType"],
        action=data["subscriptionType"].split(".", 1)[1],
        object_type=data["objectType"] or "",
        object_type_id=data["objectTypeId"],
        property_name=data["propertyName"],
        active=data["active"],
    )


# -- validation ----------------------------------------------------------------------------------------


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be an object")
    return value


def _no_unknown(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{where} has unknown field(s): {', '.join(unknown)}")


def _text(data: dict[str, Any], name: str, where: str) -> str:
    value = data.get(name)
    if value is None:
        raise ConfigError(f"{where}.{name} is required")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{name} must be a non-empty string")
    return value


def validate_settings(raw: Any) -> tuple[str, int]:
    """`config.settings`: the target URL (absolute http(s)) and maxConcurrentRequests (MIN..MAX_CONCURRENT)."""
    where = "config.settings"
    data = _object(raw, where)
    _no_unknown(data, {"targetUrl", "maxConcurrentRequests"}, where)
    url = _text(data, "targetUrl", where)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{where}.targetUrl must be an absolute http(s) URL, not {url!r}")
    limit = data.get("maxConcurrentRequests")
    if limit is None:
        raise ConfigError(f"{where}.maxConcurrentRequests is required")
    if isinstance(limit, bool) or not isinstance(limit, int) or not MIN_CONCURRENT <= limit <= MAX_CONCURRENT:
        raise ConfigError(
            f"{where}.maxConcurrentRequests must be an integer from {MIN_CONCURRENT} to {MAX_CONCURRENT}, not {limit!r}"
        )
    return url, limit


def _object_type(data: dict[str, Any], where: str) -> str:
    """`objectType` (or its older spelling `objectName`) of a crmObjects entry, lower-cased."""
    given = {name: data[name] for name in ("objectType", "objectName") if data.get(name) is not None}
    if not given:
        raise ConfigError(f"{where}.objectType is required")
    values = {str(value).lower() if isinstance(value, str) else value for value in given.values()}
    if len(values) > 1:
        raise ConfigError(f"{where}: objectType and objectName disagree")
    value = next(iter(values))
    if not isinstance(value, str) or value not in GENERIC_OBJECT_TYPES:
        raise ConfigError(
            f"{where}.objectType {next(iter(given.values()))!r} is not an object type generic webhooks support"
        )
    return value


def _subscription_type(data: dict[str, Any], group: str, where: str) -> tuple[str, str]:
    """(subscriptionType, object type name) of an entry; 400 for a type its list does not take."""
    sub_type = _text(data, "subscriptionType", where)
    head, _, action = sub_type.partition(".")
    if group == CRM_OBJECTS:
        ok = head == "object" and action in GENERIC_ACTIONS
    elif group == LEGACY_CRM_OBJECTS:
        ok = sub_type in LEGACY_SUBSCRIPTION_TYPES
    else:
        ok = sub_type in HUB_EVENT_TYPES
    if not ok:
        raise ConfigError(f"{where}.subscriptionType {sub_type!r} is not a valid {group} subscription type")
    object_type = _object_type(data, where) if group == CRM_OBJECTS else ("" if group == HUB_EVENTS else head)
    return sub_type, object_type


def _property_name(data: dict[str, Any], action: str, where: str) -> str | None:
    if action == "propertyChange":
        return _text(data, "propertyName", where)
    if data.get("propertyName") is not None:
        raise ConfigError(f"{where}.propertyName is only allowed on propertyChange subscriptions")
    return None


def _entry(raw: Any, group: str, index: int) -> tuple[str, str, str | None, bool]:
    """(subscriptionType, object type name, propertyName, active) of entry `index` of list `group`."""
    where = f"config.subscriptions.{group}[{index}]"
    data = _object(raw, where)
    _no_unknown(data, _ENTRY_FIELDS[group], where)
    sub_type, object_type = _subscription_type(data, group, where)
    prop = _property_name(data, sub_type.split(".", 1)[1], where)
    if "active" not in data:
        raise ConfigError(f"{where}.active is required")
    if not isinstance(data["active"], bool):
        raise ConfigError(f"{where}.active must be true or false")
    return sub_type, object_type, prop, data["active"]


def _stable_id(key: tuple[str, str, str, str | None], taken: set[int]) -> int:
    """A subscription id derived from the entry itself, so re-uploading the same entry keeps its id."""
    digest = hashlib.sha256("|".join(part or "" for part in key).encode()).digest()
    number = 1_000_000 + int.from_bytes(digest[:4], "big") % 9_000_000
    while number in taken:
        number += 1
    return number


def validate_subscriptions(raw: Any) -> list[Subscription]:
    """`config.subscriptions`: every entry of the three lists, normalised; duplicates are refused."""
    data = _object(raw, "config.subscriptions")
    _no_unknown(data, {CRM_OBJECTS, LEGACY_CRM_OBJECTS, HUB_EVENTS}, "config.subscriptions")
    found: list[Subscription] = []
    seen: dict[tuple[str, str, str, str | None], int] = {}
    for group in (CRM_OBJECTS, LEGACY_CRM_OBJECTS, HUB_EVENTS):
        entries = data.get(group, [])
        if not isinstance(entries, list):
            raise ConfigError(f"config.subscriptions.{group} must be an array")
        for index, raw_entry in enumerate(entries):
            sub_type, object_type, prop, active = _entry(raw_entry, group, index)
            key = (group, sub_type, object_type, prop)
            if key in seen:
                raise ConfigError(f"config.subscriptions.{group}[{index}] repeats entry {seen[key]} of the same list")
            seen[key] = index
            number = _stable_id(key, {sub.id for sub in found})
            type_id = MODELLED_TYPES.get(object_type)
            found.append(
                Subscription(number, group, sub_type, sub_type.split(".", 1)[1], object_type, type_id, prop, active)
            )
    if len(found) > MAX_SUBSCRIPTIONS:
        raise ConfigError(f"an app may have at most {MAX_SUBSCRIPTIONS} webhook subscriptions, not {len(found)}")
    return found


def validate(component: Any) -> tuple[str, int, list[Subscription]]:
    """The whole component file: (targetUrl, maxConcurrentRequests, subscriptions); ConfigError if invalid."""
    data = _object(component, "the webhooks component")
    _no_unknown(data, {"uid", "type", "config"}, "the webhooks component")
    _text(data, "uid", "the webhooks component")
    if data.get("type") != "webhooks":
        raise ConfigError(f'type must be "webhooks", not {data.get("type")!r}')
    config = _object(data.get("config"), "config")
    _no_unknown(config, {"settings", "subscriptions"}, "config")
    if "settings" not in config:
        raise ConfigError("config.settings is required")
    if "subscriptions" not in config:
        raise ConfigError("config.subscriptions is required")
    url, limit = validate_settings(config["settings"])
    return url, limit, validate_subscriptions(config["subscriptions"])


# -- storage -------------------------------------------------------------------------------------------


def app_row() -> WebhookApp:
    """The single row holding the component and the fault knobs (created on first use)."""
    app, _created = WebhookApp.objects.get_or_create(pk=APP_PK)
    return app


def webhooks_configure(config: dict[str, Any]) -> WebhookApp:
    """Upload the app's webhooks component (as `hs project upload`): validate, then replace the stored one.

    Raises ConfigError (a ValueError) with a message naming the bad field; nothing changes then.
    """
    url, limit, subscriptions = validate(config)
    with transaction.atomic():
        app = app_row()
        app.component = config
        app.target_url = url
        app.max_concurrent_requests = limit
        app.subscriptions = [sub.as_json() for sub in subscriptions]
        app.uploaded_at = clock.now()
        app.save(update_fields=["component", "target_url", "max_concurrent_requests", "subscriptions", "uploaded_at"])
    return app


def webhooks_unconfigure() -> WebhookApp:
    """Remove the component: no subscriptions, nothing is enqueued any more (queued events stay)."""
    app = app_row()
    app.component, app.subscriptions, app.target_url, app.uploaded_at = None, [], "", None
    app.max_concurrent_requests = 10
    app.save(update_fields=["component", "target_url", "max_concurrent_requests", "subscriptions", "uploaded_at"])
    return app


def subscriptions_of(app: WebhookApp | None) -> list[Subscription]:
    """The stored subscriptions (none when nothing was uploaded)."""
    return [subscription_from_json(data) for data in (app.subscriptions if app else [])]


def default_target_url() -> str:
    """Where events go when no component names a target: the product's endpoint on `PUBLIC_BASE_URL`."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + DEFAULT_TARGET_PATH


def target_url(app: WebhookApp | None) -> str:
    """The component's `targetUrl`, which wins; the default only while none is uploaded."""
    return (app.target_url if app else "") or default_target_url()


def describe(app: WebhookApp) -> dict[str, Any]:
    """The stored configuration for `GET /_fake/apps/webhooks`."""
    return {
        "appId": state.app_id(),
        "component": app.component,
        "targetUrl": target_url(app),
        "maxConcurrentRequests": app.max_concurrent_requests,
        "uploadedAt": clock.iso(app.uploaded_at) if app.uploaded_at else None,
        "subscriptions": list(app.subscriptions),
    }
