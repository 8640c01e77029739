"""The sentence a customer reads for a record that did not sync: which record, which field (Kleer label and
HubSpot label), what was wrong and what to do. The vendor's raw answer stays in RecordError.message for support.

HubSpot's validation errors name the property and a code per problem: `errors[].code` and
`errors[].context.propertyName` (https://developers.hubspot.com/docs/api-reference/error-handling,
hubspot-api.md §6.4); a 207 error or a 400 whose `errors` list is missing still embeds the same facts as JSON
in its message ("Property values were not valid: [{"isValid":false,"error":"INVALID_INTEGER","name":…}]").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from integration import catalog

EMBEDDED = "Property values were not valid: "


@dataclass(frozen=True)
class Problem:
    """One property HubSpot refused: its internal name, HubSpot's code and HubSpot's own words."""

    name: str
    code: str
    message: str


def problems_from(details: Sequence[Mapping[str, Any]], message: str) -> list[Problem]:
    """The per-property problems of one HubSpot error: from `errors[]`, else from the JSON in its message."""
    found = []
    for detail in details:
        names = (detail.get("context") or {}).get("propertyName") or [""]
        found += [Problem(str(n), str(detail.get("code", "")), str(detail.get("message", ""))) for n in names]
    if found or EMBEDDED not in message:
        return found
    try:
        embedded = json.loads(message.split(EMBEDDED, 1)[1])
    except ValueError:
        return []
    return [
        Problem(str(e.get("name", "")), str(e.get("error", "")), str(e.get("message", "")))
        for e in embedded
        if isinstance(e, dict)
    ]


def record_title(spec: catalog.ObjectSpec, record: Mapping[str, Any], kleer_id: str) -> str:
    """How the customer knows the record: client "Acme AB" (no. 1001), invoice 5001, …"""
    name = record.get("name") if isinstance(record.get("name"), str) else ""
    titles = {
        "clients": _('client "%(name)s" (no. %(id)s)') if name else _("client no. %(id)s"),
        "invoices": _("invoice %(number)s"),
        "agreements": _("agreement %(id)s"),
        "products": _('product "%(name)s" (%(id)s)') if name else _("product %(id)s"),
        "projects": _('project "%(name)s" (no. %(number)s)') if name else _("project no. %(number)s"),
        "line_items": _("line item %(id)s"),
    }
    number = record.get("invoice-nr") or record.get("number") or kleer_id
    template = titles.get(spec.key, "%(id)s")
    return template % {"name": name, "id": kleer_id, "number": number}


def _wrong(problem: Problem, value: str, hubspot_label: str) -> str:
    texts = {
        "INVALID_INTEGER": _('"%(value)s" is not a number, and %(label)s is a number property in HubSpot'),
        "INVALID_OPTION": _('"%(value)s" is not one of the options of %(label)s in HubSpot'),
        "INVALID_BOOLEAN": _('"%(value)s" is not yes/no (true or false), which %(label)s takes in HubSpot'),
        "INVALID_DATE": _('"%(value)s" is not a date HubSpot accepts for %(label)s'),
        "INVALID_DATETIME": _('"%(value)s" is not a date and time HubSpot accepts for %(label)s'),
        "PROPERTY_DOESNT_EXIST": _("the HubSpot property %(label)s does not exist (deleted or renamed in HubSpot)"),
    }
    text = texts.get(problem.code) or _('HubSpot refused "%(value)s" for %(label)s: %(message)s')
    return text % {"value": value, "label": hubspot_label, "message": problem.message}


def _todo(problem: Problem, mapping: catalog.MappingLike | None, from_default: bool, kleer_label: str) -> str:
    if problem.code == "PROPERTY_DOESNT_EXIST":
        return _(
            "Choose an existing HubSpot property for this mapping on this tab, or delete the mapping; properties "
            "named kleer_… are created again by the next sync."
        )
    if from_default:
        return _("Change the default value of this mapping on this tab.")
    if problem.code == "INVALID_OPTION":
        return _(
            "Add the value as an option of the property in HubSpot (Settings → Properties), or correct %(field)s in "
            "Kleer."
        ) % {"field": kleer_label}
    return _("Correct %(field)s in Kleer, or map it to a HubSpot property of a type that fits.") % {
        "field": kleer_label
    }


def hubspot_error_text(
    *,
    spec: catalog.ObjectSpec,
    record: Mapping[str, Any],
    kleer_id: str,
    sent: Mapping[str, str],
    mappings: Sequence[catalog.MappingLike],
    problems: Sequence[Problem],
    property_labels: Mapping[str, str],
    category: str,
) -> str:
    """The customer's sentence for a record HubSpot refused (one clause per refused property)."""
    title = record_title(spec, record, kleer_id)
    if not problems:
        return _(
            "HubSpot did not accept %(record)s (%(category)s). It is retried automatically; if it keeps failing, "
            "contact support, who can see HubSpot's full answer."
        ) % {"record": title, "category": category or _("no reason given")}
    by_property = {m.hubspot_property: m for m in mappings}
    clauses = []
    for problem in problems:
        mapping = by_property.get(problem.name)
        kleer_name = getattr(mapping, "kleer_field", "") if mapping else ""
        kleer_label = spec.field(kleer_name).label if kleer_name and spec.has_field(kleer_name) else ""
        hubspot_label = property_labels.get(problem.name) or problem.name
        value = sent.get(problem.name, "")
        default = getattr(mapping, "default_value", "") if mapping else ""
        from_default = mapping is not None and (not kleer_name or (bool(default) and value == default))
        field_text = (
            _("%(kleer)s (Kleer) → %(hubspot)s (HubSpot)") % {"kleer": kleer_label, "hubspot": hubspot_label}
            if kleer_label
            else _("%(hubspot)s (HubSpot, the mapping's default value)") % {"hubspot": hubspot_label}
            if from_default
            else hubspot_label
        )
        clauses.append(
            _("%(field)s: %(wrong)s. %(todo)s")
            % {
                "field": field_text,
                "wrong": _wrong(problem, value, hubspot_label),
                "todo": _todo(problem, mapping, from_default, kleer_label),
            }
        )
    head = _("HubSpot did not accept %(record)s.") % {"record": title}
    return " ".join([head, *clauses, _("The record is retried automatically after the fix.")])


