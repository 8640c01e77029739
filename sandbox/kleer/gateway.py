"""The front door of every fake Kleer API view.

`endpoint(GET=handler, PUT=handler, …)` builds a Django view that, in this order:
1. takes a scripted fault for this company, method and path, if one is queued (faults fire before auth);
2. picks the response format: JSON only when the request's Content-Type is application/json (kleer-api.md §1.4;
   a company option makes Accept count too, §5.1), XML otherwise;
3. authenticates `X-Token` (any header-name case): missing/unknown → 401, another company's token → 403, a
   read-only token on a write → 403 (§1.2, §5.1);
4. runs the handler for the method (405 otherwise) and renders its `Reply`, or the `{"message"}` of a KleerError
   with the company's configured statuses (§1.10, §5.3);
5. writes one RequestLog row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.kleer import conventions as C
from sandbox.kleer import faults, schema
from sandbox.kleer.common import Scope
from sandbox.kleer.errors import BusinessError, Forbidden, KleerError, NotFound, Unauthorized
from sandbox.kleer.models import Company, RequestLog, Token
from sandbox.kleer.render import body_and_type

COMPANY_PATH = re.compile(r"/company/\d+(?P<rest>/.*)?$")
READ_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class Reply:
    """What a handler answers: a JSON-shaped payload and the XML root element name for the same answer."""

    payload: dict[str, Any]
    root: str
    status: int = 200
    paged: bool = False


@dataclass
class Ctx:
    """An authenticated request: the scope (company + user), the style for rendering, the query string."""

    request: HttpRequest
    scope: Scope
    style: schema.Style
    params: dict[str, str] = field(default_factory=dict)

    def body(self) -> Any:
        """The request body as JSON (decimals kept exact). Only a JSON Content-Type is read, in strict mode:
        Kleer would parse anything else as XML, which this fake does not speak."""
        request = self.request
        if not _is_json(request.content_type) and C.option(self.scope.company.options, "strict_content_type"):
            raise BusinessError(C.TECHNICAL_ERROR, status=C.UNREADABLE_BODY_STATUS)
        try:
            return json.loads(request.body or b"null", parse_float=Decimal)
        except ValueError:
            raise BusinessError(C.TECHNICAL_ERROR, status=C.UNREADABLE_BODY_STATUS) from None


Handler = Callable[..., Reply]


def _is_json(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == C.JSON_CONTENT_TYPE


def wants_json(request: HttpRequest, company: Company | None) -> bool:
    """§1.4: the response format follows the request's Content-Type, even on GET (strict, the default)."""
    if _is_json(request.content_type):
        return True
    if C.option(company.options if company else None, "strict_content_type"):
        return False
    return C.JSON_CONTENT_TYPE in request.headers.get("Accept", "").lower()


def authenticate(request: HttpRequest, company_id: int, company: Company | None) -> Token:
    """The token of this request, or Unauthorized / Forbidden."""
    value = request.headers.get(C.TOKEN_HEADER, "").strip()
    token = Token.objects.filter(token=value).first() if value else None
    if token is None:
        raise Unauthorized(C.UNAUTHORIZED_MESSAGE)
    if company is None or token.company_id != company_id:
        raise Forbidden(C.FORBIDDEN_MESSAGE)
    if token.read_only and request.method not in READ_METHODS:
        raise Forbidden(C.READ_ONLY_MESSAGE)
    return token


def error_reply(exc: KleerError, company: Company | None) -> Reply:
    """Kleer's `error {message}` with the company's configured statuses."""
    options = company.options if company else None
    status, message = exc.status, exc.message
    if isinstance(exc, NotFound):
        status = int(C.option(options, "not_found_status"))
        message = C.not_found_message(exc.entity, exc.kleer_id, status)
    elif isinstance(exc, BusinessError) and not exc.explicit_status:
        status = int(C.option(options, "business_error_status"))
    return Reply({"message": message}, "error", status=status)


def _respond(reply: Reply, as_json: bool) -> HttpResponse:
    body, content_type = body_and_type(reply.payload, reply.root, as_json=as_json, paged=reply.paged)
    return HttpResponse(body, status=reply.status, content_type=content_type)


def _log(company_id: int, request: HttpRequest, path: str, status: int, *, fault: bool = False) -> None:
    query = request.META.get("QUERY_STRING", "")
    RequestLog.objects.create(
        company_id=company_id, method=request.method or "", path=path, query=query, status=status, fault=fault
    )


def _run(
    request: HttpRequest, company_id: int, company: Company | None, handlers: dict[str, Handler], kwargs: Any
) -> Reply:
    try:
        token = authenticate(request, company_id, company)
        if company is None:  # authenticate() already refuses unknown companies; this narrows the type
            raise Forbidden(C.FORBIDDEN_MESSAGE)
        handler = handlers.get(request.method or "")
        if not handlers:
            raise KleerError("Not found", status=404)
        if handler is None:
            raise KleerError("Method not allowed", status=405)
        scope = Scope(company=company, user_id=token.user_id)
        ctx = Ctx(request=request, scope=scope, style=schema.Style.of(company.options), params=request.GET.dict())
        return handler(ctx, **kwargs)
    except KleerError as exc:
        return error_reply(exc, company)


def endpoint(**handlers: Handler) -> Callable[..., HttpResponse]:
    """A Django view serving these method handlers under the Kleer API contract (see module docstring)."""

    @csrf_exempt
    def view(request: HttpRequest, company_id: int, **kwargs: Any) -> HttpResponse:
        match = COMPANY_PATH.search(request.path)
        path = (match.group("rest") if match else None) or "/"
        company = Company.objects.filter(pk=company_id).first()
        fault = None
        if company is not None:
            fault = faults.fault_take(company_id=company_id, method=request.method or "", path=path)
        if fault is not None and (fault.status is not None or fault.drop_connection):
            # Logged before any delay, so a test that gave up waiting never sees a late write.
            _log(company_id, request, path, 0 if fault.drop_connection else int(fault.status or 0), fault=True)
            return faults.fault_answer(request, fault) or HttpResponse(status=500)
        if fault is not None:
            faults.fault_answer(request, fault)  # a delay only: the real answer follows
        reply = _run(request, company_id, company, handlers, kwargs)
        response = _respond(reply, wants_json(request, company))
        if company is not None:
            _log(company_id, request, path, response.status_code, fault=fault is not None)
        return response

    return view
