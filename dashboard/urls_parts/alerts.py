from __future__ import annotations

from django.urls import path

from dashboard.views import alert_rules, alerts, channels

urlpatterns = [
    path("alerts/", alerts.alert_list, name="alert_list"),
    path("alerts/<int:alert_id>/acknowledge", alerts.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:alert_id>/resolve", alerts.alert_resolve, name="alert_resolve"),
    path("alerts/rules/", alert_rules.alert_rule_list, name="alert_rule_list"),
    path("alerts/rules/<int:sync_id>/", alert_rules.alert_rule_edit, name="alert_rule_edit"),
    path("alerts/rules/<int:sync_id>/mute", alert_rules.alert_rule_mute, name="alert_rule_mute"),
    path("alerts/rules/<int:sync_id>/unmute", alert_rules.alert_rule_unmute, name="alert_rule_unmute"),
    path("alerts/channels/", channels.channel_list, name="channel_list"),
    path("alerts/channels/<int:channel_id>/test", channels.channel_test, name="channel_test"),
    path("alerts/channels/<int:channel_id>/toggle", channels.channel_toggle, name="channel_toggle"),
    path("alerts/channels/<int:channel_id>/delete", channels.channel_delete, name="channel_delete"),
]
