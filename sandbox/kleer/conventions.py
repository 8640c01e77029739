"""Every convention of the fake Kleer that the reference could not confirm, in one place.

The reference (/work/shared/reference/kleer-api.md) tags facts [V] (seen in Kleer's own schema or in clients that
ran against the live API) or [I] (inferred). Everything inferred lives here as a constant or a per-company option,
so that when the real behaviour is checked it changes in exactly one spot. Each entry cites the section it comes
from. Per-company overrides go in `Company.options` (set them with `POST /sandbox/kleer/_fake/company/<id>/options`);
`option()` resolves a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# --- Transport (kleer-api.md §5.1) ----------------------------------------------------------------------------

# Both bases answer: `/v1/company/{id}/…` [V] and the old my.accounting.pe `/api/v1/company/{id}/…` alias [I].
API_PREFIXES = ("v1/", "api/v1/")
# Agreement paths were found in no source (§2.5, §5.4 row 21 [I]): keep the prefix here.
AGREEMENT_PATH = "client/agreement"
# Payment registration path (§5.4 row 22 [I]): PUT /client/invoice/{id}/<this>.
PAYMENT_PATH = "payment"
JSON_CONTENT_TYPE = "application/json"
XML_CONTENT_TYPE = "application/xml"
TOKEN_HEADER = "X-Token"  # §1.2 [V]; Django matches header names case-insensitively.

# --- Options that tests (or a demo) may flip per company ------------------------------------------------------

DEFAULT_OPTIONS: dict[str, Any] = {
    # §1.4 [V]: the response format follows the request's Content-Type only, even on GET. False = §5.1's lenient
    # mode (Content-Type *or* Accept picks JSON).
    "strict_content_type": True,
    # J7 [I]: nulls are left out of JSON. False = emit `null` (§5.5 note: the XSD marks some elements nillable).
    "omit_nulls": True,
    # J6 [I]: empty lists are left out, so an empty `rows` wrapper renders as `{}` (S7's `"dimensions": {}`) and an
    # empty list response as `{}` / `{"offset":0,"limit":0,"size":0}`.
    "omit_empty_lists": True,
    # J11 [UNK]: dateTimes as ISO-8601 strings with the Stockholm offset, or "epoch_millis".
    "datetime_format": "iso",
    # §1.8 [UNK]: default and maximum page size of GET /client/invoice; `limit` in the answer = rows returned.
    "default_limit": 100,
    "max_limit": 500,
    # §5.3 [I]: unknown id → 404 {"message"}; set 500 to get Java's "…DoesNotExistException" instead.
    "not_found_status": 404,
    # §1.10 [V]: business and validation errors are HTTP 500 {"message"}; 400 is the alternative §5.3 allows.
    "business_error_status": 500,
    # [I] Kleer is Java; Jackson's default refuses unknown properties, so a misspelt field fails instead of being
    # dropped silently. Read-only fields sent back (S4 re-posts whole objects) are accepted and ignored.
    "reject_unknown_fields": True,
    # §5.4 row 18 [I]: DELETE of a draft removes it ("delete") or keeps it with `disabled: true` ("disable").
    "delete_draft": "delete",
    # §1.9 [I]: an update that sends `null` for a required element (REQUIRED_ON_CREATE, e.g. an invoice's
    # `client-ref` or `rows`). The XSD lets only optional elements such as `approver` be cleared with null, and the
    # Java backend cannot tell a JSON null from a left-out element, so Kleer either refuses it or keeps the value;
    # it never stores a document without the element. "reject" = 500 "Tekniskt fel" (the strict guess, so a client
    # that relies on either reading fails here first); "keep" = treat it as left out (unchanged).
    "required_null_on_update": "reject",
}


def option(options: Mapping[str, Any] | None, name: str) -> Any:
    """A company's value for `name`, falling back to DEFAULT_OPTIONS (read at call time so tests can patch it)."""
    if options and name in options:
        return options[name]
    return DEFAULT_OPTIONS[name]


# --- Errors (kleer-api.md §1.9, §1.10) ------------------------------------------------------------------------

# The generic 500 message seen live (§1.9, S7), used for missing required elements and unreadable bodies.
TECHNICAL_ERROR = "Tekniskt fel"
UNAUTHORIZED_MESSAGE = "Invalid or missing access token"  # 401 body text [I]
FORBIDDEN_MESSAGE = "Access denied to company"  # 403 body text [I]
READ_ONLY_MESSAGE = "The access token is read-only"  # [I] a read-only token (§1.2) on a write
# The status for a request body the fake cannot read (not JSON, or JSON of the wrong shape) [I].
UNREADABLE_BODY_STATUS = 500


