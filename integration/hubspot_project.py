"""The app's HubSpot project (developer platform 2025.2+), generated from the catalog in one place.

HubSpot learns what the app is from `*-hsmeta.json` files uploaded with its CLI (`hs project upload`):
- `hsproject.json` — the project (name, source folder, platform version);
- `src/app/app-hsmeta.json` — the app: OAuth redirect URL, required scopes, marketplace distribution, the URLs the
  settings page may fetch and frame;
- `src/app/webhooks/webhooks-hsmeta.json` — the webhooks component: target URL and the subscriptions;
- `src/app/workflow-actions/{action}-hsmeta.json` — one per custom workflow action
  (integration/catalog/workflow_actions.py), calling `{base}/hubspot/workflow-actions/{action}`.

Apps still on the legacy developer platform register the same actions with
`POST /automation/actions/2026-03/{appId}`; `legacy_action_definitions()` gives those bodies
(`PublicActionDefinitionEgg`, hubspot-openapi-2026-03/automation-actions.json; hubspot-api.md §8.2).

The subscriptions are the catalog's: one `object.propertyChange` per (HubSpot object, property) that a two-way
object type's targets list in `Target.inbound_properties`. Those are exactly the properties a mapping may make
two-way (`ObjectSpec.one_way_reason`), so the settings page never offers a direction HubSpot cannot deliver,
and adding a property to a target's list both allows two-way on it and subscribes to it.

`python manage.py hubspot_project [--base-url URL] [--check]` writes the files into `hubspot-project/` (or checks
that the committed ones are current); a test fails when they are stale.

References:
- https://developers.hubspot.com/docs/apps/developer-platform/add-features/configure-webhooks (webhooks component)
- https://developers.hubspot.com/docs/apps/developer-platform/build-apps/app-configuration (project layout, app
  schema)
- hubspot-api.md §1.5 (scopes), §7.1 (settings page, permittedUrls), §8.1 (webhooks)

Unverified against a real HubSpot account (kept here, in one place, so they are easy to correct):
- The app-uninstall subscription (`APP_UNINSTALL`): HubSpot documents the APP_LIFECYCLE_EVENT subscription
  (eventTypeId 4-1916193, webhooks.json) but not how a marketplace app declares it in the webhooks component;
  this is the sandbox's reading (`hubEvents`, subscriptionType `app.uninstall`).
- `permittedUrls`: whether entries are matched as prefixes or exactly, and whether `iframe` is needed for a
  settings page served by us rather than a React settings component.
- `maxConcurrentRequests` bounds (the docs give none).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from integration import catalog
from integration.catalog import workflow_actions
from integration.catalog.hubspot import APP_SCOPES

# A clearly fake public address for the committed files. Generate with your own before deploying.
DEFAULT_BASE_URL = "https://kleer-hubspot.example.com"
PLATFORM_VERSION = "2025.2"
PROJECT_NAME = "kleer-for-hubspot"
APP_UID = "kleer_for_hubspot"
APP_NAME = "Kleer for HubSpot"
APP_DESCRIPTION = (
    "Keeps HubSpot CRM in sync with Kleer, the Swedish accounting system: clients, invoices, agreements, "
    "products, line items and projects flow from Kleer to HubSpot on a schedule, and HubSpot edits of clients "
    "and projects go back to Kleer."
)
WEBHOOKS_UID = "kleer_for_hubspot_webhooks"
# How many webhook requests HubSpot may have in flight to us at once. The receiver only stores events and
# answers, so 10 (the docs' example) is far from what one web process can take.
MAX_CONCURRENT_REQUESTS = 10

# Paths of this service that HubSpot calls (integration/urls.py; the webhook receiver is `/hubspot/webhooks`).
OAUTH_CALLBACK_PATH = "/hubspot/oauth/callback"
LAUNCH_PATH = "/hubspot/launch"
WEBHOOKS_PATH = "/hubspot/webhooks"
WORKFLOW_ACTIONS_PATH = "/hubspot/workflow-actions/"

# HubSpot's singular object names for generic webhook subscriptions (`objectType`), by the catalog's path name
# (integration/catalog/hubspot.py HUBSPOT_OBJECTS). Only targets of two-way object types need one.
# HubSpot projects are not among the generic webhook object types
# (https://developers.hubspot.com/docs/apps/legacy-apps/public-apps/create-generic-webhook-subscriptions), so
# the catalog's projects target lists no inbound properties and needs no entry here.
WEBHOOK_OBJECT_TYPES = {
    "companies": "company",
    "contacts": "contact",
    "deals": "deal",
}

# [unverified] The app-uninstall lifecycle subscription, as the sandbox's fake HubSpot takes it (see above).
APP_UNINSTALL = {"subscriptionType": "app.uninstall", "active": True}

# The committed project, relative to the repository root.
PROJECT_DIR = Path(__file__).resolve().parent.parent / "hubspot-project"


class ProjectError(ValueError):
    """A base URL the project files cannot use; the message says why."""


@dataclass(frozen=True, order=True)
class PropertySubscription:
    """One `object.propertyChange` subscription: HubSpot notifies us when `property_name` of any `object_type`
    record changes."""

    object_type: str  # HubSpot's singular name ("company")
    property_name: str

    def as_json(self) -> dict[str, Any]:
        return {
            "subscriptionType": "object.propertyChange",
            "objectType": self.object_type,
            "propertyName": self.property_name,
            "active": True,
        }


def webhook_subscriptions() -> list[PropertySubscription]:
    """Every property subscription the app needs, sorted: each two-way object type's targets' inbound
    properties, one per (HubSpot object, property) even when two targets share them."""
    found: set[PropertySubscription] = set()
    for spec in catalog.REGISTRY.values():
        if not spec.two_way:
            continue
        for target in spec.targets:
            if not target.inbound_properties:
                continue
            try:
                object_type = WEBHOOK_OBJECT_TYPES[target.hubspot_object]
            except KeyError:
                raise ProjectError(
                    f"{spec.label} → {target.hubspot_object} lists inbound properties but has no webhook object "
                    "type; add it to WEBHOOK_OBJECT_TYPES"
                ) from None
            found.update(PropertySubscription(object_type, prop) for prop in target.inbound_properties)
    return sorted(found)


def normalise_base_url(base_url: str) -> str:
    """`base_url` without a trailing slash; ProjectError unless it is an absolute https URL without query."""
    parts = urlsplit(base_url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ProjectError(f"the base URL must be an absolute https:// URL (HubSpot calls it), not {base_url!r}")
    if parts.query or parts.fragment:
        raise ProjectError(f"the base URL must not have a query or fragment: {base_url!r}")
    return base_url.strip().rstrip("/")


def _hsproject() -> dict[str, Any]:
    return {"name": PROJECT_NAME, "srcDir": "src", "platformVersion": PLATFORM_VERSION}


def _app(base: str) -> dict[str, Any]:
    return {
        "uid": APP_UID,
        "type": "app",
        "config": {
            "name": APP_NAME,
            "description": APP_DESCRIPTION,
            "distribution": "marketplace",
            "auth": {
                "type": "oauth",
                "redirectUrls": [base + OAUTH_CALLBACK_PATH],
                "requiredScopes": list(APP_SCOPES),
                "optionalScopes": [],
                "conditionallyRequiredScopes": [],
            },
            "permittedUrls": {
                "fetch": [base + LAUNCH_PATH],
                "iframe": [base + LAUNCH_PATH],
                "img": [],
            },
        },
    }


def webhooks_component(base: str) -> dict[str, Any]:
    """The webhooks component (`webhooks-hsmeta.json`) for a normalised base URL; also what `sandbox_seed
    --connect` uploads to the fake HubSpot, as `hs project upload` would to HubSpot."""
    return _webhooks(base)


def _webhooks(base: str) -> dict[str, Any]:
    return {
        "uid": WEBHOOKS_UID,
        "type": "webhooks",
        "config": {
            "settings": {"targetUrl": base + WEBHOOKS_PATH, "maxConcurrentRequests": MAX_CONCURRENT_REQUESTS},
            "subscriptions": {
                "crmObjects": [sub.as_json() for sub in webhook_subscriptions()],
                "legacyCrmObjects": [],
                "hubEvents": [APP_UNINSTALL],
            },
        },
    }


def action_url(base: str, action: workflow_actions.WorkflowAction) -> str:
    """Where HubSpot sends an action's execution requests (integration/urls.py)."""
    return f"{base}{WORKFLOW_ACTIONS_PATH}{action.key}"


