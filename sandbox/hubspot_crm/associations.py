"""Association edges between records, with HubSpot's rules.

Both directions are always stored: creating deal -> company (341) also stores company -> deal (342), using the
HubSpot-defined reverse ids (hubspot-api.md §4.2,
https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associate-records/guide).
Rules (§4.2 notes, §10.6): products cannot be associated with anything; a line item has one parent among
deal, invoice and subscription (quotes are not modelled); a type id must be valid for the object pair.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

from sandbox.hubspot.gateway import HubSpotError
from sandbox.hubspot_crm import errors, registry
from sandbox.hubspot_crm.models import Association, CrmObject
from sandbox.hubspot_crm.registry import OBJECT_TYPES, AssociationTypeSpec

CATEGORIES = ("HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED", "WORK")
# "A line item belongs to exactly one parent" is documented as guidance, not as an error HubSpot sends; refusing a
# second parent with 400 is the fake's choice (hubspot-api.md §4.2 notes, §10.6 "strict-mode flag"). Switch it here.
SINGLE_PARENT_STRICT = True


@dataclass(frozen=True)
class Edge:
    """An association to create: `source` -[spec]-> `target`."""

    source: CrmObject
    target: CrmObject
    spec: AssociationTypeSpec


def live(hub_id: int, type_id: str, object_id: Any) -> CrmObject | None:
    """The live record `object_id` (any spelling) of `type_id`, or None."""
    try:
        number = int(str(object_id))
    except ValueError:
        return None
    return CrmObject.objects.filter(hub_id=hub_id, object_type_id=type_id, object_id=number, archived=False).first()


def missing(type_id: str, object_id: Any) -> HubSpotError:
    """404 for a record that does not exist (or is archived)."""
    name = OBJECT_TYPES[type_id].error_name
    return errors.not_found(f"No {name} with id {object_id} exists", context={"ids": [str(object_id)]})


def refuse_products(type_id: str) -> None:
    """400: "Products themselves can't be associated with other CRM objects" (products guide)."""
    if type_id == registry.PRODUCTS:
        raise errors.validation(
            "Products can't be associated with other objects. Create a line item with hs_product_id instead."
        )


def check_pair(from_type: str, to_type: str) -> None:
    """400 when HubSpot never associates these two object types."""
    refuse_products(from_type)
    refuse_products(to_type)
    if not registry.association_types(from_type, to_type):
        raise errors.validation(f"Associations from {from_type} to {to_type} are not supported")


def spec_for(from_type: str, to_type: str, category: Any, type_id: Any) -> AssociationTypeSpec:
    """The association type a request names, or 400 when it is not valid for the pair."""
    check_pair(from_type, to_type)
    spec = None
    if category == "HUBSPOT_DEFINED" and isinstance(type_id, int) and not isinstance(type_id, bool):
        spec = registry.association_type(from_type, type_id)
    if category not in CATEGORIES:
        raise errors.validation(f"Unknown associationCategory {category!r}; expected one of {', '.join(CATEGORIES)}")
    if spec is None or spec.to_type != to_type:
        raise errors.validation(
            f"{category} association type {type_id} is not valid from {from_type} to {to_type}",
            context={"associationTypeId": [str(type_id)]},
        )
    return spec


def default_spec(from_type: str, to_type: str) -> AssociationTypeSpec:
    """The unlabelled type used by the `default` endpoints, or 400 when the pair has none."""
    check_pair(from_type, to_type)
    spec = registry.default_association_type(from_type, to_type)
    if spec is None:
        raise errors.validation(f"There is no default association type from {from_type} to {to_type}")
    return spec


def _parent_of(line_item: CrmObject, parent: CrmObject) -> None:
    other = (
        Association.objects.filter(
            hub_id=line_item.hub_id, from_id=line_item.object_id, to_type_id__in=registry.LINE_ITEM_PARENTS
        )
        .exclude(to_id=parent.object_id)
        .first()
    )
    if other is not None:
        raise errors.validation(
            f"Line item {line_item.object_id} already belongs to {OBJECT_TYPES[other.to_type_id].singular} "
            f"{other.to_id}; a line item can belong to only one deal, invoice, quote or subscription. "
            "Create a separate line item instead."
        )


def check_single_parent(edge: Edge) -> None:
    """400 when the edge would give a line item a second parent (unless SINGLE_PARENT_STRICT is off)."""
    if not SINGLE_PARENT_STRICT:
        return
    pairs = ((edge.source, edge.target), (edge.target, edge.source))
    for line_item, parent in pairs:
        if line_item.object_type_id == registry.LINE_ITEMS and parent.object_type_id in registry.LINE_ITEM_PARENTS:
            _parent_of(line_item, parent)


def create(edge: Edge) -> None:
    """Store `edge` and its inverse (idempotent)."""
    check_single_parent(edge)
    Association.objects.bulk_create(rows(edge.source, edge.target, edge.spec), ignore_conflicts=True)


class RecordKey(Protocol):
    """What an edge needs of a record: a `CrmObject`, or the identity the set-based path reads (`bulk_edges`)."""

    hub_id: int
    object_type_id: str
    object_id: int


def inverse_label(spec: AssociationTypeSpec) -> str:
    """The label of the inverse edge of an association of type `spec` ("" when unlabelled)."""
    inverse = registry.association_type(spec.to_type, spec.inverse_id)
    return (inverse.label or "") if inverse else ""


def rows(source: RecordKey, target: RecordKey, spec: AssociationTypeSpec) -> list[Association]:
    """The two edge rows (forward and inverse) of an association of type `spec` from `source` to `target`."""
    return [
        Association(
            hub_id=source.hub_id,
            from_type_id=source.object_type_id,
            from_id=source.object_id,
            to_type_id=target.object_type_id,
            to_id=target.object_id,
            type_id=spec.type_id,
            category="HUBSPOT_DEFINED",
            label=spec.label or "",
        ),
        Association(
            hub_id=source.hub_id,
            from_type_id=target.object_type_id,
            from_id=target.object_id,
            to_type_id=source.object_type_id,
            to_id=source.object_id,
            type_id=spec.inverse_id,
            category="HUBSPOT_DEFINED",
            label=inverse_label(spec),
        ),
    ]


def remove_pair(hub_id: int, a_id: int, b_id: int) -> int:
    """Delete every association between two records, both directions."""
    forward = Association.objects.filter(hub_id=hub_id, from_id=a_id, to_id=b_id)
    backward = Association.objects.filter(hub_id=hub_id, from_id=b_id, to_id=a_id)
    return forward.delete()[0] + backward.delete()[0]


def remove_types(source: CrmObject, target: CrmObject, type_ids: set[int]) -> None:
    """Delete the given types from `source` to `target` and the inverses no remaining edge still implies.

    Deleting the unlabelled (default) type deletes every association between the two records, as HubSpot's
    batch/labels/archive documents.
    """
    hub_id = source.hub_id
    defaults = {
        s.type_id for s in registry.association_types(source.object_type_id, target.object_type_id) if s.default
    }
    if type_ids & defaults:
        remove_pair(hub_id, source.object_id, target.object_id)
        return
    Association.objects.filter(
        hub_id=hub_id, from_id=source.object_id, to_id=target.object_id, type_id__in=type_ids
    ).delete()
    remaining = Association.objects.filter(hub_id=hub_id, from_id=source.object_id, to_id=target.object_id)
    still_implied = {
        spec.inverse_id
        for edge in remaining
        if (spec := registry.association_type(source.object_type_id, edge.type_id)) is not None
    }
    dropped = {spec.inverse_id for t in type_ids if (spec := registry.association_type(source.object_type_id, t))}
    Association.objects.filter(
        hub_id=hub_id, from_id=target.object_id, to_id=source.object_id, type_id__in=dropped - still_implied
    ).delete()


def remove_all_of(obj: CrmObject) -> None:
    """Drop every association of a record being archived."""
    Association.objects.filter(hub_id=obj.hub_id, from_id=obj.object_id).delete()
    Association.objects.filter(hub_id=obj.hub_id, to_id=obj.object_id).delete()


def edges_from(hub_id: int, from_id: int, to_type: str | None = None) -> list[Association]:
    """Edges leaving record `from_id` (optionally only to `to_type`), by target id then type id."""
    rows = Association.objects.filter(hub_id=hub_id, from_id=from_id)
    if to_type is not None:
        rows = rows.filter(to_type_id=to_type)
    return list(rows.order_by("to_id", "type_id"))


def grouped(edges: list[Association]) -> list[tuple[int, list[Association]]]:
    """Edges grouped by target id, in target id order."""
    groups: dict[int, list[Association]] = defaultdict(list)
    for edge in edges:
        groups[edge.to_id].append(edge)
    return sorted(groups.items())


def types_json(edges: list[Association]) -> list[dict[str, Any]]:
    """`associationTypes` of a `MultiAssociatedObjectWithLabel`."""
    return [{"category": edge.category, "typeId": edge.type_id, "label": edge.label or None} for edge in edges]


def labels_json(hub_id: int, from_id: int, to_id: int) -> list[str]:
    """The labels between two records (`LabelsBetweenObjectPair.labels`)."""
    rows = Association.objects.filter(hub_id=hub_id, from_id=from_id, to_id=to_id).exclude(label="")
    return sorted({row.label for row in rows if row.label})


def count(hub_id: int, from_id: int, to_type: str) -> int:
    """How many distinct records of `to_type` the record is associated with."""
    return (
        Association.objects.filter(hub_id=hub_id, from_id=from_id, to_type_id=to_type)
        .values("to_id")
        .distinct()
        .count()
    )
