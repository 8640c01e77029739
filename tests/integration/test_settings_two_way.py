"""Two-way sync on the settings page: each mapping's direction (table and dialog), the "HubSpot → Kleer" switch
and what the tabs say about direction, conflicts and matching on the General tab, inbound errors on the tab,
and cross-portal isolation of all of it. HubSpot's property list is stubbed at the view boundary;
tests/browser/test_two_way_settings.py drives the same pages in Chromium against the sandbox.
"""

from __future__ import annotations

import html

import pytest
from django.test import Client

from integration.models import (
    AuditEvent,
    ConflictRule,
    FieldMapping,
    MatchRule,
    ObjectSync,
    Portal,
    RecordError,
    SyncDirection,
)
from integration.services.audit import Actor
from integration.services.installations import portal_install
from integration.services.mappings import mapping_save
from integration.services.object_syncs import (
    ObjectSyncError,
    inbound_active,
    object_sync_set_inbound,
    object_sync_set_target,
)
from integration.services.portal_settings import PortalSettingsError, portal_sync_rules_save
from integration.views import settings_mappings, settings_objects
from tests.conftest import portal_session

pytestmark = pytest.mark.django_db

HUB, OTHER = 41, 42
BASE = f"/portals/{HUB}/settings/"
ACTOR = f"portal {HUB}: ada@example.com"

PROPERTIES = [
    {"name": "name", "label": "Company name", "type": "string", "fieldType": "text"},
    {"name": "phone", "label": "Phone Number", "type": "string", "fieldType": "phonenumber"},
    {"name": "is_partner", "label": "Partner", "type": "bool", "fieldType": "booleancheckbox", "options": []},
    {"name": "kleer_foreign_id", "label": "Kleer Foreign ID", "type": "string", "fieldType": "text"},
    {"name": "kleer_email", "label": "Kleer Email", "type": "string", "fieldType": "text"},
]

# What the tabs say (exact texts; the tab head ends with the summary after the schedule).
INTRO_ON = (
    "Properties marked Two-way go both ways: an edit in HubSpot is written to Kleer within seconds. "
    "Properties marked One-way go from Kleer to HubSpot only: edits of them in HubSpot never reach Kleer."
)
INTRO_OFF = (
    "HubSpot → Kleer is off, so edits made in HubSpot never reach Kleer, whatever a property&#x27;s direction. "
    "Properties marked Two-way go back to Kleer once it is switched on."
)
INTRO_PRODUCTS = "Products sync one way, from Kleer to HubSpot: edits made in HubSpot are never sent to Kleer."
INBOUND_HELP = (
    "When this is on, an edit in HubSpot of a property marked Two-way is written to Kleer within seconds, while "
    "Clients sync is ON. Kleer must accept writes with the API key saved under General Configuration: with a "
    "read-only key each such edit fails, and the failure is listed under Sync status."
)
NOT_NOTIFIED = (
    "HubSpot does not notify the app about changes to 'is_partner': only the properties the app subscribed to "
    "when it was published can send edits back to Kleer."
)


@pytest.fixture(autouse=True)
def _no_hubspot(monkeypatch):
    """No HubSpot here: the property list is a fixed stub, and the toggle asks nothing."""
    monkeypatch.setattr(settings_objects, "_hubspot", lambda object_sync: None)
    monkeypatch.setattr(settings_mappings, "hubspot_properties", lambda *, object_sync, refresh=False: PROPERTIES)


def install(hub_id: int) -> Portal:
    return portal_install(
        hub_id=hub_id, access_token="at", refresh_token="rt", expires_in=1800, scopes=["oauth"], installed_by=""
    )


def bind(hub_id: int) -> Client:
    client = Client()
    session = portal_session(client)
    session["portal_hub_id"] = hub_id
    session["portal_user_email"] = "ada@example.com"
    session.save()
    return client


@pytest.fixture
def portal() -> Portal:
    return install(HUB)


@pytest.fixture
def client(portal) -> Client:
    return bind(HUB)


def sync_of(portal: Portal, object_type: str) -> ObjectSync:
    return portal.object_syncs.get(object_type=object_type)


def mapping_of(portal: Portal, object_type: str, prop: str) -> FieldMapping:
    return FieldMapping.objects.get(
        object_sync__portal=portal, object_sync__object_type=object_type, hubspot_property=prop
    )


