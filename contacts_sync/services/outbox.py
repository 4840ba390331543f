"""GHL changes -> your app: the outbox of outgoing webhooks (recipe `ghl_changes_to_custom_app`).

1. `outbox_feed_events` (the inbox drain, in the transaction that routes a batch; `outbox_feed` for one event in
   tasks.inbound_event_process_task): a contact, task, note or appointment event of a location becomes one
   WebhookDelivery per enabled sync of this recipe reading that location, once (unique per endpoint and GHL event
   id), its `data` mapped by the sync's mapping version.
2. `endpoint_flush` (Celery, per endpoint, one sender at a time): sends the due deliveries oldest first, each
   attempt logged (WebhookAttempt); failures are retried on the Standard Webhooks schedule with jitter
   (connectors/custom/outgoing.py), Retry-After honoured; 4xx other than 408/429 are permanent.
3. A 410, or DISABLE_AFTER permanent failures in a row, disables the endpoint: its undelivered events are held,
   the sync turns failing (one alert through the status-change machinery). `endpoint_enable` (a person) resumes.
4. `delivery_replay_request` (an admin, audited) sends one delivery again.
The pull side (the changes feed) is services/changes_feed.py.
"""

from __future__ import annotations

import hashlib
import logging
import secrets as pysecrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from celery import current_app
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from contacts_sync.apiclient.outbound import UnsafeURLError, safe_session, url_check
from contacts_sync.apiclient.signatures import standard_secret_generate
from contacts_sync.connectors.custom import outgoing
from contacts_sync.connectors.ghl import webhooks as ghl_webhooks
from contacts_sync.mapping import MappingContext, apply
from contacts_sync.models import (
    DeliveryStatus,
    EventStatus,
    InboundEvent,
    Provider,
    Sync,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from contacts_sync.services.audit import audit_record
from contacts_sync.services.inbox import parse_json
from contacts_sync.services.status import sync_delivery_health_set

log = logging.getLogger(__name__)

OUTBOX_RECIPE = "ghl_changes_to_custom_app"
# The kinds of GHL change a sync of that recipe forwards (its option `kinds` narrows them; absent = all).
FORWARDED_KINDS = outgoing.KINDS
# Permanent refusals in a row (4xx, or retries used up) after which the endpoint is disabled; a 410 disables at
# once (the standard: "410 => disable the endpoint").
DISABLE_AFTER = 5
# A retry due within this long is a countdown task; later ones are found by the once-a-minute sweep (Redis
# redelivers ETA tasks older than its visibility timeout, so hours-long countdowns are not handed to Celery).
COUNTDOWN_MAX_SECONDS = 120
FLUSH_TASK = "contacts_sync.tasks.webhook_endpoint_flush_task"
REPLAY_TASK = "contacts_sync.tasks.webhook_delivery_replay_task"
# pg_try_advisory_lock(class, endpoint id): one sender per endpoint across every worker.
LOCK_CLASS = 7_400_001
# One flush sends at most this many deliveries, then hands over to a new task (at 15 s per slow answer, well
# inside a task's time limit); the rest stay due.
MAX_PER_FLUSH = 200
OPEN = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
WEBHOOK_DATA = MappingContext(target_provider="custom", target_object="webhook")


@dataclass(frozen=True)
class EndpointSecrets:
    """Shown once, when created or rotated; afterwards only their existence is shown."""

    signing_secret: str
    feed_token: str


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_secrets() -> EndpointSecrets:
    return EndpointSecrets(standard_secret_generate(), "cfeed_" + pysecrets.token_urlsafe(32))


class EndpointURLError(ValueError):
    """A receiver URL this service will not call; the message is shown on the form."""


def endpoint_url_clean(url: str) -> str:
    """An http(s) URL to a public address (or an allowlisted local one): checked like every URL a user types."""
    url = (url or "").strip()
    if not url.startswith(("https://", "http://")):
        raise EndpointURLError("the receiver URL must start with https:// (or http:// for a local test app)")
    try:
        return url_check(url)
    except UnsafeURLError as exc:
        raise EndpointURLError(f"receiver URL refused: {exc}") from None


def endpoint_create(*, sync: Sync, url: str, user: Any = None) -> tuple[WebhookEndpoint, EndpointSecrets]:
    """The sync's receiver URL with a new whsec_ signing secret and changes-feed token (returned to show once)."""
    if sync.recipe != OUTBOX_RECIPE:
        raise ValueError(f"sync {sync.pk} is not a '{OUTBOX_RECIPE}' sync")
    url = endpoint_url_clean(url)
    made = _new_secrets()
    endpoint = WebhookEndpoint.objects.create(
        sync=sync,
        url=url,
        secrets={"signing_secret": made.signing_secret, "feed_token": made.feed_token},
        feed_token_sha256=token_digest(made.feed_token),
    )
    audit_record(actor=user, action="webhook_endpoint.create", obj=endpoint, changes={"url": url})
    return endpoint, made


def endpoint_secrets_rotate(*, endpoint: WebhookEndpoint, user: Any = None) -> EndpointSecrets:
    made = _new_secrets()
    endpoint.secrets = {"signing_secret": made.signing_secret, "feed_token": made.feed_token}
    endpoint.feed_token_sha256 = token_digest(made.feed_token)
    endpoint.save(update_fields=["secrets", "feed_token_sha256", "updated_at"])
    audit_record(actor=user, action="webhook_endpoint.rotate", obj=endpoint, changes={"secrets": "rotated"})
    return made


def _enqueue_flush(endpoint_id: int, countdown: float | None = None) -> None:
    def send() -> None:
        try:  # by name: tasks sit above services (import-linter)
            current_app.send_task(FLUSH_TASK, args=[endpoint_id], countdown=countdown)
        except Exception:  # noqa: BLE001 - a broker hiccup: the once-a-minute sweep sends it
            log.warning("webhook flush not enqueued endpoint=%s; the sweep will", endpoint_id)

    transaction.on_commit(send)


# --- 1. events into the outbox ---------------------------------------------------------------------------


def _event_time(payload: dict[str, Any], event: InboundEvent) -> str:
    at = ghl_webhooks.parse_timestamp(payload.get("timestamp")) or event.received_at
    return at.isoformat().replace("+00:00", "Z")


def _delivery_for(sync: Sync, event: InboundEvent, payload: dict[str, Any], kind: str) -> WebhookDelivery | None:
    endpoint: WebhookEndpoint | None = getattr(sync, "webhook_endpoint", None)
    if endpoint is None or kind not in (sync.options.get("kinds") or outgoing.KINDS):
        return None
    msg_id, status, error, data = f"msg_{uuid.uuid4().hex}", DeliveryStatus.PENDING, "", {}
    record = ghl_webhooks.event_record(payload, kind)
    if record is None:
        status, error = DeliveryStatus.INVALID, f"the GHL {event.event_type} event carries no record id"
    else:
        # the target's field specs clean the values (control characters, types) as for any other target
        result = apply(record, sync.mapping_version.rules if sync.mapping_version else [], context=WEBHOOK_DATA)
        if result.ok:
            data = result.payload
        else:
            status, error = DeliveryStatus.INVALID, f"mapping: {result.reasons()}"
    if status == DeliveryStatus.PENDING and not endpoint.enabled:
        status = DeliveryStatus.HELD
    body = outgoing.body_of(
        msg_id=msg_id,
        ghl_type=event.event_type,
        timestamp=_event_time(payload, event),
        data=data,
        location_id=event.account_id,
    )
    try:
        with transaction.atomic():
            return WebhookDelivery.objects.create(
                endpoint=endpoint,
                event_key=event.event_id,
                msg_id=msg_id,
                event_type=outgoing.event_type(event.event_type),
                body=body,
                status=status,
                last_error=error[:500],
            )
    except IntegrityError:
        return None  # this event is in this endpoint's outbox already (a retried task, a replayed webhook)


def _outboxes() -> Any:
    return Sync.objects.filter(recipe=OUTBOX_RECIPE, enabled=True, source_connection__provider=Provider.GHL)


def outbox_feed_events(*, event_ids: list[int]) -> int:
    """outbox_feed for a batch the inbox drain routed: one query for the whole batch where no sync forwards
    changes (most installations), else one for the syncs and one for the events, whatever the batch's size.
    Returns the number of deliveries made."""
    if not event_ids:
        return 0
    by_account: dict[str, list[Sync]] = {}
    for sync in _outbox_syncs(_outboxes()):
        by_account.setdefault(sync.source_connection.external_account_id, []).append(sync)
    if not by_account:
        return 0
    events = InboundEvent.objects.filter(
        pk__in=event_ids, provider=Provider.GHL, account_id__in=list(by_account)
    ).order_by("pk")
    made: list[WebhookDelivery] = []
    for event in events:
        try:
            with transaction.atomic():  # a savepoint: one event's bug costs that event's forwarding only
                made += _feed(event, by_account[event.account_id])
        except (OperationalError, InterfaceError):
            raise  # the database is away: the caller's transaction (the drain's batch) is tried again whole
        except Exception as exc:  # logged; the event says why it was not forwarded, the batch goes on
            # (a bug, or a row the database refuses: retrying the whole batch would block every webhook behind it)
            log.exception("outbox: event %s could not be forwarded", event.pk)
            InboundEvent.objects.filter(pk=event.pk).update(
                status=EventStatus.FAILED,
                error=f"Not forwarded to the webhook endpoints: {type(exc).__name__}: {exc}"[:2000],
            )
    _flush_pending(made)
    return len(made)


def outbox_feed(*, event_id: int) -> list[int]:
    """Put one stored GHL event into the outbox of every endpoint it concerns; the new delivery ids.

    Runs for every GHL webhook: where no sync of this recipe exists (most installations) it costs one query."""
    outboxes = _outboxes()
    if not outboxes.exists():
        return []
    event = InboundEvent.objects.filter(pk=event_id, provider=Provider.GHL).first()
    if event is None:
        return []
    made = _feed(event, _outbox_syncs(outboxes.filter(source_connection__external_account_id=event.account_id)))
    _flush_pending(made)
    return [d.pk for d in made]


def _outbox_syncs(outboxes: Any) -> list[Sync]:
    return list(outboxes.select_related("webhook_endpoint", "mapping_version", "source_connection").order_by("pk"))


def _feed(event: InboundEvent, syncs: list[Sync]) -> list[WebhookDelivery]:
    """The deliveries of one event to the endpoints of `syncs` (the outbox syncs of the event's location)."""
    if not syncs or not outgoing.event_type(event.event_type):
        return []
    payload = parse_json(event.body.encode())
    if not isinstance(payload, dict):
        return []
    kind = ghl_webhooks.object_kind(event.event_type)
    made = [d for sync in syncs if (d := _delivery_for(sync, event, payload, kind)) is not None]
    if made:  # the inbox found no run to start for it; forwarding it is what processed it
        InboundEvent.objects.filter(pk=event.pk, status=EventStatus.IGNORED).update(
            status=EventStatus.PROCESSED, error=f"forwarded to {len(made)} webhook endpoint(s)"
        )
    return made


def _flush_pending(made: list[WebhookDelivery]) -> None:
    for endpoint_id in {d.endpoint_id for d in made if d.status == DeliveryStatus.PENDING}:
        _enqueue_flush(endpoint_id)


# --- 2. sending --------------------------------------------------------------------------------------------


def _locked(endpoint_id: int) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, endpoint_id])
        return bool(cur.fetchone()[0])


