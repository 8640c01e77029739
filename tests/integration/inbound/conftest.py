"""Delivering HubSpot webhooks to the product as HubSpot would: signed, batched JSON arrays."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from django.conf import settings

from integration.models import ObjectSync, SyncRun
from integration.services.sync import object_sync_run
from sandbox.hubspot_crm.selectors import object_by_property

_EVENT_IDS = itertools.count(1_000_000)


def sign_v3(secret: str, url: str, body: bytes, timestamp: str) -> str:
    """The documented recipe written out here, independently of the product's code."""
    source = b"POST" + url.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


def event(hub_id: int, object_id: Any, prop: str, value: str = "", **extra: Any) -> dict[str, Any]:
    """A property-change event as HubSpot sends it for a user's edit (generic `object.*` form)."""
    return {
        "eventId": next(_EVENT_IDS),
        "subscriptionId": 4242,
        "portalId": hub_id,
        "appId": settings.HUBSPOT_APP_ID,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": "object.propertyChange",
        "attemptNumber": 0,
        "objectId": int(object_id),
        "objectTypeId": "0-2",
        "propertyName": prop,
        "propertyValue": value,
        "changeSource": "CRM_UI",
        "sourceId": "userId:7",
        **extra,
    }


@dataclass
class Hook:
    """Posts webhook batches to the live server's /hubspot/webhooks."""

    base_url: str

    @property
    def url(self) -> str:
        return f"{self.base_url}/hubspot/webhooks"

    def deliver(self, events: list[dict], *, secret: str | None = None, age: float = 0, v1: bool = False):
        body = json.dumps(events).encode()
        secret = settings.HUBSPOT_CLIENT_SECRET if secret is None else secret
        headers = {"Content-Type": "application/json"}
        if v1:
            headers["X-HubSpot-Signature"] = hashlib.sha256(secret.encode() + body).hexdigest()
            headers["X-HubSpot-Signature-Version"] = "v1"
        else:
            timestamp = str(int((time.time() - age) * 1000))
            headers["X-HubSpot-Signature-v3"] = sign_v3(secret, self.url, body, timestamp)
            headers["X-HubSpot-Request-Timestamp"] = timestamp
        return requests.post(self.url, data=body, headers=headers, timeout=30)


@pytest.fixture
def hook(sandbox_urls) -> Hook:
    return Hook(sandbox_urls)


def run(world, object_type: str = "clients") -> SyncRun:
    object_sync = ObjectSync.objects.get(portal=world.portal, object_type=object_type)
    return object_sync_run(object_sync_id=object_sync.pk)


def hubspot_edit(world, object_type: str, object_id: str, properties: dict[str, str]) -> None:
    """Edit a record through the fake HubSpot's API with a token of another app user (not the product's)."""
    from sandbox.hubspot import state as hubspot_state
    from sandbox.hubspot.models import Portal as FakePortal

    token = hubspot_state.token_issue(portal=FakePortal.objects.get(hub_id=world.hub_id)).token
    response = requests.patch(
        f"{settings.HUBSPOT_API_BASE}/crm/v3/objects/{object_type}/{object_id}",
        json={"properties": properties},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def company_of(world, kleer_id: str) -> dict:
    found = object_by_property(world.hub_id, "companies", "kleer_id", kleer_id)
    assert found is not None
    return found
