"""URLs of the fake HubSpot's platform half, mounted at /sandbox/hubspot/ (the CRM half shares the prefix).

HubSpot serves each API at its legacy path (`/oauth/v1`, `/oauth/v3`, `/account-info/v3`, `/appinstalls/v3`) and
at date-versioned ones (`/oauth/2026-03/…`); `VERSION` accepts any `YYYY-MM` (with `-beta`), as HubSpot ships a
new version every March and September (hubspot-api.md §0, §10).
"""

from __future__ import annotations

from django.urls import path, re_path

from sandbox.hubspot import api_views, consent, control, oauth, pages
from sandbox.hubspot.webhooks import views as webhook_views
from sandbox.hubspot.workflows import callbacks as workflow_callbacks
from sandbox.hubspot.workflows import views as workflow_views

app_name = "sandbox_hubspot"

DATED = r"\d{4}-\d{2}(?:-beta)?"
V3_OR_DATED = rf"(?P<version>v3|{DATED})"
ANY_OAUTH = rf"(?P<version>v1|v3|{DATED})"

urlpatterns = [
    # app.hubspot.com: the consent page.
    path("oauth/authorize", consent.authorize, name="authorize"),
    re_path(r"^oauth/(?P<hub_id>\d+)/authorize$", consent.authorize, name="authorize_account"),
    # api.hubapi.com: OAuth.
    re_path(rf"^oauth/{ANY_OAUTH}/token$", oauth.token, name="token"),
    re_path(rf"^oauth/{V3_OR_DATED}/token/introspect$", oauth.introspect, name="introspect"),
    re_path(rf"^oauth/{V3_OR_DATED}/token/revoke$", oauth.revoke, name="revoke"),
    path("oauth/v1/access-tokens/<str:token>", oauth.access_token_metadata, name="access_token_metadata"),
    path("oauth/v1/refresh-tokens/<str:token>", oauth.refresh_token_metadata, name="refresh_token_metadata"),
    # api.hubapi.com: account and install.
    re_path(rf"^account-info/{V3_OR_DATED}/details$", api_views.account_details, name="account_details"),
    re_path(rf"^appinstalls/{V3_OR_DATED}/external-install$", api_views.external_install, name="external_install"),
    # api.hubapi.com: the custom-object schema stub (hubspot-api.md §10.9).
    path("crm-object-schemas/v3/schemas", api_views.object_schemas, name="object_schemas"),
    # api.hubapi.com: workflow-action callback completion (automation-actions.json), HubSpot's date-versioned
    # path, the legacy v4 one, and the spelling with the version first (see workflows/callbacks.py).
    re_path(rf"^automation/actions/callbacks/(?P<version>{DATED})/complete$", workflow_callbacks.complete_batch),
    re_path(
        rf"^automation/actions/callbacks/(?P<version>{DATED})/(?P<callback_id>[^/]+)/complete$",
        workflow_callbacks.complete_one,
    ),
    re_path(rf"^automation/actions/(?P<version>{DATED})/callbacks/complete$", workflow_callbacks.complete_batch),
    re_path(
        rf"^automation/actions/(?P<version>{DATED})/callbacks/(?P<callback_id>[^/]+)/complete$",
        workflow_callbacks.complete_one,
    ),
    path("automation/v4/actions/callbacks/complete", workflow_callbacks.complete_batch),
    path("automation/v4/actions/callbacks/<str:callback_id>/complete", workflow_callbacks.complete_one),
    # Control endpoints (not HubSpot's).
    path("_fake/portals", control.portals, name="control_portals"),
    path("_fake/portals/<int:hub_id>", control.portal, name="control_portal"),
    path("_fake/portals/<int:hub_id>/tokens", control.portal_tokens, name="control_tokens"),
    path("_fake/portals/<int:hub_id>/tokens/expire", control.portal_tokens_expire, name="control_tokens_expire"),
    path("_fake/portals/<int:hub_id>/tokens/revoke", control.portal_tokens_revoke, name="control_tokens_revoke"),
    path("_fake/portals/<int:hub_id>/uninstall", control.portal_uninstall, name="control_uninstall"),
    path("_fake/portals/<int:hub_id>/rate-limits", control.portal_rate_limits, name="control_rate_limits"),
    path("_fake/portals/<int:hub_id>/latency", control.portal_latency, name="control_latency"),
    path("_fake/portals/<int:hub_id>/faults", control.portal_faults, name="control_portal_faults"),
    path("_fake/portals/<int:hub_id>/requests", control.portal_requests, name="control_requests"),
    path("_fake/portals/<int:hub_id>/request-counts", control.portal_request_counts, name="control_request_counts"),
    path("_fake/faults", control.global_faults, name="control_faults"),
    path("_fake/requests", control.unattributed_requests, name="control_unattributed_requests"),
    path("_fake/clock", control.clock_control, name="control_clock"),
    # Webhooks: the app's component, delivery, the event log, fault injection.
    path("_fake/apps/webhooks", webhook_views.app_webhooks, name="control_app_webhooks"),
    path("_fake/webhooks", webhook_views.webhook_log, name="control_webhooks"),
    path("_fake/webhooks/deliver", webhook_views.deliver, name="control_webhooks_deliver"),
    path("_fake/webhooks/faults", webhook_views.webhook_faults, name="control_webhooks_faults"),
    # Workflow actions: the app's definitions, runs against the app, executions.
    path("_fake/apps/workflow-actions", workflow_views.app_workflow_actions, name="control_app_workflow_actions"),
    path("_fake/portals/<int:hub_id>/workflow-actions/run", workflow_views.run, name="control_workflow_run"),
    path(
        "_fake/portals/<int:hub_id>/workflow-actions/executions",
        workflow_views.executions,
        name="control_workflow_executions",
    ),
    path(
        "_fake/portals/<int:hub_id>/workflow-actions/executions/<str:callback_id>",
        workflow_views.execution,
        name="control_workflow_execution",
    ),
    # Test-only API views that exercise the gateway without the CRM half.
    path("_fake/echo", api_views.echo, name="echo"),
    path("_fake/echo/search", api_views.echo_search, name="echo_search"),
    # Pages.
    path("_pages/log/", pages.request_log_page, name="log_page"),
]
