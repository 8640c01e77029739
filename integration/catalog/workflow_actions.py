"""The seven custom workflow actions, declared once: inputs, labels (English and Swedish), object types, outputs
and plan.

The app's HubSpot project files (`workflow-actions/*-hsmeta.json`) and the legacy definition bodies
(`POST /automation/actions/2026-03/{appId}`) are generated from these (integration/hubspot_project.py); the
execution endpoint validates what HubSpot sends against the same inputs (integration/services/workflow_actions.py).

Actions and inputs: kleer-for-hubspot-product.md §7 (the documented inputs in snake_case; the client and project
inputs are the reference's inferred lists). Definition schema: hubspot-openapi-2026-03/automation-actions.json
(`PublicActionDefinitionEgg`) and https://developers.hubspot.com/docs/apps/developer-platform/add-features/
custom-workflow-actions (hsmeta). Pure Python, no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from integration.catalog.base import Option, Plan
from integration.catalog.objects import CLIENT_TYPES, CURRENCIES, DELIVERY_TYPES, INVOICE_DAYS

__all__ = [
    "ACTIONS",
    "EXECUTION_STATE",
    "KLEER_FIELDS",
    "OUTPUT_FIELDS",
    "ActionInput",
    "InputKind",
    "WorkflowAction",
    "get",
]

# The output field HubSpot reads to tell a blocked (asynchronous) execution from a finished one
# (hubspot-api.md §8.2).
EXECUTION_STATE = "hs_execution_state"


class InputKind(StrEnum):
    """How an input is validated (services/workflow_actions.py) and which HubSpot field type shows it."""

    TEXT = "text"
    DATE = "date"
    CURRENCY = "currency"  # any ISO 4217 code (Kleer accepts every code the company's account supports)
    CHOICE = "choice"
    WHOLE = "whole"  # a whole number ≥ 0 (payment days)
    INTERVAL = "interval"  # invoice interval in months, one HubSpot has a billing frequency for
    DECIMAL = "decimal"  # a number ≥ 0 (hours)
    MONEY = "money"  # an amount in the currency's units, at most two decimals (→ öre)
    BOOLEAN = "boolean"


# HubSpot (`type`, `fieldType`) per kind (PublicFieldTypeDefinition). Every documented input of the incumbent is
# Text (§7.1, §7.2) so that data tokens of any property type fit; choices are selects so a static value cannot be
# misspelt, and are validated again on execution because a token can hold anything.
_HUBSPOT_TYPES = {
    InputKind.TEXT: ("string", "text"),
    InputKind.DATE: ("string", "text"),
    InputKind.CURRENCY: ("string", "text"),
    InputKind.CHOICE: ("enumeration", "select"),
    InputKind.WHOLE: ("string", "text"),
    InputKind.INTERVAL: ("string", "text"),
    InputKind.DECIMAL: ("string", "text"),
    InputKind.MONEY: ("string", "text"),
    InputKind.BOOLEAN: ("enumeration", "select"),
}
YES_NO = (Option("true", "Yes"), Option("false", "No"))
# Swedish option labels where the label is a word rather than a code or a Kleer name.
_OPTION_LABELS_SV = {
    "true": "Ja",
    "false": "Nej",
    "Organisation": "Organisation",
    "Person": "Privatperson",
    "Mail": "Post",
    "Email": "E-post",
    "Manually": "Manuellt",
    "INVOICE_AT_START": "Fakturera vid periodens start",
    "PAY_AT_START": "Betalning vid periodens start",
    "INVOICE_AT_END": "Fakturera vid periodens slut",
    "INVOICE_AT_START_MONTH": "Fakturera vid månadens start",
    "INVOICE_60_DAYS_PRIOR_TO_PERIOD_START": "Fakturera 60 dagar före periodstart",
    "INVOICE_AT_END_MONTH": "Fakturera vid månadens slut",
    "INVOICE_ONE_DAY_PRIOR_TO_PERIOD_START": "Fakturera 1 dag före periodstart",
    "INVOICE_FIVE_DAYS_PRIOR_TO_PERIOD_START": "Fakturera 5 dagar före periodstart",
}


@dataclass(frozen=True)
class ActionInput:
    """One input field of an action: its snake_case name (the key in `inputFields`), kind, labels and, for choices,
    the options (`value` is what Kleer takes)."""

    name: str
    kind: InputKind
    label: str
    label_sv: str
    description: str = ""
    options: tuple[Option, ...] = ()
    required: bool = False

    def __post_init__(self) -> None:
        if self.kind is InputKind.BOOLEAN and not self.options:
            object.__setattr__(self, "options", YES_NO)
        if self.kind in (InputKind.CHOICE, InputKind.BOOLEAN) and not self.options:
            raise ValueError(f"input {self.name!r} needs options")

    def type_definition(self) -> dict:
        """`PublicFieldTypeDefinition` (legacy API) / hsmeta `typeDefinition`."""
        value_type, field_type = _HUBSPOT_TYPES[self.kind]
        definition: dict = {"name": self.name, "type": value_type, "fieldType": field_type}
        if self.options:
            definition["options"] = [
                {"value": o.value, "label": o.label, "displayOrder": i} for i, o in enumerate(self.options)
            ]
        return definition

    def option_labels(self, locale: str) -> dict[str, str]:
        if locale == "sv":
            return {o.value: _OPTION_LABELS_SV.get(o.value, o.label) for o in self.options}
        return {o.value: o.label for o in self.options}


@dataclass(frozen=True)
class WorkflowAction:
    """One custom workflow action: the URL slug, the enrolled object type, the Kleer object it creates or updates,
    the HubSpot property the new Kleer id is written to, and its inputs and labels."""

    key: str
    object_type: str  # HubSpot's workflow object type: COMPANY or DEAL
    kleer_object: str  # catalog key: clients, invoices, agreements, projects
    write_back: str  # property on the enrolled record that holds the Kleer id
    plan: Plan
    name: str
    name_sv: str
    description: str
    description_sv: str
    inputs: tuple[ActionInput, ...] = ()
    creates: bool = True
    from_mappings: bool = False

    @property
    def uid(self) -> str:
        return "kleer_" + self.key.replace("-", "_")

    @property
    def hubspot_object(self) -> str:
        """The enrolled record's CRM path name."""
        return {"COMPANY": "companies", "DEAL": "deals"}[self.object_type]

    def input(self, name: str) -> ActionInput:
        for candidate in self.inputs:
            if candidate.name == name:
                return candidate
        raise KeyError(name)


