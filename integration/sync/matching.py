"""Link records that already exist in HubSpot instead of creating duplicates (issue 12 point 5).

Before the writer creates a HubSpot record for a Kleer record that has no link yet (no SyncedRecord), it asks
`link_existing`. The portal's MatchRule decides which keys are tried, in order: companies by organisation number
(the property the portal maps Kleer's `orgno` to; skipped when unmapped), then by domain (from the client's
website or e-mail, free-mail domains excluded); products by SKU (`hs_sku`, when mapped), then exact name.

Searches are batched: one IN filter carries many records' values, within HubSpot's search limits (a body of at
most 3,000 characters, 200 results a page) and its own rate limit of 5 requests/s per portal, which the client's
separate search bucket keeps (https://developers.hubspot.com/docs/api-reference/search/guide, "Limits").

For each record still undecided after a key: no candidate → the next key; exactly one → linked: its `kleer_id`
and mapped properties are written with batch/update by record id, and the next upsert by `kleer_id` updates it;
two or more → nothing is created, a parked RecordError names each candidate until someone picks one
(`integration.services.matching.record_error_match_resolve`). A candidate that carries another `kleer_id`, or
is already linked to another Kleer record, is not a candidate. Search lags writes, so a record whose `kleer_id`
HubSpot already holds (a run that died after HubSpot acknowledged it) is found first by a batch read, which does
not lag, and left to the upsert.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from integration import catalog
from integration.models import FieldMapping, MatchRule, SyncedRecord
from integration.services.record_errors import record_error_upsert, record_errors_resolve
from integration.services.synced_records import Synced
from integration.sync import identifiers
from integration.sync.threads import in_pool

if TYPE_CHECKING:
    from integration.sync.writer import Outgoing, Writer

AMBIGUOUS = "AMBIGUOUS_MATCH"
# HubSpot refuses a search body over 3,000 characters; IN filters are filled up to this many.
MAX_SEARCH_BODY = 3000
MAX_IN_VALUES = 100
PAGE_SIZE = 200
# Up to this many HubSpot records without a kleer_id are read once per run (10 searches) instead of searching
# for every batch's keys (about 7 searches per 100 new clients); more than that, and per-batch searches are cheaper.
CENSUS_MAX = 2_000
NOUNS = {"companies": "company", "products": "product"}


@dataclass(frozen=True)
class MatchKey:
    """One way to recognise a record in HubSpot: the property searched and how values reduce to a key."""

    label: str
    # The HubSpot property to search for this portal's mappings; None skips the key.
    property_for: Callable[[Sequence[FieldMapping]], str | None]
    key_of: Callable[[Outgoing], str | None]  # the Kleer record's key
    normalise: Callable[[str | None], str | None]  # a HubSpot value's key
    variants: Callable[[str], list[str]]  # the lower-case values to search for one key
    display: Callable[[str], str] = str
    primary: bool = False  # also tried under MatchRule.ORGNO ("organisation number / SKU only")


def _mapped_from(kleer_field: str) -> Callable[[Sequence[FieldMapping]], str | None]:
    def property_for(mappings: Sequence[FieldMapping]) -> str | None:
        return next((m.hubspot_property for m in mappings if m.kleer_field == kleer_field), None)

    return property_for


def _mapped_to(hubspot_property: str) -> Callable[[Sequence[FieldMapping]], str | None]:
    def property_for(mappings: Sequence[FieldMapping]) -> str | None:
        return hubspot_property if any(m.hubspot_property == hubspot_property for m in mappings) else None

    return property_for


def _text_key(value: str | None) -> str | None:
    """Case-insensitive, whitespace-collapsed text (search compares case-insensitively anyway)."""
    text = " ".join((value or "").split()).lower()
    return text or None


def _client_domain(item: Outgoing) -> str | None:
    props = item.properties
    return identifiers.domain_key(email=item.record.get("email"), website=props.get("website") or props.get("domain"))


ORGNO = MatchKey(
    label="organisation number",
    property_for=_mapped_from("orgno"),
    key_of=lambda item: identifiers.orgno_key(item.record.get("orgno")),
    normalise=identifiers.orgno_key,
    variants=identifiers.orgno_variants,
    display=identifiers.orgno_display,
    primary=True,
)
DOMAIN = MatchKey(
    label="domain",
    property_for=lambda _mappings: "domain",
    key_of=_client_domain,
    normalise=identifiers.domain_of_website,
    variants=lambda domain: [domain, f"www.{domain}"],
)
SKU = MatchKey(
    label="SKU",
    property_for=_mapped_to("hs_sku"),
    key_of=lambda item: _text_key(item.properties.get("hs_sku")),
    normalise=_text_key,
    variants=lambda key: [key],
    primary=True,
)
NAME = MatchKey(
    label="name",
    property_for=_mapped_to("name"),
    key_of=lambda item: _text_key(item.properties.get("name")),
    normalise=_text_key,
    variants=lambda key: [key],
)
# (Kleer object type, HubSpot object) → the keys, in the order they are tried.
MATCH_KEYS: dict[tuple[str, str], tuple[MatchKey, ...]] = {
    ("clients", "companies"): (ORGNO, DOMAIN),
    ("products", "products"): (SKU, NAME),
}


@dataclass(frozen=True)
class Candidate:
    """An existing HubSpot record a Kleer record may be."""

    id: str
    name: str
    kleer_id: str
    values: Mapping[str, str]  # the raw values of the searched properties

    def describe(self, key: MatchKey, prop: str) -> dict[str, str]:
        """What a RecordError stores about the candidate (shown in the admin and on the settings tab)."""
        return {"id": self.id, "name": self.name, "reason": key.label, "value": self.values.get(prop, "")}


@dataclass
class Decision:
    """The candidates one key found for one record."""

    item: Outgoing
    key: MatchKey
    prop: str
    candidates: list[Candidate]


def active_keys(writer: Writer, rule: str) -> list[tuple[MatchKey, str]]:
    """The (key, HubSpot property) pairs the portal's rule and mappings allow for this writer."""
    if rule == MatchRule.OFF:
        return []
    keys = MATCH_KEYS.get((writer.object_type, writer.hubspot_object), ())
    pairs = [(key, key.property_for(writer.mappings)) for key in keys if key.primary or rule == MatchRule.ORGNO_DOMAIN]
    return [(key, prop) for key, prop in pairs if prop]