def page_of(client: Client, url: str) -> str:
    return client.get(url).content.decode()


def head_summary(page: str) -> str:
    """The tab head's line: "Kleer clients → HubSpot companies · every 15 minutes · <direction summary>"."""
    head = page.split('<div class="tab-head">')[1].split("</p>")[0].split('<p class="muted">')[1]
    return " ".join(head.split())


def intro(page: str) -> str:
    return page.split('<p class="muted" id="direction-intro">')[1].split("</p>")[0]


def row(page: str, prop: str) -> str:
    return page.split(f"<code>{prop}</code>")[1].split("</td>")[0]


def badge_title(cell: str) -> str:
    return html.unescape(cell.split('title="')[1].split('"')[0])


# -- What a tab says about direction -------------------------------------------------------------------------


def test_two_way_type_with_hubspot_to_kleer_on_says_two_way(client, portal):
    assert sync_of(portal, "clients").inbound_enabled  # on for new installs of two-way types
    page = page_of(client, f"{BASE}clients/")
    assert head_summary(page) == "Kleer clients → HubSpot companies · every 15 minutes · two-way"
    assert intro(page) == INTRO_ON
    inbound = page.split('id="inbound"')[1].split("</section>")[0]
    assert '<h2 id="inbound-title">HubSpot → Kleer</h2>' in inbound
    assert 'role="switch"' in inbound and 'aria-checked="true"' in inbound and 'aria-label="HubSpot → Kleer"' in inbound
    assert f'<p id="inbound-help">{INBOUND_HELP}</p>' in inbound
    assert '<p class="help" id="inbound-waiting">Clients sync is OFF, so nothing goes either way yet.</p>' in inbound
    assert "still go back" not in page
    ObjectSync.objects.filter(portal=portal, object_type="clients").update(enabled=True)
    assert 'id="inbound-waiting"' not in page_of(client, f"{BASE}clients/")


def test_two_way_type_with_hubspot_to_kleer_off_says_nothing_goes_back(client, portal):
    object_sync_set_inbound(object_sync=sync_of(portal, "clients"), enabled=False, actor=Actor.system())
    page = page_of(client, f"{BASE}clients/")
    assert head_summary(page) == (
        "Kleer clients → HubSpot companies · every 15 minutes · one-way for now: HubSpot → Kleer is off"
    )
    assert intro(page) == INTRO_OFF
    inbound = page.split('id="inbound"')[1].split("</section>")[0]
    assert 'aria-checked="false"' in inbound
    # The badges still show each mapping's direction, and their tooltip says it waits for the switch.
    assert badge_title(row(page, "phone")) == (
        "Two-way once HubSpot → Kleer is switched on; until then Kleer → HubSpot only."
    )


def test_one_way_type_says_it_once_without_badges_or_switch(client):
    page = page_of(client, f"{BASE}products/")
    assert head_summary(page) == "Kleer products → HubSpot products · daily · one-way: Kleer → HubSpot"
    assert intro(page) == INTRO_PRODUCTS
    assert 'id="inbound"' not in page
    table = page.split("<tbody>")[1].split("</tbody>")[0]
    assert "badge" not in table
    assert "still go back" not in page


def test_no_tab_repeats_the_incumbents_still_go_back_claim(client):
    for tab in ("clients", "invoices", "agreements", "products", "line_items", "projects"):
        page = page_of(client, f"{BASE}{tab}/")
        assert "still go back" not in page and "One-way</span> still" not in page, tab


# -- Directions in the table ---------------------------------------------------------------------------------


def test_table_badges_follow_each_mappings_direction_with_the_reason_in_the_tooltip(client, portal):
    clients = sync_of(portal, "clients")
    mapping_save(object_sync=clients, kleer_field="foreign-id", hubspot_property="is_partner", actor=Actor.system())
    mapping_save(
        object_sync=clients,
        mapping=mapping_of(portal, "clients", "kleer_email"),
        kleer_field="email",
        hubspot_property="kleer_email",
        direction="one_way",
        actor=Actor.system(),
    )
    page = page_of(client, f"{BASE}clients/")
    phone = row(page, "phone")
    assert ">Two-way</span>" in phone and "One-way" not in phone
    assert badge_title(phone) == "Two-way: edits of this property in HubSpot are written to Kleer."
    chosen = row(page, "kleer_email")  # could be two-way; the customer chose one-way
    assert ">One-way</span>" in chosen
    assert badge_title(chosen) == "Kleer → HubSpot only: edits of this property in HubSpot do not go back to Kleer."
    forced = row(page, "is_partner")  # cannot be two-way: the tooltip says why
    assert ">One-way</span>" in forced
    assert badge_title(forced) == (
        f"Kleer → HubSpot only: edits of this property in HubSpot do not go back to Kleer. {NOT_NOTIFIED}"
    )


