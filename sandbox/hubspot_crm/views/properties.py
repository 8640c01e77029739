"""Properties and property groups: `/crm/v3/properties/{type}` and `/crm/properties/{YYYY-MM}/{type}`.

Paths and shapes: crm-properties.json; behaviour: hubspot-api.md §3 and §10.5. Batch archive answers 204 even
for missing or archived properties (§3).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from sandbox.hubspot.gateway import HubSpotError, hubspot_api
from sandbox.hubspot_crm import access, clock, errors, property_admin, seed
from sandbox.hubspot_crm.http import (
    body,
    body_bool,
    body_object,
    check_fields,
    envelope,
    inputs_of,
    no_content,
    not_allowed,
    query_bool,
    respond,
)
from sandbox.hubspot_crm.models import PropertyDefinition, PropertyGroup
from sandbox.hubspot_crm.schema import Schema

BATCH_LIMIT = 100


def _rows(schema: Schema) -> Any:
    return PropertyDefinition.objects.filter(hub_id=schema.hub_id, object_type_id=schema.type_id)


def _get(schema: Schema, name: str, *, archived: bool = False) -> PropertyDefinition:
    prop = _rows(schema).filter(name=name, archived=archived).first()
    if prop is None:
        raise errors.not_found(f"Property {name} does not exist", context={"name": [name]})
    return prop


@hubspot_api()
def properties(request: HttpRequest, object_type: str, **_: Any) -> HttpResponse:
    """GET: every property of the type. POST: create one (201)."""
    if request.method == "GET":
        schema = access.schema_for(request, object_type, "schema_read")
        rows = _rows(schema).filter(archived=query_bool(request, "archived")).order_by("display_order", "name")
        sensitivity = request.GET.get("dataSensitivity", "non_sensitive")
        wanted = {name for name in request.GET.get("properties", "").split(",") if name}
        results = [
            property_admin.property_json(schema, prop)
            for prop in rows
            if prop.extra.get("dataSensitivity", "non_sensitive") == sensitivity and (not wanted or prop.name in wanted)
        ]
        return respond({"results": results})
    if request.method == "POST":
        schema = access.schema_for(request, object_type, "schema_write")
        with transaction.atomic():
            seed.lock_portal(schema.hub_id)
            prop = property_admin.create(schema, body(request))
        return respond(property_admin.property_json(schema, prop), 201)
    raise not_allowed(request)


@hubspot_api()
def property_item(request: HttpRequest, object_type: str, name: str, **_: Any) -> HttpResponse:
    """GET, PATCH or DELETE (archive) one property."""
    if request.method == "GET":
        schema = access.schema_for(request, object_type, "schema_read")
        prop = _get(schema, name, archived=query_bool(request, "archived"))
        return respond(property_admin.property_json(schema, prop))
    if request.method not in ("PATCH", "DELETE"):
        raise not_allowed(request)
    schema = access.schema_for(request, object_type, "schema_write")
    with transaction.atomic():
        seed.lock_portal(schema.hub_id)
        prop = _get(schema, name)
        if request.method == "DELETE":
            property_admin.archive(schema, prop)
            return no_content()
        prop = property_admin.update(schema, prop, body(request))
    return respond(property_admin.property_json(schema, prop))


@hubspot_api()
def properties_batch(request: HttpRequest, object_type: str, action: str, **_: Any) -> HttpResponse:
    """POST batch/create (201/207), batch/read (200/207), batch/archive (204)."""
    if request.method != "POST" or action not in ("create", "read", "archive"):
        raise HubSpotError(404 if action not in ("create", "read", "archive") else 405, f"No batch/{action} endpoint")
    if action == "read":
        return _batch_read(request, access.schema_for(request, object_type, "schema_read"))
    schema = access.schema_for(request, object_type, "schema_write")
    with transaction.atomic():
        seed.lock_portal(schema.hub_id)
        if action == "create":
            return _batch_create(request, schema)
        return _batch_archive(request, schema)


def _batch_create(request: HttpRequest, schema: Schema) -> HttpResponse:
    started = clock.now()
    inputs = inputs_of(body_object(request, ("inputs",), ("inputs",)), BATCH_LIMIT)
    created = property_admin.create_many(schema, inputs)  # set-based when every input would succeed
    if created is not None:
        return respond(envelope([property_admin.property_json(schema, prop) for prop in created], [], started), 201)
    results, errs = [], []
    for item in inputs:
        try:
            with transaction.atomic():
                prop = property_admin.create(schema, item)
            results.append(property_admin.property_json(schema, prop))
        except HubSpotError as exc:
            name = item.get("name") if isinstance(item, dict) else None
            errs.append(errors.batch_error(exc, {"name": [str(name)]}))
    return respond(envelope(results, errs, started), 207 if errs else 201)


def _names_of(inputs: list[Any]) -> list[str]:
    """The `name` of each `{name}` input (BatchInputPropertyName); a malformed input is a 400, not a miss."""
    for item in inputs:
        check_fields(item, ("name",), ("name",), "batch input")
        if not isinstance(item["name"], str):
            raise errors.invalid_body(f"name must be a string, not {item['name']!r}")
    return [item["name"] for item in inputs]


def _batch_read(request: HttpRequest, schema: Schema) -> HttpResponse:
    started = clock.now()
    data = body_object(request, ("inputs", "archived", "dataSensitivity"), ("inputs",))
    inputs = inputs_of(data, BATCH_LIMIT)
    rows = {prop.name: prop for prop in _rows(schema).filter(archived=body_bool(data, "archived"))}
    names = _names_of(inputs)
    results = [property_admin.property_json(schema, rows[name]) for name in names if name in rows]
    missing = [str(name) for name in names if name not in rows]
    errs = []
    if missing:
        exc = errors.not_found(f"Could not find properties: {', '.join(missing)}")
        errs.append(errors.batch_error(exc, {"names": missing}))
    return respond(envelope(results, errs, started), 207 if errs else 200)


def _batch_archive(request: HttpRequest, schema: Schema) -> HttpResponse:
    inputs = inputs_of(body_object(request, ("inputs",), ("inputs",)), BATCH_LIMIT)
    for name in _names_of(inputs):
        prop = _rows(schema).filter(name=name).first()
        if prop is not None:
            property_admin.archive(schema, prop)
    return no_content()


# ---- groups ------------------------------------------------------------------------------------------


def _group(schema: Schema, name: str) -> PropertyGroup:
    group = PropertyGroup.objects.filter(hub_id=schema.hub_id, object_type_id=schema.type_id, name=name).first()
    if group is None:
        raise errors.not_found(f"Property group {name} does not exist", context={"name": [name]})
    return group


@hubspot_api()
def groups(request: HttpRequest, object_type: str, **_: Any) -> HttpResponse:
    """GET: every group. POST: create a group (201)."""
    if request.method == "GET":
        schema = access.schema_for(request, object_type, "schema_read")
        rows = PropertyGroup.objects.filter(hub_id=schema.hub_id, object_type_id=schema.type_id, archived=False)
        return respond({"results": [property_admin.group_json(g) for g in rows.order_by("display_order", "name")]})
    if request.method == "POST":
        schema = access.schema_for(request, object_type, "schema_write")
        with transaction.atomic():
            seed.lock_portal(schema.hub_id)
            group = property_admin.create_group(schema, body(request))
        return respond(property_admin.group_json(group), 201)
    raise not_allowed(request)


@hubspot_api()
def group_item(request: HttpRequest, object_type: str, name: str, **_: Any) -> HttpResponse:
    """GET, PATCH or DELETE one group."""
    if request.method == "GET":
        schema = access.schema_for(request, object_type, "schema_read")
        return respond(property_admin.group_json(_group(schema, name)))
    if request.method not in ("PATCH", "DELETE"):
        raise not_allowed(request)
    schema = access.schema_for(request, object_type, "schema_write")
    with transaction.atomic():
        seed.lock_portal(schema.hub_id)
        group = _group(schema, name)
        if request.method == "DELETE":
            property_admin.delete_group(schema, group)
            return no_content()
        group = property_admin.update_group(group, body(request))
    return respond(property_admin.group_json(group))
