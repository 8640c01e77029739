"""HubSpot's callback-completion API (app → HubSpot): finish a workflow-action execution the app answered BLOCK.

Spec `automation-actions.json` (hubspot-openapi-2026-03), scope `automation`, 204 No Content:
- `POST /automation/actions/callbacks/2026-03/{callbackId}/complete` with `CallbackCompletionRequest`
  (https://developers.hubspot.com/docs/api-reference/2026-03/automation/workflow-actions/callbacks/complete-callback)
  and `POST /automation/actions/callbacks/2026-03/complete` with `{"inputs": [CallbackCompletionBatchRequest]}`;
- the same under `/automation/v4/actions/callbacks/…` (legacy);
- and under `/automation/actions/2026-03/callbacks/…`, the spelling the product's brief used (HubSpot's own
  date-versioned path puts `callbacks` before the version); kept so either works against the fake.

Validation: `outputFields` is required, an object of strings, with `hs_execution_state` SUCCESS or FAIL_CONTINUE;
`typedOutputs` (an object), `failureReasonType` (a string) and `requestContext` (WORKFLOWS: `source`,
`workflowId`) are optional. The spec lists `typedOutputs` as required, but HubSpot's v4 reference and examples
send `outputFields` alone, so the fake accepts it missing (`TYPED_OUTPUTS_REQUIRED`). Unknown fields are
refused. An unknown callbackId, or another portal's, is 404; one not waiting for completion (already completed,
expired, answered without BLOCK) is 400; a batch is all or nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse

from sandbox.hubspot.gateway import HubSpotError, hubspot_api, require_method
from sandbox.hubspot.workflows import runs

SCOPE = "automation"
TYPED_OUTPUTS_REQUIRED = False  # [reading] see the module docstring
COMPLETION_STATES = ("SUCCESS", "FAIL_CONTINUE")
MAX_BATCH = 100  # [unverified] HubSpot's usual batch limit
_FIELDS = {"outputFields", "typedOutputs", "failureReasonType", "requestContext"}
_CONTEXT_FIELDS = {"source", "workflowId", "actionId", "actionExecutionIndexIdentifier"}


def _invalid(message: str, where: str) -> HubSpotError:
    return HubSpotError(400, message, category="VALIDATION_ERROR", context={where: [message]})


def _request_context(raw: Any, where: str) -> None:
    if not isinstance(raw, dict):
        raise _invalid(f"{where}.requestContext must be an object", f"{where}.requestContext")
    unknown = sorted(set(raw) - _CONTEXT_FIELDS)
    if unknown:
        raise _invalid(f"{where}.requestContext has unknown field(s): {', '.join(unknown)}", f"{where}.requestContext")
    if raw.get("source") != "WORKFLOWS":
        raise _invalid(f'{where}.requestContext.source must be "WORKFLOWS"', f"{where}.requestContext.source")
    workflow_id = raw.get("workflowId")
    if isinstance(workflow_id, bool) or not isinstance(workflow_id, int):
        raise _invalid(f"{where}.requestContext.workflowId must be an integer", f"{where}.requestContext.workflowId")


def _output_fields(raw: Any, where: str) -> None:
    spot = f"{where}.outputFields" if where else "outputFields"
    if raw is None:
        raise _invalid(f"{spot} is required", spot)
    if not isinstance(raw, dict) or not all(isinstance(value, str) for value in raw.values()):
        raise _invalid(f"{spot} must be an object of strings", spot)
    state = raw.get("hs_execution_state")
    if state not in COMPLETION_STATES:
        raise _invalid(f"{spot}.hs_execution_state must be SUCCESS or FAIL_CONTINUE, not {state!r}", spot)


def validate_completion(raw: Any, *, where: str = "", extra: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A `CallbackCompletionRequest` (or batch item, with `callbackId` in `extra`); HubSpotError 400 if invalid."""
    if not isinstance(raw, dict):
        raise _invalid(f"{where or 'the body'} must be an object", where or "body")
    unknown = sorted(set(raw) - _FIELDS - extra)
    if unknown:
        raise _invalid(f"{where or 'the body'} has unknown field(s): {', '.join(unknown)}", where or "body")
    _output_fields(raw.get("outputFields"), where)
    prefix = f"{where}." if where else ""
    if ("typedOutputs" in raw or TYPED_OUTPUTS_REQUIRED) and not isinstance(raw.get("typedOutputs"), dict):
        raise _invalid(f"{prefix}typedOutputs must be an object", f"{prefix}typedOutputs")
    if "failureReasonType" in raw and not isinstance(raw["failureReasonType"], str):
        raise _invalid(f"{prefix}failureReasonType must be a string", f"{prefix}failureReasonType")
    if "requestContext" in raw:
        _request_context(raw["requestContext"], where or "body")
    return raw


def _batch(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, dict) or set(raw) != {"inputs"} or not isinstance(raw["inputs"], list):
        raise _invalid('The body must be {"inputs": [...]}', "inputs")
    inputs = raw["inputs"]
    if not 1 <= len(inputs) <= MAX_BATCH:
        raise _invalid(f"inputs must hold 1 to {MAX_BATCH} callbacks", "inputs")
    for index, item in enumerate(inputs):
        where = f"inputs[{index}]"
        validate_completion(item, where=where, extra=frozenset({"callbackId"}))
        if not isinstance(item.get("callbackId"), str) or not item["callbackId"]:
            raise _invalid(f"{where}.callbackId is required", f"{where}.callbackId")
    return inputs


def _complete(request: HttpRequest, completions: list[dict[str, Any]]) -> HttpResponse:
    try:
        runs.callbacks_complete(request.hs.hub_id, completions)  # type: ignore[attr-defined]
    except runs.CompletionError as exc:
        category = "OBJECT_NOT_FOUND" if exc.status == 404 else "VALIDATION_ERROR"
        raise HubSpotError(exc.status, exc.message, category=category) from None
    return HttpResponse(status=204)


def _body(request: HttpRequest) -> Any:
    return json.loads(request.body or b"null")  # the gateway turns a decoding error into HubSpot's 400


@hubspot_api()
def complete_one(request: HttpRequest, callback_id: str, version: str = "") -> HttpResponse:
    """`POST …/callbacks/{callbackId}/complete`: one CallbackCompletionRequest."""
    require_method(request, "POST")
    request.hs.require_any_scope([SCOPE])  # type: ignore[attr-defined]
    completion = validate_completion(_body(request))
    return _complete(request, [{**completion, "callbackId": callback_id}])


@hubspot_api()
def complete_batch(request: HttpRequest, version: str = "") -> HttpResponse:
    """`POST …/callbacks/complete`: `{"inputs": [CallbackCompletionBatchRequest]}`."""
    require_method(request, "POST")
    request.hs.require_any_scope([SCOPE])  # type: ignore[attr-defined]
    return _complete(request, _batch(_body(request)))