def link_existing(*, writer: Writer, items: Sequence[Outgoing], known: dict[str, Synced]) -> list[Outgoing]:
    """The items still to upsert after linking or parking those without a link that match existing records.

    `known` (the batch's SyncedRecords by Kleer id) gains the records linked here."""
    keys = active_keys(writer, writer.run.portal.match_rule)
    unlinked = [item for item in items if item.kleer_id not in known]
    if not keys or not unlinked:
        return list(items)
    census = census_for(writer, keys)
    if census is not None and not census.records:
        return list(items)  # HubSpot holds no record without a kleer_id: nothing to match, nothing to ask
    search = census.find if census is not None else functools.partial(_search, writer)
    decided: dict[str, Decision] = {}
    for key, prop in keys:
        pending = [item for item in unlinked if item.kleer_id not in decided]
        decided.update(_decide(writer, key, prop, pending, search))
    for kleer_id in _in_hubspot(writer, [d.item for d in decided.values()]):
        del decided[kleer_id]
    claims = Counter(d.candidates[0].id for d in decided.values() if len(d.candidates) == 1)
    matched = [d for d in decided.values() if len(d.candidates) == 1 and claims[d.candidates[0].id] == 1]
    known.update(_link(writer, matched))
    linked = {d.item.kleer_id for d in matched}
    for decision in decided.values():
        if decision.item.kleer_id not in linked:
            _park(writer, decision, claims)
    return [item for item in items if item.kleer_id not in decided]


def _in_hubspot(writer: Writer, items: list[Outgoing]) -> set[str]:
    """Kleer ids of the items whose `kleer_id` HubSpot already holds (a run that died after HubSpot acknowledged
    them): the upsert updates those. Asked only for items that found candidates, with a batch read, which does
    not lag behind writes as search does."""
    if not items:
        return set()
    found = writer.hubspot.batch_read(
        writer.hubspot_object,
        [item.key for item in items],
        id_property=catalog.KLEER_ID_PROPERTY,
        properties=[catalog.KLEER_ID_PROPERTY],
    )
    present = {str(r.get("properties", {}).get(catalog.KLEER_ID_PROPERTY)) for r in found}
    return {item.kleer_id for item in items if item.key in present}


Search = Callable[[MatchKey, str, list[str]], dict[str, list[Candidate]]]


def _decide(writer: Writer, key: MatchKey, prop: str, items: list[Outgoing], search: Search) -> dict[str, Decision]:
    """Search `prop` for the items' keys; the items with at least one candidate, by Kleer id."""
    wanted = {item.kleer_id: k for item in items if (k := key.key_of(item))}
    if not wanted:
        return {}
    found = search(key, prop, sorted(set(wanted.values())))
    taken = _linked_elsewhere(writer, [c.id for group in found.values() for c in group])
    decisions = {}
    for item in items:
        group = found.get(wanted.get(item.kleer_id, ""), [])
        candidates = [c for c in group if c.id not in taken and c.kleer_id in ("", item.key)]
        if candidates:
            decisions[item.kleer_id] = Decision(item, key, prop, candidates)
    return decisions


