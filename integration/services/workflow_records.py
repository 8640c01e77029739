"""What the workflow actions read from and write to HubSpot, and how they find a Kleer record again.

Reads go through the one HubSpot client (the enrolled record with its associations, its company, its line items
and their products); the Kleer id goes back to the record's property, created in the "Kleer" group when the portal
lacks it; the new Kleer record reaches HubSpot through the object's normal sync.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from integration import catalog
from integration.clients.errors import PermanentError
from integration.clients.hubspot import HubSpotClient
from integration.models import ObjectSync, Portal, SyncedRecord, SyncRun
from integration.services.workflow_inputs import LINE_ITEM_PROPERTIES, ActionFailed

if TYPE_CHECKING:
    from integration.services.workflow_actions import Run

logger = logging.getLogger("integration.workflow_actions")

# Where each Kleer type is created (kleer-api.md §2.3–§2.7; the agreement path is the fake's reading, §2.5).
KLEER_PATHS = {"clients": "client", "invoices": "client/invoice", "agreements": "client/agreement",
               "projects": "client-project"}  # fmt: skip
NOUNS = {"clients": "client", "invoices": "invoice", "agreements": "agreement", "projects": "project"}
# The deal properties the actions write, created when the portal lacks them (kleer-for-hubspot-product.md §7).
WRITE_BACK_LABELS = {
    "kleer_invoice_id": "Kleer Invoice ID",
    "kleer_agreement_id": "Kleer Agreement ID",
    "kleer_project_id": "Kleer Project ID",
}
LINE_ITEM_KEYS = ("line_items", "line items")  # the v3 associations block names them either way


# -- reading ------------------------------------------------------------------------------------------------------


def enrolled_read(run: Run, properties: Sequence[str], associations: Sequence[str] = ()) -> dict[str, Any]:
    """The enrolled record with `properties` (and associated ids); ActionFailed when it is gone."""
    obj = run.action.hubspot_object
    found = run.hubspot.object_read(obj, run.execution.object_id, properties=properties, associations=associations)
    if found is None:
        singular = catalog.HUBSPOT_OBJECTS[obj].singular_label.lower()
        raise ActionFailed(f"The {singular} {run.execution.object_id} no longer exists in HubSpot.")
    run.record = found
    return found


def _associated(record: Mapping[str, Any], *keys: str) -> list[str]:
    blocks = record.get("associations") or {}
    for key in keys:
        if key in blocks:
            return list(dict.fromkeys(str(r.get("id")) for r in blocks[key].get("results", [])))
    return []


def deal_client_id(run: Run, record: Mapping[str, Any]) -> str:
    """The Kleer client of the deal: the `kleer_id` of its associated company (the first that has one)."""
    ids = _associated(record, "companies")
    if not ids:
        raise ActionFailed("The deal has no associated company: associate the customer's company with the deal.")
    companies = run.hubspot.batch_read("companies", ids, properties=["name", catalog.KLEER_ID_PROPERTY])
    by_id = {str(c.get("id")): c.get("properties") or {} for c in companies}
    for company_id in ids:
        kleer_id = (by_id.get(company_id) or {}).get(catalog.KLEER_ID_PROPERTY)
        if kleer_id:
            return str(kleer_id)
    name = (by_id.get(ids[0]) or {}).get("name") or ids[0]
    raise ActionFailed(
        f'The deal\'s company "{name}" has no Kleer ID: create it in Kleer first (Create Kleer Client, or sync '
        "clients), then run this action again."
    )


def deal_line_items(run: Run, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The deal's line items in association order; ActionFailed when it has none."""
    ids = _associated(record, *LINE_ITEM_KEYS)
    items = run.hubspot.batch_read("line_items", ids, properties=LINE_ITEM_PROPERTIES) if ids else []
    order = {item_id: n for n, item_id in enumerate(ids)}
    items.sort(key=lambda item: order.get(str(item.get("id")), len(order)))
    if not items:
        raise ActionFailed("The deal has no line items: add the products to bill to the deal first.")
    return items