def not_found_message(entity: str, kleer_id: Any, status: int) -> str:
    """404 says what is missing; the 500 variant copies Kleer's Java exception style (§1.10, S7)."""
    if status == 404:
        return f"{entity} with id {kleer_id} not found"
    return f"{entity}DoesNotExistException"


# Creating without `foreign-id` gave a live 500 "Tekniskt fel" (§1.9, on events); applied to every create that has
# the element. The other names are the "required but may be empty" elements of §5.6. Updates may not null them
# (option required_null_on_update, common.required_kept).
REQUIRED_ON_CREATE: dict[str, tuple[str, ...]] = {
    "client": ("foreign-id", "name"),
    "product": ("foreign-id", "name"),
    "invoice": ("foreign-id", "client-ref", "invoice-date", "delivery-date", "po-nr", "your-reference", "rows"),
    "agreement": ("foreign-id", "client-ref", "start-invoice-date", "invoice-interval-months", "invoice-day"),
    "client-project": ("client", "name"),
}
# Invoice rows must name a product: `product` has no minOccurs=0 in the XSD (§2.4 row fields) [I].
INVOICE_ROW_REQUIRED = ("quantity", "product")
AGREEMENT_ROW_REQUIRED = ("quantity", "price")

# --- JSON shapes (kleer-api.md J2, J4, §5.2) -----------------------------------------------------------------

# Inner key of each wrapper element (J4): `rows.rows` [V]; the others [I] (§5.2, open question 4).
WRAPPER_INNER: dict[str, str] = {
    "rows": "rows",
    "recurring-rows": "rows",
    "first-invoice-rows": "rows",
    "credit-invoices": "client-invoices",
    "aggregated-invoices": "client-invoices",
    "invoice-deliveries": "invoice-deliveries",
    "fields": "fields",
    "files": "files",
    "reinvoicings": "reinvoicings",
    "accruals": "accruals",
    "dimension-entries": "dimension-entries",
    "client-broker": "clients",
    "self-invoice-references": "supplier-invoice-ids",
    "transactions": "transactions",
}
# List root keys (J2): clients/users/client-invoices/client-project-readables [V], the rest [I].
LIST_KEYS: dict[str, str] = {
    "user": "users",
    "client": "clients",
    "product": "products",
    "invoice": "client-invoices",
    "agreement": "client-agreements",
    "client-project": "client-project-readables",
    "project": "projects",
    "template": "client-invoice-templates",
    "delivery-type": "client-delivery-types",
}
# XML root element of one object of each kind (the XSD root names, §2).
XML_ROOTS: dict[str, str] = {
    "user": "user",
    "client": "client",
    "product": "product",
    "invoice": "client-invoice",
    "agreement": "client-agreement",
    "client-project": "client-project-readable",
    "project": "project",
    "template": "client-invoice-template",
    "info": "company-information",
}

# --- Enums (kleer-api.md J9, §5.2; kleer-for-hubspot-product.md §3.1) -----------------------------------------
# Written values are matched case-, space-, hyphen- and underscore-insensitively and stored in these spellings.

