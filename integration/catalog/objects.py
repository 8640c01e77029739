"""The six Kleer object types: field catalogues, targets, default mappings, schedules and plans.

Field names and labels are copied from the product documentation (kleer-for-hubspot-product.md §3.1–3.6);
JSON shapes from kleer-api.md §2. HubSpot property names from hubspot-api.md §5.

Labels and descriptions are marked with `_` (gettext_noop): it only marks them for `makemessages`, the catalog
keeps them in English, and `Field.title`/`display`/`hint` and `ObjectSpec.title` translate them for the page
(the Swedish is in locale/sv/LC_MESSAGES/django.po).

Default mappings are deliberately conservative. Standard HubSpot properties are used only where the meaning is
the same on both sides; everything else goes to a custom `kleer_…` property the sync creates (listed by
`ObjectSpec.custom_properties`). Names `kleer_email`, `kleer_currency`, `kleer_delivery_method` and
`kleer_payment_days` are the ones the incumbent app's inbound trigger list uses, so existing portals keep working.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop as _

from integration.catalog import transforms
from integration.catalog.base import (
    Association,
    DefaultMapping,
    Direction,
    Field,
    FieldType,
    ObjectSpec,
    Option,
    Plan,
    Target,
)

__all__ = ["AGREEMENTS", "CLIENTS", "INVOICES", "LINE_ITEMS", "PRODUCTS", "PROJECTS", "SPECS"]

T = FieldType
M = DefaultMapping


def _options(*values: str) -> tuple[Option, ...]:
    """Options whose label is the value itself (the product doc says so for the client enums)."""
    return tuple(Option(value, value) for value in values)


def _pairs(pairs: tuple[tuple[str, str], ...] | tuple[tuple[str, str, object], ...]) -> tuple[Option, ...]:
    return tuple(Option(pair[0], pair[1]) for pair in pairs)


def _address(prefix: str, labels: tuple[str, str, str, str, str]) -> tuple[Field, ...]:
    """The five Kleer address lines (`address1`, `address2`, `zip-code`, `state`, `country`), labelled in full
    (whole phrases translate; "Invoice" + " state" would not)."""
    address1, address2, zip_code, state, country = labels
    return (
        Field(f"{prefix}.address1", address1, T.STRING),
        Field(f"{prefix}.address2", address2, T.STRING),
        Field(f"{prefix}.zip-code", zip_code, T.STRING),
        Field(f"{prefix}.state", state, T.STRING, description=STATE_HINT),
        Field(f"{prefix}.country", country, T.STRING),
    )


# Why Kleer's `state` goes to HubSpot's City (shown under the field on the tab): Kleer's address has no city
# element, and Swedish customers write the postal town ("Stockholm") in `state`, the line after the zip code.
STATE_HINT = _(
    "Kleer's “state” holds the postal town of a Swedish address (e.g. Stockholm), so it goes to HubSpot's City."
)


CLIENT_TYPES = _options("Organisation", "Person")
CURRENCIES = _options("SEK", "EUR", "USD", "NOK", "DKK", "GBP")
# The documented four, plus "Efaktura": Kleer's own delivery-type list (kleer-api.md §2.3) has it, and an
# unknown enum value fails the record, which would stop every e-invoiced client from syncing.
DELIVERY_TYPES = _options("Mail", "Email", "Manually", "Svefaktura", "Efaktura")
INVOICE_DAYS = (
    Option("INVOICE_AT_START", "Invoice at start"),
    Option("PAY_AT_START", "Pay at start"),
    Option("INVOICE_AT_END", "Invoice at end"),
    Option("INVOICE_AT_START_MONTH", "Invoice at start of month"),
    Option("INVOICE_60_DAYS_PRIOR_TO_PERIOD_START", "Invoice 60 days prior"),
    Option("INVOICE_AT_END_MONTH", "Invoice at end of month"),
    Option("INVOICE_ONE_DAY_PRIOR_TO_PERIOD_START", "Invoice 1 day prior"),
    Option("INVOICE_FIVE_DAYS_PRIOR_TO_PERIOD_START", "Invoice 5 days prior"),
)
BILLING_FREQUENCY_OPTIONS = _pairs(transforms.BILLING_FREQUENCIES)
DEFAULT_CURRENCY = "SEK"  # Kleer is Swedish; used only when a record has no currency, as HubSpot requires one.


# -- Inbound triggers: the properties the app's webhooks subscribe to (two-way candidates) ------------------

# The incumbent's documented company trigger list (kleer-for-hubspot-product.md §4), plus the `kleer_…`
# properties our own default mappings create (the app creates them under the same name in every portal, so a
# subscription by name covers them all).
COMPANY_TRIGGERS = (
    "name", "domain", "phone", "address", "address2", "city", "state", "zip", "country",
    "description", "industry", "website", "numberofemployees", "annualrevenue",
    "orgno", "organization_number", "registration_number", "vat_number",
    "email", "invoice_email", "kleer_email",
    "invoice_delivery_method", "kleer_delivery_method",
    "invoice_payment_days", "kleer_payment_days",
    "currency", "kleer_currency", "default_currency",
    "kleer_orgno", "kleer_vat_number",
)  # fmt: skip
# Not documented by the incumbent: the standard contact properties the contact target's defaults write.
CONTACT_TRIGGERS = ("firstname", "email", "phone", "address", "zip", "city", "country", "kleer_orgno")
# Projects (0-970) are not among the object types HubSpot's generic webhooks cover
# (https://developers.hubspot.com/docs/api-reference/2026-03/webhooks/guide, "Supported object types"), so
# projects synced to HubSpot projects are one-way; synced to deals, the properties their default mappings write
# are two-way (the incumbent does not list its project triggers, §3.6).
PROJECT_DEAL_TRIGGERS = ("dealname", "amount", "kleer_project_number")


# -- Clients (§3.1) ----------------------------------------------------------------------------------------

CLIENTS = ObjectSpec(
    key="clients",
    label=_("Clients"),
    plan=Plan.FREE,
    direction=Direction.TWO_WAY,
    interval_minutes=15,
    kleer_resource="client",
    fields=(
        Field("name", _("Name"), T.STRING, description=_("The client name (required).")),
        Field("foreign-id", _("Foreign ID"), T.STRING),
        Field("contact", _("Contact"), T.STRING),
        Field("address.address1", _("Address 1"), T.STRING),
        Field("address.address2", _("Address 2"), T.STRING),
        Field("address.zip-code", _("Zip code"), T.STRING),
        Field("address.state", _("State"), T.STRING, description=STATE_HINT),
        Field("address.country", _("Country (address)"), T.STRING),
        Field("email", _("Email"), T.STRING),
        Field("client-type", _("Client type"), T.ENUM, CLIENT_TYPES),
        Field("country-code", _("Country code"), T.STRING),
        Field("currency-type", _("Currency"), T.ENUM, CURRENCIES),
        Field("accountnr", _("Account number"), T.INTEGER),
        Field("payment-days", _("Payment days"), T.INTEGER),
        Field("orgno", _("Org. number"), T.STRING),
        Field("phone", _("Phone"), T.STRING),
        Field("user.id", _("Responsible user"), T.ID),
        Field("delivery-type", _("Delivery type"), T.ENUM, DELIVERY_TYPES),
        Field("vat-nr", _("VAT number"), T.STRING),
        Field("gln", _("GLN"), T.STRING),
        Field("active", _("Active"), T.BOOLEAN),
    ),
    targets=(
        Target(
            hubspot_object="companies",
            label=_("Companies"),
            default_mappings=(
                M("name", "name"),
                M("phone", "phone"),
                M("address.address1", "address"),
                M("address.address2", "address2"),
                M("address.zip-code", "zip"),
                # Kleer's `state` holds the postal town in Swedish addresses ("Stockholm"), i.e. HubSpot's city.
                M("address.state", "city"),
                M("address.country", "country"),
                # Companies have no standard email, org-number or payment-terms properties.
                M("email", "kleer_email"),
                M("orgno", "kleer_orgno"),
                M("vat-nr", "kleer_vat_number"),
                M("currency-type", "kleer_currency"),
                M("payment-days", "kleer_payment_days"),
                M("delivery-type", "kleer_delivery_method"),
            ),
            inbound_properties=COMPANY_TRIGGERS,
        ),
        Target(
            hubspot_object="contacts",
            label=_("Contacts"),
            default_mappings=(
                # Kleer has one name; HubSpot shows "firstname lastname", so the whole name reads correctly.
                M("name", "firstname"),
                M("email", "email"),
                M("phone", "phone"),
                M("address.address1", "address"),
                M("address.zip-code", "zip"),
                M("address.state", "city"),
                M("address.country", "country"),
                M("orgno", "kleer_orgno"),
            ),
            inbound_properties=CONTACT_TRIGGERS,
        ),
    ),
    required_fields=("name",),
)


# -- Invoices (§3.2) ---------------------------------------------------------------------------------------

INVOICES = ObjectSpec(
    key="invoices",
    label=_("Invoices"),
    plan=Plan.PRO,
    direction=Direction.ONE_WAY,
    interval_minutes=30,
    fields=(
        Field("invoice-nr", _("Invoice number"), T.INTEGER),
        Field("foreign-id", _("Foreign ID"), T.STRING),
        Field("po-nr", _("PO number"), T.STRING),
        Field("client-ref.id", _("Client ref. (ID)"), T.ID),
        Field("your-reference", _("Your reference"), T.STRING),
        Field("our-reference.id", _("Our reference (user ID)"), T.ID),
        *_address(
            "invoice-address",
            (
                _("Invoice address 1"),
                _("Invoice address 2"),
                _("Invoice zip code"),
                _("Invoice state"),
                _("Invoice country"),
            ),
        ),
        Field("invoice-email", _("Invoice email"), T.STRING),
        Field("delivery-name", _("Delivery name"), T.STRING),
        *_address(
            "delivery-address",
            (
                _("Delivery address 1"),
                _("Delivery address 2"),
                _("Delivery zip code"),
                _("Delivery state"),
                _("Delivery country"),
            ),
        ),
        Field("delivery-email", _("Delivery email"), T.STRING),
        Field("invoice-date", _("Invoice date"), T.DATE),
        Field("due-date", _("Due date"), T.DATE),
        Field("delivery-date", _("Delivery date"), T.DATE),
        Field("period.start-date", _("Period start date"), T.DATE),
        Field("period.end-date", _("Period end date"), T.DATE),
        Field("currency", _("Currency"), T.STRING),
        Field("currency-rate", _("Currency rate"), T.DECIMAL),
        Field("certified", _("Certified"), T.BOOLEAN),
        Field("sent", _("Sent"), T.BOOLEAN),
        Field("notes", _("Notes"), T.TEXT),
        Field("delivery-type", _("Delivery type"), T.ENUM, DELIVERY_TYPES),
        Field("vat-nr", _("VAT number"), T.STRING),
        Field("country-code", _("Country code"), T.STRING),
        # Öre like every Kleer amount (kleer-api.md §1.7), so it is converted like the total.
        Field("remaining", _("Remaining"), T.MONEY, description=_("Outstanding amount.")),
        Field("disabled", _("Disabled"), T.BOOLEAN),
        Field("edi-period-type", _("EDI period type"), T.STRING),
        Field("automatic-actions-disabled", _("Auto actions disabled"), T.BOOLEAN),
        Field("agreement-nr", _("Agreement number (ref)"), T.STRING),
        Field(
            "_total_amount",
            _("Total amount"),
            T.MONEY,
            compute=transforms.invoice_total_amount,
            description=_("Invoice total including VAT (amount + vat)."),
        ),
        Field(
            "_status",
            _("Invoice status"),
            T.ENUM,
            _pairs(transforms.INVOICE_STATUSES),
            compute=transforms.invoice_status,
            description=_("Maps to HubSpot's hs_invoice_status."),
        ),
    ),
    targets=(
        Target(
            hubspot_object="invoices",
            label=_("Invoices"),
            default_mappings=(
                M("currency", "hs_currency", DEFAULT_CURRENCY),  # the one property HubSpot requires
                M("invoice-date", "hs_invoice_date"),
                M("due-date", "hs_due_date"),
                M("po-nr", "hs_purchase_order_number"),
                M("notes", "hs_comments"),
                M("_status", "hs_invoice_status"),
                # hs_number and hs_amount_billed are HubSpot-calculated, so Kleer's values get their own.
                M("invoice-nr", "kleer_invoice_nr"),
                M("_total_amount", "kleer_total_amount"),
            ),
            # Reference-only in HubSpot; Kleer bills and collects (product doc §6).
            fixed_properties=(("hs_invoice_billable", "false"),),
        ),
        Target(
            hubspot_object="deals",
            label=_("Deals"),
            default_mappings=(
                M("invoice-nr", "dealname"),
                M("_total_amount", "amount"),
                M("invoice-date", "closedate"),
                M("currency", "deal_currency_code"),
            ),
            needs_pipeline=True,
        ),
    ),
    associations=(Association("client-ref.id", "clients"),),
    include=transforms.invoice_is_syncable,
    update_only=lambda invoice: bool(invoice.get("disabled")),
    depends_on=("clients",),
)


# -- Agreements (§3.3) -------------------------------------------------------------------------------------

AGREEMENTS = ObjectSpec(
    key="agreements",
    label=_("Agreements"),
    plan=Plan.PRO,
    direction=Direction.ONE_WAY,
    interval_minutes=30,
    fields=(
        Field("foreign-id", _("Foreign ID"), T.STRING),
        Field("revision-nr", _("Revision number"), T.INTEGER),
        Field("client-ref.id", _("Client ref. (ID)"), T.ID),
        Field("description", _("Description"), T.STRING),
        Field("start-date", _("Start date"), T.DATE),
        Field("start-invoice-date", _("Start invoice date"), T.DATE),
        Field("end-date", _("End date"), T.DATE),
        Field("renewal-notification-date", _("Renewal notification date"), T.DATE),
        Field("your-reference", _("Your reference"), T.STRING),
        Field("our-reference.id", _("Our reference (user ID)"), T.ID),
        Field("currency", _("Currency"), T.STRING),
        Field("payment-days", _("Payment days"), T.INTEGER),
        Field("invoice-interval-months", _("Invoice interval (months)"), T.INTEGER),
        Field("invoice-day", _("Invoice day"), T.ENUM, INVOICE_DAYS),
        Field("po-nr", _("PO number"), T.STRING),
        Field("agreement-nr", _("Agreement number"), T.STRING),
        Field("subscription-nr", _("Subscription number"), T.STRING),
        Field("notes", _("Notes"), T.TEXT),
        Field("_mrr", _("Monthly recurring revenue"), T.MONEY, compute=transforms.agreement_mrr),
        Field("_arr", _("Annual recurring revenue"), T.MONEY, compute=transforms.agreement_arr),
        Field(
            "_billing_frequency",
            _("Billing frequency"),
            T.ENUM,
            BILLING_FREQUENCY_OPTIONS,
            compute=transforms.agreement_billing_frequency,
        ),
        Field(
            "_status",
            _("Status"),
            T.ENUM,
            _pairs(transforms.AGREEMENT_STATUSES),
            compute=transforms.agreement_status,
        ),
    ),
    targets=(
        Target(
            hubspot_object="subscriptions",
            label=_("Subscriptions"),
            default_mappings=(
                M("description", "hs_name", "Kleer agreement"),  # hs_name is required to create
                M("currency", "hs_currency_code", DEFAULT_CURRENCY),
                M("start-date", "hs_recurring_billing_start_date"),
                M("_billing_frequency", "hs_recurring_billing_frequency"),
                # hs_status is maintained by HubSpot billing; the date-derived status gets its own property.
                M("_status", "kleer_status"),
                M("_mrr", "kleer_mrr"),
                M("_arr", "kleer_arr"),
                M("end-date", "kleer_end_date"),
                M("agreement-nr", "kleer_agreement_nr"),
            ),
            # Never let HubSpot invoice a Kleer agreement (product doc §6: double billing).
            fixed_properties=(("hs_invoice_creation", "off"),),
            requires_payments=True,
        ),
        Target(
            hubspot_object="deals",
            label=_("Deals"),
            default_mappings=(
                M("description", "dealname", "Kleer agreement"),
                M("_arr", "amount"),
                M("start-date", "closedate"),
                M("currency", "deal_currency_code"),
                M("_status", "kleer_status"),
                M("_mrr", "kleer_mrr"),
            ),
            needs_pipeline=True,
        ),
    ),
    associations=(Association("client-ref.id", "clients"),),
    depends_on=("clients",),
)


# -- Products (§3.4) ---------------------------------------------------------------------------------------

PRODUCTS = ObjectSpec(
    key="products",
    label=_("Products"),
    plan=Plan.FREE,
    direction=Direction.ONE_WAY,
    interval_minutes=1440,
    fields=(
        Field("name", _("Name"), T.STRING),
        Field("foreign-id", _("Foreign ID"), T.STRING),
        Field("type", _("Type"), T.STRING),
        Field("unit", _("Unit"), T.STRING),
        Field("price", _("Price"), T.MONEY),
        Field("ean", _("EAN"), T.STRING),
        Field("account-nr", _("Account number"), T.INTEGER),
        Field("vat-percentage", _("VAT percentage"), T.DECIMAL, description=_("VAT rate as a fraction (0.25 = 25 %).")),
    ),
    targets=(
        Target(
            hubspot_object="products",
            label=_("Products"),
            default_mappings=(M("name", "name"), M("price", "price")),
        ),
    ),
)


# -- Line Items (§3.5) -------------------------------------------------------------------------------------

LINE_ITEMS = ObjectSpec(
    key="line_items",
    label=_("Line Items"),
    plan=Plan.PRO,
    direction=Direction.ONE_WAY,
    interval_minutes=30,
    fields=(
        Field("quantity", _("Quantity"), T.DECIMAL),
        Field("price", _("Price"), T.MONEY, description=_("Unit price.")),
        Field("vat", _("VAT"), T.DECIMAL, description=_("VAT rate of the row as a fraction (0.25 = 25 %).")),
        Field("product.id", _("Product (ID)"), T.ID),
        Field("unit", _("Unit"), T.STRING),
        Field("description", _("Description"), T.STRING),
        Field("account-nr", _("Account number"), T.INTEGER),
        Field("discount.percentage", _("Discount percentage"), T.DECIMAL),
        Field("discount.absolute", _("Discount absolute"), T.MONEY),
        # Set on recurring agreement rows by transforms.line_items_from_agreement (product doc §3.5).
        Field(
            "_billing_frequency",
            _("Billing frequency"),
            T.ENUM,
            BILLING_FREQUENCY_OPTIONS,
            compute=transforms.line_item_billing_frequency,
            description=_("Recurring agreement rows only."),
        ),
    ),
    targets=(
        Target(
            hubspot_object="line_items",
            label=_("Line Items"),
            default_mappings=(
                M("description", "name"),
                M("quantity", "quantity"),
                M("price", "price"),
                M("_billing_frequency", "recurringbillingfrequency"),
            ),
        ),
    ),
    synced_with=("invoices", "agreements"),
)


# -- Projects (§3.6) ---------------------------------------------------------------------------------------

PROJECTS = ObjectSpec(
    key="projects",
    label=_("Projects"),
    plan=Plan.PRO,
    direction=Direction.TWO_WAY,
    interval_minutes=15,
    kleer_resource="client-project",
    fields=(
        Field("name", _("Name"), T.STRING, updatable=False),
        Field("client.id", _("Client (ID)"), T.ID, updatable=False),
        Field("fixed-price", _("Fixed price"), T.BOOLEAN, updatable=False),
        Field("number", _("Number"), T.STRING),
        Field("comment", _("Comment"), T.TEXT),
        Field("budget-hours", _("Budget hours"), T.DECIMAL),
        Field("budget-amount", _("Budget amount"), T.MONEY),
        Field("opening-date", _("Opening date"), T.DATE),
    ),
    targets=(
        Target(
            hubspot_object="projects",
            label=_("Projects"),
            default_mappings=(
                M("name", "hs_name"),
                M("opening-date", "hs_start_date"),
                M("comment", "hs_description"),
                M("number", "kleer_project_number"),
                M("budget-amount", "kleer_budget_amount"),
            ),
            needs_pipeline=True,
        ),
        Target(
            hubspot_object="deals",
            label=_("Deals"),
            default_mappings=(
                M("name", "dealname"),
                M("budget-amount", "amount"),
                M("number", "kleer_project_number"),
            ),
            needs_pipeline=True,
            inbound_properties=PROJECT_DEAL_TRIGGERS,
        ),
    ),
    associations=(Association("client.id", "clients"),),
    depends_on=("clients",),
)


# Tab order of the settings page (product doc §2).
SPECS: tuple[ObjectSpec, ...] = (CLIENTS, INVOICES, AGREEMENTS, PRODUCTS, LINE_ITEMS, PROJECTS)