def test_projects_synced_to_hubspot_projects_say_one_way_once_and_offer_no_direction(client, portal):
    page = page_of(client, f"{BASE}projects/")
    assert head_summary(page) == (
        "Kleer projects → HubSpot projects · every 15 minutes · one-way: Kleer → HubSpot (two-way when synced to deals)"
    )
    assert intro(page) == (
        "Projects synced to HubSpot projects go one way, from Kleer to HubSpot: HubSpot sends apps no change "
        "notifications for projects, so edits made there never reach Kleer. Sync projects to deals (HubSpot "
        "object type above) for two-way."
    )
    assert 'id="inbound"' not in page
    assert "badge" not in page.split("<tbody>")[1].split("</tbody>")[0]
    mapping = mapping_of(portal, "projects", "hs_description")
    assert mapping.direction == "one_way"
    assert 'name="direction"' not in page_of(client, f"{BASE}projects/mappings/{mapping.pk}/")


def test_projects_synced_to_deals_are_two_way_except_the_name_kleer_sets_only_on_create(client, portal):
    object_sync_set_target(object_sync=sync_of(portal, "projects"), hubspot_object="deals", actor=Actor.system())
    page = page_of(client, f"{BASE}projects/")
    assert head_summary(page) == "Kleer projects → HubSpot deals · every 15 minutes · two-way"
    assert intro(page) == INTRO_ON
    assert 'id="inbound"' in page
    assert ">Two-way</span>" in row(page, "amount")
    assert ">One-way</span>" in row(page, "dealname")
    assert badge_title(row(page, "dealname")).endswith(
        "Kleer sets name only when the record is created, so HubSpot edits cannot change it."
    )
    url = f"{BASE}projects/mappings/new?fragment=direction&kleer_field=name&hubspot_property=dealname"
    assert (
        'id="direction-reason">Only Kleer → HubSpot here. Kleer sets name only when the record is created, so '
        "HubSpot edits cannot change it.</p>"
    ) in page_of(client, url)


# -- The direction control in the mapping dialog -------------------------------------------------------------


def direction_fieldset(page: str) -> str:
    return page.split('<fieldset class="direction"')[1].split("</fieldset>")[0]


def checked(fieldset: str) -> str:
    return fieldset.split(" checked>")[0].rsplit('value="', 1)[1].split('"')[0]


def test_dialog_offers_both_directions_for_phone(client, portal):
    mapping = mapping_of(portal, "clients", "phone")
    page = page_of(client, f"{BASE}clients/mappings/{mapping.pk}/")
    fieldset = direction_fieldset(page)
    assert "disabled" not in fieldset.split(">")[0]
    assert "<legend>Direction</legend>" in fieldset
    assert '<input type="radio" name="direction" value="two_way" checked> Two-way: HubSpot edits go back to Kleer' in (
        fieldset
    )
    assert '<input type="radio" name="direction" value="one_way"> Kleer → HubSpot only' in fieldset
    assert 'id="direction-reason"' not in fieldset


def test_dialog_disables_the_control_with_the_reason_where_hubspot_cannot_notify(client, portal):
    url = f"{BASE}clients/mappings/new?fragment=direction&kleer_field=foreign-id&hubspot_property=is_partner"
    fragment = page_of(client, url)
    assert fragment.strip().startswith('<fieldset class="direction" id="direction"')  # the control alone
    assert fragment.strip().endswith("</fieldset>")
    assert ' disabled aria-describedby="direction-reason">' in fragment
    assert checked(fragment) == "one_way"
    assert (
        f'<p class="help" id="direction-reason">Only Kleer → HubSpot here. {html.escape(NOT_NOTIFIED)}</p>' in fragment
    )


