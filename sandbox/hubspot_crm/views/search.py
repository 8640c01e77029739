"""`POST /crm/v3/objects/{type}/search` and `/crm/objects/{YYYY-MM}/{type}/search` (crm-objects.json)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from sandbox.hubspot.gateway import hubspot_api
from sandbox.hubspot_crm import access, clock, errors, search, serialize
from sandbox.hubspot_crm.http import body_object, not_allowed, respond

FIELDS = ("filterGroups", "sorts", "query", "properties", "limit", "after")


@hubspot_api(search=True)
def search_view(request: HttpRequest, object_type: str, **_: Any) -> HttpResponse:
    """Search records; the answer reflects the search index, which may lag writes (see `search_index`)."""
    if request.method != "POST":
        raise not_allowed(request)
    schema = access.schema_for(request, object_type, "read")
    size = len(request.body.decode("utf-8", errors="replace"))
    if size > search.MAX_BODY:
        raise errors.validation(f"The search request body is {size} characters; the maximum is {search.MAX_BODY}")
    query = search.parse(schema, body_object(request, FIELDS))
    total, page = search.run(schema, query, clock.now())
    names = serialize.search_names(schema, query.names)
    body: dict[str, Any] = {
        "total": total,
        "results": [serialize.record(obj, schema, names=names, properties=props) for obj, props in page],
    }
    next_offset = query.offset + len(page)
    if page and next_offset < min(total, search.MAX_RESULTS):
        body["paging"] = {"next": {"after": str(next_offset)}}
    return respond(body)