def _action_labels(action: workflow_actions.WorkflowAction) -> dict[str, Any]:
    """`labels` per locale (PublicActionLabels): English is required, Swedish is the customers' language."""
    labels = {}
    for locale, name, description in (
        ("en", action.name, action.description),
        ("sv", action.name_sv, action.description_sv),
    ):
        english = locale == "en"
        entry: dict[str, Any] = {
            "actionName": name,
            "actionDescription": description,
            "appDisplayName": APP_NAME,
            "inputFieldLabels": {i.name: i.label if english else i.label_sv for i in action.inputs},
            "outputFieldLabels": {n: en if english else sv for n, en, sv in workflow_actions.OUTPUT_FIELDS},
        }
        descriptions = {i.name: i.description for i in action.inputs if i.description and english}
        if descriptions:
            entry["inputFieldDescriptions"] = descriptions
        options = {i.name: i.option_labels(locale) for i in action.inputs if i.options}
        if options:
            entry["inputFieldOptionLabels"] = options
        labels[locale] = entry
    return labels


def _action_inputs(action: workflow_actions.WorkflowAction) -> list[dict[str, Any]]:
    # Every input takes a static value or a token of the enrolled record's properties (product doc §7).
    return [
        {
            "typeDefinition": i.type_definition(),
            "supportedValueTypes": ["STATIC_VALUE", "OBJECT_PROPERTY"],
            "isRequired": i.required,
        }
        for i in action.inputs
    ]


