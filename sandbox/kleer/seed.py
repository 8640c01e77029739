"""Deterministic seed data for the fake Kleer: a company full of realistic Swedish accounting data.

    company_seed(clients=25, products=10, invoices=100_000, agreements=10, projects=5, seed=7)

Same arguments (including `today`) → byte-identical documents: every choice comes from `random.Random` seeded per
section, ids are numbered per company from fixed bases, and the only clock is `today`. Invoices are streamed from a
generator into `bulk_create` in batches, so memory stays flat however many are asked for.

The data carries the quirks a client must survive (kleer-api.md §1.5, §2): empty strings next to missing optional
fields, zip codes with and without the space, inactive clients, EUR clients with reverse-charge VAT 0, drafts with
`invoice-nr` 0, certified invoices sent or not, paid, partly paid and overdue, credit notes with negative amounts
linked both ways, disabled (deleted) drafts, invoices generated from agreements, agreements that ended, run on, or
have no end, odd intervals, first-invoice rows, soft-deleted agreements, closed projects.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone

from sandbox.kleer import arithmetic, store
from sandbox.kleer import conventions as C
from sandbox.kleer import seed_data as W
from sandbox.kleer.common import add_months, now_iso
from sandbox.kleer.models import Company, Resource

BATCH_SIZE = 2000
HISTORY_DAYS = 3 * 365
# From this many invoices on, the seed refreshes PostgreSQL's statistics and visibility map afterwards, so paging
# through the invoice list uses index-only scans at once instead of after autovacuum.
VACUUM_FROM = 10_000


@dataclass(frozen=True)
class SeededCompany:
    """What a seeded company is reached with, and how much it holds."""

    company_id: int
    token: str
    user_id: int
    users: int
    clients: int
    products: int
    invoices: int
    agreements: int
    projects: int


@dataclass(frozen=True)
class _Client:
    id: int
    doc: dict[str, Any]

    @property
    def domestic(self) -> bool:
        """A Swedish client: its invoices carry Swedish VAT."""
        return self.doc.get("country-code") == C.DOMESTIC_COUNTRY


@dataclass(frozen=True)
class _Agreement:
    id: int
    client: _Client
    doc: dict[str, Any]


@dataclass
class _Counters:
    row: int = C.ID_BASES["row"] + 1
    invoice_nr: int = C.FIRST_INVOICE_NR
    invoice_id: int = C.ID_BASES["invoice"] + 1


def _luhn(digits: str) -> int:
    """The check digit of Swedish org and personal numbers (Luhn over the first nine digits)."""
    total = 0
    for index, char in enumerate(digits):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "", plain)[:24] or "kund"


def _stamp(rng: random.Random, day: dt.date) -> str:
    """An ISO dateTime during office hours on `day` (Stockholm time, J11)."""
    zone = ZoneInfo(C.TIME_ZONE)
    moment = dt.datetime(
        day.year, day.month, day.day, rng.randint(8, 17), rng.randint(0, 59), rng.randint(0, 59), tzinfo=zone
    )
    return now_iso(moment)


def _insert(company_id: int, kind: str, docs: Iterator[dict[str, Any]]) -> int:
    """Stream documents into the database, BATCH_SIZE rows per INSERT; returns how many."""
    resources = (store.resource_build(company_id, kind, _id_of(doc), doc) for doc in docs)
    count = 0
    while batch := list(islice(resources, BATCH_SIZE)):
        Resource.objects.bulk_create(batch)
        count += len(batch)
        if connection.queries_logged:
            # With DEBUG on, Django keeps the last 9000 statements: each INSERT here holds a whole batch of JSON,
            # so keeping them would make memory grow with the invoice count.
            connection.queries_log.clear()
    return count


def _id_of(doc: dict[str, Any]) -> int:
    return doc["id"]["id"] if isinstance(doc["id"], dict) else doc["id"]


class _Seeder:
    """Builds one company's documents. Each section draws from its own Random, so changing one count does not
    change the documents of the others."""

    def __init__(self, company_id: int, seed: int, today: dt.date) -> None:
        self.company_id = company_id
        self.seed = seed
        self.today = today
        self.users: list[int] = []
        self.templates: list[int] = []
        self.clients: list[_Client] = []
        self.products: list[dict[str, Any]] = []
        self.agreements: list[_Agreement] = []
        self.counters = _Counters()
        self.counts: dict[str, int] = {}

    def rng(self, section: str) -> random.Random:
        """The Random of one section, seeded from the seed and the section name."""
        return random.Random(f"{self.seed}:{section}")

    # --- users and templates (§2.2, §2.4) ------------------------------------------------------------------------

    def seed_users(self) -> None:
        """Four users: the token's admin first, one inactive; `foreign-id` "", set, or missing."""
        people = (("Anna Lindqvist", "", True), ("Erik Åström", "E-102", True), ("Sofia Bäckström", "", True),
                  ("Johan Öhman", None, False))  # fmt: skip
        docs = []
        for index, (name, foreign_id, active) in enumerate(people):
            user_id = C.ID_BASES["user"] + 1 + index
            doc: dict[str, Any] = {"id": user_id, "name": name, "email": f"{_slug(name.split()[0])}@example.se"}
            if foreign_id is not None:
                doc["foreign-id"] = foreign_id
            doc |= {"internal-id": index + 1, "active": active}
            doc["dimension-entry"] = {"id": C.ID_BASES["dimension-entry"] + 1 + index}
            if index % 2 == 0:
                doc["dimensions"] = {}  # S7's fixture shape of an empty distribution (J6)
            docs.append(doc)
            self.users.append(user_id)
        self.counts["user"] = _insert(self.company_id, "user", iter(docs))
        self.counts["dimension-entry"] = len(docs)

    def seed_templates(self) -> None:
        """Two invoice templates (GET /client/invoice/template)."""
        rows = (("Standard", "Kleers standardmall"), ("Engelska", "Invoice template in English"))
        docs = [
            {"id": C.ID_BASES["template"] + 1 + i, "foreign-id": "", "name": name, "description": text}
            for i, (name, text) in enumerate(rows)
        ]
        self.templates = [d["id"] for d in docs]
        self.counts["template"] = _insert(self.company_id, "template", iter(docs))

    # --- clients (§2.3) -----------------------------------------------------------------------------------------

    def _swedish_identity(self, rng: random.Random, person: bool) -> dict[str, Any]:
        surname, town = rng.choice(W.SURNAMES), rng.choice(W.TOWNS)
        if person:
            birth = dt.date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28)).strftime("%y%m%d")
            digits = birth + f"{rng.randint(0, 999):03d}"
            name, orgno, vat = f"{rng.choice(W.FIRST_NAMES)} {surname}", f"{digits[:6]}-{digits[6:]}", ""
        else:
            digits = rng.choice(("556", "559", "969")) + f"{rng.randint(0, 999_999):06d}"
            name = rng.choice(W.COMPANY_PATTERNS).format(surname=surname, town=town[0])
            orgno, vat = f"{digits[:6]}-{digits[6:]}{_luhn(digits)}", f"SE{digits}{_luhn(digits)}01"
        if person:
            orgno += str(_luhn(digits))
        zip_code = f"{town[1]}{rng.randint(0, 9)} {rng.randint(10, 99)}"
        if rng.random() < 0.3:
            zip_code = zip_code.replace(" ", "")  # both spellings occur in real data
        street = f"{rng.choice(W.STREETS)} {rng.randint(1, 120)}"
        address2, country = rng.choice(("", "", "", "Box 12", "c/o Ekonomi")), rng.choice(("Sverige", "Sverige", ""))
        address = {"address1": street, "address2": address2, "zip-code": zip_code, "state": town[0], "country": country}
        phone = "" if rng.random() < 0.2 else f"{town[2]}-{rng.randint(100_000, 9_999_999)}"
        return {"name": name, "orgno": orgno, "vat-nr": vat, "address": address, "phone": phone,
                "country-code": "SE", "currency-type": "SEK",
                "client-type": "Person" if person else "Organisation"}  # fmt: skip

    def _foreign_identity(self, rng: random.Random, country: str) -> dict[str, Any]:
        info = W.FOREIGN[country]
        town, zip_code = rng.choice(info["towns"])
        name = info["pattern"].format(surname=rng.choice(W.SURNAMES))
        number = f"{rng.randint(1_000_000, 9_999_999)}"
        orgno, vat = (f"{number}-{rng.randint(0, 9)}", f"FI{number}{rng.randint(0, 9)}") if country == "FI" else (
            f"HRB {rng.randint(10_000, 99_999)}", f"DE{rng.randint(100_000_000, 999_999_999)}")  # fmt: skip
        street = f"{rng.choice(info['streets'])} {rng.randint(1, 80)}"
        address = {"address1": street, "address2": "", "zip-code": zip_code, "state": town, "country": info["country"]}
        return {"name": name, "orgno": orgno, "vat-nr": vat, "address": address, "phone": "",
                "country-code": country, "currency-type": "EUR", "client-type": "Organisation"}  # fmt: skip

    def _client_doc(self, rng: random.Random, index: int) -> dict[str, Any]:
        profile = rng.choices(("se", "person", "FI", "DE"), weights=(78, 8, 7, 7))[0]
        if profile in ("FI", "DE"):
            identity = self._foreign_identity(rng, profile)
        else:
            identity = self._swedish_identity(rng, person=profile == "person")
        delivery = rng.choices(("Email", "Mail", "Efaktura", "Manually"), weights=(70, 15, 10, 5))[0]
        contact = "" if rng.random() < 0.1 else f"{rng.choice(W.FIRST_NAMES)} {rng.choice(W.SURNAMES)}"
        doc: dict[str, Any] = {"id": C.ID_BASES["client"] + 1 + index}
        doc["foreign-id"] = f"crm-{index + 1}" if rng.random() < 0.15 else ""
        doc |= {"name": identity.pop("name"), "contact": contact, "address": identity.pop("address")}
        doc["email"] = "" if delivery == "Mail" else f"faktura@{_slug(doc['name'])}.{profile.lower()[:2]}"
        doc |= identity | {"accountnr": 0, "payment-days": rng.choice((30, 30, 30, 10, 15, 20, 45, 60))}
        doc |= {"user": {"id": rng.choice(self.users)}, "delivery-type": delivery}
        if delivery == "Efaktura":
            doc["gln"] = f"7350{rng.randint(10**8, 10**9 - 1)}"
        if rng.random() < 0.85:
            doc["template"] = {"id": rng.choice(self.templates)}
        note = rng.random()
        if note < 0.1:
            doc["notes"] = rng.choice(W.NOTES)
        elif note < 0.2:
            doc["notes"] = ""
        doc["active"] = rng.random() >= 0.1
        return doc

    def seed_clients(self, count: int) -> None:
        """`count` clients: Swedish companies and persons, Finnish and German EUR clients."""
        rng = self.rng("clients")
        for index in range(count):
            doc = self._client_doc(rng, index)
            self.clients.append(_Client(doc["id"], doc))
        self.counts["client"] = _insert(self.company_id, "client", (c.doc for c in self.clients))

    # --- products (§2.6) ----------------------------------------------------------------------------------------

    def seed_products(self, count: int) -> None:
        """`count` products cycling through seed_data.PRODUCTS, with variants past the first round."""
        rng = self.rng("products")
        for index in range(count):
            name, kind, unit, price, vat, account = W.PRODUCTS[index % len(W.PRODUCTS)]
            round_ = index // len(W.PRODUCTS)
            if round_:
                variant = W.VARIANTS[round_ % len(W.VARIANTS)] or f" {round_ + 1}"
                name, price = f"{name}{variant}", price + rng.randint(-20, 60) * 500
            doc: dict[str, Any] = {"id": C.ID_BASES["product"] + 1 + index}
            doc["foreign-id"] = f"SKU-{1000 + index}" if rng.random() < 0.6 else ""
            doc |= {"name": name, "type": kind, "unit": unit, "price": max(price, 100)}
            doc["ean"] = 0 if rng.random() < 0.9 else int(f"735{rng.randint(10**9, 10**10 - 1)}")
            doc |= {"account-nr": account, "vat-percentage": vat}
            doc["accounts"] = {"se": account, "eu": account, "export": account}
            self.products.append(doc)
        self.counts["product"] = _insert(self.company_id, "product", iter(self.products))

    # --- rows and money (§2.4 rows, §5.4 row 16 arithmetic) ------------------------------------------------------

    def _row_id(self) -> int:
        self.counters.row += 1
        return self.counters.row - 1

    def _row(self, rng: random.Random, product: dict[str, Any], client: _Client) -> dict[str, Any]:
        """An invoice row without its id: quantity fitting the unit, EUR prices for foreign clients."""
        unit = product["unit"]
        quantity: float | int = {
            "h": rng.choice((1, 1.5, 2, 4, 7.5, 8, 16, 24, 40)), "km": rng.randint(10, 400),
            "m": rng.randint(5, 300), "mån": rng.choice((1, 1, 3, 12)), "år": 1, "dag": rng.randint(1, 3),
        }.get(unit, rng.randint(1, 20))  # fmt: skip
        price = product["price"] if client.domestic else max(100, round(product["price"] / 11.45))
        row: dict[str, Any] = {"quantity": quantity, "price": price,
                               "vat": product["vat-percentage"] if client.domestic else 0,
                               "product": {"id": product["id"]}, "unit": unit, "description": product["name"],
                               "account-nr": product["account-nr"]}  # fmt: skip
        if rng.random() < 0.08:
            row["discount"] = rng.choice(({"percentage": 0.1}, {"percentage": 0.25}, {"absolute": 5_000}))
        return row

    def _rows(self, rng: random.Random, client: _Client) -> list[dict[str, Any]]:
        count = rng.choices((1, 2, 3, 4), weights=(50, 25, 15, 10))[0]
        return [{"id": self._row_id(), **self._row(rng, rng.choice(self.products), client)} for _ in range(count)]

    # --- agreements (§2.5) --------------------------------------------------------------------------------------

    def _agreement_dates(self, rng: random.Random, interval: int) -> dict[str, Any]:
        start = self.today - dt.timedelta(days=rng.randint(-45, HISTORY_DAYS))
        shape = rng.choices(("ended", "ends", "open"), weights=(30, 25, 45))[0]
        end = None
        if shape == "ended" and start < self.today - dt.timedelta(days=31):
            end = start + dt.timedelta(days=rng.randint(30, (self.today - start).days - 1))
        elif shape == "ends":
            end = self.today + dt.timedelta(days=rng.randint(30, 720))
        following = start
        while following < self.today:
            following = add_months(following, interval)
        if end is not None and following > end:
            following = None  # ran out: no next invoice
        dates = {"start-date": start.isoformat(), "start-invoice-date": start.isoformat(),
                 "next-invoice-date": following.isoformat() if following else None,
                 "end-date": end.isoformat() if end else None}  # fmt: skip
        if end is not None and rng.random() < 0.5:
            dates["renewal-notification-date"] = (end - dt.timedelta(days=60)).isoformat()
        return dates

    def _agreement_rows(self, rng: random.Random, client: _Client, count: int) -> list[dict[str, Any]]:
        rows = []
        for _ in range(count):
            row = self._row(rng, rng.choice(self.products), client)
            kept = {k: row[k] for k in ("quantity", "price", "product", "unit", "description")}
            rows.append(kept if rng.random() < 0.9 else {k: v for k, v in kept.items() if k != "product"})
        return rows

    def _agreement_doc(self, rng: random.Random, index: int) -> _Agreement:
        client = rng.choice(self.clients)
        interval = 2 if rng.random() < 0.05 else rng.choice((1, 1, 1, 3, 3, 6, 12, 12))
        dates = self._agreement_dates(rng, interval)
        doc: dict[str, Any] = {
            "id": C.ID_BASES["agreement"] + 1 + index,
            "foreign-id": rng.choice(("", "", f"sub-{index}")),
        }
        doc |= {"revision-nr": rng.choice((1, 1, 2, 3)), "client-ref": {"id": client.id}}
        doc |= {"description": rng.choice(W.AGREEMENT_DESCRIPTIONS), **dates}
        doc |= {
            "your-reference": client.doc["contact"],
            "our-reference": {"id": rng.choice(self.users)},
            "approver": None,
        }
        doc |= {"currency": client.doc["currency-type"], "payment-days": client.doc["payment-days"]}
        doc |= {
            "invoice-interval-months": interval,
            "invoice-day": rng.choices(C.INVOICE_DAYS, weights=(60, 15, 10, 5, 3, 3, 2, 2))[0],
        }
        doc |= {"po-nr": "", "agreement-nr": str(100 + index + 1)}
        if rng.random() < 0.7:
            doc["subscription-nr"] = rng.choice(("", f"S-{2000 + index}"))
        doc["deleted"] = rng.random() < 0.05
        first = self._agreement_rows(rng, client, 1) if rng.random() < 0.3 else []
        doc["first-invoice-rows"] = {"rows": [{**r, "description": f"Uppstart: {r['description']}"} for r in first]}
        doc["recurring-rows"] = {"rows": self._agreement_rows(rng, client, rng.randint(1, 3))}
        registered = dt.date.fromisoformat(dates["start-date"]) - dt.timedelta(days=rng.randint(0, 20))
        doc |= {"registration-user": {"id": self.users[0]}, "registration-date": _stamp(rng, registered)}
        return _Agreement(doc["id"], client, doc)

    def seed_agreements(self, count: int) -> None:
        """`count` agreements over random clients."""
        rng = self.rng("agreements")
        self.agreements = [self._agreement_doc(rng, index) for index in range(count)]
        self.counts["agreement"] = _insert(self.company_id, "agreement", (a.doc for a in self.agreements))

    # --- invoices (§2.4) ----------------------------------------------------------------------------------------

    def _invoice_base(
        self, rng: random.Random, client: _Client, day: dt.date, rows: list[dict[str, Any]]
    ) -> dict[str, Any]:
        c = client.doc
        amount, vat = arithmetic.totals(rows)
        doc: dict[str, Any] = {"id": self.counters.invoice_id, "invoice-nr": 0}
        self.counters.invoice_id += 1
        doc["foreign-id"] = f"order-{rng.randint(1000, 99999)}" if rng.random() < 0.2 else ""
        doc["po-nr"] = f"PO-{rng.randint(10000, 99999)}" if rng.random() < 0.15 else ""
        doc["client-ref"] = {"id": client.id}
        doc["client-invoice-template-ref"] = c.get("template") or {"id": self.templates[0]}
        doc["your-reference"] = c["contact"] if rng.random() < 0.8 else ""
        doc |= {"our-reference": {"id": rng.choice((*self.users, 0))}, "approver": {"id": 0}}
        doc |= {"invoice-address": dict(c["address"]), "invoice-email": c["email"], "delivery-name": ""}
        doc["delivery-address"] = dict.fromkeys(("address1", "address2", "zip-code", "state", "country"), "")
        doc["delivery-email"] = ""
        doc["invoice-date"] = day.isoformat()
        doc["due-date"] = (day + dt.timedelta(days=c["payment-days"])).isoformat()
        doc["delivery-date"] = "" if rng.random() < 0.1 else day.isoformat()  # required element, may be empty
        doc |= {"amount": amount, "vat": vat, "currency": c["currency-type"]}
        if c["currency-type"] != "SEK":
            doc["currency-rate"] = round(11 + rng.random(), 4)
        doc |= {"certified": False, "sent": False}
        if rng.random() < 0.1:
            doc["notes"] = rng.choice(W.NOTES)
        doc |= {"delivery-type": c["delivery-type"], "vat-nr": c["vat-nr"], "country-code": c["country-code"]}
        doc |= {"remaining": 0, "disabled": False}
        if rng.random() < 0.05:
            doc["fields"] = {
                "fields": [{"name": "Projektnummer", "alias": "projektnr", "value": f"P-{rng.randint(100, 999)}"}]
            }
        doc["rows"] = {"rows": rows}
        return doc

    def _certify(self, rng: random.Random, doc: dict[str, Any], day: dt.date) -> None:
        doc |= {"invoice-nr": self.counters.invoice_nr, "certified": True, "certified-date": _stamp(rng, day)}
        doc["remaining"] = doc["amount"] + doc["vat"]
        self.counters.invoice_nr += 1

    def _send(self, rng: random.Random, doc: dict[str, Any], day: dt.date) -> None:
        method = C.DELIVERY_METHOD_OF_TYPE.get(doc["delivery-type"], "EMAIL")
        deliveries = [{"delivery-method": method, "registration-user": {"id": rng.choice(self.users)},
                       "registration-datetime": _stamp(rng, day)}]  # fmt: skip
        doc |= {"sent": True, "invoice-deliveries": {"invoice-deliveries": deliveries}}

    def _pay(self, rng: random.Random, doc: dict[str, Any]) -> None:
        due = dt.date.fromisoformat(doc["due-date"])
        overdue = (self.today - due).days
        weights = (92, 5, 3) if overdue > 20 else (60, 15, 25) if overdue > 0 else (25, 10, 65)
        outcome = rng.choices(("paid", "partly", "open"), weights=weights)[0]
        total = doc["remaining"]
        if outcome == "open" or total <= 0:
            return
        paid_on = min(self.today, due + dt.timedelta(days=rng.randint(-10, 15)))
        paid_on = max(paid_on, dt.date.fromisoformat(doc["invoice-date"]))
        doc["remaining"] = 0 if outcome == "paid" else total - round(total * rng.choice((0.25, 0.5, 0.3)))
        doc["last-payment-date"] = paid_on.isoformat()

    def _lifecycle(self, rng: random.Random, doc: dict[str, Any], day: dt.date) -> None:
        recent = (self.today - day).days <= 14
        if rng.random() < (0.35 if recent else 0.02):
            doc["disabled"] = rng.random() < 0.25  # a draft, or a draft a user deleted
            return
        self._certify(rng, doc, day)
        if rng.random() < (0.7 if recent else 0.97):
            self._send(rng, doc, day)
            self._pay(rng, doc)

    def _credit(self, rng: random.Random, debit: dict[str, Any], client: _Client, day: dt.date) -> dict[str, Any]:
        """A certified credit note for `debit` (negative quantities, §2.4 "Credit notes"), linked both ways and
        settled against the debit's open amount."""
        day = min(self.today, day + dt.timedelta(days=rng.randint(1, 25)))
        source = debit["rows"]["rows"] if rng.random() < 0.7 else [rng.choice(debit["rows"]["rows"])]
        rows = []
        for row in source:
            credit_row = {**row, "id": self._row_id(), "quantity": -row["quantity"]}
            if "absolute" in row.get("discount", {}):
                credit_row["discount"] = {"absolute": -row["discount"]["absolute"]}
            rows.append(credit_row)
        doc = self._invoice_base(rng, client, day, rows)
        doc["debit-invoice-nr"] = debit["invoice-nr"]
        self._certify(rng, doc, day)
        self._send(rng, doc, day)
        covered = min(debit["remaining"], -doc["remaining"]) if debit["remaining"] > 0 else 0
        debit["remaining"] -= covered
        doc["remaining"] += covered
        debit["credit-invoices"] = {"client-invoices": [{"id": doc["id"]}]}
        return doc

    def _from_agreement(self, rng: random.Random, agreement: _Agreement, day: dt.date) -> dict[str, Any]:
        client = agreement.client
        rows = []
        for template in agreement.doc["recurring-rows"]["rows"]:
            vat = C.DEFAULT_ROW_VAT if client.domestic else 0
            product = next((p for p in self.products if p["id"] == template.get("product", {}).get("id")), None)
            if product is not None and client.domestic:
                vat = product["vat-percentage"]
            row = {"id": self._row_id(), **template, "vat": vat}
            if product is not None:
                row["account-nr"] = product["account-nr"]
            rows.append(row)
        doc = self._invoice_base(rng, client, day, rows)
        months = agreement.doc["invoice-interval-months"]
        end = add_months(day, months) - dt.timedelta(days=1)
        doc["period"] = {"start-date": day.isoformat(), "end-date": end.isoformat()}
        doc["agreement-nr"] = agreement.doc["agreement-nr"]
        if "subscription-nr" in agreement.doc:
            doc["subscription-nr"] = agreement.doc["subscription-nr"]
        doc["client-agreement-ref"] = {"id": agreement.id}
        return doc

    def _invoice_docs(self, count: int) -> Iterator[dict[str, Any]]:
        """`count` invoices with dates spread evenly over the last HISTORY_DAYS (ids grow with the date)."""
        rng = self.rng("invoices")
        produced = 0
        while produced < count:
            day = self.today - dt.timedelta(days=HISTORY_DAYS - (produced * HISTORY_DAYS) // count)
            if self.agreements and rng.random() < 0.15:
                agreement = rng.choice(self.agreements)
                client, doc = agreement.client, self._from_agreement(rng, agreement, day)
            else:
                client = rng.choice(self.clients)
                doc = self._invoice_base(rng, client, day, self._rows(rng, client))
            self._lifecycle(rng, doc, day)
            credit = None
            if doc["certified"] and produced + 1 < count and rng.random() < 0.03:
                credit = self._credit(rng, doc, client, day)
            yield doc
            produced += 1
            if credit is not None:
                yield credit
                produced += 1

    def seed_invoices(self, count: int) -> None:
        """`count` invoices, streamed (see _invoice_docs)."""
        self.counts["invoice"] = _insert(self.company_id, "invoice", self._invoice_docs(count))
        if count >= VACUUM_FROM and connection.vendor == "postgresql" and not connection.in_atomic_block:
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM ANALYZE {Resource._meta.db_table}")

    # --- projects (§2.7) ----------------------------------------------------------------------------------------

    def _project_doc(self, rng: random.Random, index: int) -> dict[str, Any]:
        client = rng.choice(self.clients)
        status = rng.choices(C.PROJECT_STATUSES, weights=(10, 65, 25))[0]
        opened = self.today - dt.timedelta(days=rng.randint(0, 900))
        fixed = rng.random() < 0.4
        doc: dict[str, Any] = {"id": {"id": C.ID_BASES["client-project"] + 1 + index}, "client": {"id": client.id}}
        doc |= {"fixed-price": fixed, "number": f"P{opened.year}-{index + 1:03d}"}
        doc["name"] = f"{rng.choice(W.PROJECT_NAMES)} – {client.doc['name']}"
        doc |= {"currency-type": client.doc["currency-type"], "active": status != "CLOSED"}
        doc |= {"your-reference": client.doc["contact"], "our-reference": {"id": rng.choice(self.users)}}
        doc |= {
            "delivery-type": client.doc["delivery-type"],
            "comment": rng.choice(("", "", "Enligt offert.", "Löpande räkning, avstämning varje månad.")),
        }
        doc |= {"payment-days": client.doc["payment-days"], "po-nr": ""}
        doc["budget-hours"] = 0 if fixed else rng.choice((0, 40, 80, 120.5, 250, 1000))
        doc["budget-amount"] = rng.randint(50, 2000) * 100_000 if fixed else rng.choice((0, 0, 25_000_000))
        doc |= {"incoming-invoiced-amount": 0, "incoming-invoiced-vat-amount": 0, "all-activities": True}
        doc |= {
            "all-users": True,
            "dimension-entry": {"id": C.ID_BASES["dimension-entry"] + len(self.users) + 1 + index},
        }
        doc |= {"status": status, "opening-date": opened.isoformat()}
        if status == "CLOSED":
            doc["closing-date"] = min(self.today, opened + dt.timedelta(days=rng.randint(30, 400))).isoformat()
        return doc

    def seed_projects(self, count: int) -> None:
        """`count` client projects, plus the two simple projects of GET /project."""
        rng = self.rng("projects")
        self.counts["client-project"] = _insert(
            self.company_id, "client-project", (self._project_doc(rng, i) for i in range(count))
        )
        self.counts["dimension-entry"] += count
        start = (self.today - dt.timedelta(days=400)).isoformat()
        ended = (self.today - dt.timedelta(days=300)).isoformat()
        simple = [
            {"id": C.ID_BASES["project"] + 1, "name": "Intern utveckling", "description": "", "start-date": start,
             "active": True},
            {"id": C.ID_BASES["project"] + 2, "name": "Mässa Elmia", "description": "Monter och resor",
             "start-date": start, "end-date": ended, "active": False},
        ]  # fmt: skip
        self.counts["project"] = _insert(self.company_id, "project", iter(simple if count else []))

    def finish(self) -> None:
        """Point every counter past what the seed numbered itself, so API creates continue the series."""
        for kind in ("user", "client", "product", "agreement", "client-project", "project", "template"):
            store.sequence_reset(self.company_id, kind, C.ID_BASES[kind] + 1 + self.counts.get(kind, 0))
        store.sequence_reset(self.company_id, "invoice", self.counters.invoice_id)
        store.sequence_reset(self.company_id, "row", self.counters.row)
        store.sequence_reset(self.company_id, "invoice-nr", self.counters.invoice_nr)
        store.sequence_reset(self.company_id, "agreement-nr", 100 + len(self.agreements) + 1)
        store.sequence_reset(self.company_id, "project-number", self.counts.get("client-project", 0) + 1)
        store.sequence_reset(
            self.company_id, "dimension-entry", C.ID_BASES["dimension-entry"] + 1 + self.counts["dimension-entry"]
        )


def _company_prepare(company_id: int | None, seed: int) -> Company:
    """The company to fill: created, or wiped completely (documents, counters, tokens, faults, log, options)."""
    rng = random.Random(f"{seed}:company")
    name = f"{rng.choice(W.SURNAMES)} {rng.choice(('Konsult', 'Teknik', 'Bygg', 'Data'))} AB"
    digits = "559" + f"{rng.randint(0, 999_999):06d}"
    fields = {
        "name": name,
        "orgno": f"{digits[:6]}-{digits[6:]}{_luhn(digits)}",
        "accounting_currency": "SEK",
        "supplier_invoice_email": f"leverantorsfakturor@{_slug(name)}.se",
        "bankgiro": rng.randint(1_000_000, 99_999_999),
        "default_delivery_type": C.DEFAULT_DELIVERY_TYPE,
        "options": {},
    }
    if company_id is not None and Company.objects.filter(pk=company_id).exists():
        store.company_wipe(company_id, keep_users=False)
        Company.objects.filter(pk=company_id).update(**fields)
        return Company.objects.get(pk=company_id)
    return store.company_create(company_id=company_id, **fields)


def _check_counts(counts: dict[str, int]) -> None:
    if any(value < 0 for value in counts.values()):
        raise ValueError("counts cannot be negative")
    if not counts["clients"] and (counts["invoices"] or counts["agreements"] or counts["projects"]):
        raise ValueError("invoices, agreements and projects need at least one client")
    if not counts["products"] and (counts["invoices"] or counts["agreements"]):
        raise ValueError("invoices and agreements need at least one product")


def company_seed(
    *,
    company_id: int | None = None,
    clients: int,
    products: int,
    invoices: int,
    agreements: int,
    projects: int,
    seed: int = 1,
    today: dt.date | None = None,
) -> SeededCompany:
    """Create (or wipe and refill) a fake Kleer company and issue a token for its first user.

    Without `company_id` the next free id from 4875 on is used. `today` anchors every date (default: the local
    date); with the same arguments the documents are byte-identical."""
    _check_counts({"clients": clients, "products": products, "invoices": invoices, "agreements": agreements,
                   "projects": projects})  # fmt: skip
    company = _company_prepare(company_id, seed)
    seeder = _Seeder(company.id, seed, today or timezone.localdate())
    seeder.seed_users()
    seeder.seed_templates()
    seeder.seed_clients(clients)
    seeder.seed_products(products)
    seeder.seed_agreements(agreements)
    seeder.seed_invoices(invoices)
    seeder.seed_projects(projects)
    seeder.finish()
    token = store.token_issue(company_id=company.id, user_id=seeder.users[0])
    counts = seeder.counts
    return SeededCompany(
        company_id=company.id,
        token=token.token,
        user_id=seeder.users[0],
        users=counts["user"],
        clients=counts["client"],
        products=counts["product"],
        invoices=counts["invoice"],
        agreements=counts["agreement"],
        projects=counts["client-project"],
    )
