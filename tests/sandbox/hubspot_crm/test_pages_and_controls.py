"""HTML pages, control endpoints and the selector module of the fake CRM."""

from __future__ import annotations

import requests

from sandbox.hubspot_crm import selectors


def _seed(v3) -> tuple[str, str]:
    v3.post(
        v3.properties("companies"),
        {
            "name": "kleer_id",
            "label": "Kleer id",
            "type": "string",
            "fieldType": "text",
            "groupName": "companyinformation",
            "hasUniqueValue": True,
        },
    )
    company = v3.post(v3.objects("companies"), {"properties": {"name": "Acme <AB>", "kleer_id": "K-1"}}).json()["id"]
    deal = v3.post(
        v3.objects("deals"),
        {"properties": {"dealname": "Agreement 7", "pipeline": "default", "dealstage": "closedwon"}},
    ).json()["id"]
    v3.put(f"{v3.record_associations('deals', deal)}/default/companies/{company}")
    return company, deal


def test_pages_show_what_a_sync_wrote(v3):
    company, deal = _seed(v3)
    pages = f"{v3.base}/_pages"
    portals = requests.get(f"{pages}/", timeout=10)
    assert portals.status_code == 200
    assert f"Hub {v3.hub_id}" in portals.text
    assert f'href="/sandbox/hubspot/_pages/{v3.hub_id}/companies/"' in portals.text
    listing = requests.get(f"{pages}/{v3.hub_id}/companies/", timeout=10)
    assert listing.status_code == 200
    assert "<th>kleer_id</th>" in listing.text
    assert "Acme &lt;AB&gt;" in listing.text
    assert f'href="/sandbox/hubspot/_pages/{v3.hub_id}/companies/{company}/"' in listing.text
    detail = requests.get(f"{pages}/{v3.hub_id}/company/{company}/", timeout=10)
    assert detail.status_code == 200
    assert "<td><code>kleer_id</code></td><td>Kleer id</td><td>K-1</td>" in detail.text
    assert f'href="/sandbox/hubspot/_pages/{v3.hub_id}/deals/{deal}/"' in detail.text
    assert requests.get(f"{pages}/{v3.hub_id}/widgets/", timeout=10).status_code == 404
    assert requests.get(f"{pages}/{v3.hub_id}/companies/1/", timeout=10).status_code == 404
    # Pages are GET-only; an unsafe method is stopped by CSRF protection before it reaches them.
    assert requests.post(f"{pages}/", timeout=10).status_code == 403


def test_selectors(v3):
    company, deal = _seed(v3)
    companies = selectors.objects_for(v3.hub_id, "companies")
    assert [(c["id"], c["properties"]["kleer_id"]) for c in companies] == [(company, "K-1")]
    assert selectors.object_by_property(v3.hub_id, "0-2", "kleer_id", "K-1")["id"] == company
    assert selectors.object_by_property(v3.hub_id, "company", "kleer_id", "K-2") is None
    assert selectors.associations_of(v3.hub_id, "companies", company) == [
        {
            "toObjectType": "deals",
            "toObjectTypeId": "0-3",
            "toObjectId": deal,
            "typeId": 342,
            "category": "HUBSPOT_DEFINED",
            "label": None,
        }
    ]
    kleer_id = selectors.property_of(v3.hub_id, "companies", "kleer_id")
    assert (kleer_id["hasUniqueValue"], kleer_id["hubspotDefined"]) == (True, False)
    assert selectors.property_of(v3.hub_id, "companies", "nope") is None


def test_control_endpoints(v3):
    _seed(v3)
    control = f"/_fake/crm/{v3.hub_id}"
    assert requests.get(v3.url(f"{control}/search-lag"), timeout=10).json() == {"hubId": v3.hub_id, "seconds": 0.0}
    bad = requests.put(v3.url(f"{control}/search-lag"), json={"seconds": "soon"}, timeout=10)
    assert (bad.status_code, bad.json()) == (400, {"status": "error", "message": 'Send {"seconds": <number>}'})
    assert requests.post(v3.url(f"{control}/search-lag"), json={"seconds": 2.5}, timeout=10).json()["seconds"] == 2.5
    assert selectors.search_lag(v3.hub_id) == 2.5
    reset = requests.post(v3.url(f"{control}/reset"), timeout=10)
    assert reset.json() == {"hubId": v3.hub_id, "reset": True}
    assert selectors.objects_for(v3.hub_id, "companies") == []
    assert v3.get(v3.objects("companies")).json() == {"results": []}
    # Defaults come back lazily; custom properties do not.
    assert v3.get(f"{v3.properties('companies')}/name").status_code == 200
    assert v3.get(f"{v3.properties('companies')}/kleer_id").status_code == 404
    assert requests.get(v3.url(f"{control}/reset"), timeout=10).status_code == 405