def _unlock(endpoint_id: int) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, endpoint_id])


def _due(endpoint_id: int, now: datetime) -> Q:
    return Q(endpoint_id=endpoint_id, status__in=OPEN) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))


def endpoint_flush(*, endpoint_id: int, session: requests.Session | None = None) -> float | None:
    """Send this endpoint's due deliveries, oldest first; the seconds until its next scheduled retry (or None).
    Another worker already sending for this endpoint: nothing to do here (it drains the same rows)."""
    if not _locked(endpoint_id):
        return None
    http = session or safe_session()
    sent = 0
    try:
        while sent < MAX_PER_FLUSH:
            endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True).first()
            due = WebhookDelivery.objects.filter(_due(endpoint_id, timezone.now())).order_by("pk").first()
            if endpoint is None or due is None:
                break
            _attempt(endpoint, due, http)
            sent += 1
    finally:
        _unlock(endpoint_id)
        if session is None:
            http.close()
    if sent >= MAX_PER_FLUSH:
        return 0.0  # more are due: the task goes on at once, as a new message
    soonest = WebhookDelivery.objects.filter(
        endpoint_id=endpoint_id, status=DeliveryStatus.RETRYING, endpoint__enabled=True
    ).aggregate(at=Min("next_attempt_at"))["at"]
    return max(0.0, (soonest - timezone.now()).total_seconds()) if soonest else None