@pytest.mark.parametrize(
    ("object_type", "kleer_field", "prop", "reason"),
    [
        ("clients", "", "phone", "A constant has no Kleer field to write back to."),
        ("clients", "user.id", "phone", "Responsible user is a Kleer reference and cannot be changed from HubSpot."),
        ("clients", "phone", "", "Choose the HubSpot property first."),
    ],
)
def test_dialog_reasons_come_from_the_catalog(client, portal, object_type, kleer_field, prop, reason):
    url = f"{BASE}{object_type}/mappings/new?fragment=direction&kleer_field={kleer_field}&hubspot_property={prop}"
    fragment = page_of(client, url)
    assert f'id="direction-reason">Only Kleer → HubSpot here. {html.escape(reason)}</p>' in fragment


def test_dialog_fragment_keeps_a_chosen_direction_and_defaults_new_ones_to_two_way(client, portal):
    mapping = mapping_of(portal, "clients", "phone")
    base = f"{BASE}clients/mappings/{mapping.pk}/?fragment=direction&kleer_field=phone&hubspot_property=phone"
    assert checked(page_of(client, base + "&direction=one_way")) == "one_way"
    assert checked(page_of(client, base)) == "two_way"  # the saved direction
    new = f"{BASE}clients/mappings/new?fragment=direction&kleer_field=phone&hubspot_property=phone"
    assert checked(page_of(client, new)) == "two_way"


def test_one_way_types_have_no_direction_control(client, portal):
    mapping = mapping_of(portal, "products", "price")
    page = page_of(client, f"{BASE}products/mappings/{mapping.pk}/")
    assert 'name="direction"' not in page
    # …and no fragment either: the full form answers.
    assert "<form" in page_of(client, f"{BASE}products/mappings/{mapping.pk}/?fragment=direction")


def save(client: Client, url: str, **data: str):
    return client.post(url, {"action": "save", "default_value": "", **data}, headers={"X-Dialog": "1"})


def test_switching_phone_to_one_way_saves_and_audits_the_direction(client, portal):
    mapping = mapping_of(portal, "clients", "phone")
    url = f"{BASE}clients/mappings/{mapping.pk}/"
    response = save(client, url, kleer_field="phone", hubspot_property="phone", direction="one_way")
    assert response.status_code == 204
    mapping.refresh_from_db()
    assert mapping.direction == "one_way"
    event = AuditEvent.objects.get(portal=portal, action="mapping.updated")
    assert (event.actor_label, event.before["direction"], event.after["direction"]) == (ACTOR, "two_way", "one_way")
    page = page_of(client, f"{BASE}clients/")
    assert ">One-way</span>" in row(page, "phone")
    # And back.
    assert save(client, url, kleer_field="phone", hubspot_property="phone", direction="two_way").status_code == 204
    mapping.refresh_from_db()
    assert mapping.direction == "two_way"


@pytest.mark.parametrize(
    ("object_type", "prop", "kleer_field", "direction", "message"),
    [
        (
            "clients",
            "phone",
            "phone",
            "sideways",
            "Choose two-way or Kleer → HubSpot only.",
        ),
        (
            "projects",
            "hs_name",
            "name",
            "two_way",
            "This mapping cannot be two-way: Kleer sets name only when the record is created, so HubSpot edits "
            "cannot change it.",
        ),
        (
            "products",
            "price",
            "price",
            "two_way",
            "This mapping cannot be two-way: Products sync from Kleer to HubSpot only.",
        ),
    ],
)
def test_a_forged_direction_gets_the_services_message_and_changes_nothing(
    client, portal, object_type, prop, kleer_field, direction, message
):
    mapping = mapping_of(portal, object_type, prop)
    before = (mapping.kleer_field, mapping.hubspot_property, mapping.direction, mapping.updated_at)
    url = f"{BASE}{object_type}/mappings/{mapping.pk}/"
    response = save(client, url, kleer_field=kleer_field, hubspot_property=prop, direction=direction)
    assert response.status_code == 200
    assert f'<div class="message message--error" role="alert"><p>{html.escape(message)}</p></div>' in (
        response.content.decode()
    )
    mapping.refresh_from_db()
    assert (mapping.kleer_field, mapping.hubspot_property, mapping.direction, mapping.updated_at) == before
    assert not AuditEvent.objects.filter(portal=portal, action__startswith="mapping.").exists()


def test_a_forged_two_way_on_a_property_hubspot_cannot_notify_about_is_refused(client, portal):
    url = f"{BASE}clients/mappings/new"
    response = save(client, url, kleer_field="foreign-id", hubspot_property="is_partner", direction="two_way")
    assert f"This mapping cannot be two-way: {html.escape(NOT_NOTIFIED)}" in response.content.decode()
    assert not FieldMapping.objects.filter(object_sync__portal=portal, hubspot_property="is_partner").exists()


