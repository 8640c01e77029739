"""`POST /hubspot/workflow-actions/{action}`: HubSpot's execution requests for the app's custom workflow actions.

Reference: https://developers.hubspot.com/docs/api-reference/automation-actions-v4-v4/custom-action-guide and
https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation
(hubspot-api.md §7.2, §8.2). The view checks HubSpot's v3 signature over the public URL (5-minute window) and
hands the request to the service, which stores it and answers at once (BLOCK, or a failure it can tell now).
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integration.catalog import workflow_actions
from integration.services.workflow_actions import MalformedRequest, request_parse, workflow_execution_receive
from integration.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify_v3
from integration.views.launch import signed_url

logger = logging.getLogger("integration.workflow_actions")
MAX_BODY_BYTES = 1_000_000


@csrf_exempt  # authenticated by HubSpot's signature; HubSpot sends no CSRF token
@require_POST
def execute(request: HttpRequest, action: str) -> HttpResponse:
    """404 for an unknown action, 401 for a missing, wrong or stale signature, 400 for a body that is not an
    execution request; otherwise the service's answer (`{"outputFields": …}`)."""
    found = workflow_actions.ACTIONS.get(action)
    if found is None:
        return JsonResponse({"message": f"unknown workflow action {action!r}"}, status=404)
    if int(request.headers.get("Content-Length") or 0) > MAX_BODY_BYTES:
        return JsonResponse({"message": "request body too large"}, status=413)
    body = request.body
    try:
        verify_v3(
            secret=settings.HUBSPOT_CLIENT_SECRET,
            method="POST",
            uri=signed_url(request),
            body=body,
            signature=request.headers.get(SIGNATURE_HEADER),
            timestamp=request.headers.get(TIMESTAMP_HEADER),
        )
    except SignatureError as exc:
        logger.warning("refused workflow action request: %s", exc.reason)
        return JsonResponse({"message": "invalid signature"}, status=401)
    try:
        parsed = request_parse(json.loads(body))
    except (ValueError, MalformedRequest) as exc:
        message = str(exc) if isinstance(exc, MalformedRequest) else "the body is not JSON"
        return JsonResponse({"message": message}, status=400)
    return JsonResponse(workflow_execution_receive(action=found, request=parsed))
