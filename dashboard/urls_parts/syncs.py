from __future__ import annotations

from django.urls import path

from dashboard.views import syncs

urlpatterns = [
    path("syncs/", syncs.sync_list, name="sync_list"),
    path("syncs/new/", syncs.sync_create, name="sync_create"),
    path("syncs/<int:sync_id>/", syncs.sync_detail, name="sync_detail"),
    path("syncs/<int:sync_id>/run", syncs.sync_run_now, name="sync_run_now"),
    path("syncs/<int:sync_id>/webhook/register", syncs.sync_webhook_register, name="sync_webhook_register"),
]
