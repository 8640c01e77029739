"""URLs of the fake Kleer and HubSpot APIs, mounted under /sandbox/ only when SANDBOX_ENABLED."""

from django.urls import include, path, re_path

from sandbox import views
from sandbox.hubspot import api_views as hubspot_api_views

urlpatterns = [
    path("", views.index, name="sandbox_index"),
    # The bare prefixes: a browser goes to the fake's pages (sandbox.views). Exact paths, before the includes.
    path("kleer/", views.kleer_root, name="sandbox_kleer_root"),
    path("hubspot/", views.hubspot_root, name="sandbox_hubspot_root"),
    path("kleer/", include("sandbox.kleer.urls")),
    path("hubspot/", include("sandbox.hubspot.urls")),
    path("hubspot/", include("sandbox.hubspot_crm.urls")),
    # Last: an API path no route above serves gets HubSpot's JSON 404, not Django's HTML page (hubspot-api.md
    # §10.3). Paths starting with "_" (the fake's pages and controls) keep Django's 404 and slash redirects.
    re_path(r"^hubspot/(?!_)", hubspot_api_views.unknown_path),
]