# Outputs every action sets, so a later workflow step can branch on them or copy the Kleer id.
OUTPUT_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("kleer_id", "Kleer ID", "Kleer-ID"),
    ("outcome", "Outcome", "Utfall"),
    ("failure_reason", "Failure reason", "Orsak till fel"),
)

I = ActionInput  # noqa: E741
K = InputKind

_ADDRESS = (
    I("address_line_1", K.TEXT, "Address line 1", "Adressrad 1"),
    I("address_line_2", K.TEXT, "Address line 2", "Adressrad 2"),
    I("zip_code", K.TEXT, "Zip code", "Postnummer"),
    I("state", K.TEXT, "State", "Ort", "Postal town or region."),
    I("country", K.TEXT, "Country", "Land"),
)
_CURRENCY = I("currency", K.CURRENCY, "Currency", "Valuta", "Currency code, e.g. SEK, EUR, USD, NOK, DKK or GBP.")
_DELIVERY = I(
    "delivery_type", K.CHOICE, "Delivery type", "Leveranssätt", "How Kleer delivers the invoice.", DELIVERY_TYPES
)
_PO = I("po_number", K.TEXT, "PO number", "Inköpsordernummer", "The customer's purchase order number.")
_YOUR_REF = I("your_reference", K.TEXT, "Your reference", "Er referens", "The customer's reference.")

