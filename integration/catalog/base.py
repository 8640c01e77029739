"""Declarative building blocks of the catalog: fields, mappings, targets and the ObjectSpec itself.

Pure Python on purpose (no Django imports but translation): models, forms, admin, the sync engine and the sandbox all
import it.

Labels, descriptions and hints are declared once, in English, marked with `gettext_noop` where they are declared
(objects.py) so `makemessages` collects them. They stay English as data (audit targets, HubSpot property labels, log
lines); what people read goes through `title`, `display` and `hint`, which translate into the active language.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from django.utils.translation import gettext as _

from integration.catalog import values
from integration.catalog.hubspot import HUBSPOT_OBJECTS
from integration.catalog.values import TransformError

__all__ = [
    "KLEER_ID_PROPERTY",
    "PROPERTY_GROUP",
    "PROPERTY_GROUP_LABEL",
    "Association",
    "DefaultMapping",
    "Direction",
    "Field",
    "FieldType",
    "MappingLike",
    "ObjectSpec",
    "Option",
    "Plan",
    "PropertyDefinition",
    "Target",
    "TransformError",
    "is_custom_property",
    "suggest_property_name",
]

# Every synced HubSpot record carries the Kleer id in this unique custom property (product doc §3, §4).
KLEER_ID_PROPERTY = "kleer_id"
# Custom properties the sync creates live in their own group (DESIGN §4 step 2).
PROPERTY_GROUP = "kleer"
PROPERTY_GROUP_LABEL = "Kleer"
CUSTOM_PREFIX = "kleer_"

Record = MappingABC[str, Any]


class Plan(StrEnum):
    """Which subscription tier unlocks an object type (product doc §8)."""

    FREE = "free"
    PRO = "pro"


class Direction(StrEnum):
    """TWO_WAY types also take HubSpot edits back into Kleer through webhooks (clients, projects)."""

    ONE_WAY = "one_way"
    TWO_WAY = "two_way"


class FieldType(StrEnum):
    """How a Kleer value is turned into a HubSpot property value (see `Field.to_hubspot`)."""

    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"  # Kleer integer öre → currency units, exact Decimal ÷ 100
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    ID = "id"


# FieldType → HubSpot property (type, fieldType); valid pairs per hubspot-api.md §3.
_HUBSPOT_PROPERTY_TYPES: dict[FieldType, tuple[str, str]] = {
    FieldType.STRING: ("string", "text"),
    FieldType.TEXT: ("string", "textarea"),
    FieldType.INTEGER: ("number", "number"),
    FieldType.DECIMAL: ("number", "number"),
    FieldType.MONEY: ("number", "number"),
    FieldType.BOOLEAN: ("bool", "booleancheckbox"),
    FieldType.DATE: ("date", "date"),
    FieldType.DATETIME: ("datetime", "date"),
    FieldType.ENUM: ("enumeration", "select"),
    FieldType.ID: ("string", "text"),
}

_FORMATTERS: dict[FieldType, Callable[[Any], str]] = {
    FieldType.INTEGER: values.format_integer,
    FieldType.DECIMAL: values.format_decimal,
    FieldType.MONEY: values.format_money,
    FieldType.BOOLEAN: values.format_bool,
    FieldType.DATE: values.format_date,
    FieldType.DATETIME: values.format_datetime,
    FieldType.TEXT: str,
    FieldType.STRING: str,
}


def _to_enum_or_text(field_: Field, value: str) -> Any:
    if field_.type is not FieldType.ENUM:
        return value
    key = values.enum_key(value)
    for option in field_.options:
        if key in (values.enum_key(option.value), values.enum_key(option.label)):
            return option.value  # the catalog's option value is Kleer's own spelling
    expected = values.join_names(option.value for option in field_.options)
    raise TransformError(f"unknown value {value!r}; expected one of {expected}")


_PARSERS: dict[FieldType, Callable[[Field, str], Any]] = {
    FieldType.INTEGER: lambda _f, v: values.parse_integer(v),
    FieldType.DECIMAL: lambda _f, v: values.parse_decimal(v),
    FieldType.MONEY: lambda _f, v: values.parse_money(v),
    FieldType.BOOLEAN: lambda _f, v: values.parse_bool(v),
    FieldType.DATE: lambda _f, v: values.format_date(v),
    FieldType.DATETIME: lambda _f, v: values.format_datetime(v),
}


@dataclass(frozen=True)
class Option:
    """One enum option: `value` is what HubSpot stores, `label` what people see."""

    value: str
    label: str


@dataclass(frozen=True)
class Field:
    """One Kleer field as shown in the mappings table: "Label (name)".

    `name` is the Kleer internal name, a dotted path into the record ("address.zip-code", "client-ref.id"),
    or an underscore name for a computed field ("_total_amount") whose value comes from `compute(record)`.
    """

    name: str
    label: str
    type: FieldType
    options: tuple[Option, ...] = ()
    compute: Callable[[Record], Any] | None = None
    description: str = ""
    # False where Kleer ignores the element on update (a client project's name, client and fixed price can
    # only be set when it is created, kleer-api.md §2.7), so a HubSpot edit could never reach Kleer.
    updatable: bool = True

    def __post_init__(self) -> None:
        if self.type is FieldType.ENUM and not self.options:
            raise ValueError(f"enum field {self.name!r} needs options")

    @property
    def is_computed(self) -> bool:
        return self.compute is not None

    @functools.cached_property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))

    @property
    def title(self) -> str:
        """The label in the active language."""
        return _(self.label)

    @property
    def display(self) -> str:
        """ "Label (name)" as the mapping table and the dialog show it, the label in the active language. A label
        that ends in brackets of its own takes the name inside them: "Country (address, address.country)", not
        "Country (address) (address.country)"."""
        title = self.title
        if title.endswith(")") and "(" in title:
            return f"{title[:-1]}, {self.name})"
        return f"{title} ({self.name})"

    @property
    def hint(self) -> str:
        """The description in the active language ("" when none): shown under the field on the tab."""
        return _(self.description) if self.description else ""

    def extract(self, record: Record) -> Any:
        """The raw Kleer value: computed, or found by walking `path`; missing keys and non-dicts give None."""
        if self.compute is not None:
            return self.compute(record)
        current: Any = record
        for key in self.path:
            # `type(...) is dict` first: Kleer's records are plain dicts, and an ABC check costs ten times more.
            if type(current) is not dict and not isinstance(current, MappingABC):
                return None
            current = current.get(key)
        return current

    def to_hubspot(self, value: Any) -> str | None:
        """The HubSpot property string for a raw Kleer value; None (no value) for None and ""."""
        if value is None or value == "":
            return None
        if self.type is FieldType.ENUM:
            return self._enum_value(value)
        if self.type is FieldType.ID:
            value = values.unwrap_id(value)
            # Kleer writes `{"id": 0}` for an unset reference (our-reference, approver; kleer-api.md §1.6).
            return None if value in (None, "", 0, "0") else str(value)
        try:
            return _FORMATTERS[self.type](value)
        except TransformError as exc:
            raise TransformError(f"{self.display}: {exc}") from None

    @functools.cached_property
    def _options_by_key(self) -> dict[str, str]:
        """Option value by the comparison key of its value and of its label (the first option wins a clash)."""
        found: dict[str, str] = {}
        for option in self.options:
            found.setdefault(values.enum_key(option.value), option.value)
            found.setdefault(values.enum_key(option.label), option.value)
        return found

    def _enum_value(self, value: Any) -> str:
        found = self._options_by_key.get(values.enum_key(str(value)))
        if found is not None:
            return found
        expected = values.join_names(option.value for option in self.options)
        raise TransformError(f"{self.display}: unknown value {value!r}; expected one of {expected}")

    # -- HubSpot → Kleer ------------------------------------------------------------------------------------

    @property
    def invertible(self) -> bool:
        """Whether a HubSpot value can be written back to this Kleer field: not computed, not a reference id."""
        return self.compute is None and self.type is not FieldType.ID

    def to_kleer(self, value: str | None) -> Any:
        """The Kleer JSON value for a HubSpot property string (the inverse of `to_hubspot`); None clears it.

        Raises TransformError naming the field for values Kleer cannot take (fractional öre, a number in a
        whole-number field, an option the field does not have)."""
        if not self.invertible:
            raise TransformError(f"{self.display} is computed or a reference and cannot be written to Kleer")
        if value is None or value == "":
            return None
        try:
            return _PARSERS.get(self.type, _to_enum_or_text)(self, value)
        except TransformError as exc:
            raise TransformError(f"{self.display}: {exc}") from None

    def hubspot_property_type(self) -> tuple[str, str]:
        """HubSpot (`type`, `fieldType`) for a custom property that can hold this field's values."""
        return _HUBSPOT_PROPERTY_TYPES[self.type]

    def hubspot_options(self) -> list[dict[str, Any]]:
        """`options` for an enumeration property (empty for other types)."""
        return [
            {"label": option.label, "value": option.value, "displayOrder": index, "hidden": False}
            for index, option in enumerate(self.options)
        ]


