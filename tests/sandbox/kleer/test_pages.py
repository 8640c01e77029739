"""The fake Kleer's pages for a browser (`/sandbox/kleer/_pages/…`): what they list, and that a record's JSON is
byte for byte what the API answers."""

from __future__ import annotations

import html
import json
import re

import pytest

from sandbox.kleer import store
from sandbox.kleer.models import Company, Resource
from sandbox.kleer.seed import SeededCompany, company_seed
from tests.sandbox.kleer.conftest import TODAY

pytestmark = pytest.mark.django_db

PAGES = "/sandbox/kleer/_pages"


@pytest.fixture
def company() -> SeededCompany:
    return company_seed(clients=5, products=4, invoices=60, agreements=3, projects=2, today=TODAY)


def squeezed(response) -> str:  # type: ignore[no-untyped-def]
    """The page's HTML without the whitespace between tags, so a table row reads as one string."""
    assert response.status_code == 200, response.content[:500]
    return re.sub(r">\s+<", "><", response.content.decode())


def td(content: str, css: str = "") -> str:
    """A table cell as the list pages render it (`num` for amounts, `date` for dates)."""
    return f'<td class="{css}">{content}</td>' if css else f"<td>{content}</td>"


def document(company_id: int, kind: str, kleer_id: int) -> dict:
    return Resource.objects.get(company_id=company_id, kind=kind, kleer_id=kleer_id).data


def first(company_id: int, kind: str, **columns: object) -> Resource:
    return Resource.objects.filter(company_id=company_id, kind=kind, **columns).order_by("kleer_id").first()


def test_companies_page_lists_each_company_with_its_counts(client, company):
    page = squeezed(client.get(f"{PAGES}/"))
    cid = company.company_id
    counts = "".join(
        f'<td><a href="{PAGES}/{cid}/{slug}/">{n}</a></td>'
        for slug, n in (("clients", 5), ("invoices", 60), ("agreements", 3), ("projects", 2), ("products", 4))
    )
    name = html.escape(Company.objects.get(pk=cid).name)
    assert f'<tr><td><a href="{PAGES}/{cid}/">{cid}</a></td><td>{name}</td>' in page
    assert counts in page


def test_a_seeded_client_is_listed_with_its_number_and_name(client, company):
    cid = company.company_id
    seeded = first(cid, "client")
    page = squeezed(client.get(f"{PAGES}/{cid}/clients/"))
    row = f'<td><a href="{PAGES}/{cid}/clients/{seeded.kleer_id}/">{seeded.kleer_id}</a></td>'
    assert f"{row}<td>{html.escape(seeded.data['name'])}</td>" in page
    assert "5 in all" in page


def test_an_invoice_shows_its_amounts_in_sek_from_ore_and_its_state(client, company):
    cid = company.company_id
    invoice = first(cid, "invoice", certified=True, sent=True, disabled=False, data__currency="SEK")
    # Known öre amounts: 1 234 567 öre = 12345.67 SEK, VAT 308 642 öre, nothing paid yet.
    invoice.data |= {"amount": 1_234_567, "vat": 308_642, "remaining": 1_543_209}
    store.resource_save(invoice)
    client_name = html.escape(document(cid, "client", invoice.client_id)["name"])
    page = squeezed(client.get(f"{PAGES}/{cid}/invoices/"))
    cells = [
        td(f'<a href="{PAGES}/{cid}/invoices/{invoice.kleer_id}/">{invoice.kleer_id}</a>'),
        td(str(invoice.data["invoice-nr"])),
        td(f'<a href="{PAGES}/{cid}/clients/{invoice.client_id}/">{client_name} ({invoice.client_id})</a>'),
        td(invoice.data["invoice-date"], "date"),
        td(invoice.data["due-date"], "date"),
        td("12345.67 SEK", "num"),
        td("3086.42 SEK", "num"),
        td("15432.09 SEK", "num"),
        td("15432.09 SEK", "num"),
        td("certified, sent"),
    ]
    assert "<tr>" + "".join(cells) + "</tr>" in page

    invoice.data |= {"remaining": 0}
    store.resource_save(invoice)
    paid = td("0.00 SEK", "num") + td("certified, sent, paid")
    assert paid in squeezed(client.get(f"{PAGES}/{cid}/invoices/"))


def test_drafts_and_deleted_invoices_say_so(client, company):
    cid = company.company_id
    draft = first(cid, "invoice")
    draft.data |= {"invoice-nr": 0, "certified": False, "sent": False, "remaining": 0, "disabled": True}
    store.resource_save(draft)
    page = squeezed(client.get(f"{PAGES}/{cid}/invoices/"))
    row = page.split(f'<a href="{PAGES}/{cid}/invoices/{draft.kleer_id}/">', 1)[1].split("</tr>", 1)[0]
    assert "<td>draft</td>" in row
    assert row.endswith("<td>draft, disabled</td>")