CLIENT_INPUTS = (
    I("name", K.TEXT, "Name", "Namn", "The client's name in Kleer.", required=True),
    I("org_number", K.TEXT, "Org. number", "Organisationsnummer", "Organisation or personal number."),
    I("email", K.TEXT, "Email", "E-post"),
    I("phone", K.TEXT, "Phone", "Telefon"),
    I("contact", K.TEXT, "Contact person", "Kontaktperson"),
    *_ADDRESS,
    I("country_code", K.TEXT, "Country code", "Landskod", "Two letters, e.g. SE."),
    I("client_type", K.CHOICE, "Client type", "Kundtyp", options=CLIENT_TYPES),
    I("currency", K.CHOICE, "Currency", "Valuta", options=CURRENCIES),
    I("payment_days", K.WHOLE, "Payment days", "Betalningsvillkor (dagar)", "Days until an invoice is due."),
    _DELIVERY,
    I("vat_number", K.TEXT, "VAT number", "Momsregistreringsnummer"),
)
INVOICE_INPUTS = (
    I("invoice_date", K.DATE, "Invoice date", "Fakturadatum", "YYYY-MM-DD; today when empty."),
    _CURRENCY,
    _DELIVERY,
    I("invoice_address_line_1", K.TEXT, "Invoice address line 1", "Fakturaadress rad 1"),
    I("invoice_address_line_2", K.TEXT, "Invoice address line 2", "Fakturaadress rad 2"),
    I("zip_code", K.TEXT, "Zip code", "Postnummer", "Invoice address postal code."),
    I("state", K.TEXT, "State", "Ort", "Invoice address town or region."),
    I("country", K.TEXT, "Country", "Land", "Invoice address country."),
    _PO,
    _YOUR_REF,
)
AGREEMENT_INPUTS = (
    I("name", K.TEXT, "Name", "Namn", "The agreement's description in Kleer."),
    I("start_date", K.DATE, "Start date", "Startdatum", "YYYY-MM-DD."),
    I(
        "start_invoice_date", K.DATE, "Start invoice date", "Första fakturadatum",
        "YYYY-MM-DD; the start date when empty.",
    ),
    I("end_date", K.DATE, "End date", "Slutdatum", "YYYY-MM-DD; empty for an open-ended agreement."),
    _YOUR_REF,
    I("payment_days", K.WHOLE, "Payment days", "Betalningsvillkor (dagar)", "Days until an invoice is due."),
    I(
        "invoice_interval_months", K.INTERVAL, "Invoice interval (months)", "Faktureringsintervall (månader)",
        "1, 3, 6, 12, 24, 36, 48 or 60.",
    ),
    _CURRENCY,
    I("invoice_day", K.CHOICE, "Invoice day", "Faktureringsdag", "When in each period Kleer invoices.", INVOICE_DAYS),
    _PO,
)  # fmt: skip
PROJECT_INPUTS = (
    I("name", K.TEXT, "Name", "Namn", "The project's name; the deal name when empty."),
    I("number", K.TEXT, "Number", "Projektnummer", "Kleer numbers the project when empty."),
    I("fixed_price", K.BOOLEAN, "Fixed price", "Fast pris"),
    I("budget_hours", K.DECIMAL, "Budget hours", "Budgeterade timmar"),
    I("budget_amount", K.MONEY, "Budget amount", "Budgeterat belopp", "In the client's currency, e.g. 12500.50."),
    I("opening_date", K.DATE, "Opening date", "Startdatum", "YYYY-MM-DD."),
    I("comment", K.TEXT, "Comment", "Kommentar"),
)

