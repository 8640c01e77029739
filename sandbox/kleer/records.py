"""Clients, products and client projects: create (PUT on the collection) and update (POST on the item), per
kleer-api.md §1.9, §2.3, §2.6, §2.7 and §5.4 rows 7–13."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from sandbox.kleer import conventions as C
from sandbox.kleer import store
from sandbox.kleer.common import Scope, merge, referenced, require, required_kept
from sandbox.kleer.errors import BusinessError
from sandbox.kleer.models import Resource

# Client-project fields that "can only be set on create" (§2.7, [DOC] S2): ignored on update.
PROJECT_CREATE_ONLY = ("client", "fixed-price", "name")


def _client_references(scope: Scope, doc: dict[str, Any]) -> None:
    referenced(scope, "user", doc.get("user"), "user")
    referenced(scope, "user", doc.get("approver"), "approver")
    referenced(scope, "template", doc.get("template"), "template")
    # Brokers are clients (§2.3 `client-broker` wrapper of {id}): a dangling one is refused like any reference.
    for broker in doc.get("client-broker", {}).get(C.WRAPPER_INNER["client-broker"], []):
        referenced(scope, "client", broker, "client-broker")


def _project_references(scope: Scope, doc: dict[str, Any]) -> None:
    """The user and client references of a client project (§2.7, J5 items included)."""
    referenced(scope, "user", doc.get("our-reference"), "our-reference")
    referenced(scope, "client", doc.get("broker-client"), "broker-client")
    for name in ("users", "leads"):
        for item in doc.get(name) or []:
            referenced(scope, "user", item.get("user"), f"{name}.user")


def client_create(*, scope: Scope, body: Any) -> Resource:
    """PUT /client. Defaults (§5.4 row 7 [I]): accountnr 0, active, the company's delivery type and currency;
    a left-out `template` stays null (§1.9)."""
    fields = scope.coerce("client", body)
    require(fields, "client")
    doc = {**C.CLIENT_DEFAULTS, **{k: v for k, v in fields.items() if v is not None}}
    if not doc.get("delivery-type"):
        doc["delivery-type"] = scope.company.default_delivery_type  # empty on create = company default (§2.3)
    doc.setdefault("currency-type", scope.company.accounting_currency)
    _client_references(scope, doc)
    return store.resource_create(scope.company_id, "client", doc)


def client_update(*, scope: Scope, kleer_id: Any, body: Any) -> Resource:
    """POST /client/{id}: present elements replace, absent ones (incl. `template`, `dimension-entries`) stay."""
    with transaction.atomic():
        client = store.resource_get(scope.company_id, "client", kleer_id, lock=True)
        fields = required_kept(scope, scope.coerce("client", body), "client")
        if fields.get("delivery-type") == "":
            fields.pop("delivery-type")
        doc = merge(client.data, fields)
        _client_references(scope, doc)
        client.data = doc
        return store.resource_save(client)


def _product_accounts(doc: dict[str, Any]) -> dict[str, Any]:
    # `accounts` is deprecated: "on read all equal account-nr" (§2.6).
    account = doc.get("account-nr")
    return {**doc, "accounts": {"se": account, "eu": account, "export": account}}


def product_create(*, scope: Scope, body: Any) -> Resource:
    """PUT /product. Defaults (§5.4 row 10 [I]): GOODS, ean 0, account 3001, 25 % VAT."""
    fields = scope.coerce("product", body)
    require(fields, "product")
    doc = {**C.PRODUCT_DEFAULTS, **{k: v for k, v in fields.items() if v is not None}}
    return store.resource_create(scope.company_id, "product", _product_accounts(doc))


def product_update(*, scope: Scope, kleer_id: Any, body: Any) -> Resource:
    """POST /product/{id}."""
    with transaction.atomic():
        product = store.resource_get(scope.company_id, "product", kleer_id, lock=True)
        fields = required_kept(scope, scope.coerce("product", body), "product")
        product.data = _product_accounts(merge(product.data, fields))
        return store.resource_save(product)


def project_create(*, scope: Scope, body: Any) -> Resource:
    """PUT /client-project from the writeable shape (§2.7; path [I]). New projects are OPEN and active; a missing
    `number` gets the next one."""
    fields = scope.coerce("client-project", body)
    require(fields, "client-project")
    client = referenced(scope, "client", fields["client"], "client")
    if client is None:
        raise BusinessError(C.TECHNICAL_ERROR)
    _project_references(scope, fields)
    doc = {k: v for k, v in fields.items() if v is not None}
    doc.setdefault("currency-type", client.data.get("currency-type") or scope.company.accounting_currency)
    doc.setdefault("payment-days", client.data.get("payment-days", C.CLIENT_DEFAULTS["payment-days"]))
    for name, value in (("fixed-price", False), ("comment", ""), ("budget-hours", 0), ("budget-amount", 0)):
        doc.setdefault(name, value)
    doc |= {"all-activities": doc.get("all-activities", True), "all-users": doc.get("all-users", True)}
    doc |= {"incoming-invoiced-amount": 0, "incoming-invoiced-vat-amount": 0, "active": True, "status": "OPEN"}
    with transaction.atomic():
        doc.setdefault("number", str(store.sequence_take(scope.company_id, "project-number")))
        doc["dimension-entry"] = {"id": store.sequence_take(scope.company_id, "dimension-entry")}
        return store.resource_create(scope.company_id, "client-project", doc)


def project_update(*, scope: Scope, kleer_id: Any, body: Any) -> Resource:
    """POST /client-project/{id}: `client`, `fixed-price` and `name` are create-only and ignored here (§2.7)."""
    with transaction.atomic():
        project = store.resource_get(scope.company_id, "client-project", kleer_id, lock=True)
        fields = scope.coerce("client-project", body)
        for name in PROJECT_CREATE_ONLY:
            fields.pop(name, None)
        doc = merge(project.data, fields)
        _project_references(scope, doc)
        project.data = doc
        return store.resource_save(project)
