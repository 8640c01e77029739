"""Invoice arithmetic of the fake Kleer (kleer-api.md §5.4 row 16 [I]), shared by the API and the seed.

Money is integer öre (§1.7); quantities are decimals; row `vat` and percentage discounts are fractions.
row net = round(quantity × price) − discount (absolute öre, or round(gross × percentage));
amount = Σ row net; vat = Σ round(row net × row vat). Rounding: conventions.ROUNDING.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sandbox.kleer import conventions as C


def round_money(value: Decimal) -> int:
    """Whole öre, rounded per conventions.ROUNDING."""
    return int(value.quantize(Decimal(1), rounding=getattr(decimal, C.ROUNDING)))


def row_net(row: Mapping[str, Any]) -> int:
    """Net amount of one invoice or agreement row, in öre, excluding VAT."""
    gross = round_money(Decimal(str(row.get("quantity", 0))) * Decimal(int(row.get("price", 0))))
    discount = row.get("discount") or {}
    if "absolute" in discount:
        return gross - int(discount["absolute"])
    if "percentage" in discount:
        return gross - round_money(Decimal(gross) * Decimal(str(discount["percentage"])))
    return gross


def row_vat(row: Mapping[str, Any]) -> int:
    """VAT of one row in öre: its net times its `vat` fraction."""
    return round_money(Decimal(row_net(row)) * Decimal(str(row.get("vat", 0))))


def totals(rows: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """(`amount`, `vat`) of an invoice with these rows."""
    amount = vat = 0
    for row in rows:
        amount += row_net(row)
        vat += row_vat(row)
    return amount, vat
