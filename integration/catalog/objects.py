"""The six Kleer object types: field catalogues, targets, default mappings, schedules and plans.

Field names and labels are copied from the product documentation (kleer-for-hubspot-product.md §3.1–3.6);
JSON shapes from kleer-api.md §2. HubSpot property names from hubspot-api.md §5.

Default mappings are deliberately conservative. Standard HubSpot properties are used only where the meaning is
the same on both sides; everything else goes to a custom `kleer_…` property the sync creates (listed by
`ObjectSpec.custom_properties`). Names `kleer_email`, `kleer_currency`, `kleer_delivery_method` and
`kleer_payment_days` are the ones the incumbent app's inbound trigger list uses, so existing portals keep working.
"""

from __future__ import annotations

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


def _address(prefix: str, label: str) -> tuple[Field, ...]:
    """The five Kleer address lines (`address1`, `address2`, `zip-code`, `state`, `country`)."""
    return (
        Field(f"{prefix}.address1", f"{label} address 1", T.STRING),
        Field(f"{prefix}.address2", f"{label} address 2", T.STRING),
        Field(f"{prefix}.zip-code", f"{label} zip code", T.STRING),
        Field(f"{prefix}.state", f"{label} state", T.STRING),
        Field(f"{prefix}.country", f"{label} country", T.STRING),
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
    label="Clients",
    plan=Plan.FREE,
    direction=Direction.TWO_WAY,
    interval_minutes=15,
    kleer_resource="client",
    fields=(
        Field("name", "Name", T.STRING, description="The client name (required)."),
        Field("foreign-id", "Foreign ID", T.STRING),
        Field("contact", "Contact", T.STRING),
        Field("address.address1", "Address 1", T.STRING),
        Field("address.address2", "Address 2", T.STRING),
        Field("address.zip-code", "Zip code", T.STRING),
        Field("address.state", "State", T.STRING),
        Field("address.country", "Country (address)", T.STRING),
        Field("email", "Email", T.STRING),
        Field("client-type", "Client type", T.ENUM, CLIENT_TYPES),
        Field("country-code", "Country code", T.STRING),
        Field("currency-type", "Currency", T.ENUM, CURRENCIES),
        Field("accountnr", "Account number", T.INTEGER),
        Field("payment-days", "Payment days", T.INTEGER),
        Field("orgno", "Org. number", T.STRING),
        Field("phone", "Phone", T.STRING),
        Field("user.id", "Responsible user", T.ID),
        Field("delivery-type", "Delivery type", T.ENUM, DELIVERY_TYPES),
        Field("vat-nr", "VAT number", T.STRING),
        Field("gln", "GLN", T.STRING),
        Field("active", "Active", T.BOOLEAN),
    ),
    targets=(
        Target(
            hubspot_object="companies",
            label="Companies",
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
            label="Contacts",
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
    label="Invoices",
    plan=Plan.PRO,
    direction=Direction.ONE_WAY,
    interval_minutes=30,
    fields=(
        Field("invoice-nr", "Invoice number", T.INTEGER),
        Field("foreign-id", "Foreign ID", T.STRING),
        Field("po-nr", "PO number", T.STRING),
        Field("client-ref.id", "Client ref. (ID)", T.ID),
        Field("your-reference", "Your reference", T.STRING),
        Field("our-reference.id", "Our reference (user ID)", T.ID),
        *_address("invoice-address", "Invoice"),
        Field("invoice-email", "Invoice email", T.STRING),
        Field("delivery-name", "Delivery name", T.STRING),
        *_address("delivery-address", "Delivery"),
        Field("delivery-email", "Delivery email", T.STRING),
        Field("invoice-date", "Invoice date", T.DATE),
        Field("due-date", "Due date", T.DATE),
        Field("delivery-date", "Delivery date", T.DATE),
        Field("period.start-date", "Period start date", T.DATE),
        Field("period.end-date", "Period end date", T.DATE),
        Field("currency", "Currency", T.STRING),
        Field("currency-rate", "Currency rate", T.DECIMAL),
        Field("certified", "Certified", T.BOOLEAN),
        Field("sent", "Sent", T.BOOLEAN),
        Field("notes", "Notes", T.TEXT),
        Field("delivery-type", "Delivery type", T.ENUM, DELIVERY_TYPES),
        Field("vat-nr", "VAT number", T.STRING),
        Field("country-code", "Country code", T.STRING),
        # Öre like every Kleer amount (kleer-api.md §1.7), so it is converted like the total.
        Field("remaining", "Remaining", T.MONEY, description="Outstanding amount."),
        Field("disabled", "Disabled", T.BOOLEAN),
        Field("edi-period-type", "EDI period type", T.STRING),
        Field("automatic-actions-disabled", "Auto actions disabled", T.BOOLEAN),
        Field("agreement-nr", "Agreement number (ref)", T.STRING),
        Field(
            "_total_amount",
            "Total amount",
            T.MONEY,
            compute=transforms.invoice_total_amount,
            description="Invoice total including VAT (amount + vat).",
        ),
        Field(
            "_status",
            "Invoice status",
            T.ENUM,
            _pairs(transforms.INVOICE_STATUSES),
            compute=transforms.invoice_status,
            description="Maps to HubSpot's hs_invoice_status.",
        ),
    ),
    targets=(
        Target(
            hubspot_object="invoices",
            label="Invoices",
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
            label="Deals",
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
    label="Agreements",
    plan=Plan.PRO,
    direction=Direction.ONE_WAY,
    interval_minutes=30,
    fields=(
        Field("foreign-id", "Foreign ID", T.STRING),
        Field("revision-nr", "Revision number", T.INTEGER),
        Field("client-ref.id", "Client ref. (ID)", T.ID),
        Field("description", "Description", T.STRING),
        Field("start-date", "Start date", T.DATE),
        Field("start-invoice-date", "Start invoice date", T.DATE),
        Field("end-date", "End date", T.DATE),
        Field("renewal-notification-date", "Renewal notification date", T.DATE),
        Field("your-reference", "Your reference", T.STRING),
        Field("our-reference.id", "Our reference (user ID)", T.ID),
        Field("currency", "Currency", T.STRING),
        Field("payment-days", "Payment days", T.INTEGER),
        Field("invoice-interval-months", "Invoice interval (months)", T.INTEGER),
        Field("invoice-day", "Invoice day", T.ENUM, INVOICE_DAYS),
        Field("po-nr", "PO number", T.STRING),
        Field("agreement-nr", "Agreement number", T.STRING),
        Field("subscription-nr", "Subscription number", T.STRING),
        Field("notes", "Notes", T.TEXT),
        Field("_mrr", "Monthly recurring revenue", T.MONEY, compute=transforms.agreement_mrr),
        Field("_arr", "Annual recurring revenue", T.MONEY, compute=transforms.agreement_arr),
        Field(
            "_billing_frequency",
            "Billing frequency",
            T.ENUM,
            BILLING_FREQUENCY_OPTIONS,
            compute=transforms.agreement_billing_frequency,
        ),
        Field(
            "_status",
            "Status",
            T.ENUM,
            _pairs(transforms.AGREEMENT_STATUSES),
            compute=transforms.agreement_status,
        ),
    ),
    targets=(
        Target(
            hubspot_object="subscriptions",
            label="Subscriptions",
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
            label="Deals",
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
    label="Products",
    plan=Plan.FREE,
    direction=Direction.ONE_WAY,
    interval_minutes=1440,
    fields=(
        Field("name", "Name", T.STRING),
        Field("foreign-id", "Foreign ID", T.STRING),
        Field("type", "Type", T.STRING),
        Field("unit", "Unit", T.STRING),
        Field("price", "Price", T.MONEY),
        Field("ean", "EAN", T.STRING),
        Field("account-nr", "Account number", T.INTEGER),
        Field("vat-percentage", "VAT percentage", T.DECIMAL, description="VAT rate as a fraction (0.25 = 25 %)."),
    ),
    targets=(
        Target(
            hubspot_object="products",
            label="Products",
            default_mappings=(M("name", "name"), M("price", "price")),
        ),
    ),
)


# -- Line Items (§3.5) -------------------------------------------------------------------------------------

LINE_ITEMS = ObjectSpec(
    key="line_items",
    label="Line Items",
    plan=Plan.PRO,
    direction=Direction.ONE_WAY,
    interval_minutes=30,
    fields=(
        Field("quantity", "Quantity", T.DECIMAL),
        Field("price", "Price", T.MONEY, description="Unit price."),
        Field("vat", "VAT", T.DECIMAL, description="VAT rate of the row as a fraction (0.25 = 25 %)."),
        Field("product.id", "Product (ID)", T.ID),
        Field("unit", "Unit", T.STRING),
        Field("description", "Description", T.STRING),
        Field("account-nr", "Account number", T.INTEGER),
        Field("discount.percentage", "Discount percentage", T.DECIMAL),
        Field("discount.absolute", "Discount absolute", T.MONEY),
        # Set on recurring agreement rows by transforms.line_items_from_agreement (product doc §3.5).
        Field(
            "_billing_frequency",
            "Billing frequency",
            T.ENUM,
            BILLING_FREQUENCY_OPTIONS,
            compute=transforms.line_item_billing_frequency,
            description="Recurring agreement rows only.",
        ),
    ),
    targets=(
        Target(
            hubspot_object="line_items",
            label="Line Items",
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
    label="Projects",
    plan=Plan.PRO,
    direction=Direction.TWO_WAY,
    interval_minutes=15,
    kleer_resource="client-project",
    fields=(
        Field("name", "Name", T.STRING, updatable=False),
        Field("client.id", "Client (ID)", T.ID, updatable=False),
        Field("fixed-price", "Fixed price", T.BOOLEAN, updatable=False),
        Field("number", "Number", T.STRING),
        Field("comment", "Comment", T.TEXT),
        Field("budget-hours", "Budget hours", T.DECIMAL),
        Field("budget-amount", "Budget amount", T.MONEY),
        Field("opening-date", "Opening date", T.DATE),
    ),
    targets=(
        Target(
            hubspot_object="projects",
            label="Projects",
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
            label="Deals",
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