def test_new_mappings_without_a_direction_take_the_catalogs_default(client, portal):
    # The control is disabled where two-way is impossible, so the browser posts no direction at all.
    assert (
        save(client, f"{BASE}clients/mappings/new", kleer_field="foreign-id", hubspot_property="is_partner").status_code
        == 204
    )
    assert mapping_of(portal, "clients", "is_partner").direction == "one_way"
    mapping_of(portal, "clients", "kleer_email").delete()
    assert (
        save(client, f"{BASE}clients/mappings/new", kleer_field="email", hubspot_property="kleer_email").status_code
        == 204
    )
    assert mapping_of(portal, "clients", "kleer_email").direction == "two_way"


def test_moving_a_two_way_mapping_to_a_property_hubspot_cannot_notify_about_makes_it_one_way(client, portal):
    mapping = mapping_of(portal, "clients", "phone")
    response = save(client, f"{BASE}clients/mappings/{mapping.pk}/", kleer_field="phone", hubspot_property="is_partner")
    assert response.status_code == 204
    mapping.refresh_from_db()
    assert (mapping.hubspot_property, mapping.direction) == ("is_partner", "one_way")


# -- The HubSpot → Kleer switch ------------------------------------------------------------------------------


def test_switching_hubspot_to_kleer_off_and_on_is_audited_with_its_message(client, portal):
    clients = sync_of(portal, "clients")
    response = client.post(f"{BASE}clients/inbound", {"inbound_enabled": "0"}, follow=True)
    assert response.redirect_chain[-1][0] == f"{BASE}clients/#inbound"
    assert "HubSpot → Kleer is OFF for clients: HubSpot edits are not sent to Kleer." in response.content.decode()
    clients.refresh_from_db()
    assert clients.inbound_enabled is False
    response = client.post(f"{BASE}clients/inbound", {"inbound_enabled": "1"}, follow=True)
    assert (
        "HubSpot → Kleer is ON for clients: HubSpot edits of two-way properties are written to Kleer once Clients "
        "sync is ON."
    ) in response.content.decode()
    clients.refresh_from_db()
    assert clients.inbound_enabled is True
    events = AuditEvent.objects.filter(portal=portal, action__startswith="object_sync.inbound").order_by("pk")
    assert [(e.action, e.target, e.before, e.after, e.actor_label) for e in events] == [
        ("object_sync.inbound_disabled", "Clients", {"inbound_enabled": True}, {"inbound_enabled": False}, ACTOR),
        ("object_sync.inbound_enabled", "Clients", {"inbound_enabled": False}, {"inbound_enabled": True}, ACTOR),
    ]


def test_switching_hubspot_to_kleer_on_while_the_sync_is_on_says_it_works_now(client, portal):
    clients = sync_of(portal, "clients")
    ObjectSync.objects.filter(pk=clients.pk).update(enabled=True, inbound_enabled=False)
    response = client.post(f"{BASE}clients/inbound", {"inbound_enabled": "1"}, follow=True)
    assert (
        "HubSpot → Kleer is ON for clients: HubSpot edits of two-way properties are written to Kleer.</"
        in response.content.decode()
    )


def test_hubspot_to_kleer_cannot_be_switched_on_for_a_one_way_type(client, portal):
    response = client.post(f"{BASE}products/inbound", {"inbound_enabled": "1"}, follow=True)
    assert "HubSpot → Kleer was not switched on. Products sync from Kleer to HubSpot only." in response.content.decode()
    assert sync_of(portal, "products").inbound_enabled is False
    assert not AuditEvent.objects.filter(portal=portal, action__startswith="object_sync.inbound").exists()


def test_set_inbound_service_refuses_one_way_types_and_records_no_change_twice(portal):
    with pytest.raises(ObjectSyncError, match=r"^Invoices sync from Kleer to HubSpot only\.$"):
        object_sync_set_inbound(object_sync=sync_of(portal, "invoices"), enabled=True, actor=Actor.system())
    # Off is always allowed, and an unchanged value is not audited.
    object_sync_set_inbound(object_sync=sync_of(portal, "invoices"), enabled=False, actor=Actor.system())
    object_sync_set_inbound(object_sync=sync_of(portal, "projects"), enabled=True, actor=Actor.system())
    assert not AuditEvent.objects.filter(action__startswith="object_sync.inbound").exists()