def _linked_elsewhere(writer: Writer, hubspot_ids: list[str]) -> set[str]:
    """HubSpot ids already linked to a Kleer record (their `kleer_id` may not be searchable yet)."""
    return set(
        SyncedRecord.objects.filter(
            portal_id=writer.run.portal_id, hubspot_object=writer.hubspot_object, hubspot_id__in=hubspot_ids
        ).values_list("hubspot_id", flat=True)
    )


def _search(writer: Writer, key: MatchKey, prop: str, keys: list[str]) -> dict[str, list[Candidate]]:
    """Existing records by key, found with as few searches as HubSpot's body limit allows."""
    names = sorted({"name", prop, catalog.KLEER_ID_PROPERTY})
    found: dict[str, list[Candidate]] = {}
    for values in _value_chunks(key, prop, names, keys):
        groups = [{"filters": [{"propertyName": prop, "operator": "IN", "values": values}]}]
        for result in writer.hubspot.search(
            writer.hubspot_object, filter_groups=groups, properties=names, limit=PAGE_SIZE
        ):
            _add_candidate(found, key, prop, result)
    return found


def _add_candidate(found: dict[str, list[Candidate]], key: MatchKey, prop: str, result: Mapping[str, Any]) -> None:
    """File one search result under its key for `prop` (once; results without a key are no candidate)."""
    props = result.get("properties") or {}
    result_key = key.normalise(props.get(prop))
    if result_key is None:
        return
    candidate = Candidate(
        id=str(result["id"]),
        name=props.get("name") or "",
        kleer_id=props.get(catalog.KLEER_ID_PROPERTY) or "",
        values={prop: props.get(prop) or ""},
    )
    if all(c.id != candidate.id for c in found.setdefault(result_key, [])):
        found[result_key].append(candidate)


@dataclass
class Census:
    """The target's HubSpot records without a `kleer_id`, read once per run when there are few (at most
    `CENSUS_MAX`): every candidate any record of the run could match, so the run's matching needs no search per
    batch. A first sync into a CRM without such records (or with a few hundred) then asks HubSpot once instead
    of several searches per 100 records. Records people create in HubSpot while the run goes on are seen by the
    next run; search lags writes by a few seconds anyway."""

    records: list[Mapping[str, Any]]
    _by_prop: dict[str, dict[str, list[Candidate]]] = field(default_factory=dict)

    def find(self, key: MatchKey, prop: str, keys: list[str]) -> dict[str, list[Candidate]]:
        """The candidates of each of `keys` for `prop`, as `_search` would have found them."""
        if prop not in self._by_prop:
            index: dict[str, list[Candidate]] = {}
            for result in self.records:
                _add_candidate(index, key, prop, result)
            self._by_prop[prop] = index
        index = self._by_prop[prop]
        return {k: index[k] for k in keys if k in index}


def census_for(writer: Writer, keys: Sequence[tuple[MatchKey, str]]) -> Census | None:
    """The writer's census (taken at its first need, or prefetched: `census_prefetch`), or None when HubSpot holds
    too many records without a `kleer_id` to read them all (the run then searches per batch)."""
    if isinstance(writer.match_census, Future):
        writer.match_census = writer.match_census.result()
    if writer.match_census is None:
        writer.match_census = _census_take(writer, keys)
    return writer.match_census or None


def census_prefetch(*, writer: Writer, pool: Executor) -> None:
    """On an object's first sync (no record linked yet, so every record will ask), take the census in the pool
    while the run reads its first Kleer page, instead of after it."""
    keys = active_keys(writer, writer.run.portal.match_rule)
    if not keys or SyncedRecord.objects.filter(portal_id=writer.run.portal_id, object_type=writer.object_type).exists():
        return

    writer.match_census = in_pool(pool, _census_take, writer, keys)


def _census_take(writer: Writer, keys: Sequence[tuple[MatchKey, str]]) -> Census | bool:
    """Read every record without a `kleer_id`; False when there are more than `CENSUS_MAX`."""
    names = sorted({"name", catalog.KLEER_ID_PROPERTY, *(prop for _, prop in keys)})
    groups = [{"filters": [{"propertyName": catalog.KLEER_ID_PROPERTY, "operator": "NOT_HAS_PROPERTY"}]}]
    records: list[Mapping[str, Any]] = []
    for page in writer.hubspot.search_pages(
        writer.hubspot_object, filter_groups=groups, properties=names, limit=PAGE_SIZE
    ):
        if int(page.get("total") or 0) > CENSUS_MAX:
            return False
        records += page.get("results", [])
    return Census(records)


