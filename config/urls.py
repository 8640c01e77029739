from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from integration.views import health, metrics, site

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    # Browsers ask for /favicon.ico on pages that name no icon (and on JSON or error pages): answer with ours.
    path("favicon.ico", site.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("", include("integration.urls")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
