from __future__ import annotations

from django.urls import path

from dashboard.views import mappings

urlpatterns = [
    path("syncs/<int:sync_id>/mapping/", mappings.mapping_edit, name="mapping_edit"),
    path("syncs/<int:sync_id>/mapping/preview", mappings.mapping_preview, name="mapping_preview"),
    path("syncs/<int:sync_id>/mapping/history/", mappings.mapping_history, name="mapping_history"),
    path(
        "syncs/<int:sync_id>/mapping/versions/<int:version_id>/restore",
        mappings.mapping_restore,
        name="mapping_restore",
    ),
    path("mappings/versions/<int:version_id>/", mappings.mapping_version, name="mapping_version"),
]