@dataclass(frozen=True)
class DefaultMapping:
    """A mapping created on install: Kleer field (None = constant `default_value` only) → HubSpot property."""

    kleer_field: str | None
    hubspot_property: str
    default_value: str = ""


class MappingLike(Protocol):
    """Anything shaped like a mapping: DefaultMapping or the FieldMapping model (kleer_field "" = None)."""

    kleer_field: str | None
    hubspot_property: str
    default_value: str


@dataclass(frozen=True)
class Association:
    """The Kleer field holding the id of another synced record, and that record's catalog key."""

    field: str
    to_object: str


@dataclass(frozen=True)
class Target:
    """One HubSpot object type a Kleer object type may sync to, with its defaults and safety settings.

    `fixed_properties` are written on every create and update whatever the mappings say (e.g. invoices stay
    non-billable). `needs_pipeline` means the portal must pick a pipeline and stage; `requires_payments` means the
    portal needs HubSpot payments or Stripe (commerce subscriptions).
    """

    hubspot_object: str
    label: str
    default_mappings: tuple[DefaultMapping, ...]
    fixed_properties: tuple[tuple[str, str], ...] = ()
    needs_pipeline: bool = False
    requires_payments: bool = False
    # HubSpot properties the app subscribes to (webhooks) on this target, for two-way object types: an edit of
    # one of these in HubSpot reaches us; an edit of any other property never does, so only these can be
    # two-way. The app's webhook subscriptions are generated from this list (`ObjectSpec.webhook_properties`).
    inbound_properties: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """The label in the active language."""
        return _(self.label)

    @property
    def name_property(self) -> str:
        """The HubSpot property that names a record of this object type (for lists in the UI)."""
        return HUBSPOT_OBJECTS[self.hubspot_object].name_property


