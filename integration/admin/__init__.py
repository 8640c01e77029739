"""Django admin as the back office: support staff run customer portals here, ops own the sync schedules.

Every write goes through a service (so it is audited with the staff member as actor); lists are built from
annotated querysets (selectors) so a page costs the same number of queries for 20 portals or 200. Secrets are
never selected for display: the Kleer key shows as ••••1234, HubSpot tokens not at all, and a replacement key
is a write-only input. Permissions (accounts/groups.py): Support changes portals, toggles, mappings and retries
errors; Ops edits PeriodicTasks and reads the rest; only holders of `view_staff_auditevent` see staff audit rows.

One module per concern; importing them registers the admins:
- `portals`: the portal list and page (PortalAdmin, its form and columns); `portal_actions`: its actions/buttons.
- `connections`: the HubSpot installation and Kleer credentials, read-only.
- `mappings`: object syncs (toggle, target; also the portal page's inline) and their field mappings.
- `runs`: history: synced records, sync runs, record errors (retry), inbound events, audit events.
- `schedules`: django-celery-beat's PeriodicTask admin, actions gated by the change permission.
- `workflows`: workflow-action executions (portal, action, record, inputs, outcome, Kleer id).
- `common`: shared display helpers and ReadOnlyAdmin; `filters`: the list filters.
"""

from django.contrib import admin

from integration.admin import connections, mappings, portals, runs, schedules, workflows

__all__ = ["connections", "mappings", "portals", "runs", "schedules", "workflows"]

admin.site.site_header = "Kleer ⇄ HubSpot back office"
# The app list beside every page takes 300 px: at 1280 and 1024 px the portal list's health columns, the runs'
# counts and the audit log's before/after fell off the screen. The breadcrumbs and the index lead everywhere.
admin.site.enable_nav_sidebar = False
admin.site.site_title = "Kleer ⇄ HubSpot"
admin.site.index_title = "Customer portals, sync history and schedules"
# The product has no public front page ("/" answers 404), so Django's "View site" link would lead nowhere; each
# portal's page links the customer's own settings page instead.
admin.site.site_url = None
