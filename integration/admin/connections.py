"""The portal's two connections, read-only: changes go through the portal page and its actions."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from integration import models
from integration.admin.common import ReadOnlyAdmin, portal_link


@admin.register(models.HubSpotInstallation)
class HubSpotInstallationAdmin(ReadOnlyAdmin):
    """The OAuth grant; tokens are never selected for display."""

    list_display = ["portal", "status", "disconnected_reason", "installed_by", "expires_at", "updated_at"]
    list_filter = ["status"]
    list_select_related = ["portal"]
    search_fields = ["=portal__hub_id", "portal__name"]
    fields = ["portal", "status", "disconnected_reason", "scopes", "installed_by", "connected_at", "expires_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("access_token", "refresh_token")


@admin.register(models.KleerCredentials)
class KleerCredentialsAdmin(ReadOnlyAdmin):
    """Which company each portal reads; the key shows as ••••1234 and is replaced on the portal page."""

    list_display = ["portal", "company_id", "masked_key", "verified_at", "updated_at"]
    list_select_related = ["portal"]
    search_fields = ["=company_id", "=portal__hub_id"]
    fields = ["portal_page", "company_id", "masked_key", "verified_at", "updated_at"]
    readonly_fields = ["portal_page", "masked_key"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("api_key")

    @admin.display(description="Portal")
    def portal_page(self, obj: models.KleerCredentials) -> SafeString:
        return format_html(
            '{} <span class="kh-muted">(replace the key on the portal page)</span>', portal_link(obj.portal)
        )
