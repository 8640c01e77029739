"""Fixtures for the fake Kleer tests: seeded companies reached over real HTTP through the live server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.kleer.seed import company_seed
from sandbox.kleer.testing import KleerApi

TODAY = dt.date(2025, 6, 16)

KleerFactory = Callable[..., KleerApi]


@pytest.fixture
def kleer_factory(live_server, transactional_db) -> KleerFactory:
    """Seed a company and return a KleerApi for it: `kleer_factory(invoices=20, …)`. Small defaults; `today`
    fixed so dates are stable. (Fit for the shared conftest: it depends only on live_server.)"""

    def make(**overrides: Any) -> KleerApi:
        args: dict[str, Any] = {
            "clients": 5, "products": 4, "invoices": 0, "agreements": 0, "projects": 0, "today": TODAY,
        }  # fmt: skip
        args |= overrides
        seeded = company_seed(**args)
        return KleerApi(server_url=live_server.url, company_id=seeded.company_id, token=seeded.token)

    return make


@pytest.fixture
def kleer(kleer_factory: KleerFactory) -> KleerApi:
    """A small company: 5 clients, 4 products, no invoices/agreements/projects."""
    return kleer_factory()


def all_invoices(api: KleerApi, **params: Any) -> list[dict[str, Any]]:
    """Every invoice the list answers for these params, walking the pages."""
    out: list[dict[str, Any]] = []
    while True:
        body = api.get("/client/invoice", params={**params, "offset": len(out), "limit": 500}).json()
        out += body.get("client-invoices", [])
        if len(out) >= body["size"] or not body.get("client-invoices"):
            return out


def domestic_client(api: KleerApi) -> dict[str, Any]:
    """The first Swedish client of a company."""
    return next(c for c in api.get("/client").json()["clients"] if c["country-code"] == "SE")
