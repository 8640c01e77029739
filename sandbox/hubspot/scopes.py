"""The scopes the fake's consent page accepts, and which of them a portal's features can grant.

Source: per-operation `security` blocks of HubSpot's OpenAPI specs and https://developers.hubspot.com/scopes
(hubspot-api.md §1.5). A scope outside this list makes the consent page refuse the install, as HubSpot does
when the install URL asks for scopes the app does not have.
"""

from __future__ import annotations

from collections.abc import Iterable

REQUIRED_SCOPE = "oauth"

_OBJECTS = ("companies", "contacts", "deals", "invoices", "subscriptions", "projects", "custom")

KNOWN_SCOPES: frozenset[str] = frozenset(
    {
        "oauth",
        "e-commerce",
        "automation",
        "tax_rates.read",
        "crm.objects.owners.read",
        "crm.objects.products.read",
        "crm.objects.products.write",
        "crm.objects.line_items.read",
        "crm.objects.line_items.write",
        "crm.schemas.line_items.read",
        "crm.objects.projects.sensitive.read",
        "crm.objects.projects.sensitive.write",
        "crm.objects.projects.highly_sensitive.read",
        "crm.objects.projects.highly_sensitive.write",
    }
    | {f"crm.objects.{name}.{access}" for name in _OBJECTS for access in ("read", "write")}
    | {f"crm.schemas.{name}.{access}" for name in _OBJECTS for access in ("read", "write")}
)

# Optional scopes are silently dropped when the chosen portal lacks the feature behind them
# (https://developers.hubspot.com/docs/apps/legacy-apps/authentication/working-with-oauth, `optional_scope`).
_FEATURE_OF_SCOPE_PREFIX = {
    "crm.objects.custom.": "custom_objects",
    "crm.schemas.custom.": "custom_objects",
    "crm.objects.projects.": "projects",
    "crm.schemas.projects.": "projects",
}


def parse(raw: str) -> list[str]:
    """Scopes from a `scope` parameter: space-separated (`%20` or `+` in the URL), duplicates dropped."""
    seen: list[str] = []
    for scope in raw.split():
        if scope not in seen:
            seen.append(scope)
    return seen


def unknown(scopes: Iterable[str]) -> list[str]:
    """The scopes among `scopes` that the fake does not know."""
    return [scope for scope in scopes if scope not in KNOWN_SCOPES]


def grantable(scope: str, features: dict[str, bool]) -> bool:
    """Whether a portal with `features` can grant an optional `scope`."""
    for prefix, feature in _FEATURE_OF_SCOPE_PREFIX.items():
        if scope.startswith(prefix):
            return bool(features.get(feature, False))
    return True
