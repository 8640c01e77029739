"""Handlers of the fake Kleer REST API, one per method and path of kleer-api.md §5.4 rows 1–22.

Handlers take a `Ctx` (see gateway) and return a `Reply`; `urls.py` binds them to paths and methods with
`gateway.endpoint`. Single objects are unwrapped (J1), lists wrapped in their plural key (J2), the invoice list is
paged (J3); writes answer `{"id": n}` (agreement updates `{"revision-nr": n}`, §1.9).
"""

from __future__ import annotations

from typing import Any

from sandbox.kleer import agreements, invoices, queries, records, store
from sandbox.kleer import conventions as C
from sandbox.kleer.gateway import Ctx, Reply
from sandbox.kleer.models import Company, Resource
from sandbox.kleer.schema import present

# --- shared shapes -----------------------------------------------------------------------------------------------


def list_reply(ctx: Ctx, kind: str, resources: Any) -> Reply:
    """`{"<plural>": [...]}` (J2); an empty list is left out like any empty list (J6, option omit_empty_lists)."""
    key = C.LIST_KEYS[kind]
    items = [present(kind, r.data, ctx.style) for r in resources]
    payload = {key: items} if items or not ctx.style.omit_empty_lists else {}
    return Reply(payload, key)


def item_reply(ctx: Ctx, kind: str, kleer_id: Any) -> Reply:
    """One document, unwrapped (J1); unknown id → NotFound."""
    resource = store.resource_get(ctx.scope.company_id, kind, kleer_id)
    return Reply(present(kind, resource.data, ctx.style), C.XML_ROOTS[kind])


def created(resource: Resource) -> Reply:
    """Create answer: `{"id": n}` (S2 `created`)."""
    return Reply({"id": resource.kleer_id}, "created")


def saved(kleer_id: int) -> Reply:
    """Update answer: `{"id": n}` (S2 `saved`)."""
    return Reply({"id": kleer_id}, "saved")


# --- §5.4 rows 1–4: company info and users --------------------------------------------------------------------------


def info_document(company: Company) -> dict[str, Any]:
    """The stored fields of a company as GET /info's company-information (§2.1), before rendering."""
    return {
        "name": company.name,
        "orgno": company.orgno,
        "accounting-currency": company.accounting_currency,
        "bankgiro": company.bankgiro,
        "supplier-invoice-email": company.supplier_invoice_email,
    }


def info(ctx: Ctx) -> Reply:
    """GET /info → company-information (§2.1)."""
    return Reply(present("info", info_document(ctx.scope.company), ctx.style), C.XML_ROOTS["info"])


def users(ctx: Ctx) -> Reply:
    """GET /user → {"users": [...]} (§2.2)."""
    return list_reply(ctx, "user", queries.resources_all(ctx.scope.company_id, "user"))


def user_me(ctx: Ctx) -> Reply:
    """GET /user/me → the token's user (§2.2)."""
    return item_reply(ctx, "user", ctx.scope.user_id)


def user(ctx: Ctx, kleer_id: int) -> Reply:
    """GET /user/{id} (§2.2)."""
    return item_reply(ctx, "user", kleer_id)


def user_by_foreign_id(ctx: Ctx, foreign_id: str) -> Reply:
    """GET /user/foreign-id/{fid} (§2.2, S7)."""
    found = queries.resources_all(ctx.scope.company_id, "user").filter(**{"data__foreign-id": foreign_id}).first()
    return item_reply(ctx, "user", found.kleer_id if found else foreign_id)


# --- §5.4 rows 5–10: clients, delivery types, products --------------------------------------------------------------


def clients(ctx: Ctx) -> Reply:
    """GET /client → {"clients": [...]}, unpaged (§2.3)."""
    return list_reply(ctx, "client", queries.resources_all(ctx.scope.company_id, "client"))


def client_create(ctx: Ctx) -> Reply:
    """PUT /client (§5.4 row 7)."""
    return created(records.client_create(scope=ctx.scope, body=ctx.body()))


def client(ctx: Ctx, kleer_id: int) -> Reply:
    """GET /client/{id} (§2.3)."""
    return item_reply(ctx, "client", kleer_id)


def client_update(ctx: Ctx, kleer_id: int) -> Reply:
    """POST /client/{id} (§5.4 row 8)."""
    return saved(records.client_update(scope=ctx.scope, kleer_id=kleer_id, body=ctx.body()).kleer_id)


def delivery_types(ctx: Ctx) -> Reply:
    """GET /client/deliverytype → `[{name, default}]` (§2.3)."""
    default = ctx.scope.company.default_delivery_type
    items = [{"name": name, "default": name == default} for name in C.DELIVERY_TYPES]
    return Reply({C.LIST_KEYS["delivery-type"]: items}, C.LIST_KEYS["delivery-type"])


def products(ctx: Ctx) -> Reply:
    """GET /product → {"products": [...]} (§2.6)."""
    return list_reply(ctx, "product", queries.resources_all(ctx.scope.company_id, "product"))


def product_create(ctx: Ctx) -> Reply:
    """PUT /product (§5.4 row 10)."""
    return created(records.product_create(scope=ctx.scope, body=ctx.body()))


def product(ctx: Ctx, kleer_id: int) -> Reply:
    """GET /product/{id} (§2.6)."""
    return item_reply(ctx, "product", kleer_id)