def _attempt(
    endpoint: WebhookEndpoint, delivery: WebhookDelivery, http: requests.Session, *, replay: bool = False
) -> WebhookAttempt:
    sent = outgoing.send(
        http,
        url=endpoint.url,
        secret=str(endpoint.secrets.get("signing_secret") or ""),
        msg_id=delivery.msg_id,
        body=delivery.body,
    )
    now = timezone.now()
    with transaction.atomic():
        row = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        row.attempts += 1
        attempt = WebhookAttempt.objects.create(
            delivery=row,
            number=row.attempts,
            status_code=sent.status_code,
            latency_ms=sent.latency_ms,
            error=sent.error,
            replay=replay,
        )
        row.last_error = sent.error
        fields = ["attempts", "last_error", "status", "next_attempt_at", "delivered_at"]
        if sent.outcome == "delivered":
            row.status, row.delivered_at, row.next_attempt_at = DeliveryStatus.DELIVERED, now, None
        elif not replay:  # a person's replay that fails changes neither the schedule nor the endpoint
            wait = outgoing.retry_delay(row.attempts, sent.retry_after) if sent.outcome == "retry" else None
            if wait is not None:
                row.status, row.next_attempt_at = DeliveryStatus.RETRYING, now + timedelta(seconds=wait)
            else:
                row.status, row.next_attempt_at = DeliveryStatus.FAILED, None
                if sent.outcome == "retry":
                    row.last_error = f"gave up after {row.attempts} attempts; last: {sent.error}"[:500]
        row.save(update_fields=fields)
    _after_attempt(endpoint.pk, row, sent, replay)
    return attempt