ACTIONS: dict[str, WorkflowAction] = {
    action.key: action
    for action in (
        WorkflowAction(
            "create-client", "COMPANY", "clients", "kleer_id", Plan.FREE,
            "Create Kleer Client", "Skapa kund i Kleer",
            "Creates a client in Kleer from the values you enter and writes its id to the company's Kleer ID.",
            "Skapar en kund i Kleer av värdena du anger och skriver dess id till företagets Kleer-ID.",
            CLIENT_INPUTS,
        ),
        WorkflowAction(
            "create-client-from-mappings", "COMPANY", "clients", "kleer_id", Plan.PRO,
            "Create Kleer Client (from mappings)", "Skapa kund i Kleer (från mappningar)",
            "Creates a client in Kleer from the company's properties through your client field mappings.",
            "Skapar en kund i Kleer av företagets egenskaper enligt dina fältmappningar för kunder.",
            from_mappings=True,
        ),
        WorkflowAction(
            "create-invoice", "DEAL", "invoices", "kleer_invoice_id", Plan.PRO,
            "Create Kleer Invoice", "Skapa faktura i Kleer",
            "Creates a draft invoice in Kleer for the deal's company (which needs a Kleer ID), one row per line "
            "item, and writes its id to the deal's Kleer Invoice ID.",
            "Skapar ett fakturautkast i Kleer till affärens företag (som behöver ett Kleer-ID), en rad per "
            "produktrad, och skriver dess id till affärens Kleer-faktura-ID.",
            INVOICE_INPUTS,
        ),
        WorkflowAction(
            "create-agreement", "DEAL", "agreements", "kleer_agreement_id", Plan.PRO,
            "Create Kleer Agreement", "Skapa avtal i Kleer",
            "Creates an agreement in Kleer for the deal's company from the deal's line items (recurring ones "
            "every period, the others on the first invoice) and writes its id to the deal's Kleer Agreement ID.",
            "Skapar ett avtal i Kleer till affärens företag av affärens produktrader (återkommande varje period, "
            "övriga på första fakturan) och skriver dess id till affärens Kleer-avtals-ID.",
            AGREEMENT_INPUTS,
        ),
        WorkflowAction(
            "update-agreement", "DEAL", "agreements", "kleer_agreement_id", Plan.PRO,
            "Update Kleer Agreement", "Uppdatera avtal i Kleer",
            "Updates the agreement in the deal's Kleer Agreement ID: the fields you fill in, and the deal's line "
            "items replace all of the agreement's rows.",
            "Uppdaterar avtalet i affärens Kleer-avtals-ID: fälten du fyller i, och affärens produktrader ersätter "
            "alla avtalets rader.",
            AGREEMENT_INPUTS,
            creates=False,
        ),
        WorkflowAction(
            "create-project", "DEAL", "projects", "kleer_project_id", Plan.PRO,
            "Create Kleer Project", "Skapa projekt i Kleer",
            "Creates a project in Kleer for the deal's company and writes its id to the deal's Kleer Project ID.",
            "Skapar ett projekt i Kleer till affärens företag och skriver dess id till affärens Kleer-projekt-ID.",
            PROJECT_INPUTS,
        ),
        WorkflowAction(
            "create-project-from-mappings", "DEAL", "projects", "kleer_project_id", Plan.PRO,
            "Create Kleer Project (from mappings)", "Skapa projekt i Kleer (från mappningar)",
            "Creates a project in Kleer from the deal's properties through your project field mappings.",
            "Skapar ett projekt i Kleer av affärens egenskaper enligt dina fältmappningar för projekt.",
            from_mappings=True,
        ),
    )
}  # fmt: skip


def get(key: str) -> WorkflowAction:
    """The action for a URL slug; KeyError naming the known ones otherwise."""
    try:
        return ACTIONS[key]
    except KeyError:
        raise KeyError(f"unknown workflow action {key!r}; expected one of {', '.join(ACTIONS)}") from None


# Input → Kleer field (the catalog's field name in the action's Kleer object type), so each value reaches Kleer
# through that field's inverse transform (`Field.to_kleer`: SEK → öre, whole numbers, options). Inputs not listed
# are read by the action itself (an agreement's `start_date`, deprecated in Kleer, becomes its first invoice date).
KLEER_FIELDS: dict[str, dict[str, str]] = {
    "clients": {
        "name": "name", "org_number": "orgno", "email": "email", "phone": "phone", "contact": "contact",
        "address_line_1": "address.address1", "address_line_2": "address.address2",
        "zip_code": "address.zip-code", "state": "address.state", "country": "address.country",
        "country_code": "country-code", "client_type": "client-type", "currency": "currency-type",
        "payment_days": "payment-days", "delivery_type": "delivery-type", "vat_number": "vat-nr",
    },
    "invoices": {
        "invoice_date": "invoice-date", "currency": "currency", "delivery_type": "delivery-type",
        "invoice_address_line_1": "invoice-address.address1", "invoice_address_line_2": "invoice-address.address2",
        "zip_code": "invoice-address.zip-code", "state": "invoice-address.state",
        "country": "invoice-address.country", "po_number": "po-nr", "your_reference": "your-reference",
    },
    "agreements": {
        "name": "description", "start_invoice_date": "start-invoice-date", "end_date": "end-date",
        "your_reference": "your-reference", "payment_days": "payment-days",
        "invoice_interval_months": "invoice-interval-months", "currency": "currency", "invoice_day": "invoice-day",
        "po_number": "po-nr",
    },
    "projects": {
        "name": "name", "number": "number", "fixed_price": "fixed-price", "budget_hours": "budget-hours",
        "budget_amount": "budget-amount", "opening_date": "opening-date", "comment": "comment",
    },
}  # fmt: skip
