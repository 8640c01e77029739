"""Resolve the object type of a request and enforce its scopes and feature gate.

Scopes per route come from hubspot-api.md §1.5 (https://developers.hubspot.com/scopes): object reads and
writes need `crm.objects.<type>.read|write` (`e-commerce` also works for products and line items); property
reads need the object or schema read scope, property writes `crm.schemas.<type>.write` (`e-commerce` for
products and line items, which have no schema write scope). Projects need the portal's `projects` feature and
commerce subscriptions its `payments` feature (§5.2, §5.3), else 403 FEATURE_NOT_ENABLED (§10.3).
"""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest

from sandbox.hubspot_crm import schema as schema_module
from sandbox.hubspot_crm import seed
from sandbox.hubspot_crm.registry import ObjectTypeSpec
from sandbox.hubspot_crm.schema import Schema

Need = Literal["read", "write", "any", "schema_read", "schema_write", "pipelines"]


def scopes_for(spec: ObjectTypeSpec, need: Need) -> tuple[str, ...]:
    """The scopes of which the token needs one for `need` on `spec`."""
    return {
        "read": spec.read_scopes,
        "write": spec.write_scopes,
        "any": (*spec.read_scopes, *spec.write_scopes),
        "schema_read": spec.schema_read_scopes,
        "schema_write": spec.schema_write_scopes,
        "pipelines": (*spec.read_scopes, *spec.schema_read_scopes),
    }[need]


def authorise(request: HttpRequest, alias: str, need: Need, *, seeded: bool = True) -> ObjectTypeSpec:
    """The object type named `alias`, after checking the token's scopes and the portal's features; with
    `seeded`, its defaults exist in the portal."""
    spec = seed.resolve_type(alias)
    request.hs.require_any_scope(scopes_for(spec, need))  # type: ignore[attr-defined]
    if spec.feature:
        request.hs.require_feature(spec.feature)  # type: ignore[attr-defined]
    if seeded:
        seed.ensure_seeded(request.hs.hub_id, spec)  # type: ignore[attr-defined]
    return spec


def schema_for(request: HttpRequest, alias: str, need: Need) -> Schema:
    """`authorise`, then the type's property schema in the caller's portal (whose query also tells whether the
    type's defaults exist, so that a seeded portal is not asked that separately)."""
    spec = authorise(request, alias, need, seeded=False)
    return schema_module.load_seeded(request.hs.hub_id, spec)  # type: ignore[attr-defined]
