"""The fake's data model of each Kleer resource: fields in XSD order, their types, and what is read-only.

One table per resource (kleer-api.md §2) drives three things:
- `coerce()` reads a request body leniently where Kleer is lenient (§5.2: a bare array where a wrapper is
  expected, enums in any case, ids and numbers as strings) and strictly elsewhere (unknown fields, fractions of
  an öre, malformed dates → the business-error status);
- `present()` renders a stored document in XSD element order with nulls and empty lists left out (J6, J7);
- the field lists tell the XML renderer and the control endpoints what exists.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.kleer import conventions as C
from sandbox.kleer.errors import BusinessError


@dataclass(frozen=True)
class T:
    """The type of one field. `kind` is one of the names handled by `_COERCERS`; `item` names the schema of
    wrapper items; `enum` the allowed spellings; `ro` marks read-only fields (accepted on write and ignored)."""

    kind: str
    item: str | None = None
    enum: tuple[str, ...] = ()
    ro: bool = False


S, N, M, D, B = T("str"), T("int"), T("money"), T("dec"), T("bool")  # N: integer (int/long)
DATE, DATETIME, REF, ADDRESS, OBJ, LIST = T("date"), T("datetime"), T("ref"), T("address"), T("obj"), T("list")
ADDRESS_FIELDS = ("address1", "address2", "zip-code", "state", "country")
# Enums where "" is a value: "empty on create = the client's / company's default, on save = unchanged" (§1.9).
EMPTY_MEANS_DEFAULT = ("delivery-type",)
# Element order inside small nested objects (PostgreSQL's jsonb does not keep key order).
NESTED_ORDER: dict[str, tuple[str, ...]] = {
    "address": ADDRESS_FIELDS,
    "accounts": ("se", "eu", "export"),
    "period": ("start-date", "end-date"),
    "approved": ("user", "registration-date"),
    "accrual-configuration": ("accrual-account-nr", "revenue-account-nr"),
}


def ro(t: T) -> T:
    """The same type, read-only."""
    return T(t.kind, t.item, t.enum, ro=True)


def enum(values: tuple[str, ...]) -> T:
    """An enum type whose stored spellings are `values`."""
    return T("enum", enum=values)


def items(item: str) -> T:
    """Repeated elements with no wrapper (J5): a plain JSON array under a plural key, each item of schema `item`."""
    return T("items", item=item)


def wrap(item: str) -> T:
    """A wrapper element (J4) whose items follow schema `item` ("ref" for `{id}` items)."""
    return T("wrap", item=item)


SCHEMAS: dict[str, dict[str, T]] = {
    # §2.2
    "user": {
        "id": ro(N), "foreign-id": S, "internal-id": N, "name": S, "email": S, "active": B,
        "dimension-entry": ro(REF), "dimensions": OBJ, "dimension-user-percentage": D,
    },
    # §2.3
    "client": {
        "id": ro(N), "foreign-id": S, "name": S, "contact": S, "address": ADDRESS, "email": S,
        "client-type": enum(C.CLIENT_TYPES), "country-code": S, "currency-type": enum(C.CURRENCIES), "notes": S,
        "accountnr": N, "payment-days": N, "orgno": S, "phone": S, "user": REF,
        "delivery-type": enum(C.DELIVERY_TYPES), "vat-nr": S, "gln": S, "edi-recipient": OBJ,
        "fetch-edi-recipient": B, "template": REF, "approver": REF, "dimension-entries": wrap("ref"),
        "client-broker": wrap("ref"), "active": B,
    },
    # §2.6
    "product": {
        "id": ro(N), "foreign-id": S, "name": S, "type": enum(C.PRODUCT_TYPES), "unit": S, "price": M, "ean": N,
        "dimension-entries": wrap("ref"), "account-nr": N, "vat-percentage": D, "accounts": ro(OBJ),
    },
    # §2.4
    "invoice": {
        "id": ro(N), "invoice-nr": ro(N), "debit-invoice-nr": N, "delete-row-reference-when-credit": B,
        "edi-period-type": enum(C.EDI_PERIOD_TYPES), "credit-invoices": ro(wrap("ref")),
        "aggregated-invoices": ro(wrap("ref")), "foreign-id": S, "po-nr": S, "agreement-nr": S,
        "subscription-nr": S, "client-ref": REF, "end-client": REF, "client-invoice-template-ref": REF,
        "your-reference": S, "our-reference": REF, "approver": REF, "invoice-address": ADDRESS,
        "invoice-email": S, "delivery-name": S, "delivery-address": ADDRESS, "delivery-email": S,
        "invoice-date": DATE, "due-date": DATE, "delivery-date": DATE, "period": OBJ, "amount": ro(M),
        "vat": ro(M), "currency": enum(C.CURRENCIES), "currency-rate": D, "certified": ro(B),
        "certified-date": ro(DATETIME), "sent": ro(B), "notes": S, "delivery-type": enum(C.DELIVERY_TYPES),
        "gln": S, "vat-nr": S, "country-code": S, "client-agreement-ref": ro(REF), "remaining": ro(M),
        "last-payment-date": ro(DATE), "disabled": ro(B), "automatic-actions-disabled": B,
        "automatic-actions-message": S, "fields": wrap("field"), "approved": ro(OBJ),
        "invoice-deliveries": ro(wrap("delivery")), "files": wrap("file"), "rows": wrap("invoice-row"),
        "reinvoicings": wrap("reinvoicing"), "factoring": ro(B), "self-invoice-references": ro(OBJ),
    },
    "invoice-row": {
        "id": ro(N), "quantity": D, "price": M, "vat": ro(D), "product": REF, "unit": S, "description": S,
        "account-nr": ro(N), "project": REF, "dimensions": OBJ, "period": OBJ, "delivery-date": DATE,
        "discount": T("discount"), "fields": wrap("field"), "accruals": wrap("accrual"),
    },
    "delivery": {
        "delivery-method": enum(C.DELIVERY_METHODS), "registration-user": REF, "registration-datetime": DATETIME,
    },
    "file": {"filename": S, "data": T("bytes")},
    # Items of the other wrappers (§2.4, [DOC] S2): custom fields are keyed by `alias`, `name` is read-only.
    "field": {"name": ro(S), "alias": S, "value": S},
    "accrual": {"month": S, "sum": M},
    "transaction": {"account-nr": N, "amount": M},
    "reinvoicing": {"id": N, "reinvoicing-type": enum(C.REINVOICING_TYPES), "supplier-invoice": N, "expense-entry": N},
    # §2.4 client-invoice-payment-writable
    "payment": {
        "date": DATE, "invoice-amount": M, "accounting-amount": M, "transactions": wrap("transaction"),
        "files": wrap("file"),
    },
    # §2.5
    "agreement": {
        "id": ro(N), "foreign-id": S, "revision-nr": ro(N), "client-ref": REF, "description": S,
        "start-date": ro(DATE), "start-invoice-date": DATE, "next-invoice-date": DATE, "end-date": DATE,
        "renewal-notification-date": DATE, "your-reference": S, "our-reference": REF, "approver": REF,
        "currency": enum(C.CURRENCIES), "payment-days": N, "invoice-interval-months": N,
        "invoice-day": enum(C.INVOICE_DAYS), "po-nr": S, "agreement-nr": S, "subscription-nr": S,
        "accrual-configuration": OBJ, "notes": S, "deleted": ro(B), "fields": wrap("field"),
        "first-invoice-rows": wrap("agreement-row"), "recurring-rows": wrap("agreement-row"),
        "registration-user": ro(REF), "registration-date": ro(DATETIME),
    },
    "agreement-row": {
        "quantity": D, "price": M, "product": REF, "unit": S, "description": S, "discount": T("discount"),
        "fields": wrap("field"), "dimensions": OBJ,
    },
    # §2.7: the readable form; the writeable one is the same minus the read-only fields, with `dimension-entries`.
    "client-project": {
        "id": ro(REF), "client": REF, "broker-client": REF, "fixed-price": B, "number": S, "name": S,
        "currency-type": enum(C.CURRENCIES), "active": ro(B), "your-reference": S, "our-reference": REF,
        "delivery-type": enum(C.DELIVERY_TYPES), "comment": S, "payment-days": N, "po-nr": S,
        "budget-hours": D, "budget-amount": M, "incoming-invoiced-amount": M, "incoming-invoiced-vat-amount": M,
        "all-activities": B, "activities": items("project-activity"), "all-users": B,
        "users": items("project-user"), "leads": items("project-lead"),
        "fixed-price-planned-invoices": LIST, "write-offs": ro(LIST), "dimension-entry": ro(REF),
        "status": ro(enum(C.PROJECT_STATUSES)), "opening-date": DATE, "closing-date": DATE, "dimensions": OBJ,
        "dimension-entries": OBJ, "default-notes": S, "fields": wrap("field"),
    },
    # J5 (S7 `KleerClientProjectReadable`): `"activities": [{"activity": {id}, …}]`, `"users": [{"user": {id},
    # "activities": [...]}]`; the item's own key wraps the reference, a bare `{id}` item is refused.
    "project-activity": {"activity": REF, "price": M, "supplier-price": M, "dimension-user-percentage": D},
    "project-user": {"user": REF, "activities": items("project-activity")},
    "project-lead": {"user": REF},
    "project": {"id": ro(N), "name": S, "description": S, "start-date": DATE, "end-date": DATE, "active": B},
    "template": {"id": ro(N), "foreign-id": S, "name": S, "description": S},
    "info": {"name": S, "orgno": S, "accounting-currency": S, "bankgiro": N, "supplier-invoice-email": S},
}  # fmt: skip


# --- coercion of request bodies -------------------------------------------------------------------------------


def _bad(field: str, value: Any) -> BusinessError:
    return BusinessError(f'Invalid value "{value}" for "{field}"')


def _decimal(field: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise _bad(field, value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _bad(field, value) from None
    if not number.is_finite():
        raise _bad(field, value)
    return number


def _as_int(field: str, value: Any) -> int:
    number = _decimal(field, value)
    # Money and ids are whole öre / whole numbers (§1.7): a fraction is a caller bug (e.g. kronor sent as öre).
    if number != number.to_integral_value():
        raise _bad(field, value)
    return int(number)


def number_out(number: Decimal) -> int | float:
    """A decimal as JSON: integral values as ints, others as floats (Kleer's decimals, e.g. quantity 1.5)."""
    return int(number) if number == number.to_integral_value() else float(number)


def _coerce_str(field: str, value: Any, t: T) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal | float):
        raise _bad(field, value)
    return value if isinstance(value, str) else str(value)  # Jackson coerces scalars to strings


