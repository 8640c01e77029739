"""Associations: v4 (`/crm/v4/objects/...`, `/crm/v4/associations/...`) and date-versioned
(`/crm/objects/{YYYY-MM}/...`, `/crm/associations/{YYYY-MM}/...`) paths of crm-associations.json.

Behaviour: hubspot-api.md §4 and §10.6
(https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associate-records/guide). Batch
limits: read 1,000 inputs, others 2,000 (the default-associate limit is undocumented; 2,000 is the fake's
choice). `batch/archive` and `batch/labels/archive` answer 204 on v4 and 200 with a `BatchResponse` on the
date-versioned paths, as each spec says. A record with no associations in a batch read is reported as an
error with subCategory `crm.associations.NO_ASSOCIATIONS_FOUND`. Scopes (fake's reading of §1.5): reads need a
read scope of the source type; writes a write scope of the source type; the target type needs any of its
object scopes.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from sandbox.hubspot.gateway import HubSpotError, hubspot_api
from sandbox.hubspot_crm import access, associations, bulk_edges, clock, errors, registry, seed
from sandbox.hubspot_crm.associations import Edge, RecordKey
from sandbox.hubspot_crm.http import (
    body,
    body_object,
    check_fields,
    envelope,
    inputs_of,
    no_content,
    not_allowed,
    query_int,
    respond,
)
from sandbox.hubspot_crm.models import CrmObject
from sandbox.hubspot_crm.registry import AssociationTypeSpec, ObjectTypeSpec
from sandbox.hubspot_crm.views.objects import decode_cursor, encode_cursor, next_page

PAGE_MAX = 500
LIMITS = {"associate/default": 2000, "create": 2000, "read": 1000, "archive": 2000, "labels/archive": 2000}


def _types(
    request: HttpRequest, from_alias: str, to_alias: str, *, write: bool
) -> tuple[ObjectTypeSpec, ObjectTypeSpec]:
    source = access.authorise(request, from_alias, "write" if write else "read")
    target = access.authorise(request, to_alias, "any")
    return source, target


def _record(hub_id: int, spec: ObjectTypeSpec, object_id: Any) -> CrmObject:
    obj = associations.live(hub_id, spec.type_id, object_id)
    if obj is None:
        raise associations.missing(spec.type_id, object_id)
    return obj


def _spec_json(source: CrmObject, target: CrmObject, spec: AssociationTypeSpec) -> list[dict[str, Any]]:
    """Both directions of a default association, as `PublicDefaultAssociation` entries."""
    return [
        {
            "from": {"id": str(a.object_id)},
            "to": {"id": str(b.object_id)},
            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id},
        }
        for a, b, type_id in ((source, target, spec.type_id), (target, source, spec.inverse_id))
    ]


def _object_id(value: int, dated: bool) -> int | str:
    """Record ids in association bodies: integers on v4 (int64 in its spec and SDKs), strings in the
    date-versioned spec (crm-associations.json `LabelsBetweenObjectPair`, `MultiAssociatedObjectWithLabel`)."""
    return str(value) if dated else value


def _pair_json(source: CrmObject, target: CrmObject, dated: bool) -> dict[str, Any]:
    """`LabelsBetweenObjectPair`."""
    labels = associations.labels_json(source.hub_id, source.object_id, target.object_id)
    return {**_pair_json_base(source, target, dated), "labels": labels}


def _pair_json_base(source: RecordKey, target: RecordKey, dated: bool) -> dict[str, Any]:
    return {
        "fromObjectTypeId": source.object_type_id,
        "fromObjectId": _object_id(source.object_id, dated),
        "toObjectTypeId": target.object_type_id,
        "toObjectId": _object_id(target.object_id, dated),
    }


@hubspot_api()
def default_single(
    request: HttpRequest, from_type: str, from_id: str, to_type: str, to_id: str, **_: Any
) -> HttpResponse:
    """PUT .../associations/default/{to}/{toId}: the most generic association (200)."""
    if request.method != "PUT":
        raise not_allowed(request)
    started = clock.now()
    source_spec, target_spec = _types(request, from_type, to_type, write=True)
    hub_id = request.hs.hub_id  # type: ignore[attr-defined]
    spec = associations.default_spec(source_spec.type_id, target_spec.type_id)
    with transaction.atomic():
        seed.lock_portal(hub_id)
        source, target = _record(hub_id, source_spec, from_id), _record(hub_id, target_spec, to_id)
        associations.create(Edge(source, target, spec))
    return respond(envelope(_spec_json(source, target, spec), [], started))


@hubspot_api()
def pair(
    request: HttpRequest, from_type: str, from_id: str, to_type: str, to_id: str, dated: bool = False, **_: Any
) -> HttpResponse:
    """PUT: create labelled associations from a body of AssociationSpec (201). DELETE: remove all (204)."""
    if request.method not in ("PUT", "DELETE"):
        raise not_allowed(request)
    source_spec, target_spec = _types(request, from_type, to_type, write=True)
    hub_id = request.hs.hub_id  # type: ignore[attr-defined]
    if request.method == "DELETE":
        with transaction.atomic():
            seed.lock_portal(hub_id)
            associations.remove_pair(hub_id, _int(from_id), _int(to_id))
        return no_content()
    specs = _specs_from(source_spec, target_spec, body(request))
    with transaction.atomic():
        seed.lock_portal(hub_id)
        source, target = _record(hub_id, source_spec, from_id), _record(hub_id, target_spec, to_id)
        for spec in specs:
            associations.create(Edge(source, target, spec))
        return respond(_pair_json(source, target, dated), 201)


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise errors.not_found() from None


def _specs_from(source: ObjectTypeSpec, target: ObjectTypeSpec, raw: Any) -> list[AssociationTypeSpec]:
    if not isinstance(raw, list) or not raw:
        raise errors.invalid_body("the body must be a non-empty array of {associationCategory, associationTypeId}")
    specs = []
    for item in raw:
        check_fields(
            item,
            ("associationCategory", "associationTypeId"),
            ("associationCategory", "associationTypeId"),
            "association type",
        )
        specs.append(
            associations.spec_for(
                source.type_id, target.type_id, item["associationCategory"], item["associationTypeId"]
            )
        )
    return specs


@hubspot_api()
def list_view(
    request: HttpRequest, from_type: str, from_id: str, to_type: str, dated: bool = False, **_: Any
) -> HttpResponse:
    """GET .../associations/{to}?limit&after: associated records with their types, 500 per page at most."""
    if request.method != "GET":
        raise not_allowed(request)
    source_spec, target_spec = _types(request, from_type, to_type, write=False)
    hub_id = request.hs.hub_id  # type: ignore[attr-defined]
    source = _record(hub_id, source_spec, from_id)
    limit = query_int(request, "limit", PAGE_MAX)
    if not 1 <= limit <= PAGE_MAX:
        raise errors.validation(f"limit must be between 1 and {PAGE_MAX}")
    groups = associations.grouped(associations.edges_from(hub_id, source.object_id, target_spec.type_id))
    after = request.GET.get("after")
    if after:
        start = decode_cursor(after)
        groups = [group for group in groups if group[0] > start]
    page = groups[:limit]
    data: dict[str, Any] = {
        "results": [
            {"toObjectId": _object_id(to_id, dated), "associationTypes": associations.types_json(edges)}
            for to_id, edges in page
        ]
    }
    if len(groups) > limit:
        data["paging"] = {"next": next_page(request, encode_cursor(page[-1][0]))}
    return respond(data)


@hubspot_api()
def labels(request: HttpRequest, from_type: str, to_type: str, **_: Any) -> HttpResponse:
    """GET .../associations/{from}/{to}/labels: the association types defined between two object types."""
    if request.method != "GET":
        raise not_allowed(request)
    source_spec, target_spec = _types(request, from_type, to_type, write=False)
    results = [
        {"category": "HUBSPOT_DEFINED", "typeId": spec.type_id, "label": spec.label}
        for spec in registry.association_types(source_spec.type_id, target_spec.type_id)
    ]
    return respond({"results": results})


@hubspot_api()
def batch(
    request: HttpRequest, from_type: str, to_type: str, action: str, dated: bool = False, **_: Any
) -> HttpResponse:
    """POST .../associations/{from}/{to}/batch/{action}."""
    handlers = {
        "associate/default": _batch_default,
        "create": _batch_create,
        "read": _batch_read,
        "archive": _batch_archive,
        "labels/archive": _batch_labels_archive,
    }
    if action not in handlers:
        raise HubSpotError(404, f"No batch/{action} endpoint for associations", category="OBJECT_NOT_FOUND")
    if request.method != "POST":
        raise not_allowed(request)
    source, target = _types(request, from_type, to_type, write=action != "read")
    inputs = inputs_of(body_object(request, ("inputs",), ("inputs",)), LIMITS[action])
    hub_id = request.hs.hub_id  # type: ignore[attr-defined]
    if action == "create":
        return _batch_create(hub_id, source, target, inputs, dated)  # takes the portal lock for its write only
    with transaction.atomic():
        if action != "read":
            seed.lock_portal(hub_id)
        return handlers[action](hub_id, source, target, inputs, dated)


class Collector:
    """Per-input results and errors of an association batch."""

    def __init__(self) -> None:
        self.started = clock.now()
        self.results: list[Any] = []
        self.errors: list[dict[str, Any]] = []

    def attempt(self, work: Any, context: dict[str, list[str]]) -> None:
        """Run one input in a savepoint, recording its error instead of failing the batch."""
        try:
            with transaction.atomic():
                self.results.extend(work())
        except HubSpotError as exc:
            self.errors.append(errors.batch_error(exc, context))

    def response(self, ok_status: int) -> HttpResponse:
        """201/200 when every input worked, else 207."""
        return respond(envelope(self.results, self.errors, self.started), 207 if self.errors else ok_status)


def _ids(item: Any, *, many_to: bool = False, types: bool = False) -> tuple[Any, Any]:
    fields = ("from", "to", "types") if types else ("from", "to")
    check_fields(item, fields, fields, "batch input")
    if not isinstance(item["from"], dict) or "id" not in item["from"]:
        raise errors.invalid_body("from must be {id}")
    targets = item["to"] if many_to else [item["to"]]
    if not isinstance(targets, list) or not all(isinstance(t, dict) and "id" in t for t in targets):
        raise errors.invalid_body("to must be {id}" if not many_to else "to must be an array of {id}")
    return item["from"]["id"], [t["id"] for t in targets] if many_to else targets[0]["id"]


def _batch_default(
    hub_id: int, source: ObjectTypeSpec, target: ObjectTypeSpec, inputs: list, dated: bool
) -> HttpResponse:
    spec = associations.default_spec(source.type_id, target.type_id)
    run = Collector()
    for item in inputs:
        from_id, to_id = _ids(item)

        def work(from_id: Any = from_id, to_id: Any = to_id) -> list[dict[str, Any]]:
            a, b = _record(hub_id, source, from_id), _record(hub_id, target, to_id)
            associations.create(Edge(a, b, spec))
            return _spec_json(a, b, spec)

        run.attempt(work, {"fromObjectId": [str(from_id)], "toObjectId": [str(to_id)]})
    return run.response(200)


def _batch_create(
    hub_id: int, source: ObjectTypeSpec, target: ObjectTypeSpec, inputs: list, dated: bool
) -> HttpResponse:
    """Every pair set-based (`bulk_edges`), or input by input when one would fail. Parsing the inputs and
    rendering the answer need no lock, so the portal lock (which serialises every write to the portal) is held
    for the write alone."""
    parsed = [_ids(item, types=True) for item in inputs]
    pairs = _bulk_pairs(source, target, inputs, parsed)
    with transaction.atomic():
        seed.lock_portal(hub_id)
        started = clock.now()
        outcome = None if pairs is None else bulk_edges.associate_many(hub_id, source, target, pairs)
        if outcome is None:
            return _batch_create_each(hub_id, source, target, inputs, dated)
    results = [
        {**_pair_json_base(a, b, dated), "labels": outcome.labels.get((a.object_id, b.object_id), [])}
        for a, b in outcome.found
    ]
    return respond(envelope(results, [], started), 201)


def _bulk_pairs(
    source: ObjectTypeSpec, target: ObjectTypeSpec, inputs: list, parsed: list[tuple[Any, Any]]
) -> list[bulk_edges.PairInput] | None:
    """The inputs with their association types, or None when one names an invalid type (the per-input path
    answers it with its 207 error). A batch usually repeats one `types` list, so each distinct list (by its
    repr, which tells apart every JSON value that `_specs_from` would) is checked once."""
    checked: dict[str, tuple[AssociationTypeSpec, ...]] = {}
    pairs = []
    for item, (from_id, to_id) in zip(inputs, parsed, strict=True):
        key = repr(item["types"])
        if key not in checked:
            try:
                checked[key] = tuple(_specs_from(source, target, item["types"]))
            except HubSpotError:
                return None
        pairs.append(bulk_edges.PairInput(from_id, to_id, checked[key]))
    return pairs


def _batch_create_each(
    hub_id: int, source: ObjectTypeSpec, target: ObjectTypeSpec, inputs: list, dated: bool
) -> HttpResponse:
    """Input by input, each in its savepoint, so that a failing pair gets its own error in a 207."""
    run = Collector()
    for item in inputs:
        from_id, to_id = _ids(item, types=True)

        def work(from_id: Any = from_id, to_id: Any = to_id, raw: Any = item["types"]) -> list[dict[str, Any]]:
            specs = _specs_from(source, target, raw)
            a, b = _record(hub_id, source, from_id), _record(hub_id, target, to_id)
            for spec in specs:
                associations.create(Edge(a, b, spec))
            return [_pair_json(a, b, dated)]

        run.attempt(work, {"fromObjectId": [str(from_id)], "toObjectId": [str(to_id)]})
    return run.response(201)


def _batch_read(hub_id: int, source: ObjectTypeSpec, target: ObjectTypeSpec, inputs: list, dated: bool) -> HttpResponse:
    run = Collector()
    for item in inputs:
        check_fields(item, ("id", "after"), ("id",), "batch input")

        def work(item: dict[str, Any] = item) -> list[dict[str, Any]]:
            record = _record(hub_id, source, item["id"])
            groups = associations.grouped(associations.edges_from(hub_id, record.object_id, target.type_id))
            if item.get("after"):
                start = decode_cursor(str(item["after"]))
                groups = [group for group in groups if group[0] > start]
            if not groups:
                raise HubSpotError(
                    404,
                    f"No {target.singular} is associated with {source.singular} {record.object_id}.",
                    category="OBJECT_NOT_FOUND",
                    extra={"subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND"},
                )
            return [_read_result(record, groups, dated)]

        run.attempt(work, {"fromObjectId": [str(item["id"])]})
    return run.response(200)


def _read_result(record: CrmObject, groups: list[tuple[int, list[Any]]], dated: bool) -> dict[str, Any]:
    """`PublicAssociationMultiWithLabel` for one input of a batch read."""
    page = groups[:PAGE_MAX]
    result: dict[str, Any] = {
        "from": {"id": str(record.object_id)},
        "to": [
            {"toObjectId": _object_id(to_id, dated), "associationTypes": associations.types_json(edges)}
            for to_id, edges in page
        ],
    }
    if len(groups) > PAGE_MAX:
        result["paging"] = {"next": {"after": encode_cursor(page[-1][0])}}
    return result


def _archived(dated: bool, started: Any) -> HttpResponse:
    # v4 answers 204; the date-versioned spec answers 200 with a BatchResponse.
    return respond(envelope([], [], started)) if dated else no_content()


def _batch_archive(
    hub_id: int, source: ObjectTypeSpec, target: ObjectTypeSpec, inputs: list, dated: bool
) -> HttpResponse:
    started = clock.now()
    for item in inputs:
        from_id, to_ids = _ids(item, many_to=True)
        for to_id in to_ids:
            associations.remove_pair(hub_id, _int(str(from_id)), _int(str(to_id)))
    return _archived(dated, started)


def _batch_labels_archive(
    hub_id: int, source: ObjectTypeSpec, target: ObjectTypeSpec, inputs: list, dated: bool
) -> HttpResponse:
    started = clock.now()
    for item in inputs:
        from_id, to_id = _ids(item, types=True)
        specs = _specs_from(source, target, item["types"])
        a, b = associations.live(hub_id, source.type_id, from_id), associations.live(hub_id, target.type_id, to_id)
        if a is not None and b is not None:
            associations.remove_types(a, b, {spec.type_id for spec in specs})
    return _archived(dated, started)
