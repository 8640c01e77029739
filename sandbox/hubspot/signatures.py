"""The signatures HubSpot puts on requests it sends to an app (webhooks, settings-page fetches, workflow actions).

Reference: https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation
(hubspot-api.md §7.2), https://developers.hubspot.com/docs/faq/v1-request-validation and
https://developers.hubspot.com/docs/faq/v2-request-validation; the algorithms match HubSpot's Python SDK
(`hubspot/utils/signature.py`, `Signature.get_signature`).

- v1: hex SHA-256 of client secret + raw body; header `X-HubSpot-Signature`, `X-HubSpot-Signature-Version: v1`.
- v2: hex SHA-256 of client secret + method + URI + raw body; same headers with `v2`.
- v3: base64 HMAC-SHA256 (key: client secret) of method + URI + raw body + timestamp (ms), in
  `X-HubSpot-Signature-v3` with `X-HubSpot-Request-Timestamp`. Before hashing, HubSpot decodes these
  percent-escapes in the URI and no others: %3A : %2F / %3F ? %40 @ %21 ! %24 $ %27 ' %28 ( %29 ) %2A * %2C , %3B ;

These helpers are what the product's tests use to play HubSpot calling the app.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SIGNATURE_V3_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
SIGNATURE_HEADER = "X-HubSpot-Signature"
VERSION_HEADER = "X-HubSpot-Signature-Version"

_V3_DECODED = {
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
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def _bytes(body: str | bytes) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def sign_v1(client_secret: str, body: str | bytes) -> str:
    """`X-HubSpot-Signature` with version v1: sha256_hex(client_secret + body)."""
    return hashlib.sha256(client_secret.encode("utf-8") + _bytes(body)).hexdigest()


def sign_v2(client_secret: str, method: str, url: str, body: str | bytes) -> str:
    """`X-HubSpot-Signature` with version v2: sha256_hex(client_secret + method + URI + body), URI exactly as sent."""
    source = f"{client_secret}{method.upper()}{url}".encode() + _bytes(body)
    return hashlib.sha256(source).hexdigest()


def v3_uri(url: str) -> str:
    """The URI as HubSpot hashes it for v3: the listed percent-escapes decoded, every other one kept."""
    return _ESCAPE.sub(lambda match: _V3_DECODED.get(match.group(0).upper(), match.group(0)), url)


def sign_v3(client_secret: str, method: str, url: str, body: str | bytes, timestamp_ms: int | str) -> str:
    """`X-HubSpot-Signature-v3`: base64(HMAC-SHA256(client_secret, method + URI + body + timestamp))."""
    source = f"{method.upper()}{v3_uri(url)}".encode() + _bytes(body) + str(timestamp_ms).encode()
    digest = hmac.new(client_secret.encode("utf-8"), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def now_ms() -> int:
    """Real time in milliseconds: the app checks HubSpot's timestamps against its own clock, not the fake's."""
    return int(time.time() * 1000)


def signed_request_headers(
    *,
    client_secret: str,
    method: str,
    url: str,
    body: str | bytes = b"",
    timestamp_ms: int | None = None,
    legacy_version: str | None = "v1",
) -> dict[str, str]:
    """The signature headers HubSpot would send with this request.

    Always the v3 pair; plus the older `X-HubSpot-Signature` (v1 as on webhook deliveries, or v2) unless
    `legacy_version` is None. Pass a stale `timestamp_ms` (more than 5 minutes old) to test replay refusal.
    """
    stamp = now_ms() if timestamp_ms is None else timestamp_ms
    headers = {
        SIGNATURE_V3_HEADER: sign_v3(client_secret, method, url, body, stamp),
        TIMESTAMP_HEADER: str(stamp),
    }
    if legacy_version == "v1":
        headers.update({SIGNATURE_HEADER: sign_v1(client_secret, body), VERSION_HEADER: "v1"})
    elif legacy_version == "v2":
        headers.update({SIGNATURE_HEADER: sign_v2(client_secret, method, url, body), VERSION_HEADER: "v2"})
    elif legacy_version is not None:
        raise ValueError("legacy_version must be 'v1', 'v2' or None")
    return headers


def with_identity_params(
    url: str, *, portal_id: int, user_id: int | None = None, user_email: str = "", app_id: int | None = None
) -> str:
    """`url` with the identity parameters `hubspot.fetch` appends (portalId, userId, userEmail, appId).

    https://developers.hubspot.com/docs/apps/developer-platform/add-features/ui-extensibility/fetching-data
    ("Headers and metadata"); `portalId` is confirmed, the other names are unverified (hubspot-api.md §7.1).
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.append(("portalId", str(portal_id)))
    if user_id is not None:
        query.append(("userId", str(user_id)))
    if user_email:
        query.append(("userEmail", user_email))
    if app_id is not None:
        query.append(("appId", str(app_id)))
    return urlunsplit(parts._replace(query=urlencode(query)))
