"""CRM search (`POST /{type}/search`) over what the search index sees.

From https://developers.hubspot.com/docs/api-reference/latest/crm/search-the-crm (hubspot-api.md §2.3, §10.4):
filters are ANDed inside a group and groups ORed; at most 5 groups, 6 filters per group, 18 in total; one
sort (a string, `-name` for descending, or `{propertyName, direction}`); `limit` at most 200 (default 10);
`after` is a numeric offset and no query reaches past 10,000 results; the body is at most 3,000 characters;
archived records never appear; `query` matches the type's default text properties. String filter values
compare case-insensitively, enumeration values case-sensitively, and IN/NOT_IN string values must be given in
lowercase (values in upper case never match). Limit messages are the fake's choice.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from sandbox.hubspot_crm import errors, search_index, values
from sandbox.hubspot_crm.http import check_fields
from sandbox.hubspot_crm.models import CrmObject
from sandbox.hubspot_crm.schema import Schema

MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 6, 18
MAX_LIMIT, MAX_RESULTS, MAX_BODY = 200, 10_000, 3_000
OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}
TOKEN = re.compile(r"[\w@.+-]+", re.UNICODE)
# Fields of the spec's `Filter`, `FilterGroup` and sort objects (crm-objects.json `PublicObjectSearchRequest`);
# like the rest of the fake, unknown fields are refused so a misspelt key cannot silently widen a search.
FILTER_FIELDS = ("propertyName", "operator", "value", "highValue", "values")
GROUP_FIELDS = ("filters",)
SORT_FIELDS = ("propertyName", "direction")
DIRECTIONS = ("ASCENDING", "DESCENDING")


@dataclass(frozen=True)
class Filter:
    name: str
    kind: str  # the property's type: string, number, bool, enumeration, date, datetime
    operator: str
    value: str | None
    high: str | None
    values: tuple[str, ...]


@dataclass
class Query:
    groups: list[list[Filter]]
    text: str | None
    sort: tuple[str, bool] | None  # (property name, descending)
    names: list[str]
    limit: int
    offset: int


def _as_str(raw: Any) -> str | None:
    """A filter value as text; an object or array is a 400 (it used to escape as a 500)."""
    try:
        return None if raw is None else values.as_text(raw)
    except values.ValueProblem as exc:
        raise errors.invalid_body(f"filter values must be strings, numbers or booleans: {exc.message}") from None


def _as_list(raw: Any) -> tuple[str, ...]:
    """The `values` of an IN/NOT_IN filter: an array (a bare string must not be split into characters)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise errors.invalid_body(f"filter values must be an array, not {raw!r}")
    return tuple(_as_str(value) or "" for value in raw)


def parse_filter(schema: Schema, raw: Any) -> Filter:
    """One filter, checked against the type's properties and HubSpot's operators."""
    if not isinstance(raw, dict):
        raise errors.invalid_body("filters must be objects")
    check_fields(raw, FILTER_FIELDS, (), "filter")
    name, operator = raw.get("propertyName"), raw.get("operator")
    if operator not in OPERATORS:
        raise errors.validation(f"Unknown filter operator {operator!r}; expected one of {sorted(OPERATORS)}")
    prop = schema.props.get(name) if isinstance(name, str) else None
    if prop is None:
        raise errors.validation(f'Unable to filter on property "{name}": it does not exist on {schema.type_id}')
    value, high = _as_str(raw.get("value")), _as_str(raw.get("highValue"))
    listed = _as_list(raw.get("values"))
    needs_value = operator not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY", "IN", "NOT_IN")
    if needs_value and value is None:
        raise errors.validation(f"The {operator} filter on {name} needs a value")
    if operator == "BETWEEN" and high is None:
        raise errors.validation(f"The BETWEEN filter on {name} needs a highValue")
    if operator in ("IN", "NOT_IN") and not listed:
        raise errors.validation(f"The {operator} filter on {name} needs values")
    return Filter(name, prop.type, operator, value, high, listed)


