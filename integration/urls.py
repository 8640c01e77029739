"""Customer-facing URLs: the install flow and the settings page.

Every settings URL carries the portal's hub id; `portal_access_required` checks it against the session (or a
staff login), so the same URLs serve customers inside HubSpot and support staff.
"""

from django.urls import include, path

from accounts.language import language_switch
from integration.views import (
    install,
    launch,
    settings_general,
    settings_mappings,
    settings_matching,
    settings_objects,
    webhooks,
    workflow_actions,
)

app_name = "integration"

object_patterns = [
    path("", settings_objects.object_tab, name="object_tab"),
    path("toggle", settings_objects.toggle, name="object_toggle"),
    path("inbound", settings_objects.inbound, name="object_inbound"),
    path("target", settings_objects.target, name="object_target"),
    path("pipeline", settings_objects.pipeline, name="object_pipeline"),
    path("sync", settings_objects.sync_now, name="object_sync_now"),
    path("errors/<int:error_id>/match", settings_matching.match_resolve, name="record_error_match_resolve"),
    path("sync/status", settings_objects.sync_status, name="object_sync_status"),
    path("mappings/new", settings_mappings.mapping_form, name="mapping_add"),
    path("mappings/<int:mapping_id>/", settings_mappings.mapping_form, name="mapping_edit"),
    path("mappings/<int:mapping_id>/delete", settings_mappings.mapping_delete_view, name="mapping_delete"),
]

settings_patterns = [
    path("", settings_general.general, name="settings"),
    path("credentials", settings_general.credentials, name="settings_credentials"),
    path("sync-configuration", settings_general.sync_config, name="settings_sync_config"),
    path("conflicts-and-matching", settings_general.sync_rules, name="settings_sync_rules"),
    path("<slug:object_type>/", include(object_patterns)),
]

urlpatterns = [
    path("hubspot/install", install.install, name="install"),
    path("hubspot/oauth/callback", install.oauth_callback, name="oauth_callback"),
    path("hubspot/launch", launch.launch, name="launch"),
    path("hubspot/webhooks", webhooks.webhooks, name="webhooks"),
    path("hubspot/workflow-actions/<str:action>", workflow_actions.execute, name="workflow_action"),
    path("settings/", launch.settings_home, name="settings_home"),
    path("settings/language", language_switch, name="language_switch"),
    path("portals/<int:hub_id>/settings/", include(settings_patterns)),
]
