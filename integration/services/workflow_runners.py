"""The seven workflow actions: what each reads from HubSpot and the Kleer body it builds (registered in RUNNERS).

Values reach Kleer through the catalog's inverse transforms (inputs: `workflow_inputs.inputs_to_kleer`; "from
mappings": the portal's mappings, `mappings_to_kleer`; line items: the line-item fields), never a second table.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from integration import catalog
from integration.clients.errors import PermanentError
from integration.models import FieldMapping, ObjectSync
from integration.services import workflow_records as records
from integration.services.workflow_actions import Outcome, Run, create_once, runner
from integration.services.workflow_inputs import (
    ActionFailed,
    inputs_to_kleer,
    interval_of,
    is_recurring,
    line_item_row,
    mappings_to_kleer,
)

DEFAULT_INVOICE_DAY = "INVOICE_AT_START"
DEFAULT_INTERVAL = "1"


def _mappings(run: Run, object_type: str, hubspot_object: str) -> list[catalog.MappingLike]:
    """The portal's mappings for `object_type` when it syncs to `hubspot_object`, else the catalog's defaults
    for that target (a "from mappings" action on a company works even while clients sync to contacts)."""
    object_sync = ObjectSync.objects.filter(portal=run.portal, object_type=object_type).first()
    if object_sync is not None and object_sync.hubspot_object == hubspot_object:
        return list(FieldMapping.objects.filter(object_sync=object_sync))
    return list(catalog.get(object_type).target(hubspot_object).default_mappings)


# -- clients --------------------------------------------------------------------------------------------------------


def _client(run: Run, *, from_mappings: bool) -> Outcome:
    mappings = _mappings(run, "clients", "companies") if from_mappings else []
    wanted = ["name", catalog.KLEER_ID_PROPERTY, *(m.hubspot_property for m in mappings)]
    props = records.enrolled_read(run, wanted).get("properties") or {}

    def build() -> dict[str, Any]:
        if from_mappings:
            body = mappings_to_kleer(spec=catalog.get("clients"), mappings=mappings, properties=props)
        else:
            body = inputs_to_kleer(action=run.action, clean=run.inputs)
        if not body.get("name"):
            raise ActionFailed("The company has no name, and Kleer needs one for a client.")
        return body

    return create_once(
        run, existing=props.get(catalog.KLEER_ID_PROPERTY) or "", build=build, find=records.find_by_foreign_id
    )


@runner("create-client")
def create_client(run: Run) -> Outcome:
    return _client(run, from_mappings=False)


@runner("create-client-from-mappings")
def create_client_from_mappings(run: Run) -> Outcome:
    return _client(run, from_mappings=True)


# -- invoices -------------------------------------------------------------------------------------------------------


def _invoice_rows(run: Run, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    products = records.product_ids(run, items)
    rows = []
    for item in items:
        props = item.get("properties") or {}
        product = products.get(str(props.get("hs_product_id") or ""))
        if product is None:
            raise ActionFailed(
                f'Line item "{props.get("name") or item.get("id")}" is not a product from Kleer, and every Kleer '
                "invoice row needs one: add the product from the product library synced from Kleer."
            )
        rows.append(line_item_row(item, product))
    return rows


@runner("create-invoice")
def create_invoice(run: Run) -> Outcome:
    record = records.enrolled_read(run, ["dealname", run.action.write_back], ["companies", "line_items"])

    def build() -> dict[str, Any]:
        client_id = records.deal_client_id(run, record)
        rows = _invoice_rows(run, records.deal_line_items(run, record))
        body = inputs_to_kleer(action=run.action, clean=run.inputs)
        body.setdefault("invoice-date", dt.date.today().isoformat())
        body |= {"client-ref": {"id": int(client_id)}, "delivery-date": body["invoice-date"], "rows": {"rows": rows}}
        body.setdefault("po-nr", "")
        body.setdefault("your-reference", "")
        if "invoice-address" in body:  # lines left empty keep the client's (product doc §7.1: empty = client's)
            body["invoice-address"] = _address(run, client_id, body["invoice-address"])
        if not run.execution.reference:
            run.execution.intent = {"invoice-date": body["invoice-date"]}
        return body

    existing = (record.get("properties") or {}).get(run.action.write_back) or ""
    return create_once(run, existing=existing, build=build, find=records.find_by_foreign_id)


def _address(run: Run, client_id: str, given: dict[str, Any]) -> dict[str, Any]:
    client_address = run.kleer.get("client", client_id).get("address") or {}
    lines = ("address1", "address2", "zip-code", "state", "country")
    return {line: given.get(line, client_address.get(line, "")) for line in lines}


# -- agreements -----------------------------------------------------------------------------------------------------


def _agreement_rows(run: Run, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Recurring line items (with a billing frequency) bill every period, the others on the first invoice only."""
    products = records.product_ids(run, items)

    def row(item: dict[str, Any]) -> dict[str, Any]:
        return line_item_row(item, products.get(str((item.get("properties") or {}).get("hs_product_id") or "")))

    return {
        "recurring-rows": {"rows": [row(i) for i in items if is_recurring(i)]},
        "first-invoice-rows": {"rows": [row(i) for i in items if not is_recurring(i)]},
    }


