"""Control endpoints of the fake Kleer, outside the Kleer namespace: `/sandbox/kleer/_fake/…` (kleer-api.md §5.4
"Fake-only control endpoints"). JSON in, JSON out, no token, CSRF-exempt; mounted only with the sandbox.

They reach states the real API reaches through paths nobody has documented or through Kleer's UI (certify, send,
pay, run an agreement), edit or delete any stored document directly, reset and seed companies, issue tokens, set
per-company options, queue faults and read the request log. Errors: 400 bad input, 404 unknown company or record,
409 a transition the record's state does not allow.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox.kleer import agreements, faults, invoices, schema, seed, store
from sandbox.kleer import conventions as C
from sandbox.kleer.common import Scope, merge
from sandbox.kleer.errors import BusinessError, NotFound
from sandbox.kleer.models import KINDS, Company, Fault, RequestLog, Resource, Token


class ControlError(Exception):
    """A control call that cannot be done; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


ControlView = Callable[..., Any]


def control(*methods: str) -> Callable[[ControlView], Callable[..., JsonResponse]]:
    """Wrap a control view: method check, JSON body as `body`, errors as `{"error": …}`."""

    def decorate(func: ControlView) -> Callable[..., JsonResponse]:
        @csrf_exempt
        def view(request: HttpRequest, **kwargs: Any) -> JsonResponse:
            if request.method not in methods:
                return JsonResponse({"error": f"use {' or '.join(methods)}"}, status=405)
            try:
                body = json.loads(request.body) if request.body else {}
                result = func(request, body, **kwargs)
            except ValueError as exc:  # bad JSON, bad seed counts, bad fault specs (FaultSpecError)
                return JsonResponse({"error": str(exc)}, status=400)
            except ControlError as exc:
                return JsonResponse({"error": str(exc)}, status=exc.status)
            except NotFound as exc:
                return JsonResponse({"error": exc.message}, status=404)
            except BusinessError as exc:
                return JsonResponse({"error": exc.message}, status=409)
            return JsonResponse(result, safe=False, json_dumps_params={"ensure_ascii": False})

        return view

    return decorate


def _company(company_id: int) -> Company:
    company = Company.objects.filter(pk=company_id).first()
    if company is None:
        raise ControlError(f"no company {company_id}", status=404)
    return company


def _scope(company_id: int, body: dict[str, Any]) -> Scope:
    company = _company(company_id)
    token = Token.objects.filter(company=company).order_by("id").first()
    user_id = body.get("user_id") or (token.user_id if token else 0)
    return Scope(company=company, user_id=int(user_id))


def _moment(body: dict[str, Any], request: HttpRequest) -> dt.datetime | None:
    raw = body.get("datetime") or request.GET.get("datetime")
    if not raw:
        return None
    try:
        return dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ControlError(f"datetime is not ISO-8601: {raw}") from None


def _day(body: dict[str, Any], request: HttpRequest) -> dt.date | None:
    raw = body.get("date") or request.GET.get("date")
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ControlError(f"date is not YYYY-MM-DD: {raw}") from None


def _document(resource: Resource) -> dict[str, Any]:
    return schema.present(resource.kind, resource.data, schema.Style.of(resource.company.options))


# --- companies ------------------------------------------------------------------------------------------------


