"""URLs of the fake Kleer and HubSpot APIs, mounted under /sandbox/ only when SANDBOX_ENABLED."""

from django.urls import include, path

urlpatterns = [
    path("kleer/", include("sandbox.kleer.urls")),
    path("hubspot/", include("sandbox.hubspot.urls")),
    path("hubspot/", include("sandbox.hubspot_crm.urls")),
]
