from __future__ import annotations

from django.urls import path

from dashboard.views import connection_lifecycle as lifecycle
from dashboard.views import connections as views

urlpatterns = [
    path("connections/", views.connection_list, name="connection_list"),
    path("connections/add/", views.connection_add, name="connection_add"),
    path("connections/add/<slug:kind>/", views.connection_create, name="connection_create"),
    path("connections/highlevel/connect/", views.ghl_connect, name="ghl_connect"),
    path("connections/highlevel/callback/", views.ghl_oauth_callback, name="ghl_oauth_callback"),
    path("connections/highlevel/pending/<int:grant_id>/", lifecycle.ghl_oauth_pending, name="ghl_oauth_pending"),
    path("connections/<int:pk>/", views.connection_detail, name="connection_detail"),
    path("connections/<int:pk>/edit/", views.connection_edit, name="connection_edit"),
    path("connections/<int:pk>/test/", views.connection_test, name="connection_test"),
    path("connections/<int:pk>/disconnect/", views.connection_disconnect, name="connection_disconnect"),
    path("connections/<int:pk>/delete/", lifecycle.connection_delete, name="connection_delete"),
    path("connections/<int:pk>/archive/", lifecycle.connection_archive, name="connection_archive"),
    path("connections/<int:pk>/unarchive/", lifecycle.connection_unarchive, name="connection_unarchive"),
    path("connections/<int:pk>/clone/", lifecycle.connection_clone, name="connection_clone"),
    path(
        "connections/<int:pk>/webhook-secret/",
        views.connection_webhook_secret,
        name="connection_webhook_secret",
    ),
]
