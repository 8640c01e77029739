"""HubSpot's error bodies for the CRM half of the fake, built on the gateway's `HubSpotError`.

Shapes come from https://developers.hubspot.com/docs/api-reference/error-handling (hubspot-api.md §2.2, §6.4):
property validation errors embed a JSON list in `message` ("Property values were not valid: [...]") and list
one `errors[]` entry per property with `code` and `context.propertyName`; batch errors are `StandardError`
objects (`status`, `category`, `message`, `context`, `errors`, `links`). Messages quoted from real responses:
"resource not found", "Unable to perform update/upsert by non-unique <typeId> property <name>", "Duplicate IDs
found in batch input: [...]. IDs must be unique", "The maximum number of inputs supported in a batch is 100. ...",
"Could not get some <TYPE> objects, ...", "Unable to infer object type from: <x>". Other texts are the fake's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sandbox.hubspot.gateway import HubSpotError


@dataclass(frozen=True)
class Problem:
    """One invalid property value: the `name`, HubSpot's error `code` and a human `message`."""

    name: str
    code: str
    message: str


def validation(message: str, **kwargs: Any) -> HubSpotError:
    """400 VALIDATION_ERROR with `message`."""
    return HubSpotError(400, message, category="VALIDATION_ERROR", **kwargs)


def not_found(message: str = "resource not found", **kwargs: Any) -> HubSpotError:
    """404 OBJECT_NOT_FOUND, HubSpot's answer to an unknown record id."""
    return HubSpotError(404, message, category="OBJECT_NOT_FOUND", **kwargs)


def invalid_properties(problems: list[Problem], hub_id: int) -> HubSpotError:
    """400 "Property values were not valid: [...]" listing every bad property of one input."""
    results = [
        {
            "isValid": False,
            "message": problem.message,
            "error": problem.code,
            "name": problem.name,
            "localizedErrorMessage": problem.message,
            "portalId": hub_id,
        }
        for problem in problems
    ]
    details = [
        {"message": problem.message, "code": problem.code, "context": {"propertyName": [problem.name]}}
        for problem in problems
    ]
    message = "Property values were not valid: " + json.dumps(results, separators=(",", ":"))
    return validation(message, errors=details)


def unknown_object_type(alias: str) -> HubSpotError:
    """400 for an object type the URL names but HubSpot does not know."""
    return validation(f"Unable to infer object type from: {alias}")


def non_unique_id_property(type_id: str, name: str, action: str = "update/upsert") -> HubSpotError:
    """400 for addressing records by a property without `hasUniqueValue`."""
    return validation(f"Unable to perform {action} by non-unique {type_id} property {name}")


def too_many_inputs(limit: int) -> HubSpotError:
    """400 for a batch larger than its limit."""
    return validation(
        f"The maximum number of inputs supported in a batch is {limit}. Please reduce the number of items and try again"
    )


def duplicate_ids(ids: list[str]) -> HubSpotError:
    """400 for a batch naming one id twice."""
    listed = ", ".join(ids)
    return validation(f"Duplicate IDs found in batch input: [{listed}]. IDs must be unique", context={"ids": ids})


def missing_objects_message(error_name: str) -> str:
    """The message of batch errors for ids that match no record."""
    return f"Could not get some {error_name} objects, they may be deleted or not exist. Check that ids are valid."


def invalid_body(message: str) -> HubSpotError:
    """The request body does not have the shape the spec requires."""
    return validation(f"Invalid input JSON on line 1, column 1: {message}")


def batch_error(exc: HubSpotError, context: dict[str, list[str]]) -> dict[str, Any]:
    """A `StandardError` entry of a batch response, made from a per-input failure."""
    merged = dict(exc.context or {})
    merged.update(context)
    entry: dict[str, Any] = {
        "status": "error",
        "category": exc.category,
        "message": exc.message,
        "context": merged,
        "errors": exc.errors or [],
        "links": {},
    }
    if "subCategory" in exc.extra:
        entry["subCategory"] = exc.extra["subCategory"]
    return entry