def _body_size(prop: str, names: list[str], values: list[str]) -> int:
    body: dict[str, Any] = {
        "filterGroups": [{"filters": [{"propertyName": prop, "operator": "IN", "values": values}]}],
        "properties": names,
        "limit": PAGE_SIZE,
        "after": "9800",  # room for a paging cursor
    }
    return len(json.dumps(body))  # as requests serialises it (ASCII-escaped, default separators)


def _value_chunks(key: MatchKey, prop: str, names: list[str], keys: list[str]) -> list[list[str]]:
    """The IN values of each search: every variant of a key travels in the same search."""
    chunks: list[list[str]] = [[]]
    for one in keys:
        variants = key.variants(one)
        candidate = chunks[-1] + variants
        if chunks[-1] and (len(candidate) > MAX_IN_VALUES or _body_size(prop, names, candidate) > MAX_SEARCH_BODY):
            chunks.append(list(variants))
        else:
            chunks[-1] = candidate
    return [chunk for chunk in chunks if chunk and _body_size(prop, names, chunk) <= MAX_SEARCH_BODY]


def _link(writer: Writer, decisions: list[Decision]) -> dict[str, SyncedRecord]:
    """Write `kleer_id` and the mapped properties onto each single candidate, and remember the links."""
    if not decisions:
        return {}
    by_key = {d.item.key: d.item for d in decisions}
    inputs = [(d.candidates[0].id, d.item.key, d.item.properties) for d in decisions]
    outcome = writer.hubspot.batch_update(writer.hubspot_object, inputs)
    now = timezone.now()
    rows = [_synced_record(writer, by_key[w.key], w.hubspot_id, now) for w in outcome.written if w.key in by_key]
    with transaction.atomic():
        SyncedRecord.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["portal", "object_type", "kleer_id"],
            update_fields=["hubspot_object", "hubspot_id", "fingerprint", "synced_values", "last_synced_at"],
        )
        record_errors_resolve(
            portal_id=writer.run.portal_id, object_type=writer.object_type, kleer_ids=[r.kleer_id for r in rows]
        )
    writer.counts.matched += len(rows)
    for failed in outcome.failed:
        item = by_key.get(failed.key)
        message = f"linking the existing HubSpot record: {failed.message}"
        writer.fail(item.kleer_id if item else failed.key, message, failed.category)
    return {row.kleer_id: row for row in rows}


def _synced_record(writer: Writer, item: Outgoing, hubspot_id: str, now: Any) -> SyncedRecord:
    from integration.sync.writer import two_way_values

    return SyncedRecord(
        portal_id=writer.run.portal_id,
        object_type=writer.object_type,
        kleer_id=item.kleer_id,
        hubspot_object=writer.hubspot_object,
        hubspot_id=hubspot_id,
        fingerprint=item.fingerprint,
        synced_values=two_way_values(writer.mappings, item.properties),
        last_synced_at=now,
    )


def ambiguity_message(decision: Decision, noun: str, others: int) -> str:
    """The plain-language message of an ambiguous match."""
    key = decision.key
    if others:
        only = decision.candidates[0]
        return (
            f"HubSpot {noun} {only.name or only.id} (id {only.id}) matches this record and {others} other Kleer "
            f"record{'s' if others > 1 else ''} by {key.label}, so none of them was created or linked. "
            "Pick the record to link, or create a new one."
        )
    listed = "; ".join(f"{c.name or '(no name)'} (id {c.id})" for c in decision.candidates)
    return (
        f"{len(decision.candidates)} HubSpot {noun} records have the {key.label} of this record: {listed}. "
        "Nothing was created. Pick the one to link, or create a new one."
    )


def _park(writer: Writer, decision: Decision, claims: Counter[str]) -> None:
    """Record an ambiguous match as a parked RecordError naming each candidate (not retried automatically)."""
    noun = NOUNS.get(writer.hubspot_object, writer.hubspot_object)
    others = claims[decision.candidates[0].id] - 1 if len(decision.candidates) == 1 else 0
    writer.counts.failed += 1
    record_error_upsert(
        run=writer.run,
        object_type=writer.object_type,
        kleer_id=decision.item.kleer_id,
        message=ambiguity_message(decision, noun, others),
        category=AMBIGUOUS,
        candidates=[c.describe(decision.key, decision.prop) for c in decision.candidates],
        parked=True,
    )