def test_invoices_are_paged_fifty_to_a_page(client, company):
    cid = company.company_id
    ids = list(
        Resource.objects.filter(company_id=cid, kind="invoice").order_by("kleer_id").values_list("kleer_id", flat=True)
    )
    first_page = squeezed(client.get(f"{PAGES}/{cid}/invoices/"))
    second_page = squeezed(client.get(f"{PAGES}/{cid}/invoices/?page=2"))
    listed = [int(n) for n in re.findall(rf'<td><a href="{PAGES}/{cid}/invoices/(\d+)/">', first_page)]
    assert listed == ids[:50]
    assert [int(n) for n in re.findall(rf'<td><a href="{PAGES}/{cid}/invoices/(\d+)/">', second_page)] == ids[50:]
    assert "page 1 of 2" in first_page and '<a href="?page=2">next</a>' in first_page
    assert '<a href="?page=1">previous</a>' in second_page


def test_invoices_of_one_client(client, company):
    cid = company.company_id
    invoice = first(cid, "invoice")
    own = Resource.objects.filter(company_id=cid, kind="invoice", client_id=invoice.client_id).count()
    page = squeezed(client.get(f"{PAGES}/{cid}/invoices/?client={invoice.client_id}"))
    assert f"{own} in all" in page
    assert len(re.findall(rf'<td><a href="{PAGES}/{cid}/invoices/\d+/">', page)) == min(own, 50)
    # The client's page links to it.
    detail = squeezed(client.get(f"{PAGES}/{cid}/clients/{invoice.client_id}/"))
    assert f'<a href="{PAGES}/{cid}/invoices/?client={invoice.client_id}">{own} invoices</a>' in detail


@pytest.mark.parametrize(
    ("slug", "kind", "api_path"),
    [
        ("clients", "client", "client/{id}"),
        ("invoices", "invoice", "client/invoice/{id}"),
        ("agreements", "agreement", "client/agreement/{id}"),
        ("projects", "client-project", "client-project/{id}"),
        ("products", "product", "product/{id}"),
    ],
)
def test_a_record_page_shows_the_json_the_api_answers(client, company, slug, kind, api_path):
    cid = company.company_id
    resource = first(cid, kind)
    api = f"/sandbox/kleer/v1/company/{cid}/{api_path.format(id=resource.kleer_id)}"
    answer = client.get(api, headers={"X-Token": company.token}, CONTENT_TYPE="application/json")
    assert answer.status_code == 200
    page = client.get(f"{PAGES}/{cid}/{slug}/{resource.kleer_id}/")
    assert page.status_code == 200
    shown = re.search(r'<pre id="document">(.*)</pre>', page.content.decode(), re.S).group(1)
    assert json.loads(html.unescape(shown)) == answer.json()
    # Pretty-printed, in the API's key order, non-ASCII kept.
    assert html.unescape(shown) == json.dumps(answer.json(), ensure_ascii=False, indent=2)
    assert f"<code>GET {api}</code>" in page.content.decode()


def test_company_page_shows_info_as_the_api_answers_it(client, company):
    cid = company.company_id
    answer = client.get(
        f"/sandbox/kleer/v1/company/{cid}/info", headers={"X-Token": company.token}, CONTENT_TYPE="application/json"
    )
    page = client.get(f"{PAGES}/{cid}/")
    shown = re.search(r'<pre id="document">(.*)</pre>', page.content.decode(), re.S).group(1)
    assert json.loads(html.unescape(shown)) == answer.json()
    assert f'<a href="{PAGES}/{cid}/agreements/">agreements</a>' in page.content.decode()


def test_projects_agreements_and_products_list_their_key_fields(client, company):
    cid = company.company_id
    project = first(cid, "client-project")
    projects = squeezed(client.get(f"{PAGES}/{cid}/projects/"))
    assert f"<td>{project.data['number']}</td><td>{html.escape(project.data['name'])}</td>" in projects
    agreement = first(cid, "agreement")
    agreements = squeezed(client.get(f"{PAGES}/{cid}/agreements/"))
    assert f"<td>{agreement.data['agreement-nr']}</td>" in agreements
    product = first(cid, "product")
    product.data |= {"price": 99_950, "vat-percentage": 0.12}
    store.resource_save(product)
    products = squeezed(client.get(f"{PAGES}/{cid}/products/"))
    assert f"<td>{html.escape(product.data['name'])}</td>" in products
    assert td("999.50 SEK", "num") + td("12 %", "num") in products


def test_unknown_company_section_or_record_is_404(client, company):
    cid = company.company_id
    a_client = first(cid, "client")
    assert client.get(f"{PAGES}/999999/").status_code == 404
    assert client.get(f"{PAGES}/999999/clients/").status_code == 404
    assert client.get(f"{PAGES}/{cid}/widgets/").status_code == 404
    assert client.get(f"{PAGES}/{cid}/clients/1/").status_code == 404
    # A client's id is not an invoice's.
    assert client.get(f"{PAGES}/{cid}/invoices/{a_client.kleer_id}/").status_code == 404
    assert client.get(f"{PAGES}/{cid}/clients/{a_client.kleer_id}/").status_code == 200


def test_pages_are_get_only(client, company):
    assert client.post(f"{PAGES}/").status_code == 405
    assert client.post(f"{PAGES}/{company.company_id}/clients/").status_code == 405


def test_an_empty_sandbox_says_how_to_fill_it(client):
    page = client.get(f"{PAGES}/")
    assert page.status_code == 200
    assert "No companies yet." in page.content.decode()
