"""Test helpers for code that talks to the fake Kleer over real HTTP (pytest `live_server`).

    company = company_seed(clients=3, products=2, invoices=10, agreements=1, projects=1)
    api = KleerApi(server_url=live_server.url, company_id=company.company_id, token=company.token)
    api.get("/client").json()["clients"]
    api.control("POST", f"/client/invoice/{invoice_id}/certify")
    api.add_fault(status=500, path="^/client$")

`KleerApi` sends what a well-behaved client sends (X-Token, Accept and Content-Type JSON, kleer-api.md §5.6);
`call(..., json_headers=False)` or explicit `headers=` exercise the quirks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from sandbox.kleer import conventions as C


@dataclass
class KleerApi:
    """One company of the fake Kleer, reached through a running server."""

    server_url: str
    company_id: int
    token: str
    prefix: str = C.API_PREFIXES[0]
    timeout: float = 10.0

    @property
    def base(self) -> str:
        """What the product's KLEER_API_BASE would be (ends in /v1)."""
        return f"{self.server_url}/sandbox/kleer/{self.prefix.rstrip('/')}"

    def url(self, path: str) -> str:
        """The full URL of an API path of this company."""
        return f"{self.base}/company/{self.company_id}{path}"

    def call(
        self,
        method: str,
        path: str,
        *,
        json_headers: bool = True,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """One API call. `token=""` sends no X-Token; `headers` are added last (and may override)."""
        sent: dict[str, str] = {}
        value = self.token if token is None else token
        if value:
            sent[C.TOKEN_HEADER] = value
        if json_headers:
            sent |= {"Accept": C.JSON_CONTENT_TYPE, "Content-Type": C.JSON_CONTENT_TYPE}
        sent |= headers or {}
        kwargs.setdefault("timeout", self.timeout)
        return requests.request(method, self.url(path), headers=sent, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """GET an API path."""
        return self.call("GET", path, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        """PUT a JSON body (create)."""
        return self.call("PUT", path, json=body, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        """POST a JSON body (update)."""
        return self.call("POST", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        """DELETE an API path."""
        return self.call("DELETE", path, **kwargs)

    def control(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        """A control call under /sandbox/kleer/_fake/company/<id> (see sandbox.kleer.control)."""
        url = f"{self.server_url}/sandbox/kleer/_fake/company/{self.company_id}{path}"
        kwargs.setdefault("timeout", self.timeout)
        return requests.request(method, url, json=body, **kwargs)

    def add_fault(self, **spec: Any) -> dict[str, Any]:
        """Queue one fault (keys: method, path, count, status, body, content_type, delay_seconds, drop_connection)."""
        response = self.control("POST", "/faults", spec)
        response.raise_for_status()
        return response.json()["faults"][0]

    def requests_log(self) -> list[dict[str, Any]]:
        """What the fake served for this company, oldest first."""
        response = self.control("GET", "/requests")
        response.raise_for_status()
        return response.json()["requests"]

    def set_options(self, **options: Any) -> dict[str, Any]:
        """Override conventions.DEFAULT_OPTIONS for this company (e.g. strict_content_type=False)."""
        response = self.control("POST", "/options", options)
        response.raise_for_status()
        return response.json()
