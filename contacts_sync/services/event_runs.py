"""Stored webhook events become runs of the syncs they concern (the drain task, inbound_events_drain_task).

Events coalesce. Routing an event (which syncs does it concern?) leaves one `SyncEvent` row per sync it concerns
and asks for a webhook run of that sync; when the sync already has a queued or running run, nothing waits and
nothing fails: the next run of the sync claims every waiting row when it starts (and keeps claiming until none is
left), and a run that ends while rows still wait asks for the next one (services/runs.py). A GHL source syncs the
records the events carry (the latest of each); other apps read their source once for all the events that waited.
So a bulk import's 10,000 webhooks make a handful of runs, and an event for a sync inside a 3-hour first sync is
taken by the run that follows it. Events that no enabled sync reads, or whose record cannot pass the sync's
filter, are marked ignored.

Ingest publishes no message per event: the inbox row is the durable record, and the first event after a drain
started sends one drain message (a Redis SET NX key, `services/inbox_kick.py`); the sweeper (beat, every
minute) sends one for events still pending after SWEEP_AFTER whatever happened to the broker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from contacts_sync.connectors import registry
from contacts_sync.models import (
    ACTIVE_RUN_STATUSES,
    EventStatus,
    InboundEvent,
    Provider,
    Run,
    RunTrigger,
    Sync,
    SyncEvent,
)
from contacts_sync.services import agency_events
from contacts_sync.services.audit import audit_record
from contacts_sync.services.inbox import parse_json
from contacts_sync.services.inbox_kick import drain_kick, drain_kick_reset
from contacts_sync.services.outbox import outbox_feed_events
from contacts_sync.services.runs import run_enqueue
from contacts_sync.sync.recipes import recipe_for, record_passes_filter

log = logging.getLogger(__name__)

# A webhook run starts this long after the event that asked for it, so the events of a burst arriving meanwhile
# join it (one run takes them all); seconds of delay for a record, against one run per event.
COALESCE_SECONDS = 2
# Events routed per transaction by the drain (one SELECT ... FOR UPDATE SKIP LOCKED, one INSERT of their rows).
DRAIN_BATCH = 500


def event_object_kind(event: InboundEvent) -> str:
    """The object kind a sync must read for this event, from the app's declared event types."""
    hooks = registry.spec(event.provider).webhook if event.provider in registry.APPS else None
    return hooks.object_kind(event.event_type) if hooks is not None else ""


def event_syncs(event: InboundEvent, object_kind: str) -> list[Sync]:
    """The enabled syncs with a webhook trigger that read this event's account and object."""
    qs = Sync.objects.filter(enabled=True, webhook_trigger=True, source_object=object_kind)
    if event.provider == Provider.GHL:
        qs = qs.filter(
            source_connection__provider=Provider.GHL, source_connection__external_account_id=event.account_id
        )
    else:
        qs = qs.filter(source_connection_id=event.connection_id)
    return list(qs.select_related("source_connection").order_by("pk"))


@dataclass
class ProcessOutcome:
    status: str  # an EventStatus value
    reason: str = ""
    runs: list[int] = field(default_factory=list)


def _tagged_record(event: InboundEvent) -> dict[str, Any] | None:
    """The GHL event's own record when it carries tags (what a recipe filter needs), else None."""
    if event.provider != Provider.GHL:
        return None
    payload = parse_json(event.body.encode())
    return payload if isinstance(payload, dict) and "tags" in payload else None


def _concerns(sync: Sync, record: dict[str, Any] | None) -> bool:
    """False when the event's record cannot pass the sync's recipe filter (an untagged contact for the
    critical-contact recipe): no run is needed. Events that carry no tags let the run decide."""
    return record is None or record_passes_filter(recipe_for(sync.recipe), sync.options or {}, record)


def _finish(event: InboundEvent, status: str, reason: str) -> None:
    InboundEvent.objects.filter(pk=event.pk).update(status=status, error=reason[:2000], processed_at=timezone.now())


def _named(syncs: list[Sync], most: int = 3) -> str:
    """The syncs an event outcome names, as a person reads them: 'sync “Clients” (#5)', at most `most` of them."""
    names = ", ".join(f"“{s.name}” (#{s.pk})" for s in syncs[:most])
    more = f" and {len(syncs) - most} more" if len(syncs) > most else ""
    return f"{'sync' if len(syncs) == 1 else 'syncs'} {names}{more}"