def product_update(ctx: Ctx, kleer_id: int) -> Reply:
    """POST /product/{id} (§5.4 row 10)."""
    return saved(records.product_update(scope=ctx.scope, kleer_id=kleer_id, body=ctx.body()).kleer_id)


# --- §5.4 rows 11–13: projects and client projects ------------------------------------------------------------------


def projects(ctx: Ctx) -> Reply:
    """GET /project → {"projects": [...]} (§2.7)."""
    return list_reply(ctx, "project", queries.resources_all(ctx.scope.company_id, "project"))


def client_projects(ctx: Ctx) -> Reply:
    """GET /client-project?filter=all|active|inactive (§2.7)."""
    return list_reply(ctx, "client-project", queries.client_projects(ctx.scope.company_id, ctx.params))


def client_project(ctx: Ctx, kleer_id: int) -> Reply:
    """GET /client-project/{id}: a readable, its id wrapped (§1.6)."""
    return item_reply(ctx, "client-project", kleer_id)


def client_project_create(ctx: Ctx) -> Reply:
    """PUT /client-project (§5.4 row 13)."""
    return created(records.project_create(scope=ctx.scope, body=ctx.body()))


def client_project_update(ctx: Ctx, kleer_id: int) -> Reply:
    """POST /client-project/{id} (§5.4 row 13)."""
    return saved(records.project_update(scope=ctx.scope, kleer_id=kleer_id, body=ctx.body()).kleer_id)


# --- §5.4 rows 14–20, 22: client invoices ---------------------------------------------------------------------------


def invoice_list(ctx: Ctx) -> Reply:
    """`{"client-invoices": [...], "offset", "limit" (= rows returned), "size" (= total)}` (J3, §1.8)."""
    page = queries.invoice_page(ctx.scope.company_id, ctx.params, ctx.scope.company.options)
    ignore_files = ctx.params.get("ignoreFiles", "").lower() == "true"
    items = []
    for resource in page.rows:
        data = {k: v for k, v in resource.data.items() if not (ignore_files and k == "files")}
        items.append(present("invoice", data, ctx.style))
    key = C.LIST_KEYS["invoice"]
    payload: dict[str, Any] = {key: items} if items or not ctx.style.omit_empty_lists else {}
    payload |= {"offset": page.offset, "limit": len(items), "size": page.size}
    return Reply(payload, key, paged=True)


def invoice(ctx: Ctx, kleer_id: int) -> Reply:
    """GET /client/invoice/{id} (§2.4)."""
    return item_reply(ctx, "invoice", kleer_id)


def invoice_create(ctx: Ctx) -> Reply:
    """PUT /client/invoice: a draft (§5.4 row 16)."""
    # `defaultDimensionsFromProduct` / `defaultDimensionsFromClient` (§2.4) are accepted; the fake has no dimensions.
    return created(invoices.invoice_create(scope=ctx.scope, body=ctx.body()))


def invoice_update(ctx: Ctx, kleer_id: int) -> Reply:
    """POST /client/invoice/{id}: drafts only (§5.4 row 17)."""
    return saved(invoices.invoice_update(scope=ctx.scope, kleer_id=kleer_id, body=ctx.body()).kleer_id)


def invoice_delete(ctx: Ctx, kleer_id: int) -> Reply:
    """DELETE /client/invoice/{id}: drafts only (§5.4 row 18)."""
    return Reply({"id": invoices.invoice_delete(scope=ctx.scope, kleer_id=kleer_id)}, "deleted")


def invoice_payment(ctx: Ctx, kleer_id: int) -> Reply:
    """PUT /client/invoice/{id}/payment (§5.4 row 22)."""
    return saved(invoices.invoice_pay(scope=ctx.scope, kleer_id=kleer_id, body=ctx.body()).kleer_id)


def templates(ctx: Ctx) -> Reply:
    """GET /client/invoice/template (§5.4 row 19)."""
    return list_reply(ctx, "template", queries.resources_all(ctx.scope.company_id, "template"))


# --- §5.4 row 21: client agreements (paths [I], conventions.AGREEMENT_PATH) ---------------------------------------


def agreement_list(ctx: Ctx) -> Reply:
    """GET /client/agreement → {"client-agreements": [...]} (§2.5)."""
    return list_reply(ctx, "agreement", queries.resources_all(ctx.scope.company_id, "agreement"))


def agreement(ctx: Ctx, kleer_id: int) -> Reply:
    """GET /client/agreement/{id} (§2.5)."""
    return item_reply(ctx, "agreement", kleer_id)


def agreement_create(ctx: Ctx) -> Reply:
    """PUT /client/agreement (§5.4 row 21)."""
    return created(agreements.agreement_create(scope=ctx.scope, body=ctx.body()))


def agreement_update(ctx: Ctx, kleer_id: int) -> Reply:
    """POST /client/agreement/{id} → {"revision-nr": n} (§5.4 row 21)."""
    revision = agreements.agreement_update(scope=ctx.scope, kleer_id=kleer_id, body=ctx.body())
    return Reply({"revision-nr": revision}, "update-client-agreement-result")


def agreement_delete(ctx: Ctx, kleer_id: int) -> Reply:
    """DELETE /client/agreement/{id}: sets `deleted` (§5.4 row 21)."""
    return Reply({"id": agreements.agreement_delete(scope=ctx.scope, kleer_id=kleer_id)}, "deleted")
