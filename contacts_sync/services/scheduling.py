"""The dispatcher: which syncs run now, fairly across GHL locations; and the reconcile poll.

Every GHL location has one rate budget (100 requests / 10 s) shared by all its syncs, so a location with
fifty due syncs gains nothing from fifty queued runs and would only fill the workers' queue in front of
everyone else's. Each tick takes due syncs location by location in round-robin, oldest due first, and lets
no location hold more than PER_LOCATION_ACTIVE_CAP queued or running runs at a time.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contacts_sync.connectors import registry
from contacts_sync.models import ACTIVE_RUN_STATUSES, Provider, Run, RunTrigger, Sync, SyncHealth
from contacts_sync.services.runs import run_enqueue

log = logging.getLogger(__name__)

# Two active runs per location keep its 100 req / 10 s budget busy without queueing a backlog on it.
PER_LOCATION_ACTIVE_CAP = 2
# One tick enqueues at most this many runs: the beat interval is short, the rest are due on the next tick.
MAX_RUNS_PER_TICK = 50
# Syncs fetched per tick, oldest due first; enough to see every location even when one has many due syncs.
DUE_SCAN_LIMIT = 1000
# Syncs that cannot run at all are not dispatched (they would fail at once and page someone again).
NOT_DISPATCHED_HEALTH = (SyncHealth.NEEDS_REAUTH,)
# GHL drops webhooks it could not deliver; a GHL-source sync with a webhook trigger is re-read this often.
RECONCILE_INTERVAL = timedelta(minutes=30)
# Objects GHL cannot read "changed since" (notes, businesses) cost a full read, one request per contact for notes:
# every 30 minutes that would spend a 10,000-contact location's whole daily budget (200,000) in about ten hours.
FULL_READ_RECONCILE_INTERVAL = timedelta(hours=24)


@dataclass
class DispatchResult:
    enqueued: list[int] = field(default_factory=list)  # run ids
    skipped_active: list[int] = field(default_factory=list)  # sync ids whose run was still active
    deferred: list[int] = field(default_factory=list)  # sync ids left due for a later tick (fairness caps)


def location_key(sync: Sync) -> str:
    """The GHL location whose rate budget the sync spends (target first, as most syncs write to GHL)."""
    for conn in (sync.target_connection, sync.source_connection):
        if conn.provider == Provider.GHL:
            return f"ghl:{conn.external_account_id or conn.pk}"
    return f"conn:{sync.target_connection_id}"


def _active_per_location(keys: set[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    active = Run.objects.filter(status__in=ACTIVE_RUN_STATUSES).select_related(
        "sync__source_connection", "sync__target_connection"
    )
    for run in active:
        key = location_key(run.sync)
        if key in keys:
            counts[key] = counts.get(key, 0) + 1
    return counts


def fair_order(syncs: list[Sync], *, active: dict[str, int], cap: int, limit: int) -> tuple[list[Sync], list[Sync]]:
    """Round-robin across locations (in order of their oldest due sync); (chosen, deferred)."""
    by_location: OrderedDict[str, list[Sync]] = OrderedDict()
    for sync in syncs:  # already ordered by next_run_at
        by_location.setdefault(location_key(sync), []).append(sync)
    # Locations with fewer active runs go first (then the oldest due): with more locations than one tick takes,
    # a location that got a run last tick must not win again over one still waiting for its first.
    queues = OrderedDict(sorted(by_location.items(), key=lambda item: active.get(item[0], 0)))
    room = {key: max(0, cap - active.get(key, 0)) for key in queues}
    chosen: list[Sync] = []
    while len(chosen) < limit and any(room[k] and queues[k] for k in queues):
        for key, queue in queues.items():
            if len(chosen) >= limit:
                break
            if room[key] and queue:
                chosen.append(queue.pop(0))
                room[key] -= 1
    deferred = [s for queue in queues.values() for s in queue]
    return chosen, deferred


def _due_syncs(now: datetime) -> list[Sync]:
    return list(
        Sync.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(enabled=True, poll_interval_seconds__isnull=False, poll_interval_seconds__gt=0)
        .filter(Q(next_run_at__lte=now) | Q(next_run_at__isnull=True))
        .exclude(health__in=NOT_DISPATCHED_HEALTH)
        .select_related("source_connection", "target_connection")
        .order_by("next_run_at", "pk")[:DUE_SCAN_LIMIT]
    )


def syncs_dispatch_due(
    *, now: datetime | None = None, cap: int = PER_LOCATION_ACTIVE_CAP, limit: int = MAX_RUNS_PER_TICK
) -> DispatchResult:
    """Enqueue a run for each due polling sync, fairly per GHL location; move next_run_at forward."""
    now = now or timezone.now()
    result = DispatchResult()
    with transaction.atomic():
        due = _due_syncs(now)
        if not due:
            return result
        active = _active_per_location({location_key(s) for s in due})
        chosen, deferred = fair_order(due, active=active, cap=cap, limit=limit)
        for sync in chosen:
            run = run_enqueue(sync=sync, trigger=RunTrigger.SCHEDULE)
            if run is None:
                result.skipped_active.append(sync.pk)  # its active run already does the work of this tick
            else:
                result.enqueued.append(run.pk)
            Sync.objects.filter(pk=sync.pk).update(next_run_at=now + timedelta(seconds=sync.poll_interval_seconds or 0))
        result.deferred = [s.pk for s in deferred]
    if result.enqueued or result.deferred:
        log.info(
            "dispatch enqueued=%d skipped_active=%d deferred=%d",
            len(result.enqueued),
            len(result.skipped_active),
            len(result.deferred),
        )
    return result


def _last_reconcile(sync: Sync) -> datetime | None:
    run = Run.objects.filter(sync=sync, trigger=RunTrigger.RECONCILE).order_by("-created_at").first()
    return run.created_at if run else None


def reconcile_poll(*, now: datetime | None = None, interval: timedelta = RECONCILE_INTERVAL) -> list[int]:
    """Enqueue a reconcile run for GHL-source syncs fed by webhooks, because GHL drops undelivered events.

    The run starts at the sync's change cursor (Sync.source_cursor, sync/sources.py): contacts are searched by
    dateUpdated since then, so a reconcile run costs one search page when nothing was missed. Syncs that also
    poll at least as often need no reconcile run. Objects without a change date (notes, businesses) are re-read
    at most every FULL_READ_RECONCILE_INTERVAL.
    """
    now = now or timezone.now()
    syncs = (
        Sync.objects.filter(enabled=True, webhook_trigger=True, source_connection__provider=Provider.GHL)
        .exclude(health__in=NOT_DISPATCHED_HEALTH)
        .exclude(poll_interval_seconds__gt=0, poll_interval_seconds__lte=interval.total_seconds())
        .select_related("source_connection", "target_connection")
        .order_by("pk")
    )
    runs: list[int] = []
    dated = registry.spec(Provider.GHL).change_paths
    for sync in syncs:
        last = _last_reconcile(sync)
        wait = interval if sync.source_object in dated else max(interval, FULL_READ_RECONCILE_INTERVAL)
        if last is not None and now - last < wait:
            continue
        with transaction.atomic():
            run = run_enqueue(sync=sync, trigger=RunTrigger.RECONCILE, mode="incremental")
        if run is not None:
            runs.append(run.pk)
    if runs:
        log.info("reconcile poll enqueued=%d", len(runs))
    return runs


def sync_schedule_after_change(*, sync: Sync, poll_interval_seconds: int | None, now: datetime | None = None) -> dict:
    """The next_run_at to save with a changed polling interval: the new schedule starts from now.

    Without it a sync moved from daily to every 10 minutes would wait up to a day for its next run.
    """
    if poll_interval_seconds == sync.poll_interval_seconds:
        return {}
    if not poll_interval_seconds:
        return {"next_run_at": None}
    return {"next_run_at": (now or timezone.now()) + timedelta(seconds=poll_interval_seconds)}