class _Router:
    """Routes events to the syncs they concern; caches the sync lookup per (app, account, object) for a batch."""

    def __init__(self) -> None:
        self._syncs: dict[tuple[str, str, int | None, str], list[Sync]] = {}
        self.rows: list[SyncEvent] = []
        self.touched: dict[int, Sync] = {}

    def route(self, event: InboundEvent) -> tuple[str, str]:
        """(status, reason) for one event; the rows for the syncs it concerns are collected in self.rows."""
        kind = event_object_kind(event)
        if not kind:
            return EventStatus.IGNORED, f"event type {event.event_type or '(none)'!r} does not feed syncs"
        key = (event.provider, event.account_id, event.connection_id, kind)
        if key not in self._syncs:
            self._syncs[key] = event_syncs(event, kind)
        candidates = self._syncs[key]
        record = _tagged_record(event) if candidates else None
        syncs = [sync for sync in candidates if _concerns(sync, record)]
        if not syncs:
            reason = (
                f"no enabled sync with a webhook trigger reads {kind} from account {event.account_id or '?'}"
                if not candidates
                else f"the record does not match the filter of {_named(candidates)}"
            )
            return EventStatus.IGNORED, reason
        for sync in syncs:
            self.rows.append(SyncEvent(sync=sync, event=event))
            self.touched[sync.pk] = sync
        return EventStatus.PROCESSED, f"queued for the next run of {_named(syncs)}"

    def save_rows(self) -> None:
        SyncEvent.objects.bulk_create(self.rows, ignore_conflicts=True)  # an event routed twice: one row
        self.rows = []

    def start_runs(self) -> list[int]:
        """After the rows are committed: a webhook run for each sync they concern, unless one is active (it
        or the run after it takes them: the ending run asks for the next while rows wait)."""
        started = [run.pk for sync in self.touched.values() if (run := webhook_run_enqueue(sync=sync)) is not None]
        self.touched = {}
        return started


def webhook_run_enqueue(*, sync: Sync) -> Run | None:
    """A webhook run of the sync that takes the events waiting for it; None when a run is active already."""
    return run_enqueue(sync=sync, trigger=RunTrigger.WEBHOOK, countdown=COALESCE_SECONDS)


def inbound_event_process(*, event_id: int) -> ProcessOutcome:
    """Route one stored event (and start the runs it needs); mark it processed (routed) / ignored / failed.

    GHL's app lifecycle events (INSTALL, UNINSTALL, LocationCreate) feed no sync: they connect or disable an
    agency's sub-accounts (services/agency_events.py), outside a transaction since that calls HighLevel.
    """
    kind_row = InboundEvent.objects.filter(pk=event_id).values_list("provider", "event_type").first()
    if kind_row is not None and agency_events.is_lifecycle(InboundEvent(provider=kind_row[0], event_type=kind_row[1])):
        done = agency_events.agency_event_process(event_id=event_id)
        if done is None:
            return ProcessOutcome(status="not pending", reason="not pending")
        return ProcessOutcome(status=done.status, reason=done.reason)
    router = _Router()
    with transaction.atomic():
        event = InboundEvent.objects.select_for_update(skip_locked=True).filter(pk=event_id).first()
        if event is None or event.status != EventStatus.PENDING:
            return ProcessOutcome(status=getattr(event, "status", "missing"), reason="not pending")
        status, reason = router.route(event)
        router.save_rows()
        _finish(event, status, reason)
    return ProcessOutcome(status=status, reason=reason, runs=router.start_runs())


def _drain_batch(router: _Router, after: int) -> list[InboundEvent]:
    """Route up to DRAIN_BATCH pending events with ids above `after` (lifecycle events are left to
    inbound_event_process, one by one, outside the transaction)."""
    with transaction.atomic():
        events = list(
            InboundEvent.objects.select_for_update(skip_locked=True)
            .filter(status=EventStatus.PENDING, pk__gt=after)
            .only("pk", "provider", "event_type", "account_id", "connection_id", "body")
            .order_by("pk")[:DRAIN_BATCH]
        )
        outcomes: dict[tuple[str, str], list[int]] = {}
        for event in events:
            if agency_events.is_lifecycle(event):
                continue
            try:
                outcome = router.route(event)
            except Exception as exc:
                log.exception("routing event %s failed", event.pk)
                outcome = (EventStatus.FAILED, f"{type(exc).__name__}: {exc}")
            outcomes.setdefault(outcome, []).append(event.pk)
        router.save_rows()
        now = timezone.now()
        for (status, reason), ids in outcomes.items():
            InboundEvent.objects.filter(pk__in=ids).update(status=status, error=reason[:2000], processed_at=now)
        # GHL changes -> your app's webhooks, in the transaction that routes the batch: a drain that dies after
        # routing it cannot leave it routed but never forwarded (the events would no longer be pending).
        outbox_feed_events(event_ids=[e.pk for e in events if e.provider == Provider.GHL])
    return events