def transform_error_text(*, spec: catalog.ObjectSpec, record: Mapping[str, Any], kleer_id: str, message: str) -> str:
    """The customer's sentence for a record the catalog could not convert (the catalog's message says what)."""
    return _("%(record)s could not be prepared for HubSpot: %(message)s. Correct the record in Kleer.") % {
        "record": record_title(spec, record, kleer_id)[:1].upper() + record_title(spec, record, kleer_id)[1:],
        "message": message.rstrip("."),
    }


def inbound_error_text(
    *, spec: catalog.ObjectSpec, kleer_id: str, hubspot_id: str, properties: Sequence[str], reason: str, retried: bool
) -> str:
    """The customer's sentence for a HubSpot edit Kleer did not take (`reason` is Kleer's or the catalog's own
    message, without the service prefix)."""
    record = record_title(spec, {}, kleer_id) if not kleer_id.startswith("hubspot:") else _("a new record")
    values = {
        "record": record,
        "hubspot_id": hubspot_id,
        "properties": ", ".join(properties) or _("its properties"),
        "reason": reason.rstrip("."),
    }
    if retried:
        return (
            _(
                "Your HubSpot edit of %(properties)s on %(record)s (HubSpot record %(hubspot_id)s) did not reach "
                "Kleer: Kleer did not answer after several tries (%(reason)s). Edit the record again later; "
                "nothing was lost in HubSpot."
            )
            % values
        )
    return (
        _(
            "Kleer refused your HubSpot edit of %(properties)s on %(record)s (HubSpot record %(hubspot_id)s): "
            "%(reason)s. Correct the value in HubSpot; the next edit is sent to Kleer again."
        )
        % values
    )