def _coerce_bool(field: str, value: Any, t: T) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _bad(field, value)


def _coerce_date(field: str, value: Any, t: T) -> str:
    # J10: plain YYYY-MM-DD. "" is kept: `delivery-date` is a required element that may be empty (§2.4).
    if value == "":
        return ""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise _bad(field, value)
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise _bad(field, value) from None
    return value


def _coerce_datetime(field: str, value: Any, t: T) -> str:
    # J11: accept an ISO string or epoch milliseconds; store ISO.
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        moment = dt.datetime.fromtimestamp(int(value) / 1000, tz=ZoneInfo(C.TIME_ZONE))
        return moment.isoformat(timespec="seconds")
    if isinstance(value, str):
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            raise _bad(field, value) from None
        return value
    raise _bad(field, value)


def coerce_ref(field: str, value: Any, t: T | None = None) -> dict[str, int]:
    """`{"id": n}`, a bare `n` or `"n"` → `{"id": n}` (§5.2 leniency; §1.6 shape)."""
    if isinstance(value, Mapping):
        extra = set(value) - {"id"}
        if extra or "id" not in value:
            raise _bad(field, dict(value))
        value = value["id"]
    number = _as_int(field, value)
    if number < 0:
        raise _bad(field, value)
    return {"id": number}


