"""Stored webhook events become runs of the syncs they concern (called by inbound_event_process_task).

A webhook that arrives while the sync's run is already reading waits for that run to end, then triggers its
own; events that no enabled sync reads, or whose record cannot pass the sync's filter, are marked ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contacts_sync.connectors import registry
from contacts_sync.models import EventStatus, InboundEvent, Provider, Run, RunStatus, RunTrigger, Sync
from contacts_sync.services import agency_events
from contacts_sync.services.inbox import enqueue_processing, parse_json
from contacts_sync.services.runs import run_enqueue
from contacts_sync.sync.recipes import recipe_for, record_passes_filter

# A webhook that arrives while the sync's run is already reading waits for that run to end, then triggers
# its own; a long run can last up to the task time limit, so wait about as long before giving up.
ACTIVE_RUN_RETRY_SECONDS = 60
ACTIVE_RUN_MAX_RETRIES = 60


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
    status: str  # an EventStatus value, or "retry" when a sync's run is still reading
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
    InboundEvent.objects.filter(pk=event.pk).update(
        status=status, error=reason[:2000], processed_at=timezone.now()
    )


def _reads_event_only(sync: Sync, run: Run) -> bool:
    """The engine turns a run made for a GHL event into a one-record run (the event's own record, for every
    object kind in ghl.webhooks.EVENT_OBJECTS: sync/sources.py event_page); any other run reads the source
    incrementally from its checkpoint and the sync's change cursor."""
    return run.event_id is not None and sync.source_connection.provider == Provider.GHL


def _covers(sync: Sync, run: Run, event: InboundEvent) -> bool:
    if run.event_id == event.pk:
        return True
    if _reads_event_only(sync, run):
        return False
    # An incremental run covers the change if it had not started reading when the event arrived (a queued run
    # that already started is a continuation between two time slices: it reads on from its cursor).
    return (run.status == RunStatus.QUEUED and run.started_at is None) or run.created_at >= event.received_at


def _covering_run(sync: Sync, event: InboundEvent) -> Run | None:
    candidates = Run.objects.filter(sync=sync).filter(
        Q(event=event) | Q(created_at__gte=event.received_at) | Q(status=RunStatus.QUEUED)
    )
    return next((run for run in candidates.order_by("created_at") if _covers(sync, run, event)), None)


def _process_sync(sync: Sync, event: InboundEvent, attempt: int) -> tuple[str, str, int | None]:
    """("started" | "covered" | "busy", note, run id) for one sync the event concerns."""
    covering = _covering_run(sync, event)
    if covering is not None:
        return "covered", f"sync {sync.pk}: covered by run {covering.pk}", None
    # First attempt: a run for this event (a GHL source syncs just the event's record). Later attempts, after
    # waiting for a busy sync, ask for one incremental run that catches up every event that waited.
    run = run_enqueue(sync=sync, trigger=RunTrigger.WEBHOOK, event=event if attempt == 0 else None)
    if run is not None:
        return "started", f"sync {sync.pk}: run {run.pk}", run.pk
    active = Run.objects.filter(sync=sync, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()
    if active is not None and _covers(sync, active, event):
        return "covered", f"sync {sync.pk}: coalesced into run {active.pk}", None
    return "busy", f"sync {sync.pk}: run {getattr(active, 'pk', '?')} is active", None


def inbound_event_process(*, event_id: int, attempt: int = 0, give_up: bool = False) -> ProcessOutcome:
    """Turn a stored event into runs of the syncs it concerns; mark it processed / ignored / failed.

    When a sync's active run does not cover the change (it is already reading, or it syncs another event's
    record), the outcome is "retry" and the task tries again later. With give_up=True (retries exhausted) the
    event is failed with the reason; the reconcile poll still catches the change.

    GHL's app lifecycle events (INSTALL, UNINSTALL, LocationCreate) feed no sync: they connect or disable an
    agency's sub-accounts (services/agency_events.py), outside a transaction since that calls HighLevel.
    """
    kind_row = InboundEvent.objects.filter(pk=event_id).values_list("provider", "event_type").first()
    if kind_row is not None and agency_events.is_lifecycle(InboundEvent(provider=kind_row[0], event_type=kind_row[1])):
        done = agency_events.agency_event_process(event_id=event_id)
        if done is None:
            return ProcessOutcome(status="not pending", reason="not pending")
        return ProcessOutcome(status=done.status, reason=done.reason)
    with transaction.atomic():
        event = InboundEvent.objects.select_for_update(skip_locked=True).filter(pk=event_id).first()
        if event is None or event.status != EventStatus.PENDING:
            return ProcessOutcome(status=getattr(event, "status", "missing"), reason="not pending")
        kind = event_object_kind(event)
        if not kind:
            reason = f"event type {event.event_type or '(none)'!r} does not feed syncs"
            _finish(event, EventStatus.IGNORED, reason)
            return ProcessOutcome(status=EventStatus.IGNORED, reason=reason)
        candidates = event_syncs(event, kind)
        record = _tagged_record(event) if candidates else None
        syncs = [sync for sync in candidates if _concerns(sync, record)]
        if not syncs:
            reason = (
                f"no enabled sync with a webhook trigger reads {kind} from account {event.account_id or '?'}"
                if not candidates
                else f"the record does not match the filter of sync(s) {', '.join(str(s.pk) for s in candidates)}"
            )
            _finish(event, EventStatus.IGNORED, reason)
            return ProcessOutcome(status=EventStatus.IGNORED, reason=reason)
        results = [_process_sync(sync, event, attempt) for sync in syncs]
        notes = "; ".join(note for _, note, _ in results)
        runs = [run_id for _, _, run_id in results if run_id is not None]
        if any(kind == "busy" for kind, _, _ in results):
            if not give_up:
                InboundEvent.objects.filter(pk=event.pk).update(error=f"waiting: {notes}"[:2000])
                return ProcessOutcome(status="retry", reason=notes, runs=runs)
            reason = f"{notes} (gave up waiting; the reconcile poll will pick the change up)"
            _finish(event, EventStatus.FAILED, reason)
            return ProcessOutcome(status=EventStatus.FAILED, reason=reason, runs=runs)
        _finish(event, EventStatus.PROCESSED, notes)
        return ProcessOutcome(status=EventStatus.PROCESSED, reason=notes, runs=runs)


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
    failed = InboundEvent.objects.filter(
        status=EventStatus.FAILED, received_at__lt=now - FAILED_EVENT_RETENTION
    )
    return done.delete()[0] + failed.delete()[0]


# A webhook still pending this long after it arrived lost its processing message (a broker restart, a database
# outage while it was enqueued): the sweeper hands it to a worker again. Processing is idempotent.
SWEEP_AFTER = timedelta(minutes=3)
SWEEP_BATCH = 500


def inbound_events_sweep(*, now: datetime | None = None) -> list[int]:
    """Re-send the processing message of events still pending after SWEEP_AFTER (beat, every minute)."""
    now = now or timezone.now()
    ids = list(InboundEvent.objects.filter(status=EventStatus.PENDING, received_at__lt=now - SWEEP_AFTER)
               .order_by("received_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    for event_id in ids:
        enqueue_processing(event_id)
    return ids
