"""CRM records as HubSpot's `SimplePublicObject` JSON (crm-objects.json components).

Every property value is a string; a requested property that exists but is unset comes back as null; a
requested property that does not exist is silently left out (SPEC parameter descriptions, hubspot-api.md §2.2).
"""

from __future__ import annotations

from typing import Any

from sandbox.hubspot_crm import clock
from sandbox.hubspot_crm.models import CrmObject
from sandbox.hubspot_crm.schema import Schema

# Search results always carry these besides the requested properties (fake's reading of the search guide).
SEARCH_ALWAYS = ("hs_object_id", "createdate", "hs_lastmodifieddate")


def record(
    obj: CrmObject,
    schema: Schema,
    *,
    names: list[str] | None = None,
    history: list[str] | None = None,
    properties: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`obj` as JSON: `names` picks the properties (None: every set property), `properties` overrides the
    values shown (search shows what its index holds)."""
    values = obj.properties if properties is None else properties
    if names is None:
        shown = {name: value for name, value in sorted(values.items()) if name in schema.props}
    else:
        shown = {name: values.get(name) for name in sorted(dict.fromkeys(names)) if name in schema.props}
    body: dict[str, Any] = {
        "id": str(obj.object_id),
        "properties": shown,
        "createdAt": clock.iso(obj.created_at),
        "updatedAt": clock.iso(obj.updated_at),
        "archived": obj.archived,
    }
    if obj.archived_at is not None:
        body["archivedAt"] = clock.iso(obj.archived_at)
    if history:
        body["propertiesWithHistory"] = {
            name: obj.history.get(name, []) for name in dict.fromkeys(history) if name in schema.props
        }
    return body


def requested_names(schema: Schema, requested: list[str] | None) -> list[str]:
    """The properties a read returns: the requested ones, or the type's defaults when none are requested."""
    return list(requested) if requested else list(schema.spec.default_read)


def search_names(schema: Schema, requested: list[str] | None) -> list[str]:
    """The properties a search result shows: the requested ones plus id and timestamps, or the defaults."""
    if not requested:
        return list(schema.spec.default_read)
    always = [name for name in SEARCH_ALWAYS if name in schema.props]
    return [*requested, *always]
