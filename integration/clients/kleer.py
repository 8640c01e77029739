"""Client for the Kleer (ex PE Accounting) REST API.

Kleer quirks this client absorbs (reference: kleer-api.md; vendor docs https://api-doc.kleer.se/):
- auth is an `X-Token` header; every path sits under `/company/{id}`;
- the response format follows the request's Content-Type, even on GET, so both JSON headers go on every
  call (kleer-api.md §1.4);
- single objects are bare, lists are wrapped in a plural key, some lists are paged (`offset`, `limit`,
  `size`), nested collections are wrapped (`rows.rows`), ids are `n` or `{"id": n}`, enums vary in case,
  dateTimes may be ISO strings or epoch milliseconds (J1–J12): `normalise()` turns all of it into one
  canonical shape before anything else sees it;
- business errors come back as HTTP 500 with `{"message"}` (§1.10).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

from integration.clients.errors import (
    ApiError,
    AuthenticationError,
    PermanentError,
    TransientError,
)
from integration.clients.http import HttpClient, RetryPolicy

SERVICE = "Kleer"
# Kleer's maximum page size is not documented (kleer-api.md §1.8 [UNK]); 500 is what the sandbox serves. A
# server that caps lower answers fewer rows and `iter_invoices` pages on by the rows it got.
INVOICE_PAGE_SIZE = 500
# Nested collections and the inner key Kleer wraps them in (kleer-api.md J4, §5.2).
WRAPPERS = {
    "rows": "rows",
    "recurring-rows": "rows",
    "first-invoice-rows": "rows",
    "credit-invoices": "client-invoices",
}
REFERENCES = ("client-ref", "our-reference", "user", "client", "product", "client-agreement-ref", "approver")
DATETIMES = ("certified-date", "registration-date", "registration-datetime")


@dataclass(frozen=True)
class KleerRecord:
    """One Kleer object at the boundary: its kind, its id as a string and its normalised JSON."""

    kind: str
    id: str
    data: Mapping[str, Any]


@dataclass(frozen=True)
class CompanyInfo:
    """What `GET /info` says about the company."""

    company_id: int
    name: str
    orgno: str
    currency: str


def _as_id(value: Any) -> Any:
    return value.get("id") if isinstance(value, Mapping) else value


def _as_iso(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC).isoformat().replace("+00:00", "Z")
    return value


def _as_list(value: Any, inner: str) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        found = value.get(inner)
        return found if isinstance(found, list) else []
    return []


def normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical shape: ids as `{"id": n}`, wrappers as `{"inner": [...]}`, dateTimes as ISO strings."""
    out = dict(data)
    if "id" in out:
        out["id"] = _as_id(out["id"])  # client-project readables wrap their own id
    for key in REFERENCES:
        if key in out and out[key] is not None and not isinstance(out[key], Mapping):
            out[key] = {"id": out[key]}
    for key, inner in WRAPPERS.items():
        if key in out:
            out[key] = {inner: [normalise(r) if isinstance(r, Mapping) else r for r in _as_list(out[key], inner)]}
    for key in DATETIMES:
        if key in out:
            out[key] = _as_iso(out[key])
    return out


def _record(kind: str, data: Mapping[str, Any]) -> KleerRecord:
    clean = normalise(data)
    return KleerRecord(kind=kind, id=str(clean.get("id", "")), data=clean)


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("message", "")) if isinstance(body, Mapping) else ""


