from __future__ import annotations

from django.urls import path

from dashboard.views import fleet, sync_templates

urlpatterns = [
    path("fleet/", fleet.fleet, name="fleet"),
    path("templates/", sync_templates.template_list, name="template_list"),
    path("templates/new/", sync_templates.template_create, name="template_create"),
    path("templates/<int:pk>/", sync_templates.template_detail, name="template_detail"),
    path("templates/<int:pk>/mapping/", sync_templates.template_mapping, name="template_mapping"),
    path("templates/<int:pk>/settings/", sync_templates.template_settings, name="template_settings"),
    path("templates/<int:pk>/apply/", sync_templates.template_apply, name="template_apply"),
    path("templates/<int:pk>/pause/", sync_templates.template_pause, name="template_pause"),
    path("templates/<int:pk>/locations/<int:member_id>/", sync_templates.template_member, name="template_member"),
]
