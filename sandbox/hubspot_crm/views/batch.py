"""Batch object endpoints: `/{type}/batch/{create,read,update,upsert,archive}` on both path styles.

Rules (hubspot-api.md §2.2, §10.4; https://developers.hubspot.com/docs/api-reference/error-handling
"Multi-status errors"): at most 100 inputs (50 for a read with `propertiesWithHistory`); a write batch whose
every input carries a distinct `objectWriteTraceId` answers 207 with per-input `errors` (their
`context.objectWriteTraceId` echoes the id) and writes the valid inputs, otherwise the first invalid input
fails the whole request and nothing is written; missing ids give 207 with one OBJECT_NOT_FOUND error listing
them (404 when none exists); upserts address records by a `hasUniqueValue` property only; an id given twice
is a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from sandbox.hubspot.gateway import HubSpotError, hubspot_api
from sandbox.hubspot.webhooks import events as webhook_events
from sandbox.hubspot_crm import access, bulk, clock, errors, objects, seed, serialize, uniques
from sandbox.hubspot_crm.http import body_object, check_fields, envelope, inputs_of, no_content, query_bool, respond
from sandbox.hubspot_crm.models import CrmObject, PortalState
from sandbox.hubspot_crm.schema import Schema

BATCH_LIMIT = 100
HISTORY_LIMIT = 50
# The context key that lists ids matching no record; §10.4 marks it "[context key unverified]".
MISSING_IDS_KEY = "ids"
# Whether a per-input 207 error names its input. "trace-ids" (default): `context.objectWriteTraceId` echoes the
# input's trace id. "none": the error carries no context, as in a real 207 (hubspot-api.md §2.2,
# https://github.com/HubSpot/hubspot-api-ruby/issues/403); tests set it to prove a client copes with both.
ERROR_CONTEXT: Literal["trace-ids", "none"] = "trace-ids"


@hubspot_api()
def batch(request: HttpRequest, object_type: str, action: str, **_: Any) -> HttpResponse:
    """Dispatch a batch action (POST only)."""
    handlers: dict[str, tuple[Callable[[HttpRequest, Schema], HttpResponse], access.Need]] = {
        "create": (_create, "write"),
        "read": (_read, "read"),
        "update": (_update, "write"),
        "upsert": (_upsert, "write"),
        "archive": (_archive, "write"),
    }
    if request.method != "POST" or action not in handlers:
        raise HubSpotError(405 if action in handlers else 404, f"No batch/{action} endpoint for {request.method}")
    handler, need = handlers[action]
    return handler(request, access.schema_for(request, object_type, need))


class Run:
    """One batch write: runs inputs in savepoints, collecting per-input errors when trace ids allow it."""

    def __init__(self, inputs: list[dict[str, Any]]) -> None:
        self.started = clock.now()
        self.trace_ids = [item.get("objectWriteTraceId") for item in inputs]
        self.partial = bool(inputs) and all(isinstance(t, str) and t for t in self.trace_ids)
        if self.partial and len(set(self.trace_ids)) != len(self.trace_ids):
            raise errors.validation("objectWriteTraceId values must be unique within a batch")
        self.results: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []

    def attempt(self, index: int, work: Callable[[], dict[str, Any]]) -> None:
        """Run `work` for input `index`; a failure fails the request unless the batch is partial."""
        try:
            # A failed input rolls back to its savepoint, and its webhook events are forgotten with it.
            with webhook_events.savepoint(), transaction.atomic():
                result = work()
        except HubSpotError as exc:
            if not self.partial:
                raise
            self.errors.append(self._error(exc, index))
            return
        if self.trace_ids[index]:
            result["objectWriteTraceId"] = self.trace_ids[index]
        self.results.append(result)

    def accept(self, results: list[dict[str, Any]]) -> None:
        """Results of every input, in input order, written together (`bulk`)."""
        for index, result in enumerate(results):
            if self.trace_ids[index]:
                result["objectWriteTraceId"] = self.trace_ids[index]
            self.results.append(result)

    def _error(self, exc: HubSpotError, index: int) -> dict[str, Any]:
        if ERROR_CONTEXT == "none":
            return {"status": "error", "category": exc.category, "message": exc.message}
        return errors.batch_error(exc, {"objectWriteTraceId": [self.trace_ids[index]]})

    def response(self, ok_status: int) -> HttpResponse:
        """`ok_status` when every input worked, else 207 Multi-Status."""
        return respond(envelope(self.results, self.errors, self.started), 207 if self.errors else ok_status)


def _inputs(request: HttpRequest, allowed: tuple[str, ...], required: tuple[str, ...]) -> list[dict[str, Any]]:
    data = body_object(request, ("inputs",), ("inputs",))
    inputs = inputs_of(data, BATCH_LIMIT)
    for item in inputs:
        check_fields(item, allowed, required, "batch input")
    return inputs


def _name_list(data: dict[str, Any], field: str) -> list[str]:
    """`properties` / `propertiesWithHistory` of a batch read: an array of names (a bare string used to be split
    into characters and silently return nothing)."""
    raw = data.get(field) or []
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise errors.invalid_body(f"{field} must be an array of property names, not {raw!r}")
    return raw


def _ids(inputs: list[dict[str, Any]]) -> list[str]:
    """The `id` of each input as a string; ids are strings (or numbers) in the spec, never objects or arrays."""
    for item in inputs:
        if isinstance(item["id"], bool) or not isinstance(item["id"], str | int):
            raise errors.invalid_body(f"id must be a string, not {item['id']!r}")
    return [str(item["id"]) for item in inputs]


def _create(request: HttpRequest, schema: Schema) -> HttpResponse:
    inputs = _inputs(request, ("properties", "associations", "objectWriteTraceId"), ("properties",))
    run = Run(inputs)
    with transaction.atomic():
        state = seed.lock_portal(schema.hub_id)
        for index, item in enumerate(inputs):

            def work(item: dict[str, Any] = item) -> dict[str, Any]:
                obj = objects.create(schema, state, item["properties"], item.get("associations"))
                return serialize.record(obj, schema)

            run.attempt(index, work)
    return run.response(201)


def _check_duplicates(ids: list[str], keys: list[str] | None = None) -> None:
    """400 when an id appears twice (`keys`, when given, are what must be distinct, e.g. idProperty + id)."""
    seen: set[str] = set()
    duplicates: list[str] = []
    for value, key in zip(ids, keys or ids, strict=True):
        if key in seen and value not in duplicates:
            duplicates.append(value)
        seen.add(key)
    if duplicates:
        raise errors.duplicate_ids(duplicates)


def _check_id_property(schema: Schema, id_property: Any, action: str = "update/upsert") -> None:
    """400 when records are addressed by a property without `hasUniqueValue` (None: by record id)."""
    if id_property is None:
        return
    prop = schema.props.get(id_property) if isinstance(id_property, str) else None
    if prop is None or not prop.has_unique_value:
        raise errors.non_unique_id_property(schema.type_id, str(id_property), action)


def _missing_error(schema: Schema, ids: list[str]) -> dict[str, Any]:
    message = errors.missing_objects_message(schema.spec.error_name)
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": message,
        "context": {MISSING_IDS_KEY: ids},
        "errors": [],
        "links": {},
    }


def _all_missing(schema: Schema, ids: list[str]) -> HubSpotError:
    return errors.not_found(errors.missing_objects_message(schema.spec.error_name), context={MISSING_IDS_KEY: ids})


def _read(request: HttpRequest, schema: Schema) -> HttpResponse:
    started = clock.now()
    data = body_object(request, ("inputs", "properties", "propertiesWithHistory", "idProperty"), ("inputs",))
    history = _name_list(data, "propertiesWithHistory")
    if history and len(data.get("inputs") or []) > HISTORY_LIMIT:
        raise errors.validation(
            f"The maximum number of inputs supported in a batch request for property histories is {HISTORY_LIMIT}"
        )
    inputs = inputs_of(data, BATCH_LIMIT)
    for item in inputs:
        check_fields(item, ("id",), ("id",), "batch input")
    ids = _ids(inputs)
    _check_duplicates(ids)
    id_property = data.get("idProperty")
    _check_id_property(schema, id_property, "read")
    archived = query_bool(request, "archived")
    names = serialize.requested_names(schema, _name_list(data, "properties"))
    found: list[CrmObject] = []
    missing: list[str] = []
    for value in ids:
        obj = objects.find_by(schema, id_property, value, action="read", archived=archived)
        if obj is None:
            missing.append(value)
        else:
            found.append(obj)
    if missing and not found:
        raise _all_missing(schema, missing)
    results = [serialize.record(obj, schema, names=names, history=history) for obj in found]
    errs = [_missing_error(schema, missing)] if missing else []
    return respond(envelope(results, errs, started), 207 if errs else 200)


def _update(request: HttpRequest, schema: Schema) -> HttpResponse:
    inputs = _inputs(request, ("id", "idProperty", "properties", "objectWriteTraceId"), ("id", "properties"))
    for item in inputs:
        _check_id_property(schema, item.get("idProperty"))
    ids = _ids(inputs)
    _check_duplicates(ids, [f"{item.get('idProperty') or ''}\0{item['id']}" for item in inputs])
    run, missing = Run(inputs), []
    with transaction.atomic():
        state = seed.lock_portal(schema.hub_id)
        for index, item in enumerate(inputs):
            obj = objects.find_by(schema, item.get("idProperty"), item["id"], action="update/upsert")
            if obj is None:
                missing.append(str(item["id"]))
                continue
            run.attempt(index, _updater(schema, state, obj, item))
        if missing and not run.results and not run.errors:
            raise _all_missing(schema, missing)
    if missing:
        run.errors.insert(0, _missing_error(schema, missing))
    return run.response(200)


def _updater(schema: Schema, state: PortalState, obj: CrmObject, item: dict[str, Any]) -> Callable[[], dict]:
    def work() -> dict[str, Any]:
        return serialize.record(objects.update(schema, state, obj, item["properties"]), schema)

    return work


def _upsert(request: HttpRequest, schema: Schema) -> HttpResponse:
    inputs = _inputs(request, ("id", "idProperty", "properties", "objectWriteTraceId"), ("id", "properties"))
    for item in inputs:
        # Without idProperty the id is a record id (hs_object_id), which HubSpot refuses for upserts (§2.2).
        _check_id_property(schema, item.get("idProperty") or "hs_object_id")
    ids = _ids(inputs)
    keys = [
        f"{item['idProperty']}\0{uniques.normalise(schema, item['idProperty'], str(item['id']))}" for item in inputs
    ]
    _check_duplicates(ids, keys)
    run = Run(inputs)
    with transaction.atomic():
        state = seed.lock_portal(schema.hub_id)
        # Set-based when every input succeeds; input by input (each in its savepoint) when one would fail.
        written = bulk.write_upserts(schema, state, inputs)
        if written is None:
            for index, item in enumerate(inputs):
                run.attempt(index, _upserter(schema, state, item))
    if written is not None:
        run.accept(bulk.upsert_results(schema, written))  # rendered after the portal lock is released
    return run.response(200)


def _upserter(schema: Schema, state: PortalState, item: dict[str, Any]) -> Callable[[], dict]:
    def work() -> dict[str, Any]:
        name, value, props = item["idProperty"], str(item["id"]), item["properties"]
        if isinstance(props, dict) and name in props and str(props[name]) != value:
            raise errors.validation(f"properties.{name} ({props[name]}) differs from the input id ({value})")
        existing = uniques.holder(schema, name, value)
        if existing is not None:
            obj = objects.update(schema, state, existing, props)
        else:
            obj = objects.create(schema, state, {**props, name: value} if isinstance(props, dict) else props)
        return {**serialize.record(obj, schema), "new": existing is None}

    return work


def _archive(request: HttpRequest, schema: Schema) -> HttpResponse:
    inputs = _inputs(request, ("id",), ("id",))
    ids = _ids(inputs)
    _check_duplicates(ids)
    with transaction.atomic():
        seed.lock_portal(schema.hub_id)
        for value in ids:
            obj = objects.find(schema, value)
            if obj is not None:  # archiving is idempotent: unknown and archived ids are skipped
                objects.archive(schema, obj)
    return no_content()
