"""List filters for the back office: portal health, connection, credentials, age, actor, record-error state
and a portal-id box.

None of them lists rows from the database in the sidebar (hundreds of portals would make it unusable); the
portal filter is a text box taking a HubSpot portal id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from integration import selectors
from integration.inputs import ascii_int
from integration.models import HubSpotInstallation, RecordError

STAFF_ACTOR = Q(actor__is_staff=True) | Q(actor_label__startswith="staff:")


class FailingFilter(admin.SimpleListFilter):
    """Failing = last outcome of an enabled object failed or partial, or record errors seen in 24 h."""

    title = "health"
    parameter_name = "health"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("failing", "Failing"), ("healthy", "Healthy")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "failing":
            return queryset.filter(selectors.failing_q())
        if self.value() == "healthy":
            return queryset.exclude(selectors.failing_q())
        return queryset


class ConnectionFilter(admin.SimpleListFilter):
    """HubSpot connection: connected, or disconnected (including never installed)."""

    title = "HubSpot connection"
    parameter_name = "hubspot"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("connected", "Connected"), ("disconnected", "Disconnected")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "connected":
            return queryset.filter(installation__status=HubSpotInstallation.Status.CONNECTED)
        if self.value() == "disconnected":
            return queryset.filter(selectors.disconnected_q())
        return queryset


class CredentialsFilter(admin.SimpleListFilter):
    """Kleer credentials saved or missing."""

    title = "Kleer credentials"
    parameter_name = "kleer"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("configured", "Configured"), ("missing", "Missing")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "configured":
            return queryset.filter(kleer_credentials__isnull=False)
        if self.value() == "missing":
            return queryset.filter(kleer_credentials__isnull=True)
        return queryset


AGE_CHOICES = [("1h", "Last hour"), ("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("older", "Older than 7 days")]
AGE_SPANS = {"1h": dt.timedelta(hours=1), "24h": dt.timedelta(hours=24), "7d": dt.timedelta(days=7)}


class AgeFilter(admin.SimpleListFilter):
    """Rows by the age of `field`: last hour, 24 h, 7 days, or older. Subclass with `field` set."""

    title = "age"
    parameter_name = "age"
    field = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return AGE_CHOICES

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        now = timezone.now()
        if value in AGE_SPANS:
            return queryset.filter(**{f"{self.field}__gte": now - AGE_SPANS[value]})
        if value == "older":
            return queryset.filter(**{f"{self.field}__lt": now - AGE_SPANS["7d"]})
        return queryset


def age_filter(field: str, title: str = "age") -> type[AgeFilter]:
    """An AgeFilter over `field` (e.g. "started_at")."""
    return type(f"AgeFilter_{field}", (AgeFilter,), {"field": field, "title": title})


class PortalIdFilter(admin.SimpleListFilter):
    """A text box: rows of one portal, by HubSpot portal id (`?portal=<hub_id>`, used by the portal page links)."""

    title = "HubSpot portal id"
    parameter_name = "portal"
    template = "admin/integration/input_filter.html"
    portal_path = "portal__hub_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("", "")]  # never shown; a filter needs one choice to be displayed

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = (self.value() or "").strip()
        if not value:
            return queryset
        hub_id = ascii_int(value)  # "²".isdigit() is true and int("١٢") is 12: ASCII digits only
        if hub_id is None:
            return queryset.none()
        return queryset.filter(**{self.portal_path: hub_id})

    def choices(self, changelist: Any) -> Iterator[dict[str, Any]]:
        others = [(k, v) for k, v in changelist.params.items() if k != self.parameter_name]
        yield {
            "value": self.value() or "",
            "parameter_name": self.parameter_name,
            "hidden": others,
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
        }

    def get_facet_counts(self, pk_attname: str, filtered_qs: QuerySet) -> dict:
        return {}


class ActorFilter(admin.SimpleListFilter):
    """Audit events by who acted: staff, a customer (portal session), or the system."""

    title = "actor"
    parameter_name = "actor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("staff", "Staff"), ("customer", "Customer"), ("system", "System")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "staff":
            return queryset.filter(STAFF_ACTOR)
        if self.value() == "customer":
            return queryset.filter(actor_label__startswith="portal ")
        if self.value() == "system":
            return queryset.filter(actor_label="system")
        return queryset


class RecordErrorStateFilter(admin.SimpleListFilter):
    """Status, plus "unresolved" (open or parked), the default question support asks."""

    title = "status"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("unresolved", "Unresolved (open or parked)"), *RecordError.Status.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "unresolved":
            return queryset.filter(status__in=selectors.UNRESOLVED)
        if value in RecordError.Status.values:
            return queryset.filter(status=value)
        return queryset
