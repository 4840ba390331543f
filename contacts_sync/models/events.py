from __future__ import annotations

from django.db import models
from django.db.models import Q

from .connections import Connection


class EventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"
    FAILED = "failed", "Failed"


class InboundEvent(models.Model):
    """A webhook as received, stored before anything else happens."""

    provider = models.CharField(max_length=32)
    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100, blank=True)
    account_id = models.CharField(max_length=200, blank=True)  # GHL locationId, Hubstaff organization id
    headers = models.JSONField(default=dict, blank=True)  # signature headers removed
    body = models.TextField()  # the raw body as received
    status = models.CharField(max_length=16, choices=EventStatus.choices, default=EventStatus.PENDING)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="inbound_event_dedupe")]
        indexes = [
            # the drain and the sweeper read the pending events oldest first; they are few among millions
            models.Index(fields=["id"], condition=Q(status="pending"), name="inbound_event_pending"),
        ]
