"""The record pages' workflow parts: the "Run workflow action" panel on deals and companies and "Mark won", over
HTTP with CSRF as a browser posts them, and in Debian's Chromium (screenshot in var/screenshots/)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.sandbox.action_receiver import Reply, action_component

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
DONE = {"outputFields": {"hs_execution_state": "SUCCESS", "kleer_invoice_id": "42"}}


def _page_url(wf, object_type: str, object_id: str) -> str:
    return wf.hs.url(f"/_pages/{wf.api.hub_id}/{object_type}/{object_id}/")


def _post(session: requests.Session, page: str, action: str, data: dict[str, str]) -> requests.Response:
    """Load the page, then submit a form of it with the page's CSRF token, as the browser does."""
    loaded = session.get(page, timeout=30)
    assert loaded.status_code == 200, loaded.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', loaded.text)
    assert token is not None
    headers = {"Referer": page}
    return session.post(action, data={"csrfmiddlewaretoken": token.group(1), **data}, headers=headers, timeout=30)


def _deal(wf) -> dict[str, str]:
    return wf.api.get(f"{wf.api.objects('deals')}/{wf.deal_id}?properties=dealstage").json()["properties"]


def test_the_deal_page_runs_an_action_and_shows_the_outcome(wf):
    wf.receiver.reply(Reply(200, DONE))
    page = _page_url(wf, "deals", wf.deal_id)
    action = page + "workflow-actions/run"
    with requests.Session() as session:
        shown = session.get(page, timeout=30).text
        assert "Create Kleer Invoice" in shown and 'name="input_invoice_date"' in shown and "Mark won" in shown
        answer = _post(session, page, action, {"uid": "create_invoice", "input_invoice_date": "2026-12-03"})
    assert answer.status_code == 200
    [received] = wf.receiver.requests
    assert received.json["inputFields"] == {"invoice_date": "2026-12-03"}
    callback = received.json["callbackId"]
    assert f"callback={callback}" in answer.url
    assert "SUCCEEDED" in answer.text and "kleer_invoice_id" in answer.text and "42" in answer.text


def test_a_refused_run_says_why_and_calls_nothing(wf):
    page = _page_url(wf, "deals", wf.deal_id)
    with requests.Session() as session:
        answer = _post(session, page, page + "workflow-actions/run", {"uid": "create_invoice"})
    assert answer.status_code == 400
    assert "Not run: inputFields.invoice_date is required by action &#x27;create_invoice&#x27;" in answer.text
    assert wf.receiver.requests == []


def test_the_form_needs_its_csrf_token(wf):
    page = _page_url(wf, "deals", wf.deal_id)
    answer = requests.post(page + "workflow-actions/run", data={"uid": "create_invoice"}, timeout=30)
    assert answer.status_code == 403
    assert wf.receiver.requests == []


def test_mark_won_moves_the_deal_to_closed_won(wf):
    page = _page_url(wf, "deals", wf.deal_id)
    with requests.Session() as session:
        answer = _post(session, page, wf.hs.url(f"/_pages/{wf.api.hub_id}/deals/{wf.deal_id}/mark-won"), {})
    assert answer.status_code == 200
    assert _deal(wf)["dealstage"] == "closedwon"
    assert "This deal is in the closed-won stage." in answer.text


def test_the_company_page_lists_only_company_actions(wf):
    company_action = action_component(wf.receiver.url, uid="create_client", object_types=("COMPANY",), inputs=[])
    assert wf.deploy(action_component(wf.receiver.url), company_action).status_code == 200
    shown = requests.get(_page_url(wf, "companies", wf.company_id), timeout=30).text
    assert "create_client" in shown and "create_invoice" not in shown and "Mark won" not in shown


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1100, "height": 1000})
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}; set CHROMIUM_PATH")
def test_win_a_deal_and_run_an_action_in_a_browser(wf, page, settings):
    from playwright.sync_api import expect

    wf.receiver.reply(Reply(200, {"outputFields": {"hs_execution_state": "BLOCK"}}))
    page.goto(_page_url(wf, "deals", wf.deal_id))
    page.get_by_role("button", name="Mark won").click()
    expect(page.get_by_text("This deal is in the closed-won stage.")).to_be_visible()
    form = page.get_by_role("form", name="Create Kleer Invoice")
    form.get_by_label("Invoice_Date").fill("2026-12-03")
    form.get_by_label("Currency").select_option("EUR")
    form.get_by_role("button", name="Run “Create Kleer Invoice”").click()
    expect(page.get_by_role("status")).to_contain_text("BLOCKED")
    callback = wf.receiver.requests[0].json["callbackId"]
    # The app completes in the background; the page shows it on reload.
    assert wf.complete(callback, DONE).status_code == 204
    page.reload()
    expect(page.get_by_role("status")).to_contain_text("SUCCEEDED")
    expect(page.get_by_role("status")).to_contain_text("kleer_invoice_id")
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.locator("#workflow-actions").screenshot(path=str(folder / "sandbox-deal-workflow-actions.png"))
    page.screenshot(path=str(folder / "sandbox-deal-page.png"), full_page=True)
