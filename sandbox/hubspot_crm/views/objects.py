"""Basic object endpoints: `/crm/v3/objects/{type}` and `/crm/objects/{YYYY-MM}/{type}` (+ `/{id}`).

Paths, parameters and responses: crm-objects.json and the per-type specs (crm-companies.json, ...);
behaviour: hubspot-api.md §2.2 and §10.4
(https://developers.hubspot.com/docs/api-reference/legacy/crm/using-object-apis).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal
from urllib.parse import urlencode

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from sandbox.hubspot.gateway import hubspot_api
from sandbox.hubspot_crm import access, associations, errors, objects, registry, seed, serialize
from sandbox.hubspot_crm.http import body_object, no_content, not_allowed, query_bool, query_int, query_list, respond
from sandbox.hubspot_crm.models import CrmObject
from sandbox.hubspot_crm.schema import Schema

LIST_MAX = 100  # page size cap of list endpoints (hubspot-api.md §2.2; PYSDK PAGE_MAX_SIZE)
# What a list `limit` above LIST_MAX does. §10.4 says "capped at 100 [or 400; unverified]": the fake caps, as the
# document's first reading; switch to "reject" to make clients prove they never ask for more than 100.
LIST_OVER_MAX: Literal["cap", "reject"] = "cap"


@hubspot_api()
def collection(request: HttpRequest, object_type: str, **_: Any) -> HttpResponse:
    """GET: a page of records. POST: create one record (201)."""
    if request.method == "GET":
        return _list(request, access.schema_for(request, object_type, "read"))
    if request.method == "POST":
        return _create(request, access.schema_for(request, object_type, "write"))
    raise not_allowed(request)


@hubspot_api()
def merge(request: HttpRequest, object_type: str, **_: Any) -> HttpResponse:
    """POST /{type}/merge {primaryObjectId, objectIdToMerge}: 200 with the primary record."""
    if request.method != "POST":
        raise not_allowed(request)
    schema = access.schema_for(request, object_type, "write")
    data = body_object(request, ("primaryObjectId", "objectIdToMerge"), ("primaryObjectId", "objectIdToMerge"))
    with transaction.atomic():
        state = seed.lock_portal(schema.hub_id)
        primary, other = objects.find(schema, data["primaryObjectId"]), objects.find(schema, data["objectIdToMerge"])
        if primary is None or other is None:
            raise errors.not_found()
        obj = objects.merge(schema, state, primary, other)
    return respond(serialize.record(obj, schema))


@hubspot_api()
def item(request: HttpRequest, object_type: str, object_id: str, **_: Any) -> HttpResponse:
    """GET, PATCH or DELETE one record."""
    if request.method == "GET":
        return _read(request, access.schema_for(request, object_type, "read"), object_id)
    if request.method == "PATCH":
        return _update(request, access.schema_for(request, object_type, "write"), object_id)
    if request.method == "DELETE":
        return _archive(request, access.schema_for(request, object_type, "write"), object_id)
    raise not_allowed(request)


def _create(request: HttpRequest, schema: Schema) -> HttpResponse:
    data = body_object(request, ("properties", "associations"), ("properties",))
    with transaction.atomic():
        state = seed.lock_portal(schema.hub_id)
        obj = objects.create(schema, state, data["properties"], data.get("associations"))
    return respond(serialize.record(obj, schema), 201)


def _read(request: HttpRequest, schema: Schema, object_id: str) -> HttpResponse:
    id_property = request.GET.get("idProperty")
    archived = query_bool(request, "archived")
    obj = objects.find_by(schema, id_property, object_id, action="read", archived=archived)
    if obj is None:
        raise errors.not_found()
    names = serialize.requested_names(schema, query_list(request, "properties"))
    data = serialize.record(obj, schema, names=names, history=query_list(request, "propertiesWithHistory"))
    blocks = association_blocks(schema, obj, query_list(request, "associations"))
    if blocks:
        data["associations"] = blocks
    return respond(data)


def _update(request: HttpRequest, schema: Schema, object_id: str) -> HttpResponse:
    data = body_object(request, ("properties",), ("properties",))
    with transaction.atomic():
        state = seed.lock_portal(schema.hub_id)
        obj = objects.find_by(schema, request.GET.get("idProperty"), object_id, action="update/upsert")
        if obj is None:
            raise errors.not_found()
        obj = objects.update(schema, state, obj, data["properties"])
    return respond(serialize.record(obj, schema))


def _archive(request: HttpRequest, schema: Schema, object_id: str) -> HttpResponse:
    with transaction.atomic():
        seed.lock_portal(schema.hub_id)
        obj = objects.find(schema, object_id)
        if obj is None:
            raise errors.not_found()
        objects.archive(schema, obj)
    return no_content()


def _list(request: HttpRequest, schema: Schema) -> HttpResponse:
    limit = page_size(request)
    rows = CrmObject.objects.filter(
        hub_id=schema.hub_id, object_type_id=schema.type_id, archived=query_bool(request, "archived")
    )
    after = request.GET.get("after")
    if after:
        rows = rows.filter(object_id__gt=decode_cursor(after))
    page = list(rows.order_by("object_id")[: limit + 1])
    names = serialize.requested_names(schema, query_list(request, "properties"))
    history = query_list(request, "propertiesWithHistory")
    wanted = query_list(request, "associations")
    results = []
    for obj in page[:limit]:
        data = serialize.record(obj, schema, names=names, history=history)
        blocks = association_blocks(schema, obj, wanted)
        if blocks:
            data["associations"] = blocks
        results.append(data)
    body: dict[str, Any] = {"results": results}
    if len(page) > limit:
        body["paging"] = {"next": next_page(request, encode_cursor(page[limit - 1].object_id))}
    return respond(body)


def page_size(request: HttpRequest) -> int:
    """The list `limit` (default 10, §2.2); above LIST_MAX it is capped or refused as LIST_OVER_MAX says."""
    limit = query_int(request, "limit", 10)
    if limit < 1:
        raise errors.validation("limit must be at least 1")
    if limit > LIST_MAX and LIST_OVER_MAX == "reject":
        raise errors.validation(f"limit must be at most {LIST_MAX}; got {limit}")
    return min(limit, LIST_MAX)


def encode_cursor(object_id: int) -> str:
    """An opaque `after` cursor (clients must pass it back, not compute it)."""
    return base64.urlsafe_b64encode(f"id:{object_id}".encode()).decode().rstrip("=")


def decode_cursor(after: str) -> int:
    """The record id an `after` cursor stands for (400 for a cursor the fake did not issue)."""
    try:
        text = base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)).decode()
        if not text.startswith("id:"):
            raise ValueError(text)
        return int(text[3:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise errors.validation(f"Invalid paging cursor after={after!r}") from None


def next_page(request: HttpRequest, after: str) -> dict[str, str]:
    """`paging.next` for `after`: the cursor and the full link to the next page."""
    query = request.GET.copy()
    query["after"] = after
    return {"after": after, "link": request.build_absolute_uri(f"{request.path}?{urlencode(query, doseq=True)}")}


def association_blocks(schema: Schema, obj: CrmObject, wanted: list[str]) -> dict[str, Any]:
    """The v3 `associations` block of a record: {"deals": {"results": [{"id", "type"}]}} (empty types omitted)."""
    blocks: dict[str, Any] = {}
    for alias in wanted:
        spec = seed.resolve_type(alias)
        results = []
        for edge in associations.edges_from(schema.hub_id, obj.object_id, spec.type_id):
            type_spec = registry.association_type(edge.from_type_id, edge.type_id)
            name = registry.v3_association_name(type_spec) if type_spec else str(edge.type_id)
            results.append({"id": str(edge.to_id), "type": name})
        if results:
            blocks[spec.name] = {"results": results}
    return blocks
