"""Outgoing webhooks to your app (the "GHL changes -> your app" flow): where they go, the outbox of events, and the
log of every delivery attempt. services/outbox.py writes them; the delivery task sends them."""

from __future__ import annotations

from django.db import models

from .fields import EncryptedJSONField
from .syncs import Sync


class WebhookEndpoint(models.Model):
    """Your app's receiver for one sync: its URL, signing secret and changes-feed token (encrypted, shown once)."""

    sync = models.OneToOneField(Sync, on_delete=models.CASCADE, related_name="webhook_endpoint")
    url = models.URLField(max_length=500)
    # {"signing_secret": "whsec_...", "feed_token": "..."}: never rendered back after creation.
    secrets = EncryptedJSONField(blank=True, default=dict)
    # The changes feed finds its endpoint by the SHA-256 of the bearer token (the token itself is encrypted).
    feed_token_sha256 = models.CharField(max_length=64, unique=True)
    enabled = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)  # permanent failures in a row
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"webhook endpoint of sync {self.sync_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"  # a permanent refusal (4xx other than 408/429, 410) or retries exhausted
    HELD = "held", "Held"  # the endpoint was disabled: kept, sent again when it is re-enabled
    INVALID = "invalid", "Invalid"  # the GHL event could not become a payload (no record id, mapping): never sent


class WebhookDelivery(models.Model):
    """The outbox: one row per GHL event per endpoint (idempotent on GHL's event id). `body` is the exact JSON
    signed and sent, and what the changes feed returns; `msg_id` is the webhook-id, stable across retries."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_key = models.CharField(max_length=200)  # GHL's webhookId (or the body hash when it has none)
    msg_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=100)  # "contact.updated", "task.created", ...
    body = models.TextField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_key"], name="webhook_delivery_once")]
        indexes = [models.Index(fields=["endpoint", "id"], name="webhook_delivery_feed")]


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery: what the app answered, how long it took, why it failed."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # null: no answer (timeout, refused)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    replay = models.BooleanField(default=False)  # sent again by a person from the delivery log
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
