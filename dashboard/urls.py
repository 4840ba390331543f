from __future__ import annotations

from django.urls import include, path

from dashboard.views import overview

app_name = "dashboard"

# Each area owns its URL module (dashboard/urls_parts/<area>.py, a plain `urlpatterns` list).
urlpatterns = [
    path("", overview.overview, name="overview"),
    path("", include("dashboard.urls_parts.syncs")),
    path("", include("dashboard.urls_parts.runs")),
    path("", include("dashboard.urls_parts.mappings")),
    path("", include("dashboard.urls_parts.connections")),
    path("", include("dashboard.urls_parts.agencies")),
    path("", include("dashboard.urls_parts.fleet")),
    path("", include("dashboard.urls_parts.alerts")),
    path("", include("dashboard.urls_parts.users")),
    path("", include("dashboard.urls_parts.catalog")),
    path("", include("dashboard.urls_parts.audit")),
]
