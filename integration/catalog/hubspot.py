"""The HubSpot side of the catalog: object types, scopes and HubSpot-defined association type ids.

Pure data, no Django and no HTTP, so the sync engine, the settings forms, the admin and the sandbox fake all
read the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "APP_SCOPES",
    "ASSOCIATION_TYPES",
    "HUBSPOT_OBJECTS",
    "PRIMARY_ASSOCIATION_TYPES",
    "HubSpotObject",
    "association_type_id",
    "resolve_hubspot_object",
]

# Every scope the app requires (hubspot-api.md §1.5; https://developers.hubspot.com/scopes): sent on the
# authorize URL at install, and granted by the sandbox's fake HubSpot, which reads this same list.
APP_SCOPES: tuple[str, ...] = (
    "oauth",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.schemas.companies.read",
    "crm.schemas.companies.write",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.schemas.deals.read",
    "crm.schemas.deals.write",
    "e-commerce",
    "crm.objects.products.read",
    "crm.objects.products.write",
    "crm.objects.line_items.read",
    "crm.objects.line_items.write",
    "crm.schemas.line_items.read",
    "crm.objects.invoices.read",
    "crm.objects.invoices.write",
    "crm.schemas.invoices.read",
    "crm.schemas.invoices.write",
    "crm.objects.subscriptions.read",
    "crm.objects.subscriptions.write",
    "crm.schemas.subscriptions.read",
    "crm.schemas.subscriptions.write",
    "crm.objects.projects.read",
    "crm.objects.projects.write",
    "crm.schemas.projects.read",
    "crm.schemas.projects.write",
    # Custom workflow actions: completing a blocked execution (POST /automation/actions/callbacks/2026-03/…;
    # hubspot-api.md §8.2, spec automation-actions.json `security: oauth2 [automation]`).
    "automation",
)

# Written by HubSpot itself on every record; never a mapping target on any object.
_SYSTEM_READ_ONLY = frozenset(
    {"hs_object_id", "createdate", "hs_createdate", "hs_lastmodifieddate", "lastmodifieddate", "hs_object_source"}
)


@dataclass(frozen=True)
class HubSpotObject:
    """One HubSpot CRM object type the sync can write to.

    `name` is the path name used in `/crm/objects/2026-03/{name}`; `object_type_id` is the stable `0-N` id
    that every path also accepts. `standard_properties` lists the HubSpot-defined properties the catalog's
    default mappings write (so tests can tell a typo from a real property); `read_only_properties` lists
    HubSpot-calculated ones a mapping must never target. Anything prefixed `kleer_` is a custom property the
    sync creates itself.
    """

    name: str
    object_type_id: str
    label: str
    singular_label: str
    read_scope: str
    write_scope: str
    schema_write_scope: str
    name_property: str
    standard_properties: frozenset[str] = frozenset()
    read_only_properties: frozenset[str] = frozenset()

    def is_read_only(self, prop: str) -> bool:
        """True for properties HubSpot calculates itself (writes are rejected or silently overwritten)."""
        return prop in _SYSTEM_READ_ONLY or prop in self.read_only_properties


# Object type ids and path names: hubspot-api.md §2.1, from
# https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/using-object-apis
# Scopes: hubspot-api.md §1.5 (per-operation `security` in HubSpot's OpenAPI specs). Products and line items
# have no `crm.schemas.*.write` scope: property writes on them need `e-commerce`.
HUBSPOT_OBJECTS: dict[str, HubSpotObject] = {
    obj.name: obj
    for obj in (
        HubSpotObject(
            name="companies",
            object_type_id="0-2",
            label="Companies",
            singular_label="Company",
            read_scope="crm.objects.companies.read",
            write_scope="crm.objects.companies.write",
            schema_write_scope="crm.schemas.companies.write",
            name_property="name",
            standard_properties=frozenset(
                {"name", "domain", "phone", "address", "address2", "city", "state", "zip", "country"}
            ),
        ),
        HubSpotObject(
            name="contacts",
            object_type_id="0-1",
            label="Contacts",
            singular_label="Contact",
            read_scope="crm.objects.contacts.read",
            write_scope="crm.objects.contacts.write",
            schema_write_scope="crm.schemas.contacts.write",
            name_property="firstname",
            standard_properties=frozenset(
                {"firstname", "lastname", "email", "phone", "address", "city", "state", "zip", "country"}
            ),
        ),
        HubSpotObject(
            name="deals",
            object_type_id="0-3",
            label="Deals",
            singular_label="Deal",
            read_scope="crm.objects.deals.read",
            write_scope="crm.objects.deals.write",
            schema_write_scope="crm.schemas.deals.write",
            name_property="dealname",
            standard_properties=frozenset(
                {"dealname", "amount", "closedate", "pipeline", "dealstage", "deal_currency_code"}
            ),
            # Calculated from the deal's line items.
            read_only_properties=frozenset({"hs_mrr", "hs_arr", "hs_acv", "hs_tcv"}),
        ),
        HubSpotObject(
            name="products",
            object_type_id="0-7",
            label="Products",
            singular_label="Product",
            read_scope="crm.objects.products.read",
            write_scope="crm.objects.products.write",
            schema_write_scope="e-commerce",
            name_property="name",
            standard_properties=frozenset({"name", "price", "hs_sku", "description"}),
        ),
        HubSpotObject(
            name="line_items",
            object_type_id="0-8",
            label="Line Items",
            singular_label="Line Item",
            read_scope="crm.objects.line_items.read",
            write_scope="crm.objects.line_items.write",
            schema_write_scope="e-commerce",
            name_property="name",
            standard_properties=frozenset(
                {"name", "quantity", "price", "hs_sku", "hs_product_id", "recurringbillingfrequency"}
            ),
            # `amount` = quantity × price, computed by HubSpot (hubspot-api.md §5.4).
            read_only_properties=frozenset({"amount"}),
        ),
        HubSpotObject(
            name="invoices",
            object_type_id="0-53",
            label="Invoices",
            singular_label="Invoice",
            read_scope="crm.objects.invoices.read",
            write_scope="crm.objects.invoices.write",
            schema_write_scope="crm.schemas.invoices.write",
            name_property="hs_number",
            standard_properties=frozenset(
                {
                    "hs_currency",
                    "hs_invoice_date",
                    "hs_due_date",
                    "hs_purchase_order_number",
                    "hs_comments",
                    "hs_invoice_status",
                    "hs_invoice_billable",
                }
            ),
            # hubspot-api.md §5.1: links and billed/balance amounts are computed; the invoice number
            # (`hs_number`) is assigned by HubSpot, so Kleer's number goes to a custom property.
            read_only_properties=frozenset(
                {"hs_invoice_link", "hs_pdf_download_link", "hs_amount_billed", "hs_balance_due", "hs_number"}
            ),
        ),
        HubSpotObject(
            # hubspot-api.md §2.1 and the 2026-03 OpenAPI spec: the path is `/crm/objects/2026-03/subscriptions`
            # (the docs call the object "commerce subscriptions").
            name="subscriptions",
            object_type_id="0-69",
            label="Subscriptions",
            singular_label="Subscription",
            read_scope="crm.objects.subscriptions.read",
            write_scope="crm.objects.subscriptions.write",
            schema_write_scope="crm.schemas.subscriptions.write",
            name_property="hs_name",
            standard_properties=frozenset(
                {
                    "hs_name",
                    "hs_currency_code",
                    "hs_recurring_billing_start_date",
                    "hs_recurring_billing_frequency",
                    "hs_invoice_creation",
                }
            ),
            # Maintained by HubSpot's billing engine (subscriptions guide, "Properties").
            read_only_properties=frozenset(
                {"hs_status", "hs_last_payment_amount", "hs_next_payment_amount", "hs_next_payment_due_date"}
            ),
        ),
        HubSpotObject(
            name="projects",
            object_type_id="0-970",
            label="Projects",
            singular_label="Project",
            read_scope="crm.objects.projects.read",
            write_scope="crm.objects.projects.write",
            schema_write_scope="crm.schemas.projects.write",
            name_property="hs_name",
            standard_properties=frozenset(
                {"hs_name", "hs_pipeline", "hs_pipeline_stage", "hs_description", "hs_start_date"}
            ),
        ),
    )
}

# Names HubSpot (or older docs and our own callers) use for the same object types.
_ALIASES: dict[str, str] = {
    "commerce_subscriptions": "subscriptions",
    "company": "companies",
    "contact": "contacts",
    "deal": "deals",
    "product": "products",
    "line_item": "line_items",
    "invoice": "invoices",
    "subscription": "subscriptions",
    "project": "projects",
}


def resolve_hubspot_object(name_or_id: str) -> HubSpotObject:
    """Look up an object type by path name, `0-N` type id or a common alias ("company", "commerce_subscriptions")."""
    key = _ALIASES.get(name_or_id, name_or_id)
    if key in HUBSPOT_OBJECTS:
        return HUBSPOT_OBJECTS[key]
    for obj in HUBSPOT_OBJECTS.values():
        if obj.object_type_id == name_or_id:
            return obj
    raise KeyError(f"unknown HubSpot object type {name_or_id!r}; expected one of {', '.join(HUBSPOT_OBJECTS)}")


# HubSpot-defined association type ids (category HUBSPOT_DEFINED); the id depends on direction.
# Source: hubspot-api.md §4.2, from
# https://developers.hubspot.com/docs/api-reference/latest/crm/associations/associate-records/guide
_PAIRS: tuple[tuple[str, str, int, int | None], ...] = (
    # (from, to, type id, reverse type id or None when HubSpot defines only one direction)
    ("deals", "companies", 341, 342),
    ("deals", "contacts", 3, 4),
    ("line_items", "deals", 20, 19),
    ("invoices", "companies", 179, 180),
    ("invoices", "contacts", 177, 178),
    ("invoices", "deals", 175, 176),
    ("invoices", "line_items", 409, 410),
    ("invoices", "subscriptions", 622, 623),
    ("subscriptions", "line_items", 301, 302),
    ("subscriptions", "companies", 297, 298),
    ("subscriptions", "contacts", 295, 296),
    ("subscriptions", "deals", 299, 300),
    ("projects", "companies", 1236, 1237),
    ("projects", "deals", 1238, 1239),
    ("projects", "contacts", 1242, 1243),
    ("line_items", "projects", 1345, None),
    ("contacts", "companies", 279, 280),
)


def _build_association_types() -> dict[tuple[str, str], int]:
    types: dict[tuple[str, str], int] = {}
    for from_obj, to_obj, type_id, reverse_id in _PAIRS:
        types[(from_obj, to_obj)] = type_id
        if reverse_id is not None:
            types[(to_obj, from_obj)] = reverse_id
    return types


ASSOCIATION_TYPES: dict[tuple[str, str], int] = _build_association_types()

# "Primary" variants (e.g. a deal's primary company). Same source as above.
PRIMARY_ASSOCIATION_TYPES: dict[tuple[str, str], int] = {
    ("deals", "companies"): 5,
    ("companies", "deals"): 6,
    ("contacts", "companies"): 1,
    ("companies", "contacts"): 2,
    ("projects", "companies"): 1299,
}


def association_type_id(from_obj: str, to_obj: str, *, primary: bool = False) -> int:
    """The HubSpot-defined association type id for `from_obj` → `to_obj` (path names, type ids or aliases).

    Raises KeyError naming the pair when HubSpot defines no such association (e.g. products, which cannot be
    associated with anything).
    """
    pair = (resolve_hubspot_object(from_obj).name, resolve_hubspot_object(to_obj).name)
    table = PRIMARY_ASSOCIATION_TYPES if primary else ASSOCIATION_TYPES
    try:
        return table[pair]
    except KeyError:
        kind = "primary association" if primary else "HubSpot-defined association"
        raise KeyError(f"no {kind} type from {pair[0]!r} to {pair[1]!r}") from None
