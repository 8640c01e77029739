"""How each object type is read from Kleer (DESIGN §4 step 3): full lists, or invoices by date window.

Kleer has no changed-since filter, so clients, products, agreements and projects are re-read in full and
change detection happens on our side (fingerprints); invoices are paged by invoice date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from django.utils import timezone

from integration.clients.kleer import KleerClient, KleerRecord
from integration.models import Portal

Reader = Callable[[KleerClient, Portal], Iterator[KleerRecord]]


def history_start(portal: Portal, today: dt.date | None = None) -> dt.date:
    """First invoice date inside the portal's history window (whole months back from today)."""
    today = today or timezone.localdate()
    months = portal.invoice_history_months
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    day = min(today.day, 28)
    return dt.date(year, month + 1, day)


def _invoices(kleer: KleerClient, portal: Portal) -> Iterator[KleerRecord]:
    return kleer.iter_invoices(date_from=history_start(portal))


READERS: dict[str, Reader] = {
    "clients": lambda kleer, _portal: kleer.iter_clients(),
    "products": lambda kleer, _portal: kleer.iter_products(),
    "agreements": lambda kleer, _portal: kleer.iter_agreements(),
    "projects": lambda kleer, _portal: kleer.iter_projects(),
    "invoices": _invoices,
}

# Object types whose every run sees the complete Kleer list, so a record missing from it is gone.
COMPLETE_LISTS = {"clients", "products", "agreements", "projects"}


def is_gone(object_type: str, record: KleerRecord) -> bool:
    """Kleer soft deletes: agreements carry `deleted: true` (kleer-api.md §5.4 row 21)."""
    return object_type == "agreements" and bool(record.data.get("deleted"))
