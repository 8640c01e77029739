"""HubSpot request signatures, checked against HubSpot's published test vectors (hubspot-api.md §7.2)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from sandbox.hubspot.signatures import (
    sign_v1,
    sign_v2,
    sign_v3,
    signed_request_headers,
    v3_uri,
    with_identity_params,
)

# The secret of every published example.
SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
# https://developers.hubspot.com/docs/faq/v1-request-validation, "Example for a request with a body".
V1_BODY = (
    '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
    '"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM",'
    '"changeFlag":"NEW","appId":54321}]'
)
V1_HASH = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"
# https://developers.hubspot.com/docs/faq/v2-request-validation, "Example for a GET request" and
# "Example for a request with a body".
V2_URI = "https://www.example.com/webhook_uri"
V2_GET_HASH = "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e"
V2_POST_BODY = '{"example_field":"example_value"}'
V2_POST_HASH = "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900"


def test_v1_published_vector():
    assert sign_v1(SECRET, V1_BODY) == V1_HASH
    assert sign_v1(SECRET, V1_BODY.encode()) == V1_HASH


def test_v2_published_vectors():
    assert sign_v2(SECRET, "GET", V2_URI, "") == V2_GET_HASH
    assert sign_v2(SECRET, "POST", V2_URI, V2_POST_BODY) == V2_POST_HASH


def _reference_v3(method: str, uri: str, body: str, timestamp: str) -> str:
    """The v3 steps of the request-validation page, written out literally (no published v3 vector exists).

    https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation
    """
    source = method + uri + body + timestamp
    digest = hmac.new(SECRET.encode("utf-8"), source.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_v3_matches_the_documented_steps():
    body = '[{"objectId":1,"propertyName":"kleer_id"}]'
    expected = _reference_v3("POST", V2_URI, body, "1564113600000")
    assert sign_v3(SECRET, "POST", V2_URI, body, 1564113600000) == expected
    assert sign_v3(SECRET, "post", V2_URI, body.encode(), "1564113600000") == expected


def test_v3_decodes_only_the_listed_escapes():
    url = "https://app.example.com/launch?portalId=62515&userEmail=ann%40acme.se&q=a%20b%2Cc%3a%26"
    assert v3_uri(url) == "https://app.example.com/launch?portalId=62515&userEmail=ann@acme.se&q=a%20b,c:%26"
    expected = _reference_v3("GET", v3_uri(url), "", "1700000000000")
    assert sign_v3(SECRET, "GET", url, "", 1700000000000) == expected
    assert sign_v3(SECRET, "GET", url, "", 1700000000000) != _reference_v3("GET", url, "", "1700000000000")


@pytest.mark.parametrize(
    ("legacy", "version", "legacy_signature"),
    [("v1", "v1", V1_HASH), ("v2", "v2", sign_v2(SECRET, "POST", V2_URI, V1_BODY))],
)
def test_signed_request_headers(legacy, version, legacy_signature):
    headers = signed_request_headers(
        client_secret=SECRET,
        method="POST",
        url=V2_URI,
        body=V1_BODY,
        timestamp_ms=1564113600000,
        legacy_version=legacy,
    )
    assert headers == {
        "X-HubSpot-Signature-v3": _reference_v3("POST", V2_URI, V1_BODY, "1564113600000"),
        "X-HubSpot-Request-Timestamp": "1564113600000",
        "X-HubSpot-Signature": legacy_signature,
        "X-HubSpot-Signature-Version": version,
    }


def test_signed_request_headers_v3_only_and_current_time():
    headers = signed_request_headers(client_secret=SECRET, method="GET", url=V2_URI, legacy_version=None)
    assert sorted(headers) == ["X-HubSpot-Request-Timestamp", "X-HubSpot-Signature-v3"]
    stamp = headers["X-HubSpot-Request-Timestamp"]
    assert headers["X-HubSpot-Signature-v3"] == _reference_v3("GET", V2_URI, "", stamp)
    with pytest.raises(ValueError, match="legacy_version"):
        signed_request_headers(client_secret=SECRET, method="GET", url=V2_URI, legacy_version="v9")


def test_identity_params():
    url = with_identity_params(
        "https://app.example.com/hubspot/launch?x=1", portal_id=62515, user_id=7, user_email="ann@acme.se", app_id=54321
    )
    assert (
        url == "https://app.example.com/hubspot/launch?x=1&portalId=62515&userId=7&userEmail=ann%40acme.se&appId=54321"
    )