def _groups(schema: Schema, raw: Any) -> list[list[Filter]]:
    raw = raw or []
    if not isinstance(raw, list) or not all(isinstance(g, dict) for g in raw):
        raise errors.invalid_body("filterGroups must be an array of {filters: [...]} objects")
    for group in raw:
        check_fields(group, GROUP_FIELDS, (), "filter group")
        if not isinstance(group.get("filters") or [], list):
            raise errors.invalid_body("filters must be an array")
    if len(raw) > MAX_GROUPS:
        raise errors.validation(f"Too many filterGroups: {len(raw)}; the maximum is {MAX_GROUPS}")
    groups = [group.get("filters") or [] for group in raw]
    for filters in groups:
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise errors.validation(
                f"Too many filters in a group: {len(filters)}; the maximum is {MAX_FILTERS_PER_GROUP}"
            )
    total = sum(len(filters) for filters in groups)
    if total > MAX_FILTERS:
        raise errors.validation(f"Too many filters: {total}; the maximum is {MAX_FILTERS} across all filterGroups")
    return [[parse_filter(schema, f) for f in filters] for filters in groups]


def _sort(schema: Schema, raw: Any) -> tuple[str, bool] | None:
    raw = raw or []
    if not isinstance(raw, list):
        raise errors.invalid_body("sorts must be an array")
    if len(raw) > 1:
        raise errors.validation(f"Only one sort is allowed; got {len(raw)}")
    if not raw:
        return None
    entry = raw[0]
    if isinstance(entry, str):
        name, descending = entry.lstrip("-"), entry.startswith("-")
    elif isinstance(entry, dict):
        name, descending = _sort_object(entry)
    else:
        raise errors.invalid_body("a sort is a property name or {propertyName, direction}")
    if not isinstance(name, str) or name not in schema.props:
        raise errors.validation(f'Unable to sort on property "{name}": it does not exist on {schema.type_id}')
    return name, descending


def _sort_object(entry: dict[str, Any]) -> tuple[Any, bool]:
    """(property name, descending) of a `{propertyName, direction}` sort; the direction is an enum (§2.3),
    so a typo such as "DESC" is refused rather than silently sorting ascending."""
    check_fields(entry, SORT_FIELDS, ("propertyName",), "sort")
    direction = entry.get("direction", "ASCENDING")
    if direction not in DIRECTIONS:
        raise errors.invalid_body(f"sort direction must be one of {list(DIRECTIONS)}, not {direction!r}")
    return entry["propertyName"], direction == "DESCENDING"


def _paging(data: dict[str, Any]) -> tuple[int, int]:
    limit, after = data.get("limit", 10), data.get("after") or "0"
    if isinstance(limit, str) and limit.isdigit():  # Jackson coerces numeric strings into the int field
        limit = int(limit)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise errors.validation(f"limit must be a non-negative integer, not {limit!r}")
    if limit > MAX_LIMIT:
        raise errors.validation(f"limit must be at most {MAX_LIMIT}; got {limit}")
    if isinstance(after, bool) or not str(after).isdigit():
        raise errors.validation(f"after must be a numeric offset, not {after!r}")
    if int(after) >= MAX_RESULTS:
        raise errors.validation(f"Search results are limited to {MAX_RESULTS}; after={after} pages past them")
    return limit, int(after)


def parse(schema: Schema, data: dict[str, Any]) -> Query:
    """A validated search request."""
    limit, offset = _paging(data)
    names = data.get("properties") or []
    if not isinstance(names, list):
        raise errors.invalid_body("properties must be an array of property names")
    text = data.get("query")
    if text is not None and not isinstance(text, str):
        raise errors.invalid_body("query must be a string")
    return Query(
        _groups(schema, data.get("filterGroups")), text or None, _sort(schema, data.get("sorts")), names, limit, offset
    )


def _tokens(text: str) -> list[str]:
    return [token.lower() for token in TOKEN.findall(text)]


def _matches_token(value: str | None, pattern: str) -> bool:
    if value is None:
        return False
    wanted = pattern.lower()
    return any(fnmatch.fnmatchcase(token, wanted) for token in _tokens(value)) or value.lower() == wanted


def _equal(flt: Filter, value: str, wanted: str) -> bool:
    if flt.kind == "enumeration":
        return value == wanted
    left, right = values.comparable_value(flt.kind, value), values.comparable_value(flt.kind, wanted)
    return left is not None and left == right