@dataclass(frozen=True)
class PropertyDefinition:
    """A custom HubSpot property the sync must create, ready for the properties API `PropertyCreate` body."""

    name: str
    label: str
    type: str
    field_type: str
    options: tuple[Option, ...] = ()
    description: str = ""
    has_unique_value: bool = False
    group_name: str = PROPERTY_GROUP

    def as_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": self.group_name,
            "description": self.description,
            "hasUniqueValue": self.has_unique_value,
        }
        if self.options:
            payload["options"] = [
                {"label": o.label, "value": o.value, "displayOrder": i, "hidden": False}
                for i, o in enumerate(self.options)
            ]
        return payload

    @classmethod
    def for_field(cls, name: str, kleer_field: Field) -> PropertyDefinition:
        prop_type, field_type = kleer_field.hubspot_property_type()
        return cls(
            name=name,
            label=f"Kleer {kleer_field.label}",
            type=prop_type,
            field_type=field_type,
            options=kleer_field.options,
            description=kleer_field.description or f"Kleer field {kleer_field.name}, written by the Kleer sync.",
        )


KLEER_ID_DEFINITION = PropertyDefinition(
    name=KLEER_ID_PROPERTY,
    label="Kleer ID",
    type="string",
    field_type="text",
    description="Id of the Kleer record this record mirrors; the sync matches and upserts on it.",
    has_unique_value=True,
)


def is_custom_property(name: str) -> bool:
    """Custom properties the sync creates are namespaced `kleer_`; everything else is HubSpot-defined."""
    return name.startswith(CUSTOM_PREFIX)


def suggest_property_name(kleer_field: str) -> str:
    """The internal name offered by "Create new property": "address.zip-code" → "kleer_address_zip_code"."""
    slug = re.sub(r"[^a-z0-9]+", "_", kleer_field.lower()).strip("_")
    return f"{CUSTOM_PREFIX}{slug}"[:100]


def _mapping_field(mapping: MappingLike) -> str | None:
    return mapping.kleer_field or None


