from __future__ import annotations

from django.urls import path

from dashboard.views import audit

urlpatterns = [
    path("audit/", audit.audit_list, name="audit_list"),
    path("audit/export.csv", audit.audit_export, name="audit_export"),
]
