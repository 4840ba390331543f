from __future__ import annotations

from django.urls import path

from dashboard.views import deliveries, sync_lifecycle, syncs

urlpatterns = [
    path("syncs/", syncs.sync_list, name="sync_list"),
    path("syncs/new/", syncs.sync_create, name="sync_create"),
    path("syncs/<int:sync_id>/", syncs.sync_detail, name="sync_detail"),
    path("syncs/<int:sync_id>/poll", syncs.sync_poll, name="sync_poll"),
    path("syncs/<int:sync_id>/run", syncs.sync_run_now, name="sync_run_now"),
    path("syncs/<int:sync_id>/preview", sync_lifecycle.sync_preview, name="sync_preview"),
    path("syncs/<int:sync_id>/go-live", sync_lifecycle.sync_go_live, name="sync_go_live"),
    path("syncs/<int:sync_id>/archive", sync_lifecycle.sync_archive, name="sync_archive"),
    path("syncs/<int:sync_id>/clone/", sync_lifecycle.sync_clone, name="sync_clone"),
    path("syncs/<int:sync_id>/delete/", sync_lifecycle.sync_delete, name="sync_delete"),
    path("syncs/<int:sync_id>/webhook/register", syncs.sync_webhook_register, name="sync_webhook_register"),
    path("syncs/<int:sync_id>/events/<int:event_id>/retry", syncs.sync_event_retry, name="sync_event_retry"),
    path("syncs/<int:sync_id>/deliveries/", deliveries.delivery_log, name="sync_deliveries"),
    path("syncs/<int:sync_id>/deliveries/endpoint", deliveries.endpoint_setup, name="sync_endpoint_setup"),
    path("syncs/<int:sync_id>/deliveries/enable", deliveries.endpoint_enable, name="sync_endpoint_enable"),
    path(
        "syncs/<int:sync_id>/deliveries/<int:delivery_id>/replay",
        deliveries.delivery_replay,
        name="sync_delivery_replay",
    ),
]
