from __future__ import annotations

from django.urls import include, path

from dashboard.views import metrics, ops

urlpatterns = [
    path("healthz", ops.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("accounts/", include("allauth.urls")),
    path("webhooks/", include("contacts_sync.webhooks")),
    path("", include("dashboard.urls")),
]
