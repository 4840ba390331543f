"""The delivery log of a "GHL changes -> your app" sync (services/outbox.py): its endpoint, counts per status,
and the latest deliveries with their attempts, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Max, Prefetch

from contacts_sync.models import DeliveryStatus, Sync, WebhookAttempt, WebhookDelivery, WebhookEndpoint

LOG_SIZE = 50  # deliveries shown, newest first; older ones are in the changes feed


@dataclass
class DeliveryLog:
    sync: Sync
    endpoint: WebhookEndpoint | None
    counts: dict[str, int] = field(default_factory=dict)
    deliveries: list[WebhookDelivery] = field(default_factory=list)
    token: str = ""


def delivery_token(*, sync_id: int) -> str:
    """Changes whenever the log would show something new (an attempt, a new event, the endpoint's state)."""
    row = (
        WebhookEndpoint.objects.filter(sync_id=sync_id)
        .annotate(last_delivery=Max("deliveries__pk"), last_attempt=Max("deliveries__attempt_log__pk"))
        .values("pk", "enabled", "updated_at", "last_delivery", "last_attempt")
        .first()
    )
    if row is None:
        return "none"
    return f"{row['pk']}-{int(row['enabled'])}-{row['updated_at']:%s%f}-{row['last_delivery']}-{row['last_attempt']}"


def delivery_log(*, sync: Sync, limit: int = LOG_SIZE) -> DeliveryLog:
    endpoint = WebhookEndpoint.objects.filter(sync=sync).first()
    log = DeliveryLog(sync=sync, endpoint=endpoint, token=delivery_token(sync_id=sync.pk))
    if endpoint is None:
        return log
    counts = dict(
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    log.counts = {value: counts.get(value, 0) for value, _ in DeliveryStatus.choices}
    attempts = Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("-number", "-pk"))
    log.deliveries = list(
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .order_by("-pk")
        .defer("body")
        .prefetch_related(attempts)[:limit]
    )
    return log


def delivery_get(*, sync_id: int, delivery_id: int) -> WebhookDelivery | None:
    return WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id, endpoint__sync_id=sync_id).first()
