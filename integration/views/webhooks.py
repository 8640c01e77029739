"""`POST /hubspot/webhooks`: HubSpot's webhook deliveries (two-way sync of clients and projects).

Reference: https://developers.hubspot.com/docs/api-reference/2026-03/webhooks/guide and
https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation
(hubspot-api.md §7.2, §8.1). HubSpot wants a 2xx within 5 seconds and retries anything else up to 10 times, so
the view only verifies, stores and queues; a worker does the rest (`integration.services.inbound`).
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integration.services.inbound import MalformedEvents, events_parse, inbound_events_receive
from integration.signatures import (
    SIGNATURE_HEADER,
    SIGNATURE_V1_HEADER,
    SIGNATURE_VERSION_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    verify_v1,
    verify_v3,
)
from integration.views.launch import signed_url

logger = logging.getLogger("integration.webhooks")
MAX_BODY_BYTES = 1_000_000  # 100 events are a few tens of KB; anything near 1 MB is not HubSpot


def _verify(request: HttpRequest, body: bytes) -> None:
    """v3 when HubSpot sends it (it has a timestamp, so no replay), else v1."""
    secret = settings.HUBSPOT_CLIENT_SECRET
    if request.headers.get(SIGNATURE_HEADER):
        verify_v3(
            secret=secret,
            method="POST",
            uri=signed_url(request),
            body=body,
            signature=request.headers.get(SIGNATURE_HEADER),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
        )
        return
    if request.headers.get(SIGNATURE_VERSION_HEADER, "v1").lower() != "v1":
        raise SignatureError("only v1 and v3 signatures are accepted")
    verify_v1(secret=secret, body=body, signature=request.headers.get(SIGNATURE_V1_HEADER))


@csrf_exempt  # authenticated by HubSpot's signature; HubSpot sends no CSRF token
@require_POST
def webhooks(request: HttpRequest) -> HttpResponse:
    """Verify, store and queue a batch of webhook events; 401 for a bad or stale signature, 400 for a body that
    is not HubSpot's, and nothing stored in either case."""
    if int(request.headers.get("Content-Length") or 0) > MAX_BODY_BYTES:
        return JsonResponse({"message": "request body too large"}, status=413)
    body = request.body
    try:
        _verify(request, body)
    except SignatureError as exc:
        logger.warning("refused webhook delivery: %s", exc.reason)
        return JsonResponse({"message": "invalid signature"}, status=401)
    try:
        events = events_parse(json.loads(body))
    except (ValueError, MalformedEvents) as exc:
        message = str(exc) if isinstance(exc, MalformedEvents) else "the body is not JSON"
        return JsonResponse({"message": message}, status=400)
    return JsonResponse(inbound_events_receive(events=events))
