from __future__ import annotations

from django.conf import settings
from django.db import models

from .connections import Connection
from .fields import EncryptedJSONField
from .syncs import Sync


class Component(models.TextChoices):
    """Background processes whose absence stops every sync (no sync or connection of their own)."""

    WORKER = "worker", "Celery workers"
    BEAT = "beat", "Celery beat"


class ComponentStatus(models.TextChoices):
    UP = "up", "Up"
    DOWN = "down", "Down"


class StatusChange(models.Model):
    """A sync's, connection's or background component's health moving from one state to another (healthchecks'
    flip). A component change (Celery workers, beat) has neither sync nor connection."""

    sync = models.ForeignKey(Sync, null=True, blank=True, on_delete=models.CASCADE, related_name="status_changes")
    component = models.CharField(max_length=16, blank=True, choices=Component.choices)
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.CASCADE, related_name="status_changes"
    )
    old_status = models.CharField(max_length=32)
    new_status = models.CharField(max_length=32)
    reason = models.CharField(max_length=500, blank=True)
    run = models.ForeignKey("Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed = models.DateTimeField(null=True, blank=True)  # set by the sender's conditional UPDATE claim

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["processed"], condition=models.Q(processed__isnull=True), name="status_change_todo")
        ]


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    SLACK = "slack", "Slack"
    WEBHOOK = "webhook", "Signed webhook"


class AlertChannel(models.Model):
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    target = models.CharField(max_length=500)  # email address(es) or URL; a Slack URL is a secret -> secrets
    secrets = EncryptedJSONField(blank=True, default=dict)  # slack webhook URL, webhook signing secret
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    last_notify_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="notifications")
    status_change = models.ForeignKey(
        StatusChange, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    is_test = models.BooleanField(default=False)
    ok = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Alert(models.Model):
    """What a team acknowledges and resolves: opened by a bad status change, resolved on recovery."""

    sync = models.ForeignKey(Sync, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    component = models.CharField(max_length=16, blank=True, choices=Component.choices)
    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts")
    opened_by = models.ForeignKey(StatusChange, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=300)
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OPEN)
    opened_at = models.DateTimeField(auto_now_add=True, db_index=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # when channels were last told about this alert; suppressed = reopened inside the flap
    # window without notifying, so its recovery is not announced either.
    last_notified_at = models.DateTimeField(null=True, blank=True)
    suppressed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-opened_at"]