class KleerClient:
    """Read (and write) one Kleer company's data with its API key."""

    def __init__(
        self,
        *,
        company_id: int,
        token: str,
        base_url: str | None = None,
        allow_sleep: bool = True,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.company_id = int(company_id)
        self._token = token
        self.http = HttpClient(
            service=SERVICE,
            base_url=f"{(base_url or settings.KLEER_API_BASE).rstrip('/')}/company/{self.company_id}",
            classify=self._classify,
            allow_sleep=allow_sleep,
            retry=retry or RetryPolicy.configured(),
        )

    def __repr__(self) -> str:
        return f"<KleerClient company={self.company_id}>"

    # -- transport ------------------------------------------------------------------------------

    def _classify(self, response: requests.Response) -> ApiError:
        status, message = response.status_code, _message(response)
        if status == 401:
            return AuthenticationError(
                f"Kleer rejected the API key for company {self.company_id}", service=SERVICE, status=401
            )
        if status == 403:
            return AuthenticationError(
                f"The Kleer API key has no access to company {self.company_id}; check the Company ID",
                service=SERVICE,
                status=403,
            )
        if status == 404:
            return PermanentError(message or "not found", service=SERVICE, status=404)
        if status in (423, 429):
            # Throttled or locked: Kleer did not act on the call, so it is safe to retry (http.NOT_PROCESSED).
            return TransientError(message or f"Kleer answered HTTP {status}", service=SERVICE, status=status)
        if status >= 500 and response.request.method != "GET" and message:
            # A write that Kleer refused with a message is a business error: retrying repeats it.
            return PermanentError(message, service=SERVICE, status=status)
        if status >= 500:
            return TransientError(message or f"Kleer answered HTTP {status}", service=SERVICE, status=status)
        return PermanentError(message or f"Kleer answered HTTP {status}", service=SERVICE, status=status)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {
            "X-Token": self._token,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        response = self.http.request(method, path, headers=headers, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            kind = response.headers.get("Content-Type", "unknown")
            raise TransientError(
                f"Kleer answered {method} {path} with a non-JSON body ({kind})", service=SERVICE
            ) from exc

    def _list(self, path: str, key: str, kind: str, **params: Any) -> Iterator[KleerRecord]:
        body = self._call("GET", path, params=params or None)
        items = body.get(key, []) if isinstance(body, Mapping) else body if isinstance(body, list) else []
        for item in items or []:
            if isinstance(item, Mapping):
                yield _record(kind, item)

    # -- reads ------------------------------------------------------------------------------------

    # Reference: kleer-api.md §2.1 (GET /info)
    def company_info(self) -> CompanyInfo:
        body = self._call("GET", "/info")
        return CompanyInfo(
            company_id=self.company_id,
            name=str(body.get("name", "")),
            orgno=str(body.get("orgno", "")),
            currency=str(body.get("accounting-currency", "") or "SEK"),
        )

    def check_credentials(self) -> CompanyInfo:
        """Prove the key works for this company (used before saving credentials)."""
        return self.company_info()

    # Reference: kleer-api.md §2.3 (GET /client, unpaged)
    def iter_clients(self) -> Iterator[KleerRecord]:
        return self._list("/client", "clients", "client")

    # Reference: kleer-api.md §2.6 (GET /product, unpaged)
    def iter_products(self) -> Iterator[KleerRecord]:
        return self._list("/product", "products", "product")

    # Reference: kleer-api.md §2.5 (GET /client/agreement; path inferred)
    def iter_agreements(self) -> Iterator[KleerRecord]:
        return self._list("/client/agreement", "client-agreements", "agreement")

    # Reference: kleer-api.md §2.7 (GET /client-project?filter=all)
    def iter_projects(self) -> Iterator[KleerRecord]:
        return self._list("/client-project", "client-project-readables", "project", filter="all")

    # Reference: kleer-api.md §2.2 (GET /user)
    def iter_users(self) -> Iterator[KleerRecord]:
        return self._list("/user", "users", "user")

    # Reference: kleer-api.md §2.4 (GET /client/invoice, paged by offset/limit, inclusive date bounds)
    def iter_invoices(
        self,
        *,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        page_size: int = INVOICE_PAGE_SIZE,
    ) -> Iterator[KleerRecord]:
        """Stream invoices page by page; only one page is ever held in memory."""
        params: dict[str, Any] = {"filter": "all", "ignoreFiles": "true", "limit": page_size}
        if date_from:
            params["invoiceDateLower"] = date_from.isoformat()
        if date_to:
            params["invoiceDateUpper"] = date_to.isoformat()
        offset = 0
        while True:
            body = self._call("GET", "/client/invoice", params={**params, "offset": offset})
            rows = body.get("client-invoices") or []
            for item in rows:
                yield _record("invoice", item)
            # The server may return fewer rows than asked ("limit" = rows returned, kleer-api.md §1.8).
            offset += len(rows)
            if not rows or offset >= int(body.get("size", 0)):
                return

    def get(self, kind_path: str, kleer_id: int | str) -> dict[str, Any]:
        """One record, e.g. get("client", 17)."""
        return normalise(self._call("GET", f"/{kind_path}/{kleer_id}"))

    # -- writes -----------------------------------------------------------------------------------

    # Reference: kleer-api.md §1.9 (PUT on a collection creates → `{"id": n}`), §2.3, §2.4, §2.5, §2.7
    def create(self, kind_path: str, body: Mapping[str, Any]) -> str:
        """Create one record, e.g. create("client", {...}); its new id.

        Not retried by this layer once Kleer may have received it (a create is not idempotent): callers that must
        not duplicate put a key of their own in the record (`foreign-id`) and look it up before trying again."""
        answer = self._call("PUT", f"/{kind_path}", json=dict(body), idempotent=False)
        kleer_id = _as_id(answer.get("id")) if isinstance(answer, Mapping) else None
        if kleer_id in (None, ""):
            raise TransientError(f"Kleer answered PUT /{kind_path} without an id", service=SERVICE)
        return str(kleer_id)

    # Reference: kleer-api.md §1.9 (POST on an item updates; elements left out stay as they are) and §2.3, §2.7
    def update(self, kind_path: str, kleer_id: int | str, body: Mapping[str, Any]) -> Any:
        """Update one record with the elements in `body`, e.g. update("client", 17, {"phone": "…"}).

        Retried like a read (5xx, 423, 429, lost answers): an update sets values, so sending it twice leaves
        the same record."""
        return self._call("POST", f"/{kind_path}/{kleer_id}", json=dict(body), idempotent=True)