def _action_outputs() -> list[dict[str, Any]]:
    return [
        {"typeDefinition": {"name": name, "type": "string", "fieldType": "text"}}
        for name, _en, _sv in workflow_actions.OUTPUT_FIELDS
    ]


def workflow_action_component(base: str, action: workflow_actions.WorkflowAction) -> dict[str, Any]:
    """One `workflow-actions/*-hsmeta.json` component for a normalised base URL."""
    return {
        "uid": action.uid,
        "type": "workflow-action",
        "config": {
            "actionUrl": action_url(base, action),
            "isPublished": True,
            "supportedClients": [{"client": "WORKFLOWS"}],
            "objectTypes": [action.object_type],
            "inputFields": _action_inputs(action),
            "outputFields": _action_outputs(),
            "labels": _action_labels(action),
        },
    }


def workflow_action_components(base: str) -> list[dict[str, Any]]:
    """Every workflow-action component for a normalised base URL; also what `sandbox_seed --connect` deploys to
    the fake HubSpot, as `hs project upload` would to HubSpot."""
    return [workflow_action_component(base, action) for action in workflow_actions.ACTIONS.values()]


def legacy_action_definitions(base_url: str = DEFAULT_BASE_URL) -> dict[str, dict[str, Any]]:
    """The body of `POST /automation/actions/2026-03/{appId}` per action (PublicActionDefinitionEgg), for apps
    on the legacy developer platform; action key → body."""
    base = normalise_base_url(base_url)
    return {
        key: {
            "actionUrl": action_url(base, action),
            "published": True,
            "objectTypes": [action.object_type],
            "inputFields": _action_inputs(action),
            "outputFields": _action_outputs(),
            "labels": _action_labels(action),
            "functions": [],
        }
        for key, action in workflow_actions.ACTIONS.items()
    }


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def project_files(base_url: str = DEFAULT_BASE_URL) -> dict[str, str]:
    """The project's files for a deployment at `base_url`: relative path → exact text."""
    base = normalise_base_url(base_url)
    return {
        "hsproject.json": _dump(_hsproject()),
        "src/app/app-hsmeta.json": _dump(_app(base)),
        "src/app/webhooks/webhooks-hsmeta.json": _dump(_webhooks(base)),
        **{
            f"src/app/workflow-actions/{key}-hsmeta.json": _dump(workflow_action_component(base, action))
            for key, action in workflow_actions.ACTIONS.items()
        },
    }


def _json_files(directory: Path) -> set[str]:
    """The JSON files under `directory` that `hs project upload` would read."""
    if not directory.exists():
        return set()
    return {str(path.relative_to(directory)) for path in directory.rglob("*.json")}


def stale_files(directory: Path = PROJECT_DIR, base_url: str = DEFAULT_BASE_URL) -> dict[str, str]:
    """What is out of date in `directory`, relative path → why ("missing", "differs from the catalog", or "not
    generated" for a JSON file `hs project upload` would also read); empty when the files are current."""
    stale = {}
    for path, text in project_files(base_url).items():
        target = directory / path
        if not target.is_file():
            stale[path] = "missing"
        elif target.read_text(encoding="utf-8") != text:
            stale[path] = "differs from the catalog"
    for path in _json_files(directory) - set(project_files(base_url)):
        stale[path] = "not generated (remove it)"
    return dict(sorted(stale.items()))


def write_project(directory: Path = PROJECT_DIR, base_url: str = DEFAULT_BASE_URL) -> list[str]:
    """Write the generated files into `directory`; the relative paths that changed."""
    changed = []
    for path, text in project_files(base_url).items():
        target = directory / path
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        changed.append(path)
    return changed
