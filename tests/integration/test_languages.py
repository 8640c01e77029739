"""Swedish and English on the customer's pages: how the language is chosen, and that the Swedish is complete.

The catalog checks read the checked-in `.po` and `.mo` files themselves (no gettext tools needed): every
text of the customer's templates is inside a translate tag, every msgid has a Swedish msgstr that is not
fuzzy, and the compiled `.mo` says the same as the `.po`.
"""

from __future__ import annotations

import ast
import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType
from django.test import Client
from django.utils import translation
from django.utils.translation.template import templatize

from integration import catalog
from integration.services.installations import portal_install
from tests.conftest import portal_session
from tests.integration.test_install import signed

pytestmark = pytest.mark.django_db

HUB = 46
BASE = f"/portals/{HUB}/settings/"
LOCALE = Path(settings.BASE_DIR) / "locale" / "sv" / "LC_MESSAGES"
TEMPLATES = Path(settings.BASE_DIR) / "templates"
# The customer's pages: the settings page, the install flow and the pages shown instead of them.
CUSTOMER_TEMPLATES = sorted(
    [
        *(TEMPLATES / "integration" / "settings").glob("*.html"),
        *(TEMPLATES / "integration" / "install").glob("*.html"),
        TEMPLATES / "integration" / "csrf_failed.html",
        TEMPLATES / "integration" / "signed_out.html",
        TEMPLATES / "base.html",
    ]
)
# Words that are the same in both languages (names, arrows, separators).
UNTRANSLATED = re.compile(r"HubSpot|Kleer|Pro\b|&[a-z]+;|[→·—…/():,.\-|]")


# -- the catalog ---------------------------------------------------------------------------------------------


def _unquote(parts: list[str]) -> str:
    return "".join(ast.literal_eval(f'"{part}"') for part in parts)


def po_entries(path: Path) -> dict[str, dict]:
    """msgid → {"msgstr": [...], "fuzzy": bool, "plural": str} from a .po file (header left out)."""
    entries: dict[str, dict] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, list[str]] = {}
        key = None
        fuzzy = False
        for line in block.splitlines():
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line)
            if match:
                key = match.group(1)
                fields[key] = [match.group(2)]
            elif line.startswith('"') and key:
                fields[key].append(line[1:-1])
        if "msgid" not in fields or not _unquote(fields["msgid"]):
            continue
        strs = [_unquote(v) for k, v in sorted(fields.items()) if k.startswith("msgstr")]
        plural = _unquote(fields["msgid_plural"]) if "msgid_plural" in fields else ""
        entries[_unquote(fields["msgid"])] = {"msgstr": strs, "fuzzy": fuzzy, "plural": plural}
    return entries


