"""Forms of the settings page. They only parse and validate input; the services make every change."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integration import catalog
from integration.inputs import is_ascii_digits
from integration.models import ConflictRule, MatchRule
from integration.services.hubspot_properties import planned_property
from integration.services.mappings import property_name_error
from integration.services.portal_settings import CONFLICT_RULE_QUESTION, MATCH_RULE_QUESTION, choices_message

NONE_FIELD_LABEL = gettext_lazy("None (write the default value only)")
NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)$")
OPTIONS_SHOWN = 12


class CredentialsForm(forms.Form):
    """Kleer Company ID and API key. The key input never shows the stored key; blank keeps it."""

    company_id = forms.IntegerField(
        label=gettext_lazy("Company ID"),
        min_value=1,
        error_messages={"min_value": gettext_lazy("The Kleer Company ID is a positive number.")},
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    api_key = forms.CharField(
        label=gettext_lazy("API key"),
        required=False,
        max_length=500,
        # render_value=False: a re-rendered form (after an error) must not echo what was typed either.
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false", "autocapitalize": "off"}
        ),
    )

    def __init__(self, *args: Any, masked_key: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.configured = bool(masked_key)
        api_key = self.fields["api_key"]
        if self.configured:
            api_key.help_text = _("Saved key: %(key)s. Leave blank to keep it; enter a new key to replace it.") % {
                "key": masked_key
            }
        else:
            api_key.required = True
            api_key.error_messages["required"] = _("Enter the Kleer API key.")
            api_key.help_text = _("The API key Kleer issued for this company. It is checked with Kleer before saving.")


class SyncConfigForm(forms.Form):
    """The portal-wide sync options (General Configuration → Sync configuration)."""

    invoice_history_months = forms.IntegerField(
        label=gettext_lazy("Invoice history window (months)"),
        min_value=1,
        max_value=120,
        error_messages={
            "required": gettext_lazy("Enter a number of months from 1 to 120."),
            "min_value": gettext_lazy("Enter a number of months from 1 to 120."),
            "max_value": gettext_lazy("Enter a number of months from 1 to 120."),
            "invalid": gettext_lazy("Enter a number of months from 1 to 120."),
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    archive_deleted = forms.BooleanField(
        label=gettext_lazy("Archive records deleted in Kleer"),
        required=False,
        widget=forms.CheckboxInput(attrs={"aria-describedby": "archive-help"}),
    )


class SyncRulesForm(forms.Form):
    """General Configuration → Conflicts and matching: who wins a conflict, how existing records are matched."""

    conflict_rule = forms.ChoiceField(
        label=gettext_lazy("When both sides changed"),
        choices=ConflictRule.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": choices_message(ConflictRule, CONFLICT_RULE_QUESTION),
            "invalid_choice": choices_message(ConflictRule, CONFLICT_RULE_QUESTION),
        },
    )
    match_rule = forms.ChoiceField(
        label=gettext_lazy("Matching existing HubSpot records"),
        choices=MatchRule.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": choices_message(MatchRule, MATCH_RULE_QUESTION),
            "invalid_choice": choices_message(MatchRule, MATCH_RULE_QUESTION),
        },
    )


def _property_label(prop: dict[str, Any]) -> str:
    return f"{prop['label']} ({prop['name']})" if prop["label"] != prop["name"] else prop["name"]


def _parses(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    return is_ascii_digits(value) or _parses(lambda v: dt.datetime.fromisoformat(v.replace("Z", "+00:00")), value)


def _options_error(prop: dict[str, Any], value: str) -> str:
    """An enumeration takes only its option values (`;`-separated for multi-select checkboxes). The message
    names each value with its label where they differ, and says so when the customer typed a label."""
    options = prop.get("options") or []
    labels: dict[str, str] = prop.get("optionLabels") or {}
    chosen = [v for v in value.split(";") if v] if prop.get("fieldType") == "checkbox" else [value]
    if not options or (chosen and all(v in options for v in chosen)):
        return ""
    shown = ", ".join(_option_text(v, labels) for v in options[:OPTIONS_SHOWN])
    shown += ", …" if len(options) > OPTIONS_SHOWN else ""
    message = _("%(label)s takes one of its options in HubSpot (the internal values): %(options)s.") % {
        "label": prop["label"],
        "options": shown,
    }
    by_label = {label.casefold(): v for v, label in labels.items()}
    for typed in chosen:
        if typed not in options and typed.casefold() in by_label:
            message += " " + _('"%(typed)s" is the label: enter %(value)s.') % {
                "typed": typed,
                "value": by_label[typed.casefold()],
            }
    return message


def _option_text(value: str, labels: dict[str, str]) -> str:
    label = labels.get(value, "")
    return f"{value} ({label})" if label and label.casefold() != value.casefold() else value


def default_value_error(prop: dict[str, Any] | None, value: str) -> str:
    """Why HubSpot would refuse `value` for property `prop` ("" when it accepts it or the type is unknown).

    The default is written verbatim on every record whose Kleer value is empty, so a value HubSpot refuses
    would fail all of them at sync time (hubspot-api.md §3, value formats per property type).
    """
    if not value or prop is None:
        return ""
    kind, label = prop.get("type"), prop["label"]
    if kind == "number" and not NUMBER.match(value):
        return _("%(label)s is a number property in HubSpot: enter a number such as 12 or 12.5.") % {"label": label}
    if kind == "bool" and value not in ("true", "false"):
        return _("%(label)s is a yes/no property in HubSpot: enter true or false.") % {"label": label}
    if kind == "date" and not (re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) and _parses(dt.date.fromisoformat, value)):
        return _("%(label)s is a date property in HubSpot: enter the date as YYYY-MM-DD, e.g. 2025-01-31.") % {
            "label": label
        }
    if kind == "datetime" and not _is_datetime(value):
        return _(
            "%(label)s is a date and time property in HubSpot: enter a date (2025-01-31) or a date and time "
            "(2025-01-31T09:00:00Z)."
        ) % {"label": label}
    if kind == "enumeration":
        return _options_error(prop, value)
    return ""


class KleerFieldSelect(forms.Select):
    """The Kleer field dropdown; each option carries the "Create new property" suggestion for its field."""

    def __init__(self, *args: Any, spec: catalog.ObjectSpec | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec

    def create_option(self, name: str, value: Any, label: Any, selected: Any, index: int, **kwargs: Any) -> dict:
        option = super().create_option(name, value, label, selected, index, **kwargs)
        if value and self.spec is not None and self.spec.has_field(str(value)):
            option["attrs"]["data-suggest-label"] = f"Kleer {self.spec.field(str(value)).label}"
            option["attrs"]["data-suggest-name"] = catalog.suggest_property_name(str(value))
        return option


class MappingForm(forms.Form):
    """One mapping: Kleer field (or None = constant) → HubSpot property, with an optional default value.

    `properties` is the portal's property list; None when HubSpot could not be asked, and then the property is
    typed by its internal name instead.
    """

    kleer_field = forms.ChoiceField(label=gettext_lazy("Kleer field"), required=False)
    hubspot_property = forms.CharField(label=gettext_lazy("HubSpot property"), max_length=100)
    default_value = forms.CharField(
        label=gettext_lazy("Default value"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("Written when the Kleer value is empty, or always when the Kleer field is None."),
    )
    # Rendered by hand (_mapping_direction.html: disabled, with the reason, where it cannot be two-way). The
    # service validates it (`mapping_validate`), so a forged value gets the service's message and saves nothing.
    direction = forms.CharField(label=gettext_lazy("Direction"), required=False, max_length=20)
    new_property_label = forms.CharField(label=gettext_lazy("Label"), required=False, max_length=200)
    new_property_name = forms.CharField(label=gettext_lazy("Internal name"), required=False, max_length=100)

    def __init__(
        self,
        *args: Any,
        spec: catalog.ObjectSpec,
        properties: list[dict[str, Any]] | None,
        current_property: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.fields["kleer_field"].widget = KleerFieldSelect(spec=spec, attrs={"aria-describedby": "kleer-field-help"})
        self.fields["kleer_field"].choices = [("", NONE_FIELD_LABEL)] + [
            (f.name, f.display) for f in spec.mappable_fields
        ]
        self.properties = {p["name"]: p for p in properties or []}
        if properties is not None:
            choices = [(p["name"], _property_label(p)) for p in properties]
            known = {p["name"] for p in properties}
            if current_property and current_property not in known:
                # e.g. a default kleer_… property the first sync has not created yet
                choices.insert(0, (current_property, current_property))
            self.fields["hubspot_property"] = forms.ChoiceField(
                label=gettext_lazy("HubSpot property"), choices=[("", _("Choose a property…")), *choices]
            )

        self._fit_default_widget(self._chosen_property(current_property))

    def _chosen_property(self, current_property: str) -> dict[str, Any] | None:
        """The HubSpot property the form holds now (posted, initial or saved), if the portal has it."""
        name = self.data.get("hubspot_property") if self.is_bound else self.initial.get("hubspot_property")
        return self.properties.get(name or current_property)

    def _fit_default_widget(self, prop: dict[str, Any] | None) -> None:
        """The default value's input follows the property's type: its options (or true/false) in a dropdown
        instead of a text box where a typo would only fail at sync time, a date picker for date properties."""
        field = self.fields["default_value"]
        kind = (prop or {}).get("type")
        attrs = {"aria-describedby": "id_default_value_helptext"}
        if kind == "enumeration" and prop and prop.get("options") and prop.get("fieldType") != "checkbox":
            labels = prop.get("optionLabels") or {}
            choices = [("", _("(no default)"))] + [(v, _option_text(v, labels)) for v in prop["options"]]
            current = self.data.get("default_value") if self.is_bound else self.initial.get("default_value")
            if current and current not in prop["options"]:
                choices.append((current, current))  # a saved value HubSpot no longer offers stays visible
            field.widget = forms.Select(choices=choices, attrs=attrs)
        elif kind == "bool":
            field.widget = forms.Select(
                choices=[("", _("(no default)")), ("true", _("Yes (true)")), ("false", _("No (false)"))], attrs=attrs
            )
        elif kind == "date":
            field.widget = forms.DateInput(attrs={**attrs, "type": "date"}, format="%Y-%m-%d")
        elif kind == "datetime":
            field.help_text = _(
                "Written when the Kleer value is empty, or always when the Kleer field is None. A date (2025-01-31) "
                "is midnight UTC that day; or give a date and time (2025-01-31T09:00:00Z)."
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("kleer_field") and not data.get("default_value") and "default_value" not in self.errors:
            self.add_error("default_value", _('With "None" as the Kleer field, enter the default value to write.'))
        name = data.get("hubspot_property") or ""
        # A kleer_… property the first sync has not created yet is checked against the type it will get.
        prop = self.properties.get(name) or planned_property(
            spec=self.spec, name=name, kleer_field=data.get("kleer_field") or ""
        )
        error = default_value_error(prop, data.get("default_value") or "")
        if error:
            self.add_error("default_value", error)
        return data

    def suggestion(self, kleer_field: str) -> tuple[str, str]:
        """(label, internal name) offered by "Create new property" for `kleer_field`."""
        if not kleer_field or not self.spec.has_field(kleer_field):
            return "", ""
        return f"Kleer {self.spec.field(kleer_field).label}", catalog.suggest_property_name(kleer_field)

    def new_property(self) -> tuple[str, str, str]:
        """Validated (label, name, kleer_field) for "Create property"; blanks take the suggestion."""
        kleer_field = self.data.get("kleer_field", "")
        if kleer_field and not self.spec.has_field(kleer_field):
            raise forms.ValidationError(_("Choose a Kleer field from the list."))
        suggested_label, suggested_name = self.suggestion(kleer_field)
        label = (self.data.get("new_property_label") or "").strip() or suggested_label
        name = (self.data.get("new_property_name") or "").strip() or suggested_name
        error = property_name_error(name)
        if error:
            raise forms.ValidationError(error)
        if not label:
            raise forms.ValidationError(_("Enter a label for the new property."))
        return label, name, kleer_field


class TargetForm(forms.Form):
    """Which HubSpot object a Kleer object type syncs to (changing it needs an explicit confirmation)."""

    hubspot_object = forms.ChoiceField(label=gettext_lazy("HubSpot object"))

    def __init__(self, *args: Any, spec: catalog.ObjectSpec, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hubspot_object"].choices = [(t.hubspot_object, t.title) for t in spec.targets]


class PipelineForm(forms.Form):
    """Pipeline and stage for deal/project targets; both optional (blank = the first pipeline and stage)."""

    pipeline_id = forms.ChoiceField(label=gettext_lazy("Pipeline"), required=False)
    stage_id = forms.ChoiceField(label=gettext_lazy("Stage"), required=False)

    def __init__(self, *args: Any, pipelines: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pipelines = {str(p["id"]): p for p in pipelines}
        self.fields["pipeline_id"].choices = [("", _("Default (the first pipeline)"))] + [
            (pid, p.get("label") or pid) for pid, p in self.pipelines.items()
        ]
        self.fields["stage_id"].choices = [("", _("Default (the first stage)"))] + [
            (p.get("label") or pid, [(str(s["id"]), s.get("label") or s["id"]) for s in p.get("stages", [])])
            for pid, p in self.pipelines.items()
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        pipeline_id, stage_id = data.get("pipeline_id") or "", data.get("stage_id") or ""
        if stage_id and not pipeline_id:
            self.add_error("pipeline_id", _("Choose the pipeline of that stage."))
        elif pipeline_id:
            stages = [str(s["id"]) for s in self.pipelines[pipeline_id].get("stages", [])]
            if stage_id and stage_id not in stages:
                self.add_error("stage_id", _("That stage is not in the chosen pipeline."))
            elif not stage_id and stages:
                data["stage_id"] = stages[0]
        return data
