from __future__ import annotations

from django.urls import path

from dashboard.views import connections as views

urlpatterns = [
    path("connections/", views.connection_list, name="connection_list"),
    path("connections/add/", views.connection_add, name="connection_add"),
    path("connections/add/<slug:kind>/", views.connection_create, name="connection_create"),
    path("connections/highlevel/connect/", views.ghl_connect, name="ghl_connect"),
    path("connections/highlevel/callback/", views.ghl_oauth_callback, name="ghl_oauth_callback"),
    path("connections/<int:pk>/", views.connection_detail, name="connection_detail"),
    path("connections/<int:pk>/edit/", views.connection_edit, name="connection_edit"),
    path("connections/<int:pk>/test/", views.connection_test, name="connection_test"),
    path("connections/<int:pk>/disconnect/", views.connection_disconnect, name="connection_disconnect"),
    path(
        "connections/<int:pk>/webhook-secret/",
        views.connection_webhook_secret,
        name="connection_webhook_secret",
    ),
]
