"""Response bodies of the fake Kleer in JSON or XML (kleer-api.md §1.4: the format follows the request's
Content-Type).

JSON is compact, UTF-8, key order as given (schema.present puts documents in XSD order). The XML is a simple but
well-formed rendering of the same tree: lists become repeated elements named after the singular of their key
(`<clients><client>…`, `<rows><row>…`), the paging numbers become attributes of the root (S2 `paged-result`),
booleans are `true`/`false`. Enum values keep their JSON spelling (the real XML uses the XSD's, J9).
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.etree import ElementTree as ET

from sandbox.kleer import conventions as C

SINGULAR = {
    "activities": "activity",
    "accruals": "accrual",
    "client-invoices": "client-invoice",
    "client-agreements": "client-agreement",
    "client-project-readables": "client-project-readable",
    "client-invoice-templates": "client-invoice-template",
    "client-delivery-types": "client-delivery-type",
    "dimension-entries": "dimension-entry",
    "invoice-deliveries": "invoice-delivery",
    "supplier-invoice-ids": "supplier-invoice-id",
    "write-offs": "write-off",
}
PAGING_ATTRIBUTES = ("offset", "limit", "size")


def singular(name: str) -> str:
    """The element name of one item of list `name`."""
    if name in SINGULAR:
        return SINGULAR[name]
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") else name


def _tag(name: str) -> str:
    tag = re.sub(r"[^A-Za-z0-9_.-]", "_", str(name))
    return tag if re.match(r"[A-Za-z_]", tag) else f"_{tag}"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, list):  # J4/J5 in reverse: repeated elements
                for item in child:
                    _fill(ET.SubElement(element, _tag(singular(key))), item)
            elif child is not None:
                _fill(ET.SubElement(element, _tag(key)), child)
    elif value is not None:
        element.text = _text(value)


def to_xml(root: str, payload: dict[str, Any], *, paged: bool = False) -> bytes:
    """An XML document with root element `root` holding `payload`; a paged list's numbers become attributes."""
    element = ET.Element(_tag(root))
    body = dict(payload)
    for name in PAGING_ATTRIBUTES if paged else ():
        if name in body:
            element.set(name, str(body.pop(name)))
    _fill(element, body)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def to_json(payload: Any) -> bytes:
    """Compact UTF-8 JSON, non-ASCII kept as is (å, ä, ö)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def body_and_type(payload: dict[str, Any], root: str, *, as_json: bool, paged: bool = False) -> tuple[bytes, str]:
    """The encoded body and its Content-Type."""
    if as_json:
        return to_json(payload), C.JSON_CONTENT_TYPE
    return to_xml(root, payload, paged=paged), C.XML_CONTENT_TYPE
