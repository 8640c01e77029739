"""The seed: counts, referential integrity, determinism, and the quirks a Kleer client must survive."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest

from sandbox.kleer.models import Resource, Sequence, Token
from sandbox.kleer.schema import present
from sandbox.kleer.seed import _luhn, company_seed

from .conftest import TODAY

pytestmark = pytest.mark.django_db(transaction=True)


def documents(company_id: int) -> dict[str, list[str]]:
    """Every document of a company as the API would render it, per kind, in id order."""
    out: dict[str, list[str]] = {}
    for resource in Resource.objects.filter(company_id=company_id).order_by("kind", "kleer_id"):
        out.setdefault(resource.kind, []).append(json.dumps(present(resource.kind, resource.data), ensure_ascii=False))
    return out


def docs(company_id: int, kind: str) -> list[dict[str, Any]]:
    return [r.data for r in Resource.objects.filter(company_id=company_id, kind=kind).order_by("kleer_id")]


def test_small_seed_counts_and_references() -> None:
    seeded = company_seed(clients=3, products=2, invoices=10, agreements=2, projects=1, today=TODAY)
    assert (seeded.users, seeded.clients, seeded.products, seeded.invoices, seeded.agreements, seeded.projects) == (
        4, 3, 2, 10, 2, 1,
    )  # fmt: skip
    cid = seeded.company_id
    assert Token.objects.get(token=seeded.token).company_id == cid
    assert seeded.user_id == docs(cid, "user")[0]["id"]
    ids = {kind: {r["id"] for r in docs(cid, kind)} for kind in ("user", "client", "product", "template")}
    for invoice in docs(cid, "invoice"):
        assert invoice["client-ref"]["id"] in ids["client"]
        assert invoice["our-reference"]["id"] in ids["user"] | {0}
        assert invoice["client-invoice-template-ref"]["id"] in ids["template"]
        assert {r["product"]["id"] for r in invoice["rows"]["rows"] if "product" in r} <= ids["product"]
    for client in docs(cid, "client"):
        assert client["user"]["id"] in ids["user"]
    next_client = Sequence.objects.get(company_id=cid, name="client").next_value
    assert next_client == max(ids["client"]) + 1


def test_same_input_gives_byte_identical_documents() -> None:
    args = {"clients": 20, "products": 8, "invoices": 120, "agreements": 6, "projects": 4, "today": TODAY}
    first, second = company_seed(seed=7, **args), company_seed(seed=7, **args)
    assert first.company_id != second.company_id and first.token != second.token
    assert documents(first.company_id) == documents(second.company_id)
    other = company_seed(seed=8, **args)
    assert documents(other.company_id)["client"] != documents(first.company_id)["client"]
    later = company_seed(seed=7, **(args | {"today": TODAY + dt.timedelta(days=1)}))
    assert documents(later.company_id)["invoice"] != documents(first.company_id)["invoice"]
    assert documents(later.company_id)["client"] == documents(first.company_id)["client"]


def test_reseeding_a_company_replaces_it() -> None:
    first = company_seed(company_id=4875, clients=2, products=1, invoices=3, agreements=0, projects=0, today=TODAY)
    again = company_seed(company_id=4875, clients=4, products=1, invoices=0, agreements=0, projects=0, today=TODAY)
    assert first.company_id == again.company_id == 4875
    assert Resource.objects.filter(company_id=4875, kind="client").count() == 4
    assert Resource.objects.filter(company_id=4875, kind="invoice").count() == 0
    assert list(Token.objects.filter(company_id=4875).values_list("token", flat=True)) == [again.token]


@pytest.mark.parametrize(
    "counts",
    [
        {"clients": 0, "products": 1, "invoices": 1, "agreements": 0, "projects": 0},
        {"clients": 1, "products": 0, "invoices": 0, "agreements": 1, "projects": 0},
        {"clients": -1, "products": 0, "invoices": 0, "agreements": 0, "projects": 0},
    ],
)
def test_impossible_counts_are_refused(counts: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        company_seed(**counts)


def _valid_orgno(orgno: str) -> bool:
    digits = orgno.replace("-", "")
    return bool(re.fullmatch(r"\d{6}-\d{4}", orgno)) and _luhn(digits[:9]) == int(digits[9])


def test_the_quirks_are_present() -> None:
    seeded = company_seed(clients=60, products=16, invoices=800, agreements=40, projects=12, today=TODAY)
    cid = seeded.company_id
    clients, invoices = docs(cid, "client"), docs(cid, "invoice")
    agreements, projects = docs(cid, "agreement"), docs(cid, "client-project")
    by_id = {i["id"]: i for i in invoices}
    # clients: Swedish letters, inactive ones, "" next to missing, both zip spellings, valid org numbers, EUR
    assert any(re.search("[åäöÅÄÖ]", c["name"]) for c in clients)
    assert any(not c["active"] for c in clients) and any(c["active"] for c in clients)
    assert any(c.get("notes") == "" for c in clients) and any("notes" not in c for c in clients)
    assert any(c["phone"] == "" for c in clients) and any("template" not in c for c in clients)
    zips = [c["address"]["zip-code"] for c in clients if c["country-code"] == "SE"]
    assert any(re.fullmatch(r"\d{3} \d{2}", z) for z in zips) and any(re.fullmatch(r"\d{5}", z) for z in zips)
    swedish_orgs = [c for c in clients if c["country-code"] == "SE" and c["client-type"] == "Organisation"]
    assert all(_valid_orgno(c["orgno"]) for c in swedish_orgs)
    assert all(c["vat-nr"] == f"SE{c['orgno'].replace('-', '')}01" for c in swedish_orgs)
    assert {c["currency-type"] for c in clients} == {"SEK", "EUR"}
    assert any(c["client-type"] == "Person" for c in clients)
    # invoices: drafts, disabled, certified unsent, paid, partly paid, open, credit notes, agreement invoices
    certified = [i for i in invoices if i["certified"]]
    assert any(i["invoice-nr"] == 0 and not i["disabled"] for i in invoices)
    assert any(i["disabled"] for i in invoices)
    assert any(not i["sent"] for i in certified)
    assert any(i["remaining"] == 0 and i["amount"] > 0 and "last-payment-date" in i for i in certified)
    assert any(0 < i["remaining"] < i["amount"] + i["vat"] and "last-payment-date" in i for i in certified)
    assert any(i["remaining"] == i["amount"] + i["vat"] > 0 for i in certified)
    credits = [i for i in invoices if "debit-invoice-nr" in i]
    assert credits and all(i["amount"] < 0 and i["certified"] for i in credits)
    for credit in credits:
        debit = next(i for i in invoices if i["invoice-nr"] == credit["debit-invoice-nr"])
        assert {"id": credit["id"]} in debit["credit-invoices"]["client-invoices"]
    assert any(i["currency"] == "EUR" and i["vat"] == 0 and i["amount"] > 0 for i in invoices)
    assert any(i["delivery-date"] == "" for i in invoices)
    assert any("client-agreement-ref" in i and "period" in i for i in invoices)
    dates = sorted(i["invoice-date"] for i in invoices)
    assert dates[0] <= (TODAY - dt.timedelta(days=3 * 365 - 5)).isoformat() and dates[-1] >= "2025-06-01"
    assert len(by_id) == 800
    # agreements: ended, ending, open-ended, odd intervals, first rows, soft-deleted
    today = TODAY.isoformat()
    assert any(a["end-date"] is not None and a["end-date"] < today for a in agreements)
    assert any(a["end-date"] is not None and a["end-date"] > today for a in agreements)
    assert any(a["end-date"] is None for a in agreements)
    assert {a["invoice-interval-months"] for a in agreements} <= {1, 2, 3, 6, 12}
    assert {1, 3, 12} <= {a["invoice-interval-months"] for a in agreements}
    assert any(a["first-invoice-rows"]["rows"] for a in agreements)
    assert any(not a["first-invoice-rows"]["rows"] for a in agreements)
    assert any(a["deleted"] for a in agreements)
    # projects: open and closed, fixed price and hourly
    assert {p["status"] for p in projects} >= {"OPEN", "CLOSED"}
    assert {p["fixed-price"] for p in projects} == {True, False}
    assert all("closing-date" in p for p in projects if p["status"] == "CLOSED")


def test_an_odd_interval_appears_with_enough_agreements() -> None:
    seeded = company_seed(clients=5, products=3, invoices=0, agreements=80, projects=0, today=TODAY)
    assert 2 in {a["invoice-interval-months"] for a in docs(seeded.company_id, "agreement")}