def test_inbound_is_active_only_for_a_two_way_type_and_target_with_its_sync_and_the_switch_on(portal):
    clients, products = sync_of(portal, "clients"), sync_of(portal, "products")
    assert (clients.enabled, clients.inbound_enabled, inbound_active(clients)) == (False, True, False)
    clients.enabled = True
    assert inbound_active(clients) is True
    clients.inbound_enabled = False
    assert inbound_active(clients) is False
    products.enabled = products.inbound_enabled = True
    assert inbound_active(products) is False
    # Projects: HubSpot sends no notifications for its projects object, so only projects synced to deals.
    projects = sync_of(portal, "projects")
    projects.enabled = projects.inbound_enabled = True
    assert inbound_active(projects) is False
    projects.hubspot_object = "deals"
    assert inbound_active(projects) is True


# -- Inbound errors on the tab -------------------------------------------------------------------------------


def test_the_tab_marks_each_record_errors_direction(client, portal):
    common = {"portal": portal, "object_type": "clients", "status": RecordError.Status.OPEN}
    RecordError.objects.create(
        **common,
        kleer_id="17",
        hubspot_id="9001",
        direction=SyncDirection.INBOUND,
        message="Kleer refused the phone number: too long.",
    )
    RecordError.objects.create(**common, kleer_id="18", message="Property values were not valid.")
    page = page_of(client, f"{BASE}clients/")
    errors = page.split('<ul class="record-errors">')[1].split("</ul>")[0]
    inbound = errors.split("Kleer 17")[0].rsplit("<li>", 1)[1] + errors.split("Kleer 17")[1].split("</li>")[0]
    assert '<span class="badge badge--inbound">HubSpot → Kleer</span>' in inbound
    assert "(HubSpot 9001)</span>: Kleer refused the phone number: too long." in inbound
    outbound = errors.split("Kleer 18")[0].rsplit("<li>", 1)[1]
    assert '<span class="badge badge--oneway">Kleer → HubSpot</span>' in outbound
    # One-way types say nothing about direction: everything there goes Kleer → HubSpot.
    RecordError.objects.create(portal=portal, object_type="products", kleer_id="5", message="Bad price.")
    products = page_of(client, f"{BASE}products/").split('<ul class="record-errors">')[1].split("</ul>")[0]
    assert "badge" not in products and "Bad price." in products


# -- Conflicts and matching (General tab) --------------------------------------------------------------------


def rules_section(page: str) -> str:
    return page.split('id="sync-rules"')[1].split("</section>")[0]


def test_general_tab_shows_conflict_and_match_rules_with_the_defaults_checked(client):
    section = rules_section(page_of(client, BASE))
    assert "<legend>When both sides changed</legend>" in section
    assert "<legend>Matching existing HubSpot records</legend>" in section
    assert (
        "For properties marked Two-way (Clients and Projects): when the same property changed in HubSpot and in "
        "Kleer since the last sync, this decides which change is kept. Kleer keeps no change times, so a change "
        "made in Kleer is dated when the integration first sees it, at the next scheduled sync of that object."
    ) in section
    for value, label in ConflictRule.choices:
        assert f'value="{value}"' in section and html.escape(label) in section
    for value, label in MatchRule.choices:
        assert f'value="{value}"' in section and html.escape(label) in section
    assert (
        '<input type="radio" name="conflict_rule" value="latest" id="id_conflict_rule_0" required checked> '
        'The most recent change wins <span class="muted">(default)</span></label>'
    ) in section
    assert (
        '<input type="radio" name="match_rule" value="orgno_domain" id="id_match_rule_0" required checked> '
        'Organisation number, then domain (products: SKU, then name) <span class="muted">(default)</span></label>'
    ) in section
    assert section.count(" checked>") == 2


