"""The webhook endpoint's door: signatures, body checks, and storing nothing for what it refuses."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from django.conf import settings

from integration.models import InboundEvent
from tests.integration.inbound.conftest import event, sign_v3

pytestmark = pytest.mark.django_db
URL = "https://kleer.example.com/hubspot/webhooks"


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.PUBLIC_BASE_URL = "https://kleer.example.com"


def post(client, body: bytes, **headers):
    return client.post("/hubspot/webhooks", data=body, content_type="application/json", **headers)


def v3_headers(body: bytes, *, age: float = 0, secret: str | None = None, url: str = URL) -> dict[str, str]:
    timestamp = str(int((time.time() - age) * 1000))
    signature = sign_v3(secret or settings.HUBSPOT_CLIENT_SECRET, url, body, timestamp)
    return {"HTTP_X_HUBSPOT_SIGNATURE_V3": signature, "HTTP_X_HUBSPOT_REQUEST_TIMESTAMP": timestamp}


def body_of(*events) -> bytes:
    return json.dumps(list(events)).encode()


def test_a_v3_signed_batch_is_stored(client):
    body = body_of(event(1, 5, "phone"), event(1, 6, "phone"))
    response = post(client, body, **v3_headers(body))
    assert (response.status_code, response.json()) == (200, {"received": 2, "pending": 0, "ignored": 2})
    assert InboundEvent.objects.count() == 2


def test_a_v1_signed_batch_is_stored(client):
    body = body_of(event(1, 5, "phone"))
    signature = hashlib.sha256(settings.HUBSPOT_CLIENT_SECRET.encode() + body).hexdigest()
    response = post(client, body, HTTP_X_HUBSPOT_SIGNATURE=signature, HTTP_X_HUBSPOT_SIGNATURE_VERSION="v1")
    assert response.status_code == 200
    assert InboundEvent.objects.count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"age": 301},
        {"secret": "another-secret"},
        {"url": "https://kleer.example.com/hubspot/webhooks?x=1"},
        {"v1": "0" * 64},
        {"v1_version": "v2"},
    ],
    ids=["unsigned", "stale", "wrong-secret", "other-url", "forged-v1", "unknown-version"],
)
def test_a_bad_or_stale_signature_is_401_and_stores_nothing(client, headers):
    body = body_of(event(1, 5, "phone"))
    if not headers:
        sent = {}
    elif "v1" in headers:
        sent = {"HTTP_X_HUBSPOT_SIGNATURE": headers["v1"], "HTTP_X_HUBSPOT_SIGNATURE_VERSION": "v1"}
    elif "v1_version" in headers:
        signature = hashlib.sha256(settings.HUBSPOT_CLIENT_SECRET.encode() + body).hexdigest()
        sent = {"HTTP_X_HUBSPOT_SIGNATURE": signature, "HTTP_X_HUBSPOT_SIGNATURE_VERSION": headers["v1_version"]}
    else:
        sent = v3_headers(body, **headers)
    response = post(client, body, **sent)
    assert (response.status_code, response.json()) == (401, {"message": "invalid signature"})
    assert InboundEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "the body is not JSON"),
        (b"{}", "the body must be a non-empty JSON array of events"),
        (b"[]", "the body must be a non-empty JSON array of events"),
        (json.dumps([event(1, 1, "p")] * 101).encode(), "at most 100 events per request"),
        (
            json.dumps([{"portalId": 1, "subscriptionType": "x", "objectId": 1}]).encode(),
            "event field 'eventId' must be",
        ),
        (json.dumps([{**event(1, 1, "p"), "portalId": "1e9"}]).encode(), "event field 'portalId' must be an integer"),
        (json.dumps([{**event(1, 1, "p"), "objectId": None}]).encode(), "event field 'objectId' must be an integer"),
        (json.dumps([{**event(1, 1, "p"), "propertyName": "a\x00"}]).encode(), "event field 'propertyName' is not"),
        (json.dumps([{**event(1, 1, "p"), "occurredAt": 10**30}]).encode(), "event field 'occurredAt' must be"),
        (json.dumps([event(1, 1, "p"), "x"]).encode(), "each event must be a JSON object"),
    ],
)
def test_a_malformed_body_is_400_and_stores_nothing(client, body, message):
    response = post(client, body, **v3_headers(body))
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    assert InboundEvent.objects.count() == 0


def test_only_post_is_answered(client):
    assert client.get("/hubspot/webhooks").status_code == 405