def _agreement_fields(run: Run) -> dict[str, Any]:
    body = inputs_to_kleer(action=run.action, clean=run.inputs)
    # `start-date` is deprecated in Kleer and ignored on write (kleer-api.md §2.5): it sets the first invoice date.
    if "start_date" in run.inputs and "start-invoice-date" not in body:
        body["start-invoice-date"] = run.inputs["start_date"]
    return body


@runner("create-agreement")
def create_agreement(run: Run) -> Outcome:
    record = records.enrolled_read(run, ["dealname", run.action.write_back], ["companies", "line_items"])

    def build() -> dict[str, Any]:
        client_id = records.deal_client_id(run, record)
        items = records.deal_line_items(run, record)
        body = _agreement_fields(run)
        props = record.get("properties") or {}
        body.setdefault("description", props.get("dealname") or "")
        body.setdefault("start-invoice-date", dt.date.today().isoformat())
        body.setdefault("invoice-interval-months", int(interval_of(items) or DEFAULT_INTERVAL))
        body.setdefault("invoice-day", DEFAULT_INVOICE_DAY)
        return body | {"client-ref": {"id": int(client_id)}} | _agreement_rows(run, items)

    existing = (record.get("properties") or {}).get(run.action.write_back) or ""
    return create_once(run, existing=existing, build=build, find=records.find_by_foreign_id)


@runner("update-agreement")
def update_agreement(run: Run) -> Outcome:
    """The fields filled in, and the deal's line items as the agreement's complete new row set (product doc §7.3)."""
    record = records.enrolled_read(run, [run.action.write_back], ["line_items"])
    agreement_id = str((record.get("properties") or {}).get(run.action.write_back) or "").strip()
    if not agreement_id.isdigit():
        raise ActionFailed(
            "The deal has no Kleer Agreement ID (kleer_agreement_id): set it to the agreement to update, or use "
            "Create Kleer Agreement."
        )
    items = records.deal_line_items(run, record)
    body = _agreement_fields(run) | _agreement_rows(run, items)
    try:
        run.kleer.update(records.KLEER_PATHS["agreements"], agreement_id, {"client-agreement": body})
    except PermanentError as exc:
        if exc.status == 404:
            raise ActionFailed(f"Kleer has no agreement {agreement_id} (the deal's Kleer Agreement ID).") from None
        raise
    rows = len(body["recurring-rows"]["rows"]) + len(body["first-invoice-rows"]["rows"])
    return Outcome("updated", agreement_id, f"Updated Kleer agreement {agreement_id} ({rows} rows).")


# -- projects -------------------------------------------------------------------------------------------------------


def _project(run: Run, *, from_mappings: bool) -> Outcome:
    mappings = _mappings(run, "projects", "deals") if from_mappings else []
    wanted = ["dealname", run.action.write_back, *(m.hubspot_property for m in mappings)]
    record = records.enrolled_read(run, wanted, ["companies"])
    props = record.get("properties") or {}

    def build() -> dict[str, Any]:
        client_id = records.deal_client_id(run, record)
        if from_mappings:
            body = mappings_to_kleer(spec=catalog.get("projects"), mappings=mappings, properties=props)
        else:
            body = inputs_to_kleer(action=run.action, clean=run.inputs)
        body.setdefault("name", props.get("dealname") or "")
        if not body["name"]:
            raise ActionFailed("The deal has no name, and Kleer needs one for a project.")
        body["client"] = {"id": int(client_id)}
        if not run.execution.reference:
            known = records.projects_known(run, client_id, body["name"])
            run.execution.intent = {"client": client_id, "name": body["name"], "known": known}
        return body

    existing = props.get(run.action.write_back) or ""
    return create_once(run, existing=existing, build=build, find=records.find_project)


@runner("create-project")
def create_project(run: Run) -> Outcome:
    return _project(run, from_mappings=False)


@runner("create-project-from-mappings")
def create_project_from_mappings(run: Run) -> Outcome:
    return _project(run, from_mappings=True)
