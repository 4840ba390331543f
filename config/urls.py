from __future__ import annotations

from django.urls import include, path

from dashboard.views import metrics, ops

urlpatterns = [
    path("healthz", ops.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("accounts/", include("allauth.urls")),
    path("webhooks/", include("contacts_sync.webhooks")),
    path("api/v1/", include("contacts_sync.feeds")),
    path("", include("dashboard.urls")),
]

# Error pages in the site's layout (dashboard/views/errors.py); the CSRF one is settings.CSRF_FAILURE_VIEW.
handler403 = "dashboard.views.errors.permission_denied"
handler404 = "dashboard.views.errors.page_not_found"
handler500 = "dashboard.views.errors.server_error"
