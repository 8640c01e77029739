"""The app's HubSpot project files: generated from the catalog, committed, and checked for staleness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from integration import catalog
from integration.catalog.hubspot import APP_SCOPES
from integration.catalog.workflow_actions import ACTIONS
from integration.hubspot_project import (
    APP_UNINSTALL,
    DEFAULT_BASE_URL,
    PROJECT_DIR,
    WEBHOOK_OBJECT_TYPES,
    PropertySubscription,
    project_files,
    stale_files,
    webhook_subscriptions,
)
from sandbox.hubspot.webhooks import config as sandbox_webhooks

FILES = [
    "hsproject.json",
    "src/app/app-hsmeta.json",
    "src/app/webhooks/webhooks-hsmeta.json",
    *(f"src/app/workflow-actions/{key}-hsmeta.json" for key in ACTIONS),
]


def test_the_committed_project_files_are_current():
    """Fails when the catalog (inbound properties, scopes) changed and `python manage.py hubspot_project` was not
    run: the committed files would subscribe to the wrong properties."""
    assert stale_files(PROJECT_DIR) == {}, "run: python manage.py hubspot_project"
    assert sorted(str(p.relative_to(PROJECT_DIR)) for p in PROJECT_DIR.rglob("*.json")) == sorted(FILES)


def test_subscriptions_are_the_two_way_targets_inbound_properties_once_each():
    expected = {
        (WEBHOOK_OBJECT_TYPES[target.hubspot_object], prop)
        for spec in catalog.REGISTRY.values()
        if spec.two_way
        for target in spec.targets
        for prop in target.inbound_properties
    }
    subscriptions = webhook_subscriptions()
    assert len(subscriptions) == len(expected) == 41
    assert {(s.object_type, s.property_name) for s in subscriptions} == expected
    assert subscriptions == sorted(subscriptions)
    assert {s.object_type for s in subscriptions} == {"company", "contact", "deal"}  # no HubSpot projects
    # The incumbent's documented company triggers are all there; one-way object types subscribe to nothing.
    assert PropertySubscription("company", "phone") in subscriptions
    assert PropertySubscription("company", "kleer_payment_days") in subscriptions
    assert PropertySubscription("deal", "dealname") in subscriptions  # projects → deals
    assert PropertySubscription("deal", "closedate") not in subscriptions  # only invoices/agreements write it


def test_two_way_is_offered_exactly_where_hubspot_notifies_us():
    """The settings page offers two-way where `one_way_reason` is None: that must be where we subscribed."""
    subscribed = {(s.object_type, s.property_name) for s in webhook_subscriptions()}
    for spec in catalog.REGISTRY.values():
        writable = [f.name for f in spec.fields if f.invertible and f.updatable]
        for target in spec.targets:
            object_type = WEBHOOK_OBJECT_TYPES.get(target.hubspot_object)
            for prop in (*target.inbound_properties, "kleer_foreign_id", "hs_object_id"):
                possible = any(spec.one_way_reason(target.hubspot_object, name, prop) is None for name in writable)
                assert possible == ((object_type, prop) in subscribed), (spec.key, target.hubspot_object, prop)


def test_the_sandboxs_fake_hubspot_accepts_the_generated_webhooks_component():
    """The fake validates a component as `hs project upload` would (every field, HubSpot's generic object types,
    the app-uninstall hub event), so the generated file is at least what the fake believes HubSpot takes."""
    component = json.loads(project_files()["src/app/webhooks/webhooks-hsmeta.json"])
    target_url, limit, subscriptions = sandbox_webhooks.validate(component)
    assert (target_url, limit) == (f"{DEFAULT_BASE_URL}/hubspot/webhooks", 10)
    assert len(subscriptions) == len(webhook_subscriptions()) + 1
    assert [s.subscription_type for s in subscriptions if s.group == "hubEvents"] == ["app.uninstall"]


def test_webhooks_component_shape_and_target_url():
    files = project_files("https://sync.example.org/kleer/")
    webhooks = json.loads(files["src/app/webhooks/webhooks-hsmeta.json"])
    assert webhooks["uid"] == "kleer_for_hubspot_webhooks" and webhooks["type"] == "webhooks"
    assert webhooks["config"]["settings"] == {
        "targetUrl": "https://sync.example.org/kleer/hubspot/webhooks",
        "maxConcurrentRequests": 10,
    }
    subscriptions = webhooks["config"]["subscriptions"]
    assert subscriptions["legacyCrmObjects"] == []
    assert subscriptions["hubEvents"] == [APP_UNINSTALL] == [{"subscriptionType": "app.uninstall", "active": True}]
    assert subscriptions["crmObjects"][0] == {
        "subscriptionType": "object.propertyChange",
        "objectType": "company",
        "propertyName": "address",
        "active": True,
    }
    assert len(subscriptions["crmObjects"]) == len(webhook_subscriptions())


def test_app_component_has_the_oauth_callback_scopes_and_launch_url():
    files = project_files("https://sync.example.org")
    assert json.loads(files["hsproject.json"]) == {
        "name": "kleer-for-hubspot",
        "srcDir": "src",
        "platformVersion": "2025.2",
    }
    app = json.loads(files["src/app/app-hsmeta.json"])
    assert (app["uid"], app["type"], app["config"]["name"], app["config"]["distribution"]) == (
        "kleer_for_hubspot",
        "app",
        "Kleer for HubSpot",
        "marketplace",
    )
    auth = app["config"]["auth"]
    assert auth["type"] == "oauth"
    assert auth["redirectUrls"] == ["https://sync.example.org/hubspot/oauth/callback"]
    assert auth["requiredScopes"] == list(APP_SCOPES)
    assert app["config"]["permittedUrls"]["fetch"] == ["https://sync.example.org/hubspot/launch"]


@pytest.mark.parametrize("url", ["http://sync.example.org", "sync.example.org", "https://", "https://x.org/?a=1"])
def test_a_base_url_hubspot_cannot_call_is_refused(url, tmp_path):
    with pytest.raises(CommandError, match="base URL"):
        call_command("hubspot_project", base_url=url, directory=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_command_writes_then_checks_and_names_stale_and_stray_files(tmp_path: Path, capsys):
    call_command("hubspot_project", base_url="https://sync.example.org", directory=tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.json")) == sorted(FILES)
    call_command("hubspot_project", base_url="https://sync.example.org", directory=tmp_path, check=True)
    assert "are current for https://sync.example.org." in capsys.readouterr().out

    (tmp_path / "src/app/webhooks/webhooks-hsmeta.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "src/app/app-hsmeta.json").unlink()
    (tmp_path / "src/app/webhooks/old-hsmeta.json").write_text("{}\n", encoding="utf-8")
    with pytest.raises(CommandError) as refused:
        call_command("hubspot_project", base_url="https://sync.example.org", directory=tmp_path, check=True)
    assert str(refused.value) == (
        f"The HubSpot project files in {tmp_path} are stale for https://sync.example.org:\n"
        "  src/app/app-hsmeta.json: missing\n"
        "  src/app/webhooks/old-hsmeta.json: not generated (remove it)\n"
        "  src/app/webhooks/webhooks-hsmeta.json: differs from the catalog\n"
        "Regenerate them with: python manage.py hubspot_project --base-url https://sync.example.org"
    )
    # The committed files are for the placeholder URL, so checking them for another URL fails too.
    with pytest.raises(CommandError, match=r"src/app/app-hsmeta\.json: differs from the catalog"):
        call_command("hubspot_project", base_url="https://sync.example.org", check=True)
    call_command("hubspot_project", check=True)
    assert f"are current for {DEFAULT_BASE_URL}." in capsys.readouterr().out


def test_workflow_action_definitions_come_from_the_catalog_in_english_and_swedish():
    from integration.catalog.workflow_actions import ACTIONS
    from integration.hubspot_project import legacy_action_definitions

    invoice = json.loads(project_files()["src/app/workflow-actions/create-invoice-hsmeta.json"])
    config = invoice["config"]
    assert (invoice["uid"], invoice["type"], config["objectTypes"]) == (
        "kleer_create_invoice",
        "workflow-action",
        ["DEAL"],
    )
    assert config["actionUrl"] == f"{DEFAULT_BASE_URL}/hubspot/workflow-actions/create-invoice"
    assert [f["typeDefinition"]["name"] for f in config["inputFields"]] == [
        i.name for i in ACTIONS["create-invoice"].inputs
    ]
    assert config["labels"]["en"]["actionName"] == "Create Kleer Invoice"
    assert config["labels"]["sv"]["actionName"] == "Skapa faktura i Kleer"
    assert config["labels"]["sv"]["inputFieldLabels"]["invoice_date"] == "Fakturadatum"
    assert config["labels"]["sv"]["inputFieldOptionLabels"]["delivery_type"]["Email"] == "E-post"
    assert [f["typeDefinition"]["name"] for f in config["outputFields"]] == ["kleer_id", "outcome", "failure_reason"]
    legacy = legacy_action_definitions("https://kleer.example.com/")
    assert sorted(legacy) == sorted(ACTIONS)
    # PublicActionDefinitionEgg's required fields (hubspot-openapi-2026-03/automation-actions.json).
    for body in legacy.values():
        assert {"actionUrl", "functions", "inputFields", "labels", "objectTypes", "published"} <= set(body)
    assert legacy["create-client"]["actionUrl"] == "https://kleer.example.com/hubspot/workflow-actions/create-client"
    assert legacy["create-client"]["inputFields"][0] == {
        "typeDefinition": {"name": "name", "type": "string", "fieldType": "text"},
        "supportedValueTypes": ["STATIC_VALUE", "OBJECT_PROPERTY"],
        "isRequired": True,
    }


def test_the_command_prints_the_legacy_bodies(capsys):
    call_command("hubspot_project", "--base-url", "https://kleer.example.com", "--legacy-actions")
    printed = json.loads(capsys.readouterr().out)
    assert printed["update-agreement"]["labels"]["en"]["actionName"] == "Update Kleer Agreement"
