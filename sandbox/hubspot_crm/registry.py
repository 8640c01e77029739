"""What the fake knows about HubSpot's object types before any portal exists: pure data, no database.

Sources (all in /work/shared/reference/hubspot-api.md): object type ids and required properties §2.1
(https://developers.hubspot.com/docs/api-reference/legacy/crm/using-object-apis), scopes §1.5
(https://developers.hubspot.com/scopes), default properties and pipelines §10.1, invoices/projects/
subscriptions/products §5, association type ids §4.2
(https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associate-records/guide).
Anything marked "fake's choice" is not documented by HubSpot and was picked to be strict but plausible.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

COMPANIES, CONTACTS, DEALS, PRODUCTS, LINE_ITEMS = "0-2", "0-1", "0-3", "0-7", "0-8"
INVOICES, SUBSCRIPTIONS, PROJECTS = "0-53", "0-69", "0-970"

CURRENCIES = ("SEK", "EUR", "USD", "NOK", "DKK", "GBP", "CHF", "ISK", "PLN", "JPY", "CNY", "CAD", "AUD")


@dataclass(frozen=True)
class PropertySpec:
    """A HubSpot-defined property seeded into every portal."""

    name: str
    label: str
    type: str
    field_type: str
    options: tuple[str, ...] = ()
    read_only: bool = False
    calculated: bool = False
    has_unique_value: bool = False


@dataclass(frozen=True)
class ObjectTypeSpec:
    """One CRM object type: names, scopes, feature gate, default properties and create rules."""

    type_id: str
    name: str
    singular: str
    error_name: str
    group: tuple[str, str]
    read_scopes: tuple[str, ...]
    write_scopes: tuple[str, ...]
    schema_read_scopes: tuple[str, ...]
    schema_write_scopes: tuple[str, ...]
    properties: tuple[PropertySpec, ...]
    default_read: tuple[str, ...]
    query_properties: tuple[str, ...]
    # Each entry is a group of names of which at least one must be set at creation.
    required: tuple[tuple[str, ...], ...] = ()
    feature: str | None = None
    pipeline_properties: tuple[str, str] | None = None
    list_columns: tuple[str, ...] = field(default=())


def _p(name: str, label: str, type_: str = "string", field_type: str = "text", **kwargs: object) -> PropertySpec:
    return PropertySpec(name, label, type_, field_type, **kwargs)  # type: ignore[arg-type]


def _enum(name: str, label: str, options: tuple[str, ...], **kwargs: object) -> PropertySpec:
    return PropertySpec(name, label, "enumeration", "select", options=options, **kwargs)  # type: ignore[arg-type]


def _number(name: str, label: str, **kwargs: object) -> PropertySpec:
    return PropertySpec(name, label, "number", "number", **kwargs)  # type: ignore[arg-type]


def _system(*, hs_createdate: bool = False, contact: bool = False) -> tuple[PropertySpec, ...]:
    """Read-only properties every record has (§10.1)."""
    props = [
        _number("hs_object_id", "Record ID", read_only=True),
        _p("createdate", "Create Date", "datetime", "date", read_only=True),
        _p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
    ]
    if hs_createdate:
        props.append(_p("hs_createdate", "Created at", "datetime", "date", read_only=True))
    if contact:  # contacts spell their last-modified date without the hs_ prefix
        props.append(_p("lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True))
    return tuple(props)


def _scopes(obj: str, *, sensitive: bool = False) -> tuple[tuple[str, ...], tuple[str, ...]]:
    read = [f"crm.objects.{obj}.read"]
    write = [f"crm.objects.{obj}.write"]
    if sensitive:
        read += [f"crm.objects.{obj}.sensitive.read.v2", f"crm.objects.{obj}.highly_sensitive.read.v2"]
        write += [f"crm.objects.{obj}.sensitive.write.v2", f"crm.objects.{obj}.highly_sensitive.write.v2"]
    return tuple(read), tuple(write)


LIFECYCLE = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")
# Labels HubSpot shows for the internal values of its own options, where they are more than the value capitalised
# (https://knowledge.hubspot.com/records/use-lifecycle-stages; the deal and product property references). A value
# not listed here is its own label. Customers type labels; the product must ask for values.
OPTION_LABELS = {
    "marketingqualifiedlead": "Marketing Qualified Lead",
    "salesqualifiedlead": "Sales Qualified Lead",
    "newbusiness": "New Business",
    "existingbusiness": "Existing Business",
    "non_inventory": "Non-inventory",
}
# HubSpot's line-item frequency options, which subscriptions share (§5).
BILLING_FREQUENCY = (
    "weekly",
    "biweekly",
    "monthly",
    "quarterly",
    "per_six_months",
    "annually",
    "per_two_years",
    "per_three_years",
    "per_four_years",
    "per_five_years",
)
ADDRESS = (
    _p("address", "Street Address"),
    _p("city", "City"),
    _p("state", "State/Region"),
    _p("zip", "Postal Code"),
    _p("country", "Country"),
)


def _companies() -> ObjectTypeSpec:
    read, write = _scopes("companies", sensitive=True)
    return ObjectTypeSpec(
        type_id=COMPANIES,
        name="companies",
        singular="company",
        error_name="COMPANY",
        group=("companyinformation", "Company information"),
        read_scopes=read,
        write_scopes=write,
        schema_read_scopes=("crm.schemas.companies.read", "crm.objects.companies.read"),
        schema_write_scopes=("crm.schemas.companies.write",),
        properties=(
            _p("name", "Company name"),
            _p("domain", "Company Domain Name"),
            _p("website", "Website URL"),
            _p("phone", "Phone Number", "string", "phonenumber"),
            *ADDRESS,
            _p("address2", "Street Address 2"),  # companies only; contacts have one street line
            _p("description", "Description", "string", "textarea"),
            _p("orgnr", "Organization number"),
            _number("numberofemployees", "Number of Employees"),
            _number("annualrevenue", "Annual Revenue"),
            _enum("lifecyclestage", "Lifecycle Stage", (*LIFECYCLE, "evangelist", "other")),
            *_system(),
        ),
        default_read=("name", "domain", "createdate", "hs_lastmodifieddate", "hs_object_id"),
        query_properties=("name", "domain", "website", "phone"),
        required=(("name", "domain"),),
        list_columns=("name", "domain", "city"),
    )


def _contacts() -> ObjectTypeSpec:
    read, write = _scopes("contacts", sensitive=True)
    return ObjectTypeSpec(
        type_id=CONTACTS,
        name="contacts",
        singular="contact",
        error_name="CONTACT",
        group=("contactinformation", "Contact information"),
        read_scopes=read,
        write_scopes=write,
        schema_read_scopes=("crm.schemas.contacts.read", "crm.objects.contacts.read"),
        schema_write_scopes=("crm.schemas.contacts.write",),
        properties=(
            # Contacts' email is HubSpot's one built-in unique key besides the record id (§2.2).
            _p("email", "Email", has_unique_value=True),
            _p("firstname", "First Name"),
            _p("lastname", "Last Name"),
            _p("phone", "Phone Number", "string", "phonenumber"),
            _p("mobilephone", "Mobile Phone Number", "string", "phonenumber"),
            _p("company", "Company Name"),
            _p("jobtitle", "Job Title"),
            _p("website", "Website URL"),
            *ADDRESS,
            _enum("lifecyclestage", "Lifecycle Stage", (*LIFECYCLE, "evangelist", "other")),
            *_system(contact=True),
        ),
        default_read=("firstname", "lastname", "email", "createdate", "lastmodifieddate", "hs_object_id"),
        query_properties=("firstname", "lastname", "email", "phone", "company"),
        list_columns=("email", "firstname", "lastname"),
    )


def _deals() -> ObjectTypeSpec:
    read, write = _scopes("deals", sensitive=True)
    return ObjectTypeSpec(
        type_id=DEALS,
        name="deals",
        singular="deal",
        error_name="DEAL",
        group=("dealinformation", "Deal information"),
        read_scopes=read,
        write_scopes=write,
        schema_read_scopes=("crm.schemas.deals.read", "crm.objects.deals.read"),
        schema_write_scopes=("crm.schemas.deals.write",),
        properties=(
            _p("dealname", "Deal Name"),
            _number("amount", "Amount"),
            _p("closedate", "Close Date", "datetime", "date"),
            _enum("pipeline", "Pipeline", ()),
            _enum("dealstage", "Deal Stage", ()),
            _enum("dealtype", "Deal Type", ("newbusiness", "existingbusiness")),
            _enum("deal_currency_code", "Currency", CURRENCIES),
            _p("description", "Deal Description", "string", "textarea"),
            *_system(),
        ),
        default_read=(
            "dealname",
            "amount",
            "closedate",
            "pipeline",
            "dealstage",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
        ),
        query_properties=("dealname",),
        required=(("dealname",), ("pipeline",), ("dealstage",)),
        pipeline_properties=("pipeline", "dealstage"),
        list_columns=("dealname", "amount", "dealstage"),
    )


# §2.1's object table lists hs_sku, hs_folder, price, name and description as required to create a product, but
# the products guide creates products with name/price/hs_sku only, so that strict list is [unverified] and §10.4
# asks for it to be configurable. The fake requires nothing; set e.g. (("name",), ("price",)) to be stricter.
# `required_groups` reads it on every write, so a test can patch it.
PRODUCT_REQUIRED: tuple[tuple[str, ...], ...] = ()


def required_groups(spec: ObjectTypeSpec) -> tuple[tuple[str, ...], ...]:
    """The create-required property groups of `spec` (at least one name of each group must be set)."""
    return PRODUCT_REQUIRED if spec.type_id == PRODUCTS else spec.required


def _products() -> ObjectTypeSpec:
    read, write = _scopes("products")
    return ObjectTypeSpec(
        type_id=PRODUCTS,
        name="products",
        singular="product",
        error_name="PRODUCT",
        group=("productinformation", "Product information"),
        read_scopes=(*read, "e-commerce"),
        write_scopes=(*write, "e-commerce"),
        # No crm.schemas.products.* scope exists; property writes need e-commerce (§1.5).
        schema_read_scopes=("crm.objects.products.read", "e-commerce"),
        schema_write_scopes=("e-commerce",),
        properties=(
            _p("name", "Name"),
            _p("description", "Description", "string", "textarea"),
            _number("price", "Unit price"),
            _p("hs_sku", "SKU"),
            _number("hs_cost_of_goods_sold", "Unit cost"),
            _p("hs_recurring_billing_period", "Term"),
            _enum("hs_recurring_billing_frequency", "Billing frequency", BILLING_FREQUENCY),
            _enum("recurringbillingfrequency", "Billing frequency", BILLING_FREQUENCY),
            _enum("hs_product_type", "Product type", ("inventory", "non_inventory", "service")),
            _p("hs_url", "URL"),
            _number("hs_folder_id", "Folder"),
            *_system(),
        ),
        default_read=("name", "description", "price", "createdate", "hs_lastmodifieddate", "hs_object_id"),
        query_properties=("name", "description", "hs_sku"),
        list_columns=("name", "price", "hs_sku"),
    )


def _line_items() -> ObjectTypeSpec:
    read, write = _scopes("line_items")
    return ObjectTypeSpec(
        type_id=LINE_ITEMS,
        name="line_items",
        singular="line_item",
        error_name="LINE_ITEM",
        group=("lineiteminformation", "Line item information"),
        read_scopes=(*read, "e-commerce"),
        write_scopes=(*write, "e-commerce"),
        schema_read_scopes=("crm.schemas.line_items.read", "crm.objects.line_items.read", "e-commerce"),
        schema_write_scopes=("e-commerce",),
        properties=(
            _p("name", "Name"),
            _p("description", "Description", "string", "textarea"),
            _number("quantity", "Quantity"),
            _number("price", "Unit price"),
            _number("amount", "Net price", read_only=True, calculated=True),
            _number("hs_product_id", "Product ID"),
            _p("hs_sku", "SKU"),
            _number("discount", "Unit discount"),
            _number("hs_discount_percentage", "Discount percentage"),
            _number("hs_cost_of_goods_sold", "Unit cost"),
            _p("hs_recurring_billing_period", "Term"),
            _enum("hs_recurring_billing_frequency", "Billing frequency", BILLING_FREQUENCY),
            _enum("recurringbillingfrequency", "Billing frequency", BILLING_FREQUENCY),
            _p("hs_recurring_billing_start_date", "Billing start date", "date", "date"),
            _p("hs_recurring_billing_end_date", "Billing end date", "date", "date"),
            _enum("hs_line_item_currency_code", "Currency", CURRENCIES),
            _p("hs_tax_rate_group_id", "Tax rate"),
            _number("hs_position_on_quote", "Position"),
            *_system(),
        ),
        default_read=("quantity", "amount", "price", "createdate", "hs_lastmodifieddate", "hs_object_id"),
        query_properties=("name", "description", "hs_sku"),
        list_columns=("name", "quantity", "price", "amount"),
    )


def _invoices() -> ObjectTypeSpec:
    read, write = _scopes("invoices")
    return ObjectTypeSpec(
        type_id=INVOICES,
        name="invoices",
        singular="invoice",
        error_name="INVOICE",
        group=("invoiceinformation", "Invoice information"),
        read_scopes=read,
        write_scopes=write,
        schema_read_scopes=("crm.schemas.invoices.read", "crm.objects.invoices.read"),
        schema_write_scopes=("crm.schemas.invoices.write",),
        properties=(
            _enum("hs_currency", "Currency", CURRENCIES),
            _p("hs_invoice_date", "Invoice date", "datetime", "date"),
            _p("hs_due_date", "Due date", "datetime", "date"),
            _enum("hs_invoice_status", "Invoice status", ("draft", "open", "paid", "voided")),
            _p("hs_invoice_billable", "Billable", "bool", "booleancheckbox", options=("true", "false")),
            _p("hs_number", "Invoice number"),
            _p("hs_purchase_order_number", "Purchase order number"),
            _p("hs_comments", "Comments", "string", "textarea"),
            _p("hs_tax_id", "Tax ID"),
            _p("hs_language", "Language"),
            _p("hs_locale", "Locale"),
            _enum("hs_invoice_payment_collection_method", "Payment collection method", ("manual", "none")),
            _p(
                "hs_allow_partial_payments",
                "Allow partial payments",
                "bool",
                "booleancheckbox",
                options=("true", "false"),
            ),
            _p("hs_invoice_link", "Invoice link", read_only=True, calculated=True),
            _p("hs_pdf_download_link", "PDF download link", read_only=True, calculated=True),
            _number("hs_amount_billed", "Amount billed", read_only=True, calculated=True),
            _number("hs_balance_due", "Balance due", read_only=True, calculated=True),
            *_system(hs_createdate=True),
        ),
        default_read=("createdate", "hs_lastmodifieddate", "hs_object_id"),
        query_properties=("hs_number", "hs_purchase_order_number"),
        required=(("hs_currency",),),
        list_columns=("hs_number", "hs_currency", "hs_invoice_status", "hs_invoice_date"),
    )


def _subscriptions() -> ObjectTypeSpec:
    read, write = _scopes("subscriptions")
    return ObjectTypeSpec(
        type_id=SUBSCRIPTIONS,
        name="subscriptions",
        singular="subscription",
        error_name="SUBSCRIPTION",
        group=("subscriptioninformation", "Subscription information"),
        read_scopes=read,
        write_scopes=write,
        schema_read_scopes=("crm.schemas.subscriptions.read", "crm.objects.subscriptions.read"),
        schema_write_scopes=("crm.schemas.subscriptions.write",),
        properties=(
            _p("hs_name", "Name"),
            _enum("hs_invoice_creation", "Invoice creation", ("on", "off")),
            _enum("hs_status", "Status", ("active", "past_due", "canceled", "expired", "scheduled", "paused")),
            _p("hs_recurring_billing_start_date", "Start date", "date", "date"),
            _p("hs_recurring_billing_end_date", "End date", "date", "date"),
            _p("hs_recurring_billing_period", "Term"),
            _enum("hs_recurring_billing_frequency", "Billing frequency", BILLING_FREQUENCY),
            _enum("hs_currency_code", "Currency", CURRENCIES),
            *_system(hs_createdate=True),
        ),
        default_read=("hs_name", "hs_status", "createdate", "hs_lastmodifieddate", "hs_object_id"),
        query_properties=("hs_name",),
        required=(("hs_name",),),
        feature="payments",
        list_columns=("hs_name", "hs_status", "hs_invoice_creation"),
    )


def _projects() -> ObjectTypeSpec:
    read, write = _scopes("projects")
    return ObjectTypeSpec(
        type_id=PROJECTS,
        name="projects",
        singular="project",
        error_name="PROJECT",
        group=("projectinformation", "Project information"),
        read_scopes=(*read, "crm.objects.projects.sensitive.read", "crm.objects.projects.highly_sensitive.read"),
        write_scopes=(*write, "crm.objects.projects.sensitive.write", "crm.objects.projects.highly_sensitive.write"),
        schema_read_scopes=("crm.schemas.projects.read", "crm.objects.projects.read"),
        schema_write_scopes=("crm.schemas.projects.write",),
        properties=(
            _p("hs_name", "Project name"),
            _enum("hs_pipeline", "Pipeline", ()),
            _enum("hs_pipeline_stage", "Stage", ()),
            _p("hs_description", "Description", "string", "textarea"),
            _p("hs_start_date", "Start date", "date", "date"),
            _p("hs_target_due_date", "Target due date", "date", "date"),
            *_system(hs_createdate=True),
        ),
        default_read=(
            "hs_name",
            "hs_pipeline",
            "hs_pipeline_stage",
            "hs_createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
        ),
        query_properties=("hs_name",),
        required=(("hs_name",), ("hs_pipeline",), ("hs_pipeline_stage",)),
        feature="projects",
        pipeline_properties=("hs_pipeline", "hs_pipeline_stage"),
        list_columns=("hs_name", "hs_pipeline_stage"),
    )


OBJECT_TYPES: dict[str, ObjectTypeSpec] = {
    spec.type_id: spec
    for spec in (
        _contacts(),
        _companies(),
        _deals(),
        _products(),
        _line_items(),
        _invoices(),
        _subscriptions(),
        _projects(),
    )
}


def aliases() -> dict[str, str]:
    """Every accepted spelling -> canonical type id (§10.1 alias table)."""
    table: dict[str, str] = {}
    for spec in OBJECT_TYPES.values():
        for alias in (spec.type_id, spec.name, spec.singular):
            table[alias] = spec.type_id
    return table


# ---- pipelines (§10.1; §5.2) ---------------------------------------------------------------------------

DEAL_STAGES = (
    ("appointmentscheduled", "Appointment Scheduled", "0.2", "false"),
    ("qualifiedtobuy", "Qualified To Buy", "0.4", "false"),
    ("presentationscheduled", "Presentation Scheduled", "0.6", "false"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", "false"),
    ("contractsent", "Contract Sent", "0.9", "false"),
    ("closedwon", "Closed Won", "1.0", "true"),
    ("closedlost", "Closed Lost", "0.0", "true"),
)
PROJECT_STAGES = (("Planning", "false"), ("In progress", "false"), ("On hold", "false"), ("Completed", "true"))


@dataclass(frozen=True)
class PipelineSpec:
    pipeline_id: str
    label: str
    stages: tuple[tuple[str, str, dict[str, str]], ...]  # (stage id, label, metadata)


def default_pipelines(hub_id: int, type_id: str) -> tuple[PipelineSpec, ...]:
    """Deals get HubSpot's well-known `default` pipeline. Projects get ids derived from the hub (fake's
    choice) so the product cannot hard-code them: it must read them from the pipelines API (§5.2)."""
    if type_id == DEALS:
        stages = tuple((sid, label, {"probability": p, "isClosed": c}) for sid, label, p, c in DEAL_STAGES)
        return (PipelineSpec("default", "Sales Pipeline", stages),)
    if type_id == PROJECTS:
        pipeline_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"hubspot-fake:{hub_id}:projects"))
        stages = tuple(
            (str(uuid.uuid5(uuid.NAMESPACE_URL, f"{pipeline_id}:{label}")), label, {"isClosed": closed})
            for label, closed in PROJECT_STAGES
        )
        return (PipelineSpec(pipeline_id, "Projects", stages),)
    return ()


# ---- associations (§4.2) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssociationTypeSpec:
    from_type: str
    to_type: str
    type_id: int
    inverse_id: int
    label: str | None = None
    default: bool = False


def _pair(from_type: str, to_type: str, forward: int, backward: int) -> list[AssociationTypeSpec]:
    return [
        AssociationTypeSpec(from_type, to_type, forward, backward, default=True),
        AssociationTypeSpec(to_type, from_type, backward, forward, default=True),
    ]


def _primary(from_type: str, to_type: str, forward: int, backward: int) -> list[AssociationTypeSpec]:
    return [
        AssociationTypeSpec(from_type, to_type, forward, backward, label="Primary"),
        AssociationTypeSpec(to_type, from_type, backward, forward, label="Primary"),
    ]


ASSOCIATION_TYPES: tuple[AssociationTypeSpec, ...] = tuple(
    [
        *_pair(DEALS, COMPANIES, 341, 342),
        *_primary(DEALS, COMPANIES, 5, 6),
        *_pair(DEALS, CONTACTS, 3, 4),
        *_pair(LINE_ITEMS, DEALS, 20, 19),
        *_pair(INVOICES, COMPANIES, 179, 180),
        *_pair(INVOICES, CONTACTS, 177, 178),
        *_pair(INVOICES, DEALS, 175, 176),
        *_pair(INVOICES, LINE_ITEMS, 409, 410),
        *_pair(INVOICES, SUBSCRIPTIONS, 622, 623),
        *_pair(SUBSCRIPTIONS, LINE_ITEMS, 301, 302),
        *_pair(SUBSCRIPTIONS, COMPANIES, 297, 298),
        *_pair(SUBSCRIPTIONS, CONTACTS, 295, 296),
        *_pair(SUBSCRIPTIONS, DEALS, 299, 300),
        *_pair(PROJECTS, COMPANIES, 1236, 1237),
        # Primary company of a project: HubSpot documents 1299 one way only; its inverse is the generic 1237.
        AssociationTypeSpec(PROJECTS, COMPANIES, 1299, 1237, label="Primary"),
        *_pair(PROJECTS, DEALS, 1238, 1239),
        *_pair(PROJECTS, CONTACTS, 1242, 1243),
        # Line item -> project is 1345; HubSpot documents no inverse id, 1346 is the fake's choice.
        *_pair(LINE_ITEMS, PROJECTS, 1345, 1346),
        *_pair(CONTACTS, COMPANIES, 279, 280),
        *_primary(CONTACTS, COMPANIES, 1, 2),
    ]
)

# A line item belongs to exactly one of these (§4.2 notes; §10.6). Quotes are not modelled by this fake.
LINE_ITEM_PARENTS = (DEALS, INVOICES, SUBSCRIPTIONS)


def association_types(from_type: str, to_type: str) -> list[AssociationTypeSpec]:
    """HubSpot-defined association types from one object type to another."""
    return [spec for spec in ASSOCIATION_TYPES if spec.from_type == from_type and spec.to_type == to_type]


def association_type(from_type: str, type_id: int) -> AssociationTypeSpec | None:
    """The HubSpot-defined type `type_id` leaving `from_type` (ids are unique per source type)."""
    for spec in ASSOCIATION_TYPES:
        if spec.from_type == from_type and spec.type_id == type_id:
            return spec
    return None


def default_association_type(from_type: str, to_type: str) -> AssociationTypeSpec | None:
    """The most generic (unlabelled) type between two object types, used by the `default` endpoints."""
    for spec in association_types(from_type, to_type):
        if spec.default:
            return spec
    return None


def v3_association_name(spec: AssociationTypeSpec) -> str:
    """The `type` string of v3 `associations` blocks: `deal_to_company`, `deal_to_company_unlabeled`."""
    base = f"{OBJECT_TYPES[spec.from_type].singular}_to_{OBJECT_TYPES[spec.to_type].singular}"
    labelled_exists = any(other.label for other in association_types(spec.from_type, spec.to_type))
    return f"{base}_unlabeled" if spec.default and labelled_exists else base
