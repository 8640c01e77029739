"""HubSpot v3 request signatures: vectors computed here, independently of the code under test."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from integration.signatures import SignatureError, normalize_uri, signature_v3, verify_v3

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
TIMESTAMP = str(int(NOW * 1000))


def reference_signature(secret: str, source: str) -> str:
    """The documented recipe, written out by hand: base64(HMAC-SHA256(secret, source as UTF-8))."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), source.encode("utf-8"), hashlib.sha256).digest()).decode()


# The pinned values were cross-checked with: printf %s "$SOURCE" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64


def test_get_launch_url_vector():
    uri = "https://app.example.com/hubspot/launch?portalId=62515&userId=7&userEmail=ada@example.com&appId=54321"
    expected = reference_signature(SECRET, f"GET{uri}{TIMESTAMP}")
    assert expected == "kuI9dyOFCaQIS1l3vqthptRrK3eBNyxSweJedV2RI9w="
    verify_v3(secret=SECRET, method="GET", uri=uri, body=b"", signature=expected, timestamp=TIMESTAMP, now=NOW)


def test_post_with_json_body_vector():
    uri = "https://app.example.com/hubspot/launch?portalId=62515"
    body = '{"eventId":1,"portalId":62515,"name":"Åke AB"}'
    expected = reference_signature(SECRET, f"POST{uri}{body}{TIMESTAMP}")
    assert expected == "GgISCkI4S33tQhcKGARToiWwdKetpacuAsB713RV3Ck="
    verify_v3(
        secret=SECRET, method="POST", uri=uri, body=body.encode(), signature=expected, timestamp=TIMESTAMP, now=NOW
    )


def test_listed_escapes_are_decoded_before_hashing():
    # HubSpot signs the URI with %40 → @ (and the other listed escapes) decoded, but leaves %20 alone.
    sent = "https://app.example.com/hubspot/launch?portalId=62515&userEmail=ada%40example.com&q=a%20b%2Cc"
    hashed = "https://app.example.com/hubspot/launch?portalId=62515&userEmail=ada@example.com&q=a%20b,c"
    assert normalize_uri(sent) == hashed
    expected = reference_signature(SECRET, f"GET{hashed}{TIMESTAMP}")
    verify_v3(secret=SECRET, method="GET", uri=sent, body=b"", signature=expected, timestamp=TIMESTAMP, now=NOW)


def test_lowercase_escapes_are_decoded_too():
    assert normalize_uri("https://x.example/a%2fb?e=a%40b%3a1") == "https://x.example/a/b?e=a@b:1"


def test_signature_v3_matches_reference():
    uri = "https://app.example.com/x?portalId=1"
    assert signature_v3(secret=SECRET, method="get", uri=uri, body=b"", timestamp=TIMESTAMP) == reference_signature(
        SECRET, f"GET{uri}{TIMESTAMP}"
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"uri": "https://app.example.com/hubspot/launch?portalId=62516"}, "does not match"),
        ({"method": "POST"}, "does not match"),
        ({"body": b"x"}, "does not match"),
        ({"secret": "another-secret"}, "does not match"),
        ({"signature": ""}, "missing"),
        ({"signature": None}, "missing"),
        ({"timestamp": None}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": "9" * 400}, "not a millisecond epoch"),
        ({"timestamp": "٠" * 13}, "not a millisecond epoch"),
        ({"timestamp": f" {TIMESTAMP}"}, "not a millisecond epoch"),
        ({"timestamp": "9" * 400, "secret": ""}, "not a millisecond epoch"),
        ({"secret": ""}, "no client secret"),
    ],
)
def test_forged_or_incomplete_requests_are_refused(change, reason):
    uri = "https://app.example.com/hubspot/launch?portalId=62515"
    good = {
        "secret": SECRET,
        "method": "GET",
        "uri": uri,
        "body": b"",
        "signature": reference_signature(SECRET, f"GET{uri}{TIMESTAMP}"),
        "timestamp": TIMESTAMP,
        "now": NOW,
    }
    with pytest.raises(SignatureError, match=reason):
        verify_v3(**{**good, **change})


def test_timestamp_older_than_five_minutes_is_refused_even_when_signed():
    uri = "https://app.example.com/hubspot/launch?portalId=62515"
    stale = str(int((NOW - 301) * 1000))
    signature = reference_signature(SECRET, f"GET{uri}{stale}")
    with pytest.raises(SignatureError, match="301 s old"):
        verify_v3(secret=SECRET, method="GET", uri=uri, body=b"", signature=signature, timestamp=stale, now=NOW)
    fresh = str(int((NOW - 299) * 1000))
    signature = reference_signature(SECRET, f"GET{uri}{fresh}")
    verify_v3(secret=SECRET, method="GET", uri=uri, body=b"", signature=signature, timestamp=fresh, now=NOW)


def test_timestamp_far_in_the_future_is_refused():
    uri = "https://app.example.com/hubspot/launch?portalId=62515"
    future = str(int((NOW + 3600) * 1000))
    signature = reference_signature(SECRET, f"GET{uri}{future}")
    with pytest.raises(SignatureError, match="future"):
        verify_v3(secret=SECRET, method="GET", uri=uri, body=b"", signature=signature, timestamp=future, now=NOW)


def test_comparison_is_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    uri = "https://app.example.com/x"
    with pytest.raises(SignatureError):
        verify_v3(secret=SECRET, method="GET", uri=uri, body=b"", signature="AAAA", timestamp=TIMESTAMP, now=NOW)
    assert len(calls) == 1


def test_the_client_secret_never_appears_in_a_technical_error_page():
    """Defence in depth: if anything inside the signature code ever raises, DEBUG's technical 500 page lists the
    frames' local variables; the secret and the expected signature are filtered out of them."""
    import sys

    from django.test import RequestFactory
    from django.views.debug import ExceptionReporter

    request = RequestFactory().get("/hubspot/launch")
    try:
        verify_v3(secret=SECRET, method="GET", uri="https://x/", body=None, signature="s", timestamp=TIMESTAMP, now=NOW)
    except TypeError:
        html = ExceptionReporter(request, *sys.exc_info()).get_traceback_html()
    else:  # pragma: no cover - the call above must fail on body=None
        pytest.fail("verify_v3 accepted a None body")
    assert "signature_v3" in html  # the frame is in the report...
    assert SECRET not in html  # ...without the secret
