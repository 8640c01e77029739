"""The fault suite's oracle: the fake Kleer and the fake HubSpot hold the same records, none missing, none twice."""

from __future__ import annotations

from collections import Counter

from integration.clients.kleer import KleerClient
from sandbox.hubspot_crm.selectors import objects_for


def assert_every_kleer_client_once_in_hubspot(world) -> None:
    """Every Kleer client is a HubSpot company exactly once (by kleer_id), and HubSpot holds no other."""
    kleer_ids = Counter(r.id for r in KleerClient(company_id=world.company_id, token=world.token).iter_clients())
    in_hubspot = Counter(r["properties"].get("kleer_id") for r in objects_for(world.hub_id, "companies"))
    assert in_hubspot == kleer_ids  # none missing, none duplicated
    assert set(in_hubspot.values()) == {1}