def inbound_events_drain() -> int:
    """Route every pending event, oldest first, in batches; start the runs they need. Returns how many.

    The kick key is dropped first: an event stored from now on sends a new drain message, one stored before is
    seen by the SELECT below (it committed before its kick found the key)."""
    drain_kick_reset()
    router, after, count = _Router(), 0, 0
    while True:
        events = _drain_batch(router, after)
        if not events:
            return count
        router.start_runs()
        for event in events:
            if agency_events.is_lifecycle(event):
                inbound_event_process(event_id=event.pk)
        after, count = events[-1].pk, count + len(events)


def inbound_event_fail(*, event_id: int, reason: str) -> None:
    """Mark an event failed (the task's last resort on an unexpected error): never left pending silently."""
    InboundEvent.objects.filter(pk=event_id, status=EventStatus.PENDING).update(
        status=EventStatus.FAILED, error=reason[:2000], processed_at=timezone.now()
    )


# Stored webhooks are kept long enough to answer replays as duplicates and to debug a missed change; GHL's
# replay window (timestamp) is 5 minutes and its retries stop after about 70 minutes.
EVENT_RETENTION = timedelta(days=30)
# Failed events are the ones someone may still need to look at.
FAILED_EVENT_RETENTION = timedelta(days=90)


def inbound_events_prune(*, now: datetime | None = None) -> int:
    """Delete old processed/ignored events (and older failed ones); pending events are never deleted."""
    now = now or timezone.now()
    done = InboundEvent.objects.filter(
        status__in=[EventStatus.PROCESSED, EventStatus.IGNORED], received_at__lt=now - EVENT_RETENTION
    )
    failed = InboundEvent.objects.filter(status=EventStatus.FAILED, received_at__lt=now - FAILED_EVENT_RETENTION)
    return done.delete()[0] + failed.delete()[0]


# A webhook still pending this long after it arrived lost its drain message (a broker restart, Redis away when
# it was stored): the sweeper sends one again. Routing is idempotent.
SWEEP_AFTER = timedelta(minutes=3)
SWEEP_BATCH = 500


def inbound_events_sweep(*, now: datetime | None = None) -> list[int]:
    """Beat, every minute: events still pending after SWEEP_AFTER get a drain message; syncs whose routed events
    wait with no active run (their follow-up was lost) get their webhook run. Returns the stranded event ids."""
    now = now or timezone.now()
    ids = list(
        InboundEvent.objects.filter(status=EventStatus.PENDING, received_at__lt=now - SWEEP_AFTER)
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    if ids:
        drain_kick_reset()
        drain_kick()
    waiting = (
        SyncEvent.objects.filter(done=False, run__isnull=True, created_at__lt=now - SWEEP_AFTER)
        .values_list("sync_id", flat=True)
        .distinct()
    )
    idle = Sync.objects.filter(pk__in=waiting, enabled=True).exclude(runs__status__in=ACTIVE_RUN_STATUSES)
    _start(idle)
    return ids


def _start(syncs: Iterable[Sync]) -> None:
    for sync in syncs:
        webhook_run_enqueue(sync=sync)


def inbound_event_retry(*, event: InboundEvent, user: Any) -> bool:
    """Route a failed webhook again (a person fixed the cause, e.g. a mapping or a sub-account): it becomes
    pending and the drain takes it like a new one; audited. False when the event is not failed (anymore)."""
    with transaction.atomic():
        again = InboundEvent.objects.filter(pk=event.pk, status=EventStatus.FAILED).update(
            status=EventStatus.PENDING, error="", processed_at=None
        )
        if again:
            audit_record(
                actor=user,
                action="webhook_event.retry",
                object_type="inbound_event",
                object_id=str(event.pk),
                object_repr=f"{event.provider} {event.event_type or 'event'} {event.event_id}"[:200],
                changes={"error": event.error[:500]},
            )
            transaction.on_commit(drain_kick)
    return bool(again)
