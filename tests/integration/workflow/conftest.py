"""Running the app's workflow actions as HubSpot would: signed execution requests over real HTTP, and a fake HubSpot
portal holding the deals, companies, products and line items the actions read."""

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

from integration.models import ObjectSync
from integration.services.sync import object_sync_run
from sandbox.hubspot import state as hubspot_state
from sandbox.hubspot.models import Portal as FakePortal
from sandbox.kleer.testing import KleerApi

_CALLBACKS = itertools.count(1)
DEAL_COMPANY = 341  # deal → company (HubSpot-defined, hubspot-api.md §4.2)
LINE_ITEM_DEAL = 20  # line item → deal


def sign_v3(secret: str, url: str, body: bytes, timestamp: str) -> str:
    """The documented recipe written out here, independently of the product's code."""
    source = b"POST" + url.encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()


def execution_body(hub_id: int, object_type: str, object_id: Any, inputs: dict, callback_id: str | None = None):
    return {
        "callbackId": callback_id or f"ap-{next(_CALLBACKS)}-{time.time_ns()}",
        "origin": {"portalId": hub_id, "actionDefinitionId": 77, "actionDefinitionVersion": 1},
        "context": {"source": "WORKFLOWS", "workflowId": 9001},
        "object": {"objectId": int(object_id), "objectType": object_type},
        "inputFields": inputs,
    }


@dataclass
class Actions:
    """Posts execution requests to the live server's /hubspot/workflow-actions/{action}, signed like HubSpot."""

    base_url: str

    def url(self, action: str) -> str:
        return f"{self.base_url}/hubspot/workflow-actions/{action}"

    def post(self, action: str, body: Any, *, secret: str | None = None, age: float = 0, raw: bytes | None = None):
        data = raw if raw is not None else json.dumps(body).encode()
        secret = settings.HUBSPOT_CLIENT_SECRET if secret is None else secret
        timestamp = str(int((time.time() - age) * 1000))
        headers = {
            "Content-Type": "application/json",
            "X-HubSpot-Signature-v3": sign_v3(secret, self.url(action), data, timestamp),
            "X-HubSpot-Request-Timestamp": timestamp,
        }
        return requests.post(self.url(action), data=data, headers=headers, timeout=60)

    def run(self, action: str, world, object_type: str, object_id: Any, inputs: dict | None = None, **kw: Any):
        body = execution_body(world.hub_id, object_type, object_id, inputs or {}, kw.pop("callback_id", None))
        response = self.post(action, body, **kw)
        assert response.status_code == 200, response.text
        return body["callbackId"], response.json()


@pytest.fixture(autouse=True)
def _eager_retries():
    """Eager tasks run their retries inline (at once, countdowns ignored) instead of raising Celery's Retry into
    the request that queued them, as a worker would retry them."""
    from config.celery_app import app

    previous = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = previous


@pytest.fixture
def actions(sandbox_urls) -> Actions:
    return Actions(sandbox_urls)


class Crm:
    """The fake HubSpot portal's records, written with a token of another app (as a HubSpot user would)."""

    def __init__(self, hub_id: int) -> None:
        self.token = hubspot_state.token_issue(portal=FakePortal.objects.get(hub_id=hub_id)).token

    def _call(self, method: str, path: str, body: Any = None) -> dict:
        # The portal's search limit (5/s) is shared with the product's own searches (matching), so a test's read
        # may meet a 429: wait as HubSpot says and ask again, as any client of HubSpot must.
        for _ in range(10):
            response = requests.request(
                method,
                f"{settings.HUBSPOT_API_BASE}{path}",
                json=body,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=30,
            )
            if response.status_code != 429:
                break
            time.sleep(float(response.headers.get("Retry-After") or 1))
        assert response.status_code < 300, response.text
        return response.json() if response.content else {}

    def create(self, object_type: str, properties: dict, associations: list | None = None) -> str:
        body: dict = {"properties": properties}
        if associations:
            body["associations"] = [
                {"to": {"id": str(to)}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": t}]}
                for to, t in associations
            ]
        return str(self._call("POST", f"/crm/v3/objects/{object_type}", body)["id"])

    def read(self, object_type: str, object_id: str, *properties: str) -> dict:
        path = f"/crm/v3/objects/{object_type}/{object_id}?properties={','.join(properties)}"
        return self._call("GET", path)["properties"]

    def property(self, object_type: str, name: str) -> None:
        body = {"name": name, "label": name, "type": "string", "fieldType": "text", "groupName": "kleer"}
        self._call("POST", f"/crm/v3/properties/{object_type}/groups", {"name": "kleer", "label": "Kleer"})
        self._call("POST", f"/crm/v3/properties/{object_type}", body)

    def first(self, object_type: str, prop: str, value: str) -> str:
        body = {"filterGroups": [{"filters": [{"propertyName": prop, "operator": "EQ", "value": value}]}]}
        return str(self._call("POST", f"/crm/v3/objects/{object_type}/search", body)["results"][0]["id"])

    def deal(self, company_id: str | None, items: list[dict], **properties: str) -> str:
        links = [(company_id, DEAL_COMPANY)] if company_id else []
        won = {"dealname": "Årsavtal Åkesson", "pipeline": "default", "dealstage": "closedwon"}
        deal_id = self.create("deals", won | properties, links)
        for item in items:
            self.create("line_items", item, [(deal_id, LINE_ITEM_DEAL)])
        return deal_id


def sync(world, object_type: str) -> None:
    object_sync_run(object_sync_id=ObjectSync.objects.get(portal=world.portal, object_type=object_type).pk)


def kleer_api(world, live_server) -> KleerApi:
    return KleerApi(server_url=live_server.url, company_id=world.company_id, token=world.token)


def kleer_list(world, live_server, path: str, key: str) -> list[dict]:
    return kleer_api(world, live_server).get(path).json().get(key, [])


def deploy_actions(base_url: str) -> None:
    """Upload the generated workflow-action components to the fake HubSpot, as `hs project upload` would, with
    this test server's address as the action URLs (the fake calls local receivers over http)."""
    from integration.hubspot_project import workflow_action_components
    from sandbox.hubspot.workflows import workflow_actions_deploy

    workflow_actions_deploy(workflow_action_components(base_url))


def hubspot_run(world, action: str, object_type: str, object_id: Any, inputs: dict | None = None, **extra: Any):
    """Have the fake HubSpot run an action as a workflow would; its answer after the app's last reply."""
    from integration.catalog.workflow_actions import ACTIONS

    url = settings.HUBSPOT_API_BASE.replace("/sandbox/hubspot", "/sandbox/hubspot/_fake")
    body = {"uid": ACTIONS[action].uid, "objectType": object_type, "objectId": int(object_id),
            "inputFields": inputs or {}, **extra}  # fmt: skip
    response = requests.post(f"{url}/portals/{world.hub_id}/workflow-actions/run", json=body, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def hubspot_execution(world, callback_id: str) -> dict:
    url = settings.HUBSPOT_API_BASE.replace("/sandbox/hubspot", "/sandbox/hubspot/_fake")
    response = requests.get(f"{url}/portals/{world.hub_id}/workflow-actions/executions/{callback_id}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()
