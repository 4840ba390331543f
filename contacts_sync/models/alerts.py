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


class NotificationPurpose(models.TextChoices):
    OPENED = "opened", "Opened"
    ESCALATED = "escalated", "Escalated"
    REMINDER = "reminder", "Reminder"
    LATE = "late", "Delivered late"  # held while muted or while no channel was enabled
    RECOVERED = "recovered", "Recovered"
    TEST = "test", "Test"


class Notification(models.Model):
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="notifications")
    status_change = models.ForeignKey(
        StatusChange, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    # The alert this send was about: an alert's deliveries span several changes (opened, escalated, reminders).
    alert = models.ForeignKey("Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications")
    purpose = models.CharField(max_length=16, choices=NotificationPurpose.choices, default=NotificationPurpose.OPENED)
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
    title = models.CharField(max_length=300)  # what happened, in words (alerts.wording)
    detail = models.TextField(blank=True)  # the technical reason underneath (an error message, counts)
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
    # Why its announcement waits (muted, no enabled channel); the alert sweep delivers it once it may.
    held_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-opened_at"]


class AlertRule(models.Model):
    """One sync's alert policy (healthchecks' and Hightouch's knobs). A sync without a row uses the defaults of
    contacts_sync.alerts.rules; services.alert_rules reads and writes these rows."""

    sync = models.OneToOneField(Sync, on_delete=models.CASCADE, related_name="alert_rule")
    # degraded when more than this share of a run's records failed
    failed_share_percent = models.PositiveSmallIntegerField(default=5)
    # failing after this many failed runs in a row
    failing_after_runs = models.PositiveSmallIntegerField(default=1)
    # stale after this long without a successful run; None = three polling intervals (polling syncs only)
    stale_after_hours = models.PositiveIntegerField(null=True, blank=True)
    # degraded when a run takes longer than this; None = no limit
    slow_run_minutes = models.PositiveIntegerField(null=True, blank=True)
    # remind every this many hours while the alert stays open and unacknowledged; None = tell once
    renotify_hours = models.PositiveIntegerField(null=True, blank=True)
    # nothing is sent before this moment (the alert is still opened and shown); None = not muted
    muted_until = models.DateTimeField(null=True, blank=True)
    muted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # where this sync's alerts go; none chosen = every enabled channel
    channels = models.ManyToManyField(AlertChannel, blank=True, related_name="rules")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"alert rule of {self.sync}"