def _coerce_address(field: str, value: Any, t: T, unknown: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise _bad(field, value)
    extra = set(value) - set(ADDRESS_FIELDS)
    if extra and unknown == "reject":
        raise BusinessError(f'Unrecognized field "{sorted(extra)[0]}" in "{field}"')
    # The whole element replaces the stored one (XML element semantics); sub-fields left out stay absent.
    return {k: _coerce_str(f"{field}.{k}", value[k], S) for k in ADDRESS_FIELDS if k in value and value[k] is not None}


def _coerce_enum(field: str, value: Any, t: T) -> str:
    if value == "" and field in EMPTY_MEANS_DEFAULT:
        return ""
    key = re.sub(r"[^a-z0-9]", "", str(value).lower())
    for allowed in t.enum:
        if re.sub(r"[^a-z0-9]", "", allowed.lower()) == key:
            return allowed
    raise BusinessError(f'Unknown value "{value}" for "{field}"')


def _coerce_discount(field: str, value: Any, t: T) -> dict[str, Any]:
    # §2.4: exactly one of absolute (öre) or percentage (a fraction [I]; > 1 is a caller sending "10" for 10 %).
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in ("absolute", "percentage"):
        raise _bad(field, value)
    if "absolute" in value:
        return {"absolute": _as_int(f"{field}.absolute", value["absolute"])}
    pct = _decimal(f"{field}.percentage", value["percentage"])
    if not 0 <= pct <= 1:
        raise _bad(f"{field}.percentage", value["percentage"])
    return {"percentage": number_out(pct)}


def _coerce_bytes(field: str, value: Any, t: T) -> str:
    # J12: S6 sends an array of byte values; S4 sent hex strings. Stored (and emitted) as base64 [UNK].
    if isinstance(value, list):
        try:
            return base64.b64encode(bytes(int(v, 16) if isinstance(v, str) else int(v) for v in value)).decode()
        except (ValueError, TypeError):
            raise _bad(field, "[…]") from None
    if isinstance(value, str):
        return value
    raise _bad(field, value)


def _coerce_wrap(field: str, value: Any, t: T, unknown: str) -> dict[str, list[Any]]:
    """A J4 wrapper `{"<inner>": [...]}`; §5.2: a bare array where a wrapper is expected is accepted."""
    inner = C.WRAPPER_INNER.get(field, field)
    if isinstance(value, Mapping):
        if set(value) - {inner} and unknown == "reject":
            raise BusinessError(f'Unrecognized field "{sorted(set(value) - {inner})[0]}" in "{field}"')
        value = value.get(inner) or []
    return {inner: _coerce_items(field, value, t, unknown)}


def _coerce_items(field: str, value: Any, t: T, unknown: str) -> list[Any]:
    """The items of a J4 wrapper or a J5 array, each of schema `t.item` ("ref": an `{id}` reference)."""
    if not isinstance(value, list):
        raise _bad(field, value)
    if t.item == "ref":
        return [coerce_ref(field, item) for item in value]
    return [coerce(str(t.item), item, unknown=unknown) for item in value]


def _coerce_obj(field: str, value: Any, t: T) -> Any:
    if not isinstance(value, Mapping):
        raise _bad(field, value)
    return dict(value)


def _coerce_list(field: str, value: Any, t: T) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(field, value)
    return list(value)


_COERCERS = {
    "str": _coerce_str,
    "int": lambda f, v, t: _as_int(f, v),
    "money": lambda f, v, t: _as_int(f, v),
    "dec": lambda f, v, t: number_out(_decimal(f, v)),
    "bool": _coerce_bool,
    "date": _coerce_date,
    "datetime": _coerce_datetime,
    "ref": coerce_ref,
    "enum": _coerce_enum,
    "discount": _coerce_discount,
    "bytes": _coerce_bytes,
    "obj": _coerce_obj,
    "list": _coerce_list,
}


def coerce(schema: str, body: Any, *, unknown: str = "reject") -> dict[str, Any]:
    """A request body as a canonical partial document: known writable fields only, each in its stored form.

    `unknown` is "reject" (a BusinessError naming the field, like Jackson) or "drop". Read-only fields are dropped:
    clients re-send whole objects they read (§1.9, S4). `null` is kept: it clears a field (e.g. `approver`, §1.9).
    """
    if not isinstance(body, Mapping):
        raise BusinessError(C.TECHNICAL_ERROR)
    fields = SCHEMAS[schema]
    out: dict[str, Any] = {}
    for name, value in body.items():
        t = fields.get(name)
        if t is None:
            if unknown == "reject":
                raise BusinessError(f'Unrecognized field "{name}"')
            continue
        if t.ro:
            continue
        out[name] = None if value is None else _coerce_field(name, value, t, unknown)
    return out


def _coerce_field(name: str, value: Any, t: T, unknown: str) -> Any:
    if t.kind == "wrap":
        return _coerce_wrap(name, value, t, unknown)
    if t.kind == "address":
        return _coerce_address(name, value, t, unknown)
    if t.kind == "items":
        return _coerce_items(name, value, t, unknown)
    return _COERCERS[t.kind](name, value, t)


# --- presentation of stored documents ------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    """How documents are rendered for one company (see conventions.DEFAULT_OPTIONS)."""

    omit_nulls: bool = True
    omit_empty_lists: bool = True
    datetime_format: str = "iso"

    @classmethod
    def of(cls, options: Mapping[str, Any] | None) -> Style:
        """The style of a company, from its options."""
        return cls(
            omit_nulls=bool(C.option(options, "omit_nulls")),
            omit_empty_lists=bool(C.option(options, "omit_empty_lists")),
            datetime_format=str(C.option(options, "datetime_format")),
        )


def _present_value(name: str, t: T | None, value: Any, style: Style) -> Any:
    if value is None:
        return None
    kind = t.kind if t else None
    order = ADDRESS_FIELDS if kind == "address" else NESTED_ORDER.get(name) if kind == "obj" else None
    if order and isinstance(value, Mapping):
        return {k: value[k] for k in order if k in value} | {k: v for k, v in value.items() if k not in order}
    if kind == "datetime" and style.datetime_format == "epoch_millis" and isinstance(value, str):
        return int(dt.datetime.fromisoformat(value).timestamp() * 1000)
    if kind == "items" and isinstance(value, list) and t:
        return [present(str(t.item), item, style) if isinstance(item, Mapping) else item for item in value]
    if kind == "wrap" and isinstance(value, Mapping):
        out = {}
        for inner, items in value.items():
            if isinstance(items, list) and t and t.item in SCHEMAS:
                items = [present(t.item, item, style) for item in items]
            if not (style.omit_empty_lists and items == []):
                out[inner] = items
        return out
    return value


def present(schema: str, doc: Mapping[str, Any], style: Style | None = None) -> dict[str, Any]:
    """A stored document as Kleer emits it: XSD element order, nulls and empty lists left out (J6, J7).

    Fields the schema does not know (a test may add them with the control endpoint) follow, sorted."""
    style = style or Style()
    fields = SCHEMAS.get(schema, {})
    out: dict[str, Any] = {}
    names = [n for n in fields if n in doc] + sorted(n for n in doc if n not in fields)
    for name in names:
        value = _present_value(name, fields.get(name), doc[name], style)
        if value is None and style.omit_nulls:
            continue
        if value == [] and style.omit_empty_lists:
            continue
        out[name] = value
    return out