def _after_attempt(endpoint_id: int, row: WebhookDelivery, sent: outgoing.Sent, replay: bool) -> None:
    """The endpoint's failure count, its auto-disable, and the sync's health."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().select_related("sync").get(pk=endpoint_id)
        if sent.outcome == "delivered":
            if endpoint.consecutive_failures:
                endpoint.consecutive_failures = 0
                endpoint.save(update_fields=["consecutive_failures", "updated_at"])
            healthy = endpoint.enabled and endpoint.sync.health != "healthy"
            if healthy:
                sync_delivery_health_set(sync_id=endpoint.sync_id, healthy=True, reason="Your app accepts webhooks.")
            return
        if replay or row.status != DeliveryStatus.FAILED or not endpoint.enabled:
            return
        endpoint.consecutive_failures += 1
        endpoint.save(update_fields=["consecutive_failures", "updated_at"])
        if sent.outcome == "gone" or endpoint.consecutive_failures >= DISABLE_AFTER:
            why = (
                "your app answered 410 Gone"
                if sent.outcome == "gone"
                else f"{endpoint.consecutive_failures} deliveries in a row failed for good"
            )
            _disable(endpoint, f"Webhooks to your app are disabled: {why} (last: {sent.error})")


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    """Caller holds the endpoint's row lock."""
    endpoint.enabled, endpoint.disabled_at, endpoint.disabled_reason = False, timezone.now(), reason[:500]
    endpoint.save(update_fields=["enabled", "disabled_at", "disabled_reason", "updated_at"])
    held = WebhookDelivery.objects.filter(endpoint=endpoint, status__in=OPEN).update(
        status=DeliveryStatus.HELD, next_attempt_at=None
    )
    log.warning("webhook endpoint %s disabled (%d deliveries held): %s", endpoint.pk, held, reason)
    sync_delivery_health_set(sync_id=endpoint.sync_id, healthy=False, reason=reason)


