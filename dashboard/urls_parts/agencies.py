from __future__ import annotations

from django.urls import path

from dashboard.views import agencies as views

urlpatterns = [
    path("connections/agencies/private-token/", views.agency_connect_pit, name="agency_connect_pit"),
    path("connections/agencies/<int:pk>/", views.agency_detail, name="agency_detail"),
    path("connections/agencies/<int:pk>/refresh/", views.agency_refresh, name="agency_refresh"),
    path("connections/agencies/<int:pk>/connect/", views.agency_connect, name="agency_connect"),
    path("connections/agencies/<int:pk>/settings/", views.agency_settings, name="agency_settings"),
    path("connections/agencies/<int:pk>/location-token/", views.agency_location_pit, name="agency_location_pit"),
]
