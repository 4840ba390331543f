from __future__ import annotations

from django.urls import path

from dashboard.views import charts, overview, run_items, runs

urlpatterns = [
    path("status/poll", overview.overview_poll, name="overview_poll"),
    path("runs/", runs.run_list, name="run_list"),
    path("runs/poll", runs.run_list_poll, name="run_list_poll"),
    path("runs/<int:run_id>/", runs.run_detail, name="run_detail"),
    path("runs/<int:run_id>/poll", runs.run_poll, name="run_poll"),
    path("runs/<int:run_id>/retry", runs.run_retry, name="run_retry"),
    path("runs/<int:run_id>/cancel", runs.run_cancel, name="run_cancel"),
    path("runs/<int:run_id>/items/acknowledge", run_items.run_items_acknowledge, name="run_items_acknowledge"),
    path("runs/<int:run_id>/items/replay", run_items.run_items_replay, name="run_items_replay"),
    path("runs/<int:run_id>/items.csv", run_items.run_items_csv, name="run_items_csv"),
    path("syncs/<int:sync_id>/chart", charts.sync_chart, name="sync_chart"),
]