def _compare(flt: Filter, value: str | None) -> bool:
    if value is None:
        return False
    left = values.comparable_value(flt.kind, value)
    bounds = [values.comparable_value(flt.kind, v) for v in (flt.value, flt.high) if v is not None]
    if left is None or any(b is None for b in bounds):
        return False
    try:
        if flt.operator == "BETWEEN":
            return bounds[0] <= left <= bounds[1]
        return {"LT": left < bounds[0], "LTE": left <= bounds[0], "GT": left > bounds[0], "GTE": left >= bounds[0]}[
            flt.operator
        ]
    except TypeError:
        return False


def _in(flt: Filter, value: str | None) -> bool:
    if value is None:
        return False
    if flt.kind == "string":  # the docs: IN values of string properties must be lowercase
        return value.lower() in flt.values
    return any(_equal(flt, value, wanted) for wanted in flt.values)


def matches(flt: Filter, props: dict[str, str]) -> bool:
    """Whether a record's indexed properties satisfy one filter."""
    value = props.get(flt.name)
    op = flt.operator
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return (value is not None) == (op == "HAS_PROPERTY")
    if op in ("EQ", "NEQ"):
        equal = value is not None and _equal(flt, value, flt.value or "")
        return equal == (op == "EQ")
    if op in ("IN", "NOT_IN"):
        return _in(flt, value) == (op == "IN")
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        return _matches_token(value, flt.value or "") == (op == "CONTAINS_TOKEN")
    return _compare(flt, value)


def _matches_text(schema: Schema, props: dict[str, str], text: str) -> bool:
    words = _tokens(text)
    haystack = [token for name in schema.spec.query_properties for token in _tokens(props.get(name) or "")]
    return all(any(token.startswith(word) for token in haystack) for word in words)


def _narrow(flt: Filter) -> Q:
    """A database condition that every match of `flt` meets (in current or indexed values); Q() if none."""
    if flt.operator == "HAS_PROPERTY":
        return Q(properties__has_key=flt.name) | Q(indexed_properties__has_key=flt.name)
    if flt.operator != "EQ" or flt.kind not in ("string", "enumeration"):
        return Q()
    lookup = "iexact" if flt.kind == "string" else "exact"
    current = Q(**{f"properties__{flt.name}__{lookup}": flt.value})
    return current | Q(**{f"indexed_properties__{flt.name}__{lookup}": flt.value})


def prefilter(query: Query) -> Q:
    """A superset of the matches that the database can select cheaply; the Python filters then decide."""
    if not query.groups:
        return Q()
    narrowed = Q()
    for group in query.groups:
        condition = Q()
        for flt in group:
            condition &= _narrow(flt)
        if not condition:
            return Q()  # a group the database cannot narrow matches anything
        narrowed |= condition
    return narrowed


def run(schema: Schema, query: Query, stamp: datetime) -> tuple[int, list[tuple[CrmObject, dict[str, str]]]]:
    """(total matches, the requested page of (record, properties as indexed))."""
    rows = CrmObject.objects.filter(hub_id=schema.hub_id, object_type_id=schema.type_id, archived=False)
    rows = rows.filter(prefilter(query))
    hits = []
    for obj in rows.order_by("created_at", "object_id"):
        props = search_index.visible(obj, stamp)
        if props is None:
            continue
        if query.groups and not any(all(matches(f, props) for f in group) for group in query.groups):
            continue
        if query.text and not _matches_text(schema, props, query.text):
            continue
        hits.append((obj, props))
    if query.sort:
        name, descending = query.sort
        kind = schema.props[name].type
        present = [hit for hit in hits if hit[1].get(name) is not None]
        absent = [hit for hit in hits if hit[1].get(name) is None]
        present.sort(key=lambda hit: _sort_value(kind, hit[1][name]), reverse=descending)
        hits = present + absent
    end = min(query.offset + query.limit, MAX_RESULTS)
    return len(hits), hits[query.offset : end]


def _sort_value(kind: str, value: str) -> tuple[int, Any]:
    comparable = values.comparable_value(kind, value)
    return (0, comparable) if isinstance(comparable, int | float) else (1, str(comparable or value))