# UPPER_SNAKE per J9 [I] (§5.2 names GOODS; §5.5 shows SERVICES).
PRODUCT_TYPES = ("GOODS", "SERVICES", "DIGITAL_SERVICES")
PROJECT_STATUSES = ("DRAFT", "OPEN", "CLOSED")  # client-project `status` [I]
DELIVERY_METHODS = ("MAIL", "EMAIL", "MANUALLY", "SVEA", "EFAKTURA")  # invoice-deliveries[].delivery-method [I]
EDI_PERIOD_TYPES = ("ROW", "INVOICE", "NONE")  # [I]
REINVOICING_TYPES = ("SUPPLIER_INVOICE", "EXPENSE_ENTRY")  # XSD SupplierInvoice|ExpenseEntry (§2.4) [I]
# `invoice-day` is already UPPER_SNAKE in the XSD (§2.5) [V].
INVOICE_DAYS = (
    "INVOICE_AT_START",
    "PAY_AT_START",
    "INVOICE_AT_END",
    "INVOICE_AT_START_MONTH",
    "INVOICE_60_DAYS_PRIOR_TO_PERIOD_START",
    "INVOICE_AT_END_MONTH",
    "INVOICE_ONE_DAY_PRIOR_TO_PERIOD_START",
    "INVOICE_FIVE_DAYS_PRIOR_TO_PERIOD_START",
)
# These three keep the spellings the product documentation lists (product §3.1) and S4's live JSON shows
# (`"delivery-type":"Email"`), not UPPER_SNAKE. `delivery-type` uses them on clients, invoices and projects.
CLIENT_TYPES = ("Organisation", "Person")
CURRENCIES = ("SEK", "EUR", "USD", "NOK", "DKK", "GBP")
# GET /client/deliverytype names (§2.3: Mail, Email, Manually, Efaktura seen) plus the product's Svefaktura.
DELIVERY_TYPES = ("Email", "Mail", "Manually", "Efaktura", "Svefaktura")
DEFAULT_DELIVERY_TYPE = "Email"
# Invoice `delivery-type` → the `delivery-method` a send records (invoice-deliveries) [I].
DELIVERY_METHOD_OF_TYPE = {
    "Email": "EMAIL",
    "Mail": "MAIL",
    "Manually": "MANUALLY",
    "Efaktura": "EFAKTURA",
    "Svefaktura": "EFAKTURA",
}

# --- Ids (kleer-api.md §1.6) ----------------------------------------------------------------------------------
# Plain integers allocated per company and kind, monotonically. Each kind starts in its own range (shaped like the
# ids seen in S6/S7) so a client that confuses a client id with an invoice id gets a 404 instead of a wrong record.
ID_BASES: dict[str, int] = {
    "user": 31_100,
    "client": 1_081_000,
    "product": 2_055_000,
    "invoice": 3_525_000,
    "agreement": 4_410_000,
    "client-project": 5_322_000,
    "project": 6_100_000,
    "template": 7_010_000,
    "row": 8_000_000,
    "dimension-entry": 9_000_000,
}
FIRST_INVOICE_NR = 1001  # `invoice-nr` of a company's first certified invoice [I]
FIRST_COMPANY_ID = 4875  # §1.3's example company id

# --- Defaults on create (kleer-api.md §5.4 rows 7, 10) [I] ----------------------------------------------------

CLIENT_DEFAULTS: dict[str, Any] = {"accountnr": 0, "active": True, "client-type": "Organisation", "payment-days": 30}
PRODUCT_DEFAULTS: dict[str, Any] = {"type": "GOODS", "ean": 0, "account-nr": 3001, "vat-percentage": 0.25}
DEFAULT_ROW_VAT = 0.25  # rows whose product sets no vat-percentage
# Required invoice elements that may be empty (§2.4, no `?` in the XSD): a draft "as created" shows them as "" (§5.5),
# so a create that leaves them out stores "" ([I]: filled rather than refused, the fake's tests send none).
INVOICE_EMPTY_DEFAULTS: dict[str, Any] = {
    "delivery-name": "",
    "delivery-address": {"address1": "", "address2": "", "zip-code": "", "state": "", "country": ""},
    "delivery-email": "",
}
# Rows of invoices to clients outside this country get VAT 0 (EU reverse charge / export) instead of the
# product's rate: the XSD says the server sets row `vat` (§2.4 rows) [I].
DOMESTIC_COUNTRY = "SE"
# `currency-rate` filled in when an invoice in a foreign currency leaves it out ("latest rate if missing", §2.4).
CURRENCY_RATES: dict[str, float] = {"EUR": 11.45, "USD": 10.62, "NOK": 0.98, "DKK": 1.53, "GBP": 13.41}
# Money rounding for row nets and VAT (§5.4 row 16 [I]): half away from zero, so a credit mirrors its debit.
ROUNDING = "ROUND_HALF_UP"
# The query parameter `filter` of GET /client/invoice (§2.4 [V] names; §5.4 row 14 [I] semantics; disabled
# invoices are never sendable). Matched exactly (case-sensitive) [I]: a Java enum parameter would be.
INVOICE_FILTERS = ("all", "certified", "certifiable", "sendable")
CLIENT_PROJECT_FILTERS = ("all", "active", "inactive")
TIME_ZONE = "Europe/Stockholm"  # for ISO dateTimes such as `certified-date` (J11)
