"""The app's webhooks component (`webhooks-hsmeta.json`): upload, read back, and every refusal."""

from __future__ import annotations

import copy

import pytest

from sandbox.hubspot import state
from sandbox.hubspot.models import WebhookApp
from sandbox.hubspot.webhooks import config

TARGET = "https://app.example.com/hubspot/webhooks"


def _component() -> dict:
    return {
        "uid": "kleer_webhooks",
        "type": "webhooks",
        "config": {
            "settings": {"targetUrl": TARGET, "maxConcurrentRequests": 10},
            "subscriptions": {
                "crmObjects": [
                    {
                        "subscriptionType": "object.propertyChange",
                        "objectType": "company",
                        "propertyName": "phone",
                        "active": True,
                    },
                    {"subscriptionType": "object.creation", "objectName": "deal", "active": True},
                ],
                "legacyCrmObjects": [
                    {"subscriptionType": "company.propertyChange", "propertyName": "name", "active": False}
                ],
                "hubEvents": [{"subscriptionType": "app.uninstall", "active": True}],
            },
        },
    }


def test_upload_then_read_back(hs):
    uploaded = hs.control("PUT", "/apps/webhooks", _component())
    assert uploaded.status_code == 200, uploaded.text
    body = hs.control("GET", "/apps/webhooks").json()
    assert body == uploaded.json()
    subscriptions = body.pop("subscriptions")
    assert body.pop("uploadedAt").endswith("Z")
    assert body == {
        "appId": state.app_id(),
        "component": _component(),
        "targetUrl": TARGET,
        "maxConcurrentRequests": 10,
        "delivery": {
            "targetUrl": TARGET,
            "maxConcurrentRequests": 10,
            "timeoutSeconds": 5.0,
            "retryBaseSeconds": 80.0,
            "maxRetries": 10,
        },
    }
    ids = [sub.pop("id") for sub in subscriptions]
    assert len(set(ids)) == 4 and all(isinstance(number, int) for number in ids)
    assert subscriptions == [
        {
            "group": "crmObjects",
            "subscriptionType": "object.propertyChange",
            "objectType": "company",
            "objectTypeId": "0-2",
            "propertyName": "phone",
            "active": True,
        },
        {
            "group": "crmObjects",
            "subscriptionType": "object.creation",
            "objectType": "deal",
            "objectTypeId": "0-3",
            "propertyName": None,
            "active": True,
        },
        {
            "group": "legacyCrmObjects",
            "subscriptionType": "company.propertyChange",
            "objectType": "company",
            "objectTypeId": "0-2",
            "propertyName": "name",
            "active": False,
        },
        {
            "group": "hubEvents",
            "subscriptionType": "app.uninstall",
            "objectType": None,
            "objectTypeId": None,
            "propertyName": None,
            "active": True,
        },
    ]


def test_subscription_ids_are_stable_across_uploads(hs):
    first = [sub["id"] for sub in hs.control("PUT", "/apps/webhooks", _component()).json()["subscriptions"]]
    changed = _component()
    changed["config"]["subscriptions"]["crmObjects"].reverse()
    second = {
        sub["subscriptionType"]: sub["id"]
        for sub in hs.control("PUT", "/apps/webhooks", changed).json()["subscriptions"]
    }
    assert second["object.propertyChange"] == first[0]
    assert second["object.creation"] == first[1]