@dataclass(frozen=True)
class ObjectSpec:
    """Everything the product knows about one Kleer object type, declared once.

    The field catalogue (with computed fields), the HubSpot objects it may sync to (first = default) and their
    default mappings, required mappings, associations to other synced types, the record filter, dependencies on
    other types, plan, direction and schedule. Models derive their choices from the registry of these specs, and
    the generic sync engine reads them instead of having per-object code.
    """

    key: str
    label: str
    plan: Plan
    direction: Direction
    interval_minutes: int
    fields: tuple[Field, ...]
    targets: tuple[Target, ...]
    required_fields: tuple[str, ...] = ()
    associations: tuple[Association, ...] = ()
    include: Callable[[Record], bool] | None = None
    # Records that may update their HubSpot record but never create one (an invoice deleted in Kleer is voided
    # in HubSpot if it is there, and skipped if it never was).
    update_only: Callable[[Record], bool] | None = None
    depends_on: tuple[str, ...] = ()
    synced_with: tuple[str, ...] = ()
    kleer_id_field: str = "id"
    # The record's path under /company/{id}/ for reading one and updating it (kleer-api.md §2.3, §2.7).
    kleer_resource: str = ""
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        """Fail at import time on a catalog typo rather than at sync time in a customer's portal."""
        names = [f.name for f in self.fields]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"{self.key}: duplicate fields {sorted(duplicates)}")
        if not self.targets:
            raise ValueError(f"{self.key}: needs at least one target")
        for target in self.targets:
            for mapping in target.default_mappings:
                if mapping.kleer_field is None and not mapping.default_value:
                    raise ValueError(f"{self.key}: constant mapping to {mapping.hubspot_property} needs a value")
                if mapping.kleer_field is not None:
                    self.field(mapping.kleer_field)
        for name in (*self.required_fields, *(a.field for a in self.associations)):
            self.field(name)

    # -- fields --------------------------------------------------------------------------------------------

    @functools.cached_property
    def _fields_by_name(self) -> dict[str, Field]:
        return {f.name: f for f in reversed(self.fields)}  # the first of a name wins, as a search would find it

    def field(self, name: str) -> Field:
        found = self._fields_by_name.get(name)
        if found is not None:
            return found
        raise KeyError(
            f"unknown field {name!r} for {self.key}; expected one of {values.join_names(f.name for f in self.fields)}"
        )

    def has_field(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)

    @property
    def mappable_fields(self) -> tuple[Field, ...]:
        """Every field a mapping may use: plain Kleer fields first, then computed ones."""
        return tuple(f for f in self.fields if not f.is_computed) + tuple(f for f in self.fields if f.is_computed)

    # -- targets -------------------------------------------------------------------------------------------

    @property
    def default_target(self) -> Target:
        return self.targets[0]

    @property
    def allowed_targets(self) -> tuple[str, ...]:
        return tuple(t.hubspot_object for t in self.targets)

    def target(self, hubspot_object: str) -> Target:
        for candidate in self.targets:
            if candidate.hubspot_object == hubspot_object:
                return candidate
        raise KeyError(
            f"{self.label} cannot sync to HubSpot {hubspot_object!r}; "
            f"allowed: {values.join_names(self.allowed_targets)}"
        )

    @property
    def title(self) -> str:
        """The label in the active language (tab names, headings)."""
        return _(self.label)

    def target_unavailable_message(self, hubspot_object: str) -> str:
        """What to tell a customer whose HubSpot portal lacks `hubspot_object` (HubSpot answered 403
        FEATURE_NOT_ENABLED): subscriptions need HubSpot Payments or Stripe, projects the Projects tool."""
        target = self.target(hubspot_object)
        others = _(" or ").join(t.title for t in self.targets if t.hubspot_object != hubspot_object)
        values_ = {"target": target.title, "label": self.title.lower(), "others": others}
        if target.requires_payments and others:
            message = _(
                "This HubSpot portal has no %(target)s: that needs HubSpot Payments or Stripe. Set it up in "
                "HubSpot, or sync %(label)s to %(others)s instead."
            )
        elif target.requires_payments:
            message = _(
                "This HubSpot portal has no %(target)s: that needs HubSpot Payments or Stripe. Set it up in "
                "HubSpot first."
            )
        elif others:
            message = _(
                "This HubSpot portal has no %(target)s: that needs the %(target)s tool. Set it up in HubSpot, or "
                "sync %(label)s to %(others)s instead."
            )
        else:
            message = _(
                "This HubSpot portal has no %(target)s: that needs the %(target)s tool. Set it up in HubSpot first."
            )
        return message % values_

    def custom_properties(
        self, target: Target | str, *, include_kleer_id: bool = True
    ) -> tuple[PropertyDefinition, ...]:
        """Custom `kleer_…` properties the target's default mappings need, typed from their Kleer fields.

        `kleer_id` (unique) comes first unless excluded; standard HubSpot properties are not listed.
        """
        resolved = self.target(target) if isinstance(target, str) else target
        definitions = [KLEER_ID_DEFINITION] if include_kleer_id else []
        for mapping in resolved.default_mappings:
            if is_custom_property(mapping.hubspot_property):
                definitions.append(self.property_definition(mapping.hubspot_property, mapping.kleer_field))
        return tuple(definitions)

    def property_definition(self, name: str, kleer_field: str | None) -> PropertyDefinition:
        """Definition for a new custom property fed by `kleer_field` (None: a constant, so a text property)."""
        if kleer_field is None:
            return PropertyDefinition(
                name=name, label=f"Kleer {name.removeprefix(CUSTOM_PREFIX)}", type="string", field_type="text"
            )
        return PropertyDefinition.for_field(name, self.field(kleer_field))

    # -- direction ---------------------------------------------------------------------------------------------

    @property
    def two_way(self) -> bool:
        return self.direction is Direction.TWO_WAY

    def one_way_reason(self, hubspot_object: str, kleer_field: str | None, hubspot_property: str) -> str | None:
        """Why a mapping cannot be two-way (None: it can), in words a customer understands."""
        if not self.two_way:
            return _("%(label)s sync from Kleer to HubSpot only.") % {"label": self.title}
        if not kleer_field:
            return _("A constant has no Kleer field to write back to.")
        field_ = self.field(kleer_field)
        if field_.is_computed:
            return _("%(field)s is calculated by the integration, so it cannot be edited in HubSpot.") % {
                "field": field_.title
            }
        if not field_.invertible:
            return _("%(field)s is a Kleer reference and cannot be changed from HubSpot.") % {"field": field_.title}
        if not field_.updatable:
            return _("Kleer sets %(field)s only when the record is created, so HubSpot edits cannot change it.") % {
                "field": field_.title.lower()
            }
        target = self.target(hubspot_object)
        if not target.inbound_properties:
            others = _(" or ").join(t.title for t in self.targets if t.inbound_properties)
            if others:
                return _(
                    "HubSpot sends apps no change notifications for %(target)s; sync %(label)s to %(others)s for "
                    "two-way."
                ) % {"target": target.title, "label": self.title.lower(), "others": others}
            return _("HubSpot sends apps no change notifications for %(target)s.") % {"target": target.title}
        if hubspot_property not in target.inbound_properties:
            return _(
                "HubSpot does not notify the app about changes to %(property)s: only the properties the app "
                "subscribed to when it was published can send edits back to Kleer."
            ) % {"property": repr(hubspot_property)}
        return None

    def default_direction(self, hubspot_object: str, mapping: MappingLike) -> Direction:
        """Two-way where the mapping can be (the incumbent's trigger list), one-way otherwise."""
        reason = self.one_way_reason(hubspot_object, _mapping_field(mapping), mapping.hubspot_property)
        return Direction.ONE_WAY if reason else Direction.TWO_WAY

    def kleer_values_for(self, changes: MappingABC[str, str | None], mappings: Iterable[MappingLike]) -> dict[str, Any]:
        """Kleer field → value for HubSpot property changes, through the two-way mappings' inverse transforms.

        Only fields of mappings in `mappings` (the caller passes the two-way ones) whose HubSpot property is in
        `changes` are returned. Raises TransformError for a value Kleer cannot take or a required field cleared."""
        found: dict[str, Any] = {}
        for mapping in mappings:
            name = _mapping_field(mapping)
            if name is None or mapping.hubspot_property not in changes:
                continue
            value = self.field(name).to_kleer(changes[mapping.hubspot_property])
            if value is None and name in self.required_fields:
                raise TransformError(f"{self.field(name).display} is required in Kleer and cannot be emptied")
            found[name] = value
        return found

    # -- records -------------------------------------------------------------------------------------------

    def kleer_id(self, record: Record) -> str | None:
        """The record's Kleer id as a string; tolerates wrapped ids (`{"id": {"id": 7}}` on client projects)."""
        value = values.unwrap_id(record.get(self.kleer_id_field))
        return None if value is None or value == "" else str(value)

    def includes(self, record: Record) -> bool:
        return self.include is None or self.include(record)

    def properties_for(self, record: Record, mappings: Iterable[MappingLike], target: Target | str) -> dict[str, str]:
        """HubSpot properties for one record: each mapping's value (or its default), then the fixed properties.

        A mapping with no value and no default is left out rather than sent as "" so that a blank Kleer field
        never wipes what a user typed into HubSpot. Raises TransformError for values that cannot be converted.
        """
        resolved = self.target(target) if isinstance(target, str) else target
        properties: dict[str, str] = {}
        for mapping in mappings:
            name = _mapping_field(mapping)
            value = None
            if name is not None:
                kleer_field = self.field(name)
                value = kleer_field.to_hubspot(kleer_field.extract(record))
            if value is None and mapping.default_value:
                value = mapping.default_value
            if value is not None:
                properties[mapping.hubspot_property] = value
        properties.update(dict(resolved.fixed_properties))
        return properties
