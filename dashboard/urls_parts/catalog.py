from __future__ import annotations

from django.urls import path

from dashboard.views import catalog

urlpatterns = [
    path("catalog/", catalog.catalog, name="catalog"),
]
