"""The front door of every fake HubSpot API view: the contract shared by OAuth and CRM endpoints.

`@hubspot_api()` wraps a view so that, in this order: a correlation id is assigned; scripted faults fire
(`faults.py`); the Bearer token is authenticated (401 INVALID_AUTHENTICATION / EXPIRED_AUTHENTICATION); the
portal's rate limit is applied (429 with HubSpot's exact bodies; `X-HubSpot-RateLimit-*` headers on non-search
calls; `ratelimit.py`); the view runs with `request.hs` set; a `HubSpotError` raised anywhere becomes HubSpot's
JSON error body; the call is written to the request log (`requestlog.py`). Views check scopes themselves with
`request.hs.require_any_scope(...)` because the scope depends on the object type in the URL.

`@hubspot_public()` is the same front door without authentication and rate limiting, for the OAuth endpoints
(token, metadata, introspection, revocation), which HubSpot serves without a Bearer token.

The machinery lives in `pipeline.py`, imported on first call so that this module (imported by every CRM module)
needs no database models at import time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.views.decorators.csrf import csrf_exempt

SCOPES_DOC_URL = "https://developers.hubspot.com/scopes"


class HubSpotError(Exception):
    """An error the fake answers with HubSpot's standard error body.

    `category=None` leaves `category` out of the body (HubSpot's 429 bodies have `errorType` instead).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        category: str | None = "VALIDATION_ERROR",
        context: dict[str, Any] | None = None,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.context = context
        self.errors = errors
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self, correlation_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "error", "message": self.message, "correlationId": correlation_id}
        if self.category is not None:
            body["category"] = self.category
        if self.context is not None:
            body["context"] = self.context
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


@dataclass
class HubSpotContext:
    """What an authenticated request knows: set as `request.hs` by `@hubspot_api()`."""

    hub_id: int
    scopes: frozenset[str]
    portal: Any  # sandbox.hubspot.models.Portal (has .hub_id and .features: dict[str, bool])
    correlation_id: str
    app_id: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def require_any_scope(self, scopes: Iterable[str]) -> None:
        """403 MISSING_SCOPES unless the token holds at least one of `scopes`."""
        wanted = list(scopes)
        if self.scopes.isdisjoint(wanted):
            raise HubSpotError(
                403,
                "This app hasn't been granted all required scopes to make this call. "
                f"Read more about required scopes here: {SCOPES_DOC_URL}.",
                category="MISSING_SCOPES",
                errors=[
                    {
                        "message": "One or more of the following scopes are required.",
                        "context": {"requiredGranularScopes": wanted},
                    }
                ],
                extra={"links": {"scopes": SCOPES_DOC_URL}},
            )

    def require_feature(self, feature: str) -> None:
        """403 FEATURE_NOT_ENABLED when the portal lacks e.g. 'projects' or 'payments'."""
        if not self.portal.features.get(feature, False):
            raise HubSpotError(
                403,
                f"The {feature} feature is not enabled for portal {self.hub_id}.",
                category="FEATURE_NOT_ENABLED",
            )


def require_method(request: Any, *methods: str) -> None:
    """405 in HubSpot's error shape unless the request uses one of `methods`."""
    if request.method not in methods:
        raise HubSpotError(405, f"Method {request.method} is not allowed on this path", category="METHOD_NOT_ALLOWED")


def hubspot_api(*, search: bool = False):  # type: ignore[no-untyped-def]
    """Decorate a fake-HubSpot API view (see the module docstring). `search=True` uses the search bucket."""

    def decorate(view):  # type: ignore[no-untyped-def]
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):  # type: ignore[no-untyped-def]
            from sandbox.hubspot import pipeline

            return pipeline.serve_api(request, view, args, kwargs, search=search)

        return wrapper

    return decorate


def hubspot_public(*, portal_of: Callable[..., Any] | None = None):  # type: ignore[no-untyped-def]
    """Decorate an unauthenticated fake-HubSpot endpoint (OAuth): faults, error rendering, request log.

    `portal_of(request, **kwargs)` names the portal the call concerns (from a code or token in it), so that the
    portal's faults apply and the log attributes the call; None makes only global faults apply.
    """

    def decorate(view):  # type: ignore[no-untyped-def]
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):  # type: ignore[no-untyped-def]
            from sandbox.hubspot import pipeline

            portal = portal_of(request, **kwargs) if portal_of else None
            return pipeline.serve_public(request, view, args, kwargs, portal=portal)

        return wrapper

    return decorate