def test_saving_conflicts_and_matching_changes_the_portal_and_is_audited(client, portal):
    response = client.post(f"{BASE}conflicts-and-matching", {"conflict_rule": "kleer", "match_rule": "orgno"})
    assert (response.status_code, response["Location"]) == (302, f"{BASE}#sync-rules")
    portal.refresh_from_db()
    assert (portal.conflict_rule, portal.match_rule) == ("kleer", "orgno")
    event = AuditEvent.objects.get(portal=portal, action="portal.sync_rules_changed")
    assert (event.actor_label, event.before, event.after) == (
        ACTOR,
        {"conflict_rule": "latest", "match_rule": "orgno_domain"},
        {"conflict_rule": "kleer", "match_rule": "orgno"},
    )
    page = page_of(client, response["Location"])
    assert "Conflicts and matching saved." in page
    assert rules_section(page).split('value="kleer"')[1].split(">")[0].endswith("checked")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"conflict_rule": "newest", "match_rule": "orgno"},
            "Choose who wins when both sides changed: “The most recent change wins”, “Kleer always wins” or "
            "“HubSpot always wins”.",
        ),
        (
            {"conflict_rule": "hubspot", "match_rule": "name"},
            "Choose how existing HubSpot records are matched: “Organisation number, then domain (products: SKU, "
            "then name)”, “Organisation number only (products: SKU only)” or “Off: always create”.",
        ),
        (
            {"match_rule": "off"},
            "Choose who wins when both sides changed: “The most recent change wins”, “Kleer always wins” or "
            "“HubSpot always wins”.",
        ),
    ],
)
def test_bad_conflict_or_match_values_are_refused_and_change_nothing(client, portal, data, message):
    response = client.post(f"{BASE}conflicts-and-matching", data)
    assert response.status_code == 200
    assert html.escape(message) in response.content.decode()
    portal.refresh_from_db()
    assert (portal.conflict_rule, portal.match_rule) == ("latest", "orgno_domain")
    assert not AuditEvent.objects.filter(action="portal.sync_rules_changed").exists()


def test_the_rules_service_refuses_unknown_values_and_does_not_audit_unchanged_ones(portal):
    with pytest.raises(PortalSettingsError, match=r"^Choose who wins when both sides changed: "):
        portal_sync_rules_save(portal=portal, conflict_rule="", match_rule="off", actor=Actor.system())
    with pytest.raises(PortalSettingsError, match=r"^Choose how existing HubSpot records are matched: "):
        portal_sync_rules_save(portal=portal, conflict_rule="kleer", match_rule="ORGNO", actor=Actor.system())
    portal_sync_rules_save(portal=portal, conflict_rule="latest", match_rule="orgno_domain", actor=Actor.system())
    portal.refresh_from_db()
    assert (portal.conflict_rule, portal.match_rule) == ("latest", "orgno_domain")
    assert not AuditEvent.objects.filter(action="portal.sync_rules_changed").exists()


# -- Isolation -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("bound", "other"), [(HUB, OTHER), (OTHER, HUB)])
def test_a_portal_cannot_change_another_portals_direction_switch_or_rules(bound, other):
    portals = {hub_id: install(hub_id) for hub_id in (HUB, OTHER)}
    client = bind(bound)
    victim = portals[other]
    phone = mapping_of(victim, "clients", "phone")
    base = f"/portals/{other}/settings/"
    attempts = [
        (
            f"{base}clients/mappings/{phone.pk}/",
            {"action": "save", "kleer_field": "phone", "hubspot_property": "phone", "direction": "one_way"},
        ),
        (f"{base}clients/inbound", {"inbound_enabled": "0"}),
        (f"{base}conflicts-and-matching", {"conflict_rule": "hubspot", "match_rule": "off"}),
    ]
    for url, data in attempts:
        assert client.post(url, data).status_code == 404, url
    assert (
        client.get(
            f"{base}clients/mappings/new?fragment=direction&kleer_field=phone&hubspot_property=phone"
        ).status_code
        == 404
    )
    # Under the own portal's URL, the other portal's mapping id is not found either.
    own = f"/portals/{bound}/settings/clients/mappings/{phone.pk}/"
    assert client.post(own, attempts[0][1]).status_code == 404
    phone.refresh_from_db()
    victim.refresh_from_db()
    assert phone.direction == "two_way"
    assert sync_of(victim, "clients").inbound_enabled is True
    assert (victim.conflict_rule, victim.match_rule) == ("latest", "orgno_domain")
    assert AuditEvent.objects.filter(portal=victim).exclude(action="portal.installed").count() == 0
    # The bound portal's own settings still change.
    assert client.post(f"/portals/{bound}/settings/clients/inbound", {"inbound_enabled": "0"}).status_code == 302
    assert sync_of(portals[bound], "clients").inbound_enabled is False