@control("POST")
def reset_all(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    """POST _fake/reset: delete every fake company and all its data."""
    deleted = Company.objects.count()
    with transaction.atomic():
        RequestLog.objects.all().delete()
        Company.objects.all().delete()
    return {"deleted_companies": deleted}


SEED_KEYS = {"company_id", "clients", "products", "invoices", "agreements", "projects", "seed", "today"}


@control("POST")
def seed_company(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    """POST _fake/seed {company_id?, clients, products, invoices, agreements, projects, seed?, today?}."""
    if set(body) - SEED_KEYS:
        raise ControlError(f"unknown keys: {sorted(set(body) - SEED_KEYS)}")
    args = {k: body.get(k, 0) for k in ("clients", "products", "invoices", "agreements", "projects")}
    if not all(isinstance(v, int) for v in args.values()):
        raise ControlError("counts must be integers")
    today = dt.date.fromisoformat(body["today"]) if body.get("today") else None
    seeded = seed.company_seed(company_id=body.get("company_id"), seed=int(body.get("seed", 1)), today=today, **args)
    return dataclasses.asdict(seeded)


@control("GET")
def company_summary(request: HttpRequest, body: dict[str, Any], company_id: int) -> dict[str, Any]:
    """GET _fake/company/<id>: the company, its options, tokens, document counts and queued faults."""
    company = _company(company_id)
    counts = {kind: Resource.objects.filter(company=company, kind=kind).count() for kind in KINDS}
    tokens = [{"token": t.token, "user_id": t.user_id, "read_only": t.read_only} for t in company.tokens.all()]
    return {
        "company_id": company.id,
        "name": company.name,
        "options": {**C.DEFAULT_OPTIONS, **company.options},
        "tokens": tokens,
        "counts": counts,
        "faults": [_fault_json(f) for f in company.faults.order_by("id")],
    }


@control("POST")
def company_reset(request: HttpRequest, body: dict[str, Any], company_id: int) -> dict[str, Any]:
    """POST _fake/company/<id>/reset: drop its documents, faults and log; users, templates and tokens stay."""
    _company(company_id)
    store.company_wipe(company_id, keep_users=True)
    return {"company_id": company_id}


@control("POST")
def company_options(request: HttpRequest, body: dict[str, Any], company_id: int) -> dict[str, Any]:
    """POST _fake/company/<id>/options {name: value}: override conventions.DEFAULT_OPTIONS (null = default)."""
    unknown = set(body) - set(C.DEFAULT_OPTIONS)
    if unknown:
        raise ControlError(f"unknown options: {sorted(unknown)}")
    with transaction.atomic():
        company = Company.objects.select_for_update().get(pk=_company(company_id).pk)
        company.options = merge(company.options, body)
        company.save(update_fields=["options"])
    return {**C.DEFAULT_OPTIONS, **company.options}


@control("POST")
def token_create(request: HttpRequest, body: dict[str, Any], company_id: int) -> dict[str, Any]:
    """POST _fake/company/<id>/tokens {user_id?, read_only?} → {"token"}."""
    scope = _scope(company_id, body)
    store.resource_get(company_id, "user", scope.user_id)
    token = store.token_issue(company_id=company_id, user_id=scope.user_id, read_only=bool(body.get("read_only")))
    return {"token": token.token, "user_id": token.user_id, "read_only": token.read_only}


# --- faults and the request log -----------------------------------------------------------------------------------


def _fault_json(fault: Fault) -> dict[str, Any]:
    return {
        "id": fault.id,
        "method": fault.method,
        "path": fault.path_regex,
        "remaining": fault.remaining,
        "status": fault.status,
        "body": fault.body,
        "content_type": fault.content_type,
        "delay_seconds": fault.delay_seconds,
        "drop_connection": fault.drop_connection,
    }


@control("GET", "POST", "DELETE")
def company_faults(request: HttpRequest, body: Any, company_id: int) -> Any:
    """GET lists the queue; POST appends one fault or a list of them (see sandbox.kleer.faults); DELETE clears."""
    _company(company_id)
    if request.method == "POST":
        specs = body if isinstance(body, list) else [body]
        with transaction.atomic():
            added = [faults.fault_add(company_id=company_id, spec=spec) for spec in specs]
        return {"faults": [_fault_json(f) for f in added]}
    if request.method == "DELETE":
        deleted, _ = Fault.objects.filter(company_id=company_id).delete()
        return {"deleted": deleted}
    return {"faults": [_fault_json(f) for f in Fault.objects.filter(company_id=company_id).order_by("id")]}


@control("GET", "DELETE")
def company_requests(request: HttpRequest, body: Any, company_id: int) -> Any:
    """GET the calls the API served for this company, oldest first (`?after=<id>` for newer ones); DELETE clears."""
    log = RequestLog.objects.filter(company_id=company_id).order_by("id")
    if request.method == "DELETE":
        return {"deleted": log.delete()[0]}
    after = request.GET.get("after")
    if after:
        log = log.filter(id__gt=int(after))
    rows = log.values("id", "method", "path", "query", "status", "fault")
    return {"requests": list(rows)}


# --- transitions --------------------------------------------------------------------------------------------------


@control("POST")
def invoice_certify(request: HttpRequest, body: dict[str, Any], company_id: int, kleer_id: int) -> dict[str, Any]:
    """Certify a draft: next invoice-nr, certified-date (body `datetime` or now), remaining = amount + vat."""
    scope = _scope(company_id, body)
    return _document(invoices.invoice_certify(scope=scope, kleer_id=kleer_id, moment=_moment(body, request)))


@control("POST")
def invoice_send(request: HttpRequest, body: dict[str, Any], company_id: int, kleer_id: int) -> dict[str, Any]:
    """Send a certified invoice (body `method`: MAIL/EMAIL/…, default from its delivery-type)."""
    scope = _scope(company_id, body)
    method = (
        schema.coerce("delivery", {"delivery-method": body["method"]})["delivery-method"]
        if body.get("method")
        else None
    )
    return _document(
        invoices.invoice_send(scope=scope, kleer_id=kleer_id, method=method, moment=_moment(body, request))
    )


@control("POST")
def invoice_pay(request: HttpRequest, body: dict[str, Any], company_id: int, kleer_id: int) -> dict[str, Any]:
    """Register a payment (body `amount` in öre, default what remains; `date`, default today)."""
    scope = _scope(company_id, body)
    day = _day(body, request) or timezone.localdate()
    with transaction.atomic():
        invoice = store.resource_get(company_id, "invoice", kleer_id, lock=True)
        amount = body.get("amount", invoice.data.get("remaining", 0))
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise ControlError("amount must be an integer number of öre")
        fields = {"accounting-amount": amount}
        paid = invoices.payment_apply(scope, invoice, amount=amount, date=day.isoformat(), fields=fields)
    return _document(paid)


@control("POST")
def agreement_run(request: HttpRequest, body: dict[str, Any], company_id: int, kleer_id: int) -> dict[str, Any]:
    """Generate the agreement's invoice for `date` (default its next-invoice-date); `certify: true` certifies it."""
    scope = _scope(company_id, body)
    invoice = agreements.agreement_run(scope=scope, kleer_id=kleer_id, day=_day(body, request))
    if body.get("certify"):
        invoice = invoices.invoice_certify(scope=scope, kleer_id=invoice.kleer_id)
    return _document(invoice)


# --- raw records ----------------------------------------------------------------------------------------------------


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ControlError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}", status=404)
    return kind


@control("POST")
def record_create(request: HttpRequest, body: dict[str, Any], company_id: int, kind: str) -> dict[str, Any]:
    """POST _fake/company/<id>/record/<kind>: store `body` as-is under the next id (no validation)."""
    _company(company_id)
    if not isinstance(body, dict):
        raise ControlError("the record is a JSON object")
    resource = store.resource_create(company_id, _kind(kind), {k: v for k, v in body.items() if k != "id"})
    return _document(resource)


@control("GET", "POST", "PATCH", "DELETE")
def record(request: HttpRequest, body: Any, company_id: int, kind: str, kleer_id: int) -> dict[str, Any]:
    """GET the stored document; POST/PATCH merge fields into it directly (null removes a field; no rules run,
    so "change a client's name" is one call); DELETE removes it."""
    _company(company_id)
    with transaction.atomic():
        resource = store.resource_get(company_id, _kind(kind), kleer_id, lock=request.method != "GET")
        if request.method == "DELETE":
            resource.delete()
            return {"deleted": kleer_id}
        if request.method in ("POST", "PATCH"):
            if not isinstance(body, dict) or "id" in body:
                raise ControlError("send a JSON object of fields to change (not the id)")
            resource.data = merge(resource.data, body)
            store.resource_save(resource)
    return _document(resource)
