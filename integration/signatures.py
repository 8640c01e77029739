"""Verifying requests HubSpot signs for the app (v3 signatures: settings launches, webhooks, workflow actions).

Reference: https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation
(hubspot-api.md §7.2). The signature is base64(HMAC-SHA256(client_secret, method + uri + body + timestamp)),
sent in `X-HubSpot-Signature-v3` with the millisecond timestamp in `X-HubSpot-Request-Timestamp`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time

from django.views.decorators.debug import sensitive_variables

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
# v1 (webhook deliveries still carry it): hex(SHA-256(client_secret + body)), no timestamp
# (https://developers.hubspot.com/docs/faq/v1-request-validation; hubspot-api.md §7.2).
SIGNATURE_V1_HEADER = "X-HubSpot-Signature"
SIGNATURE_VERSION_HEADER = "X-HubSpot-Signature-Version"
# HubSpot rejects its own signatures after five minutes; the official SDKs use the same window
# (hubspot-api-python `Signature.MAX_ALLOWED_TIMESTAMP = 300`).
MAX_AGE_SECONDS = 300
# A request stamped a little in the future is a clock-skew artefact, not a replay; more than this is refused.
MAX_CLOCK_SKEW_SECONDS = 60

# HubSpot decodes exactly these percent-encoded characters in the URI before signing, and no others
# (request-validation page, "Validate the v3 request signature", step 2). A full unquote() would also turn
# %20 or %26 into characters HubSpot kept encoded, and the signatures would stop matching.
_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")


class SignatureError(ValueError):
    """The request is not provably from HubSpot; `reason` is safe to log (it holds no secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def normalize_uri(uri: str) -> str:
    """The URI as HubSpot hashes it: the listed percent-escapes decoded, every other one left as it is."""
    return _ENCODED.sub(lambda match: _DECODED.get(match.group(0).upper(), match.group(0)), uri)


# A millisecond epoch has 13 digits until the year 2286. Anything longer, signed, spaced or in non-ASCII digits
# (which int() would accept) is refused before any arithmetic: int("9" * 400) / 1000 raises OverflowError.
_TIMESTAMP = re.compile(r"[0-9]{1,15}", re.ASCII)


def _check_timestamp(timestamp: str, now: float) -> None:
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError("the request timestamp is missing or not a millisecond epoch")
    age = now - int(timestamp) / 1000
    if age > MAX_AGE_SECONDS:
        raise SignatureError(f"the request timestamp is {int(age)} s old (more than {MAX_AGE_SECONDS} s)")
    if age < -MAX_CLOCK_SKEW_SECONDS:
        raise SignatureError("the request timestamp is in the future")


@sensitive_variables("secret", "digest")
def signature_v3(*, secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The v3 signature HubSpot would send for this request (base64 of the HMAC-SHA256 digest)."""
    source = method.upper().encode() + normalize_uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@sensitive_variables("secret", "expected")
def verify_v3(
    *,
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now: float | None = None,
) -> None:
    """Raise SignatureError unless `signature` is HubSpot's v3 signature of this request, made in the last 5 min.

    `uri` is the full URL HubSpot called (scheme, host, path and query string exactly as sent) and `body` the
    raw request bytes; never a re-serialised JSON body. The comparison is constant-time.
    """
    # The timestamp first: it is the only input turned into a number, so it is checked as a bounded integer
    # before anything else touches it.
    _check_timestamp(timestamp or "", time.time() if now is None else now)
    if not secret:
        raise SignatureError("the app has no client secret configured")
    if not signature:
        raise SignatureError(f"the {SIGNATURE_HEADER} header is missing")
    expected = signature_v3(secret=secret, method=method, uri=uri, body=body, timestamp=timestamp or "")
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SignatureError("the signature does not match the request")


@sensitive_variables("secret", "expected")
def verify_v1(*, secret: str, body: bytes, signature: str | None) -> None:
    """Raise SignatureError unless `signature` is HubSpot's v1 signature of `body` (constant-time compare).

    v1 has no timestamp, so a captured request could be replayed: callers de-duplicate on the event ids."""
    if not secret:
        raise SignatureError("the app has no client secret configured")
    if not signature:
        raise SignatureError(f"the {SIGNATURE_V1_HEADER} header is missing")
    expected = hashlib.sha256(secret.encode() + body).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise SignatureError("the signature does not match the request")
