"""Request parsing and response helpers shared by the fake CRM's API views.

HubSpot answers JSON with `Content-Type: application/json;charset=utf-8` (hubspot-api.md §10.3) and rejects
bodies that do not match its input models (Jackson's "Unrecognized field"), which the fake mirrors with
`check_fields` so that a misplaced field (e.g. a top-level `idProperty` on batch/upsert) fails loudly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.hubspot.gateway import HubSpotError
from sandbox.hubspot_crm import clock, errors

CONTENT_TYPE = "application/json;charset=utf-8"


def respond(data: Any, status: int = 200) -> JsonResponse:
    """A JSON response with HubSpot's content type."""
    return JsonResponse(data, status=status, safe=False, content_type=CONTENT_TYPE)


def no_content() -> HttpResponse:
    """204 with an empty body."""
    return HttpResponse(status=204)


def body(request: HttpRequest) -> Any:
    """The parsed JSON body (the gateway turns a decoding error into HubSpot's 400)."""
    if not request.body:
        raise errors.invalid_body("a JSON request body is required")
    return json.loads(request.body)


def body_object(request: HttpRequest, allowed: Iterable[str], required: Iterable[str] = ()) -> dict[str, Any]:
    """The JSON body, which must be an object with only `allowed` fields and every `required` one."""
    data = body(request)
    check_fields(data, allowed, required, "request body")
    return data


def check_fields(data: Any, allowed: Iterable[str], required: Iterable[str], where: str) -> None:
    """400 unless `data` is an object with only `allowed` fields and every `required` one."""
    if not isinstance(data, dict):
        raise errors.invalid_body(f"{where} must be a JSON object")
    allowed_set = set(allowed)
    for name in data:
        if name not in allowed_set:
            raise errors.invalid_body(f'Unrecognized field "{name}" in {where}; known fields: {sorted(allowed_set)}')
    for name in required:
        if name not in data:
            raise errors.invalid_body(f'Missing required field "{name}" in {where}')


def inputs_of(data: dict[str, Any], limit: int) -> list[Any]:
    """`inputs` of a batch body: an array of at most `limit` entries."""
    inputs = data.get("inputs")
    if not isinstance(inputs, list):
        raise errors.invalid_body("inputs must be an array")
    if len(inputs) > limit:
        raise errors.too_many_inputs(limit)
    return inputs


def query_list(request: HttpRequest, name: str) -> list[str]:
    """A list parameter given repeated (`?p=a&p=b`) or comma-separated (`?p=a,b`)."""
    items: list[str] = []
    for raw in request.GET.getlist(name):
        items += [part.strip() for part in raw.split(",") if part.strip()]
    return items


def body_int(data: dict[str, Any], field: str, default: int) -> int:
    """An integer field of a JSON body such as `displayOrder`. Like Jackson, a numeric string is read as its
    number; anything else is a 400 (reaching `int()` used to answer 500, which clients retry as a server error)."""
    value = data.get(field, default)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.invalid_body(f"{field} must be an integer, not {value!r}")
    return value


def body_bool(data: dict[str, Any], field: str) -> bool:
    """A boolean field of a JSON body such as `hasUniqueValue` (default false): true/false, or Jackson's
    "true"/"false", never a truthy guess."""
    value = data.get(field, False)
    if value in ("true", "false"):
        return value == "true"
    if not isinstance(value, bool):
        raise errors.invalid_body(f"{field} must be true or false, not {value!r}")
    return value


def query_bool(request: HttpRequest, name: str) -> bool:
    """A `true`/`false` query parameter (default false)."""
    raw = request.GET.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise errors.validation(f"Query parameter {name} must be true or false, not {raw!r}")
    return raw == "true"


def query_int(request: HttpRequest, name: str, default: int) -> int:
    """An integer query parameter, or `default` when it is absent."""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise errors.validation(f"Query parameter {name} must be an integer, not {raw!r}") from None


def not_allowed(request: HttpRequest) -> HubSpotError:
    """405 for a method the path does not serve."""
    return HubSpotError(405, f"Method {request.method} is not allowed on this path", category="METHOD_NOT_ALLOWED")


def envelope(results: list[Any], errors_: list[dict[str, Any]], started: datetime) -> dict[str, Any]:
    """A `BatchResponse...` body; `numErrors`/`errors` only when something failed."""
    data: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if errors_:
        data["numErrors"] = len(errors_)
        data["errors"] = errors_
    data["startedAt"] = clock.iso(started)
    data["completedAt"] = clock.iso(clock.now())
    return data