def test_nothing_uploaded_means_no_subscriptions_and_the_default_target(hs, settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    body = hs.control("GET", "/apps/webhooks").json()
    assert (body["component"], body["subscriptions"], body["targetUrl"], body["uploadedAt"]) == (
        None,
        [],
        "http://127.0.0.1:8000/hubspot/webhooks",
        None,
    )
    hs.control("PUT", "/apps/webhooks", _component())
    deleted = hs.control("DELETE", "/apps/webhooks").json()
    assert (deleted["component"], deleted["subscriptions"], deleted["targetUrl"]) == (
        None,
        [],
        "http://127.0.0.1:8000/hubspot/webhooks",
    )


def test_python_helper_validates_like_the_endpoint(transactional_db):
    app = config.webhooks_configure(_component())
    assert (app.target_url, app.max_concurrent_requests, len(app.subscriptions)) == (TARGET, 10, 4)
    bad = _component()
    bad["config"]["settings"]["maxConcurrentRequests"] = 0
    with pytest.raises(config.ConfigError, match="maxConcurrentRequests must be an integer from 1 to 50"):
        config.webhooks_configure(bad)
    assert WebhookApp.objects.get().max_concurrent_requests == 10


def _set(data: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    for part in parents:
        data = data[int(part)] if part.isdigit() else data[part]
    if value is _DELETE:
        del data[int(last) if last.isdigit() else last]
    else:
        data[int(last) if last.isdigit() else last] = value


class _Delete:
    """Marks a field to remove; a stable repr keeps the test ids equal across xdist workers."""

    def __repr__(self) -> str:
        return "<delete>"


_DELETE = _Delete()
CRM = "config.subscriptions.crmObjects"
LEGACY = "config.subscriptions.legacyCrmObjects"

REFUSALS = [
    ("uid", _DELETE, "the webhooks component.uid is required"),
    ("type", "webhook", "type must be \"webhooks\", not 'webhook'"),
    ("extra", 1, "the webhooks component has unknown field(s): extra"),
    ("config.settings", _DELETE, "config.settings is required"),
    ("config.subscriptions", _DELETE, "config.subscriptions is required"),
    ("config.settings.targetUrl", _DELETE, "config.settings.targetUrl is required"),
    ("config.settings.targetUrl", "", "config.settings.targetUrl must be a non-empty string"),
    ("config.settings.targetUrl", "/hubspot/webhooks", "config.settings.targetUrl must be an absolute http(s) URL"),
    ("config.settings.targetUrl", "ftp://example.com/x", "config.settings.targetUrl must be an absolute http(s) URL"),
    ("config.settings.maxConcurrentRequests", _DELETE, "config.settings.maxConcurrentRequests is required"),
    ("config.settings.maxConcurrentRequests", 0, "maxConcurrentRequests must be an integer from 1 to 50, not 0"),
    ("config.settings.maxConcurrentRequests", 51, "maxConcurrentRequests must be an integer from 1 to 50, not 51"),
    ("config.settings.maxConcurrentRequests", "10", "maxConcurrentRequests must be an integer from 1 to 50"),
    ("config.settings.maxConcurrentRequests", True, "maxConcurrentRequests must be an integer from 1 to 50"),
    ("config.settings.period", "SECONDLY", "config.settings has unknown field(s): period"),
    ("config.subscriptions.webhooks", [], "config.subscriptions has unknown field(s): webhooks"),
    (CRM, {}, "config.subscriptions.crmObjects must be an array"),
    (f"{CRM}.0.subscriptionType", "object.changed", "'object.changed' is not a valid crmObjects subscription type"),
    (f"{CRM}.0.subscriptionType", "company.propertyChange", "is not a valid crmObjects subscription type"),
    (f"{CRM}.0.subscriptionType", _DELETE, f"{CRM}[0].subscriptionType is required"),
    (f"{CRM}.0.propertyName", _DELETE, f"{CRM}[0].propertyName is required"),
    (f"{CRM}.0.propertyName", "", f"{CRM}[0].propertyName must be a non-empty string"),
    (f"{CRM}.1.propertyName", "phone", f"{CRM}[1].propertyName is only allowed on propertyChange subscriptions"),
    (f"{CRM}.0.objectType", "spaceship", "'spaceship' is not an object type generic webhooks support"),
    (f"{CRM}.0.objectType", "project", "'project' is not an object type generic webhooks support"),
    (f"{CRM}.0.objectType", _DELETE, f"{CRM}[0].objectType is required"),
    (f"{CRM}.1.objectType", "company", f"{CRM}[1]: objectType and objectName disagree"),
    (f"{CRM}.0.active", _DELETE, f"{CRM}[0].active is required"),
    (f"{CRM}.0.active", "yes", f"{CRM}[0].active must be true or false"),
    (f"{CRM}.0.filters", [], f"{CRM}[0] has unknown field(s): filters"),
    (f"{CRM}.0", "phone", f"{CRM}[0] must be an object"),
    (f"{LEGACY}.0.subscriptionType", "object.propertyChange", "is not a valid legacyCrmObjects subscription type"),
    (f"{LEGACY}.0.subscriptionType", "invoice.creation", "is not a valid legacyCrmObjects subscription type"),
    (f"{LEGACY}.0.objectType", "company", f"{LEGACY}[0] has unknown field(s): objectType"),
    (
        "config.subscriptions.hubEvents.0.subscriptionType",
        "company.creation",
        "'company.creation' is not a valid hubEvents subscription type",
    ),
]


@pytest.mark.parametrize(("path", "value", "message"), REFUSALS, ids=[f"{p}={v!r}"[:60] for p, v, _ in REFUSALS])
def test_invalid_component_is_refused_and_changes_nothing(hs, path, value, message):
    assert hs.control("PUT", "/apps/webhooks", _component()).status_code == 200
    before = hs.control("GET", "/apps/webhooks").json()
    bad = copy.deepcopy(_component())
    _set(bad, path, value)
    response = hs.control("PUT", "/apps/webhooks", bad)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert hs.control("GET", "/apps/webhooks").json() == before


def test_a_repeated_entry_is_refused(hs):
    bad = _component()
    crm = bad["config"]["subscriptions"]["crmObjects"]
    crm.append({**crm[0], "objectType": "COMPANY", "active": False})
    response = hs.control("PUT", "/apps/webhooks", bad)
    assert response.json() == {"error": "config.subscriptions.crmObjects[2] repeats entry 0 of the same list"}


def test_an_empty_body_is_refused(hs):
    response = hs.control("PUT", "/apps/webhooks")
    assert (response.status_code, response.json()) == (
        400,
        {"error": "send the webhooks component (webhooks-hsmeta.json) as the body"},
    )