PO = po_entries(LOCALE / "django.po")
MSGID = re.compile(r"""\b(?:n?gettext|pgettext)\(u?('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")


def template_msgids(path: Path) -> list[str]:
    """The msgids makemessages takes from a template (Django's own templatize, as makemessages runs it)."""
    code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    return [ast.literal_eval(literal) for literal in MSGID.findall(code)]


def test_the_swedish_catalog_is_complete_and_not_fuzzy():
    assert len(PO) > 300
    incomplete = [msgid for msgid, entry in PO.items() if entry["fuzzy"] or not all(entry["msgstr"])]
    assert incomplete == []


def test_the_compiled_catalog_matches_the_po_file():
    """The .mo is checked in (CI machines need no gettext tools); it must say exactly what the .po says."""
    with (LOCALE / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for msgid, entry in PO.items():
        if entry["plural"]:
            got = [compiled.ngettext(msgid, entry["plural"], n) for n in (1, 2)]
        else:
            got = [compiled.gettext(msgid)]
        if got != entry["msgstr"]:
            stale.append(msgid)
    assert stale == []


class _VisibleText(HTMLParser):
    """Collects what a person reads or hears: text, and the title / aria-label / placeholder / alt attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.texts.extend(value or "" for name, value in attrs if name in ("title", "aria-label", "placeholder", "alt"))


def loose_text(source: str) -> list[str]:
    """Visible text of a template outside its translate tags: every template tag, variable, comment and
    blocktranslate block becomes a placeholder, and what an HTML parser still finds as text must be none."""
    shown, inside = [], 0
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0]
            inside += name in ("blocktranslate", "blocktrans", "comment")
            inside -= name in ("endblocktranslate", "endblocktrans", "endcomment")
        shown.append(token.contents if token.token_type == TokenType.TEXT and not inside else " ")
    parser = _VisibleText()
    parser.feed("".join(shown))
    words = (UNTRANSLATED.sub(" ", text) for text in parser.texts)
    return [" ".join(text.split()) for text in words if re.search(r"[A-Za-zÅÄÖåäö]", text)]


@pytest.mark.parametrize("path", CUSTOMER_TEMPLATES, ids=lambda p: p.name)
def test_every_text_in_the_customers_templates_is_translated(path):
    """Text outside {% translate %} / {% blocktranslate %} fails, and so does a msgid without Swedish."""
    assert loose_text(path.read_text(encoding="utf-8")) == []
    missing = [m for m in template_msgids(path) if m not in PO or PO[m]["fuzzy"] or not all(PO[m]["msgstr"])]
    assert missing == []


def test_the_text_check_finds_a_forgotten_string():
    assert loose_text('{% load i18n %}<p class="x">{% translate "Fine" %} Forgotten</p>') == ["Forgotten"]
    assert loose_text('<button title="Hover me">{{ label }}</button>') == ["Hover me"]
    assert loose_text("{% blocktranslate %}Fine {{ x }}{% endblocktranslate %} → HubSpot") == []


def test_every_catalog_label_and_hint_has_swedish():
    """Labels shown on the tabs (objects, HubSpot objects, Kleer fields, hints) are declared once in the catalog."""
    texts = set()
    for spec in catalog.REGISTRY.values():
        texts.add(spec.label)
        texts.update(target.label for target in spec.targets)
        for field in spec.fields:
            texts.add(field.label)
            if field.description:
                texts.add(field.description)
    missing = sorted(text for text in texts if text not in PO or not all(PO[text]["msgstr"]))
    assert missing == []
    with translation.override("sv"):
        assert catalog.get("clients").title == "Kunder"
        assert catalog.get("line_items").title == "Fakturarader"
        assert catalog.get("clients").field("address.zip-code").display == "Postnummer (address.zip-code)"
        assert catalog.get("clients").target("companies").title == "Företag"


# -- choosing the language -----------------------------------------------------------------------------------


@pytest.fixture
def portal():
    return portal_install(
        hub_id=HUB, access_token="at", refresh_token="rt", expires_in=1800, scopes=["oauth"], installed_by="o@x.se"
    )


@pytest.fixture
def customer(portal):
    client = Client()
    session = portal_session(client)
    session["portal_hub_id"] = HUB
    session.save()
    return client


def page(client: Client, path: str = f"{BASE}clients/", **headers: str) -> str:
    response = client.get(path, **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_english_without_any_hint(customer):
    html = page(customer)
    assert '<html lang="en">' in html
    assert ">Sync now<" in html and "Field mappings" in html


def test_the_browsers_language_when_nothing_else_says(customer):
    html = page(customer, HTTP_ACCEPT_LANGUAGE="sv-SE,sv;q=0.9,en;q=0.5")
    assert '<html lang="sv">' in html
    assert ">Synka nu<" in html
    assert "Fältmappningar" in html
    assert "Kunder" in html and "Allmänna inställningar" in html


def test_the_switch_is_remembered_in_the_portal_session_and_beats_the_browser(customer):
    response = customer.post("/settings/language", {"language": "sv", "next": f"{BASE}clients/"})
    assert (response.status_code, response["Location"]) == (302, f"{BASE}clients/")
    assert portal_session(customer)["portal_language"] == "sv"
    assert ">Synka nu<" in page(customer)
    customer.post("/settings/language", {"language": "en", "next": BASE})
    assert ">Sync now<" in page(customer, HTTP_ACCEPT_LANGUAGE="sv")


def test_the_switch_shows_both_languages_and_marks_the_current_one(customer):
    html = page(customer, HTTP_ACCEPT_LANGUAGE="sv")
    form = re.search(r'<form method="post" action="/settings/language".*?</form>', html, re.S).group(0)
    assert re.findall(r'value="(en|sv)" lang="\1"', form) == ["en", "sv"]
    assert re.search(r'value="sv"[^>]*aria-pressed="true">Svenska<', form)
    assert re.search(r'value="en"[^>]*aria-pressed="false">English<', form)
    assert 'name="next" value="/portals/46/settings/clients/"' in form


@pytest.mark.parametrize("language", ["de", "", "sv'><script>"])
def test_an_unknown_language_changes_nothing(customer, language):
    customer.post("/settings/language", {"language": language, "next": BASE})
    assert "portal_language" not in portal_session(customer)
    assert ">Sync now<" in page(customer)


def test_the_switch_returns_only_to_this_site(customer):
    response = customer.post("/settings/language", {"language": "sv", "next": "https://evil.example/"})
    assert response["Location"] == "/settings/"


def test_the_switch_needs_a_csrf_token(portal):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/settings/language", {"language": "sv", "next": BASE})
    assert response.status_code == 403
    assert "portal_language" not in portal_session(client)


LAUNCH = f"/hubspot/launch?portalId={HUB}&userId=9&userEmail=bo@example.com&appId=1"


@pytest.fixture
def launch_settings(settings):
    settings.HUBSPOT_CLIENT_SECRET = "test-client-secret"
    settings.PUBLIC_BASE_URL = "https://kleer.example.com"


def launch(client: Client, locale: str) -> None:
    path = f"{LAUNCH}&locale={locale}" if locale else LAUNCH
    response = client.get(path, **signed("GET", f"https://kleer.example.com{path}"))
    assert response.status_code == 302


@pytest.mark.parametrize(("locale", "word"), [("sv-se", "Synka nu"), ("sv", "Synka nu"), ("en-us", "Sync now")])
def test_the_hubspot_users_locale_from_the_signed_launch(portal, launch_settings, locale, word):
    client = Client()
    launch(client, locale)
    assert f">{word}<" in page(client, HTTP_ACCEPT_LANGUAGE="en" if locale.startswith("sv") else "sv")


def test_an_unsupported_hubspot_locale_falls_back_to_the_browser(portal, launch_settings):
    client = Client()
    launch(client, "de-de")
    assert ">Sync now<" in page(client)
    assert ">Synka nu<" in page(client, HTTP_ACCEPT_LANGUAGE="sv")


def test_the_switch_beats_the_hubspot_locale_on_the_next_launch(portal, launch_settings):
    client = Client()
    launch(client, "sv-se")
    client.post("/settings/language", {"language": "en", "next": BASE})
    launch(client, "sv-se")
    assert ">Sync now<" in page(client)


def test_the_admin_stays_english(admin_client):
    session = admin_client.session
    session["portal_language"] = "sv"
    session.save()
    html = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert '<html lang="en"' in html
    assert "Log out" in html


def test_the_install_flow_speaks_swedish(client):
    response = client.get("/hubspot/oauth/callback", {"code": "c", "state": "x"}, HTTP_ACCEPT_LANGUAGE="sv")
    html = response.content.decode()
    assert response.status_code == 400
    assert "Installationen kunde inte verifieras" in html
    assert "Installationslänken har redan använts eller startades inte i den här webbläsaren." in html
    assert "Starta installationen igen" in html


def test_messages_and_the_mapping_table_in_swedish(customer):
    customer.post("/settings/language", {"language": "sv", "next": BASE})
    response = customer.post(f"{BASE}clients/toggle", {"enabled": "1"}, follow=True)
    html = response.content.decode()
    assert "Kunder: synkningen slogs inte på." in html
    assert "Spara dina Kleer-uppgifter först (Allmänna inställningar)." in html
    assert "Postnummer (address.zip-code)" in html
    assert "Land (adress, address.country)" in html
    assert "Kleers fält ”state” innehåller postorten i en svensk adress" in html
    assert "var 15:e minut" in html


def test_the_general_tab_in_swedish(customer):
    html = page(customer, BASE, HTTP_ACCEPT_LANGUAGE="sv")
    for text in ("HubSpot-anslutning", "API-uppgifter för Kleer", "Spara uppgifterna", "Synkinställningar"):
        assert text in html
    assert "Den senaste ändringen vinner" in html