def product_ids(run: Run, items: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """HubSpot product id → Kleer product id for the line items' products that came from Kleer (the sync's own
    links first; products it did not write are asked for their `kleer_id`)."""
    wanted = {str((i.get("properties") or {}).get("hs_product_id") or "") for i in items} - {""}
    linked = dict(
        SyncedRecord.objects.filter(
            portal=run.portal, object_type="products", hubspot_object="products", hubspot_id__in=wanted
        ).values_list("hubspot_id", "kleer_id")
    )
    missing = sorted(wanted - set(linked))
    if missing:
        for product in run.hubspot.batch_read("products", missing, properties=[catalog.KLEER_ID_PROPERTY]):
            kleer_id = (product.get("properties") or {}).get(catalog.KLEER_ID_PROPERTY)
            if kleer_id and str(kleer_id).isdigit():
                linked[str(product.get("id"))] = str(kleer_id)
    return linked


# -- writing ------------------------------------------------------------------------------------------------------


def _definition(name: str) -> catalog.PropertyDefinition:
    if name == catalog.KLEER_ID_PROPERTY:
        from integration.catalog.base import KLEER_ID_DEFINITION

        return KLEER_ID_DEFINITION
    return catalog.PropertyDefinition(
        name=name,
        label=WRITE_BACK_LABELS[name],
        type="string",
        field_type="text",
        description="Id of the Kleer record a Kleer workflow action created for this record.",
    )


def _property_ensure(hubspot: HubSpotClient, obj: str, name: str) -> None:
    hubspot.property_group_create(obj, name=catalog.PROPERTY_GROUP, label=catalog.PROPERTY_GROUP_LABEL)
    hubspot.property_create(obj, _definition(name).as_payload())


def write_back(*, run: Run, kleer_id: str) -> None:
    """Write the Kleer id to the enrolled record (its property created on first use), and link a company to its
    new client so the sync updates that company instead of creating another."""
    obj, prop = run.action.hubspot_object, run.action.write_back
    try:
        run.hubspot.object_update(obj, run.execution.object_id, {prop: kleer_id})
    except PermanentError as exc:
        if exc.status != 400:
            raise
        # PROPERTY_DOESNT_EXIST: create it and write again (a second 400 is a real refusal).
        _property_ensure(run.hubspot, obj, prop)
        run.hubspot.object_update(obj, run.execution.object_id, {prop: kleer_id})
    if run.action.kleer_object == "clients":
        _link_client(run.portal, kleer_id, run.execution.object_id)


def _link_client(portal: Portal, kleer_id: str, company_id: str) -> None:
    object_sync = ObjectSync.objects.filter(portal=portal, object_type="clients").first()
    if object_sync is None or object_sync.hubspot_object != "companies":
        return
    SyncedRecord.objects.update_or_create(
        portal=portal,
        object_type="clients",
        kleer_id=kleer_id,
        defaults={"hubspot_object": "companies", "hubspot_id": company_id, "fingerprint": ""},
    )


def record_push(*, portal: Portal, object_type: str) -> None:
    """Queue the object's normal sync at once (when it is on), so the new Kleer record shows up in HubSpot without
    waiting for the schedule. Drafts are not synced: an invoice appears once it is certified in Kleer."""
    from integration.services.sync import object_sync_blocker
    from integration.tasks import object_sync_run

    object_sync = ObjectSync.objects.select_related("portal", "portal__installation").filter(
        portal=portal, object_type=object_type
    )
    found = object_sync.first()
    if found is None or object_sync_blocker(found):
        return
    object_sync_run.delay_on_commit(found.pk, SyncRun.Trigger.MANUAL)


# -- finding a record again after a crash ----------------------------------------------------------------------------


def find_by_foreign_id(run: Run) -> str | None:
    """The Kleer record carrying this execution's reference, if an earlier attempt created it."""
    kind, reference = run.action.kleer_object, run.execution.reference
    if kind == "clients":
        found = run.kleer.iter_clients()
    elif kind == "agreements":
        found = run.kleer.iter_agreements()
    else:  # invoices: only the day it was dated (the list is paged)
        day = _date(run.execution.intent.get("invoice-date"))
        found = run.kleer.iter_invoices(date_from=day, date_to=day)
    for record in found:
        if record.data.get("foreign-id") == reference:
            logger.info("workflow execution %s found Kleer %s %s", run.execution.pk, kind, record.id)
            return record.id
    return None


def _date(text: Any) -> dt.date | None:
    return dt.date.fromisoformat(str(text)) if text else None


def find_project(run: Run) -> str | None:
    """A client project of the intended client and name that was not there before the first attempt."""
    intent = run.execution.intent
    for record in run.kleer.iter_projects():
        client = (record.data.get("client") or {}).get("id")
        same = str(client) == str(intent.get("client")) and record.data.get("name") == intent.get("name")
        if same and record.id not in intent.get("known", []):
            return record.id
    return None


def projects_known(run: Run, client_id: str, name: str) -> list[str]:
    """The ids of the client's projects with this name before the create (the intent of a project create)."""
    return [
        r.id
        for r in run.kleer.iter_projects()
        if str((r.data.get("client") or {}).get("id")) == client_id and r.data.get("name") == name
    ]