def endpoint_enable(*, endpoint: WebhookEndpoint, user: Any = None) -> int:
    """A person re-enables the endpoint: held deliveries are sent again, oldest first; how many."""
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if locked.enabled:
            return 0
        locked.enabled, locked.consecutive_failures, locked.disabled_at = True, 0, None
        locked.disabled_reason = ""
        locked.save(update_fields=["enabled", "consecutive_failures", "disabled_at", "disabled_reason", "updated_at"])
        resumed = WebhookDelivery.objects.filter(endpoint=locked, status=DeliveryStatus.HELD).update(
            status=DeliveryStatus.PENDING, next_attempt_at=None
        )
        audit_record(actor=user, action="webhook_endpoint.enable", obj=locked, changes={"resumed": resumed})
        sync_delivery_health_set(
            sync_id=locked.sync_id,
            healthy=True,
            reason=f"Webhooks re-enabled by a person; {resumed} held event(s) resent.",
        )
        _enqueue_flush(locked.pk)
    return resumed


def delivery_replay_request(*, delivery: WebhookDelivery, user: Any) -> None:
    """An admin sends one delivery again (same webhook-id, new timestamp and signature); audited."""
    with transaction.atomic():
        audit_record(
            actor=user,
            action="webhook_delivery.replay",
            obj=delivery,
            changes={"msg_id": delivery.msg_id, "status": delivery.status},
        )
        transaction.on_commit(lambda: current_app.send_task(REPLAY_TASK, args=[delivery.pk]))


def delivery_replay(*, delivery_id: int, session: requests.Session | None = None) -> WebhookAttempt | None:
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status == DeliveryStatus.INVALID:
        return None
    http = session or safe_session()
    try:
        return _attempt(delivery.endpoint, delivery, http, replay=True)
    finally:
        if session is None:
            http.close()


# Deliveries (and their attempt log) are kept this long; the changes feed reaches back as far. Held and open
# ones are never pruned: they still have to reach the app.
DELIVERY_RETENTION = timedelta(days=30)


def deliveries_prune(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - DELIVERY_RETENTION
    old = WebhookDelivery.objects.filter(created_at__lt=cutoff).exclude(status__in=(*OPEN, DeliveryStatus.HELD))
    return old.delete()[0]


def deliveries_due_sweep(*, now: datetime | None = None) -> list[int]:
    """The endpoints with due deliveries (retries whose time came, messages lost to a broker restart): each gets
    a flush task. Beat, once a minute."""
    now = now or timezone.now()
    ids = sorted(
        set(
            WebhookDelivery.objects.filter(
                Q(status__in=OPEN, endpoint__enabled=True)
                & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            ).values_list("endpoint_id", flat=True)
        )
    )
    for endpoint_id in ids:
        _enqueue_flush(endpoint_id)
    return ids
