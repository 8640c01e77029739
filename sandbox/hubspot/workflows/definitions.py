"""The app's custom workflow actions (`workflow-actions/*-hsmeta.json`, developer platform 2025.2+), validated
and stored.

Reference: https://developers.hubspot.com/docs/apps/developer-platform/add-features/custom-workflow-actions
(hubspot-api.md §8.2) and HubSpot's spec `automation-actions.json` (`PublicActionDefinitionEgg`,
`PublicInputFieldDefinition`, `PublicFieldTypeDefinition`, `OutputFieldDefinition`, `PublicActionLabels`). A file
is `{"uid", "type": "workflow-action", "config": {"actionUrl", "isPublished", "supportedClients": [{"client":
"WORKFLOWS"}], "objectTypes", "inputFields", "outputFields"?, "labels": {"en": {"actionName",
"inputFieldLabels", …}}, …}}`. Uploading (`PUT /_fake/apps/workflow-actions` or `workflow_actions_deploy`) plays
`hs project upload`: an invalid file is refused with a message naming the field, and nothing changes.

Fake's readings, because HubSpot does not document them: unknown fields are refused; `actionUrl` must be https
except on localhost / 127.0.0.1 (HubSpot wants public https; the fake calls local receivers); the English labels
must name the action and label every input field; `objectTypes` are HubSpot's upper-case workflow type names.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Max

from sandbox.hubspot import clock
from sandbox.hubspot.models import WorkflowActionDefinition

COMPONENT_TYPE = "workflow-action"
UID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # [unverified] HubSpot's uid rule; the docs use snake_case
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})
FIRST_DEFINITION_ID = 5_400_001  # [unverified] HubSpot's ids are numbers (as strings in the API); any will do
# The workflow object types a custom action may enrol (`objectTypes`). The fake runs actions only on the types its
# CRM models (`OBJECT_TYPE_NAMES` in `execution.py`); the others are accepted in the file, as HubSpot would.
OBJECT_TYPES = frozenset(
    {"CONTACT", "COMPANY", "DEAL", "TICKET", "QUOTE", "LINE_ITEM", "PRODUCT", "INVOICE", "SUBSCRIPTION"}
)
# `PublicFieldTypeDefinition` enums.
FIELD_TYPES = frozenset(
    {"bool", "date", "datetime", "enumeration", "json", "number", "object_coordinates", "phone_number", "string"}
)
FIELD_UI_TYPES = frozenset(
    {
        "booleancheckbox",
        "calculation_equation",
        "checkbox",
        "date",
        "file",
        "html",
        "number",
        "phonenumber",
        "radio",
        "select",
        "text",
        "textarea",
    }
)
VALUE_TYPES = frozenset({"STATIC_VALUE", "OBJECT_PROPERTY"})
CLIENTS = frozenset({"WORKFLOWS"})
_CONFIG_FIELDS = {
    "actionUrl",
    "isPublished",
    "supportedClients",
    "objectTypes",
    "inputFields",
    "outputFields",
    "labels",
    "objectRequestOptions",
    "inputFieldDependencies",
    "executionRules",
}
_TYPE_DEFINITION_FIELDS = {
    "name",
    "type",
    "fieldType",
    "options",
    "description",
    "helpText",
    "label",
    "optionsUrl",
    "referencedObjectType",
}
_LABEL_FIELDS = {
    "actionName",
    "actionDescription",
    "actionCardContent",
    "appDisplayName",
    "executionRules",
    "inputFieldDescriptions",
    "inputFieldLabels",
    "inputFieldOptionLabels",
    "outputFieldLabels",
}
_LOCALE = re.compile(r"^[a-z]{2}(-[a-z]{2})?$")


class DefinitionError(ValueError):
    """An invalid workflow-action file; the message names the field (answered 400 by the control endpoint)."""


# -- validation ----------------------------------------------------------------------------------------


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DefinitionError(f"{where} must be an object")
    return value


def _list(value: Any, where: str, *, non_empty: bool = False) -> list[Any]:
    if not isinstance(value, list):
        raise DefinitionError(f"{where} must be an array")
    if non_empty and not value:
        raise DefinitionError(f"{where} must not be empty")
    return value


def _no_unknown(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise DefinitionError(f"{where} has unknown field(s): {', '.join(unknown)}")


def _text(data: dict[str, Any], name: str, where: str) -> str:
    value = data.get(name)
    if value is None:
        raise DefinitionError(f"{where}.{name} is required")
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError(f"{where}.{name} must be a non-empty string")
    return value


def _bool(data: dict[str, Any], name: str, where: str) -> bool:
    if name not in data:
        raise DefinitionError(f"{where}.{name} is required")
    if not isinstance(data[name], bool):
        raise DefinitionError(f"{where}.{name} must be true or false")
    return data[name]


def validate_action_url(url: Any, where: str = "config.actionUrl") -> str:
    """An absolute https URL, or http on localhost / 127.0.0.1 (the fake's local receivers)."""
    if not isinstance(url, str) or not url:
        raise DefinitionError(f"{where} is required")
    parts = urlsplit(url)
    local = parts.hostname in LOCAL_HOSTS
    if not parts.netloc or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        raise DefinitionError(f"{where} must be an https URL (http only on localhost or 127.0.0.1), not {url!r}")
    return url


def _options(definition: dict[str, Any], where: str) -> list[str]:
    """The option values of a field; enumeration fields need at least one `{label, value}`."""
    raw = definition.get("options")
    if raw is None:
        if definition.get("type") == "enumeration" and not definition.get("optionsUrl"):
            raise DefinitionError(f"{where}.options is required for an enumeration field")
        return []
    values: list[str] = []
    for index, option in enumerate(_list(raw, f"{where}.options", non_empty=definition.get("type") == "enumeration")):
        spot = f"{where}.options[{index}]"
        option = _object(option, spot)
        _no_unknown(option, {"label", "value", "description", "displayOrder"}, spot)
        _text(option, "label", spot)
        value = _text(option, "value", spot)
        if value in values:
            raise DefinitionError(f"{spot}.value {value!r} repeats an earlier option")
        values.append(value)
    return values


def validate_type_definition(raw: Any, where: str) -> dict[str, Any]:
    """`typeDefinition`: `name`, `type` and `fieldType` from HubSpot's enums, `options` for enumerations."""
    where = f"{where}.typeDefinition"
    data = _object(raw, where)
    _no_unknown(data, _TYPE_DEFINITION_FIELDS, where)
    _text(data, "name", where)
    if data.get("type") not in FIELD_TYPES:
        raise DefinitionError(f"{where}.type must be one of {', '.join(sorted(FIELD_TYPES))}, not {data.get('type')!r}")
    if data.get("fieldType") not in FIELD_UI_TYPES:
        raise DefinitionError(
            f"{where}.fieldType must be one of {', '.join(sorted(FIELD_UI_TYPES))}, not {data.get('fieldType')!r}"
        )
    _options(data, where)
    return data


def _input_field(raw: Any, index: int) -> dict[str, Any]:
    where = f"config.inputFields[{index}]"
    data = _object(raw, where)
    _no_unknown(data, {"typeDefinition", "isRequired", "supportedValueTypes"}, where)
    if "typeDefinition" not in data:
        raise DefinitionError(f"{where}.typeDefinition is required")
    validate_type_definition(data["typeDefinition"], where)
    _bool(data, "isRequired", where)
    if "supportedValueTypes" in data:
        kinds = _list(data["supportedValueTypes"], f"{where}.supportedValueTypes", non_empty=True)
        wrong = [kind for kind in kinds if kind not in VALUE_TYPES]
        if wrong:
            raise DefinitionError(f"{where}.supportedValueTypes may hold STATIC_VALUE and OBJECT_PROPERTY, not {wrong}")
    return data


def _fields(raw: Any, name: str, *, required: bool) -> list[dict[str, Any]]:
    """`inputFields` or `outputFields`, each with a unique `typeDefinition.name`."""
    if raw is None:
        if required:
            raise DefinitionError(f"config.{name} is required")
        return []
    items = _list(raw, f"config.{name}")
    fields: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if name == "inputFields":
            field = _input_field(item, index)
        else:
            field = _object(item, f"config.{name}[{index}]")
            _no_unknown(field, {"typeDefinition"}, f"config.{name}[{index}]")
            validate_type_definition(field.get("typeDefinition"), f"config.{name}[{index}]")
        field_name = field["typeDefinition"]["name"]
        if field_name in seen:
            raise DefinitionError(f"config.{name}[{index}].typeDefinition.name {field_name!r} is used twice")
        seen.add(field_name)
        fields.append(field)
    return fields


def _names_known(mapping: Any, known: set[str], where: str) -> None:
    stray = sorted(set(_object(mapping, where)) - known)
    if stray:
        raise DefinitionError(f"{where} names field(s) the action does not have: {', '.join(stray)}")


def _labels(raw: Any, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> None:
    """`labels`: per locale; English names the action and labels every input field."""
    data = _object(raw, "config.labels")
    if "en" not in data:
        raise DefinitionError("config.labels.en is required")
    input_names = {field["typeDefinition"]["name"] for field in inputs}
    output_names = {field["typeDefinition"]["name"] for field in outputs}
    for locale, labels in data.items():
        where = f"config.labels.{locale}"
        if not _LOCALE.match(locale):
            raise DefinitionError(f"config.labels has an invalid locale {locale!r}")
        labels = _object(labels, where)
        _no_unknown(labels, _LABEL_FIELDS, where)
        _text(labels, "actionName", where)
        _names_known(labels.get("inputFieldLabels", {}), input_names, f"{where}.inputFieldLabels")
        _names_known(labels.get("inputFieldDescriptions", {}), input_names, f"{where}.inputFieldDescriptions")
        _names_known(labels.get("inputFieldOptionLabels", {}), input_names, f"{where}.inputFieldOptionLabels")
        _names_known(labels.get("outputFieldLabels", {}), output_names, f"{where}.outputFieldLabels")
    missing = sorted(input_names - set(data["en"].get("inputFieldLabels", {})))
    if missing:
        raise DefinitionError(f"config.labels.en.inputFieldLabels has no label for: {', '.join(missing)}")


def _object_types(raw: Any) -> list[str]:
    types = _list(raw, "config.objectTypes", non_empty=True)
    wrong = [value for value in types if value not in OBJECT_TYPES]
    if wrong:
        raise DefinitionError(f"config.objectTypes: {wrong} not among {', '.join(sorted(OBJECT_TYPES))}")
    if len(set(types)) != len(types):
        raise DefinitionError("config.objectTypes repeats an object type")
    return types


def _clients(raw: Any) -> None:
    clients = _list(raw, "config.supportedClients", non_empty=True)
    for index, entry in enumerate(clients):
        entry = _object(entry, f"config.supportedClients[{index}]")
        _no_unknown(entry, {"client"}, f"config.supportedClients[{index}]")
        if entry.get("client") not in CLIENTS:
            raise DefinitionError(f'config.supportedClients[{index}].client must be "WORKFLOWS"')


def validate(component: Any) -> dict[str, Any]:
    """One `*-hsmeta.json` of type workflow-action; returns it unchanged, or raises DefinitionError."""
    data = _object(component, "the workflow-action component")
    _no_unknown(data, {"uid", "type", "config"}, "the workflow-action component")
    uid = _text(data, "uid", "the workflow-action component")
    if not UID_PATTERN.match(uid):
        raise DefinitionError(f"uid {uid!r} may hold only letters, digits, _ and - (at most 64)")
    if data.get("type") != COMPONENT_TYPE:
        raise DefinitionError(f'{uid}: type must be "{COMPONENT_TYPE}", not {data.get("type")!r}')
    try:
        _validate_config(data.get("config"))
    except DefinitionError as exc:
        raise DefinitionError(f"{uid}: {exc}") from None
    return data


def _validate_config(raw: Any) -> None:
    config = _object(raw, "config")
    _no_unknown(config, _CONFIG_FIELDS, "config")
    validate_action_url(config.get("actionUrl"))
    _bool(config, "isPublished", "config")
    if "supportedClients" not in config:
        raise DefinitionError("config.supportedClients is required")
    _clients(config["supportedClients"])
    if "objectTypes" not in config:
        raise DefinitionError("config.objectTypes is required")
    _object_types(config["objectTypes"])
    inputs = _fields(config.get("inputFields"), "inputFields", required=True)
    outputs = _fields(config.get("outputFields"), "outputFields", required=False)
    if "labels" not in config:
        raise DefinitionError("config.labels is required")
    _labels(config["labels"], inputs, outputs)


def validate_all(components: Any) -> list[dict[str, Any]]:
    """Every component of an upload, with unique uids."""
    items = _list(components, "components")
    seen: set[str] = set()
    for index, component in enumerate(items):
        try:
            validate(component)
        except DefinitionError as exc:
            raise DefinitionError(f"components[{index}]: {exc}") from None
        if component["uid"] in seen:
            raise DefinitionError(f"components[{index}]: uid {component['uid']!r} is used by another component")
        seen.add(component["uid"])
    return items


# -- storage -------------------------------------------------------------------------------------------


def workflow_actions_deploy(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Upload the app's workflow actions (as `hs project upload`): validate all, then replace the stored ones.

    A uid kept keeps its `definitionId` (its version goes up when the file changed); a uid left out is archived.
    Raises DefinitionError (a ValueError) naming the bad field; nothing changes then. Returns `definitions()`.
    """
    validate_all(components)
    now = clock.now()
    with transaction.atomic():
        existing = {row.uid: row for row in WorkflowActionDefinition.objects.select_for_update()}
        next_id = max(FIRST_DEFINITION_ID - 1, _max_definition_id()) + 1
        for position, component in enumerate(components):
            row = existing.pop(component["uid"], None)
            if row is None:
                row = WorkflowActionDefinition(uid=component["uid"], definition_id=next_id, component=component)
                next_id += 1
            elif row.component != component or row.archived:
                row.version += 1
            row.component, row.position, row.archived, row.uploaded_at = component, position, False, now
            row.save()
        for row in existing.values():
            row.archived = True
            row.save(update_fields=["archived"])
    return definitions()


def _max_definition_id() -> int:
    return WorkflowActionDefinition.objects.aggregate(top=Max("definition_id"))["top"] or 0


def definitions(*, object_type: str | None = None) -> list[dict[str, Any]]:
    """The deployed (not archived) actions in upload order, optionally only those enrolling `object_type`."""
    rows = WorkflowActionDefinition.objects.filter(archived=False).order_by("position")
    found = [describe(row) for row in rows]
    if object_type is not None:
        found = [item for item in found if object_type in item["objectTypes"]]
    return found


def definition_get(uid: str) -> WorkflowActionDefinition | None:
    """The deployed action with `uid`, or None (also when archived)."""
    return WorkflowActionDefinition.objects.filter(uid=uid, archived=False).first()


def describe(row: WorkflowActionDefinition) -> dict[str, Any]:
    """A definition as `GET /_fake/apps/workflow-actions` lists it."""
    config = row.component["config"]
    return {
        "uid": row.uid,
        "definitionId": row.definition_id,
        "version": row.version,
        "actionUrl": config["actionUrl"],
        "published": config["isPublished"],
        "objectTypes": list(config["objectTypes"]),
        "actionName": config["labels"]["en"]["actionName"],
        "uploadedAt": clock.iso(row.uploaded_at),
        "component": row.component,
    }
