"""Every health transition of a sync, a connection or a background component becomes a StatusChange row here.

The alert sender (services.alerts, task status_change_send_task) claims the rows after commit and notifies.
Changes that people cause themselves (pause/resume) or that another change already announces (syncs flipping
to needs re-auth with their connection) are written already processed: recorded, never sent twice.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from contacts_sync.alerts import rules
from contacts_sync.models import (
    Component,
    ComponentStatus,
    Connection,
    ConnectionStatus,
    ItemAction,
    Run,
    RunItem,
    RunStatus,
    RunTrigger,
    StatusChange,
    Sync,
    SyncHealth,
)
from contacts_sync.services.alert_rules import thresholds_for
from contacts_sync.services.audit import audit_record

log = logging.getLogger(__name__)

SEND_TASK = "contacts_sync.tasks.status_change_send_task"


def _send_on_commit() -> None:
    def enqueue() -> None:
        try:  # by name: tasks sit above services in the import layers
            current_app.send_task(SEND_TASK)
        except Exception:  # a broker hiccup must not fail the caller; the periodic sweep sends it later
            log.exception("could not enqueue the alert sender; the periodic sweep will pick the change up")

    transaction.on_commit(enqueue)


def _sync_health_set(
    *, sync: Sync, health: str, reason: str, run: Run | None = None, quiet: bool = False
) -> StatusChange | None:
    """Write sync.health and a StatusChange if it changed. Caller holds the row lock and saves other fields."""
    old = sync.health
    if old == health:
        # Same state, fresh figures ("4 of 60 items failed" after "3 of 10"): the reason follows the latest run,
        # quietly (no status change, no alert); health_changed_at keeps when the state began. An empty reason
        # (a decision that only keeps the state) leaves the one that explains it.
        if reason:
            sync.health_reason = reason[:500]
        return None
    now = timezone.now()
    sync.health, sync.health_reason, sync.health_changed_at = health, reason[:500], now
    change = StatusChange.objects.create(
        sync=sync, old_status=old, new_status=health, reason=reason[:500], run=run, processed=now if quiet else None
    )
    log.info("sync %s health %s -> %s %s", sync.pk, old, health, reason)
    if not quiet:
        _send_on_commit()
    return change


# Failed items whose error class means the target (or the network) did not answer: an outage, not bad data.
OUTAGE_ERROR_CLASSES = ("ServerError", "TransportError", "RateLimitedError", "BudgetExhaustedError", "TransientError")


def open_failures(run: Run) -> tuple[int, int]:
    """(failed records still open, of which outages): not acknowledged by a person, not fixed by a later retry."""
    closed = Q(acknowledged_at__isnull=False) | Q(resolved_by__isnull=False)
    counts = run.items.filter(action=ItemAction.FAILED).aggregate(
        closed=Count("pk", filter=closed),
        outage=Count("pk", filter=Q(error_class__in=OUTAGE_ERROR_CLASSES) & ~closed),
    )
    return max(0, run.failed_count - int(counts["closed"] or 0)), int(counts["outage"] or 0)


def _resolve_retried(retry: Run) -> Run | None:
    """A retry's fixed records close the failures of the run it retried; that run is the basis for health."""
    original = retry.retry_of
    if original is None:
        return None
    fixed = retry.items.exclude(action=ItemAction.FAILED).values("source_id")
    RunItem.objects.filter(
        run=original, action=ItemAction.FAILED, resolved_by__isnull=True, source_id__in=fixed
    ).update(resolved_by=retry)
    return original


def _health_basis(run: Run) -> tuple[Run, str] | None:
    """The run whose outcome decides health, and the status to judge it by; None: health does not move.

    Dry runs never change health. A retry never changes health by itself: it updates the failed set of the run
    it retried, and that run decides (a retry that failed outright leaves health as it was)."""
    if run.dry_run:
        return None
    if run.trigger == RunTrigger.RETRY:
        original = _resolve_retried(run)
        if original is None or run.status in (RunStatus.FAILED, RunStatus.CANCELLED):
            return None
        still_open, _ = open_failures(original)
        status = (
            original.status
            if original.status == RunStatus.FAILED
            else (RunStatus.PARTIAL if still_open else RunStatus.SUCCEEDED)
        )
        return original, status
    return run, run.status


@transaction.atomic
def run_finished(*, run: Run) -> StatusChange | None:
    """Compute the sync's health after a finished run; record and announce a change."""
    basis = _health_basis(run)
    if basis is None:
        return None
    judged, status = basis
    return _apply_health(judged, status, counts_as_run=judged.pk == run.pk)


def sync_health_recompute(*, sync: Sync) -> StatusChange | None:
    """After a person acknowledged failures: the latest real run decides again (no new run needed)."""
    latest = (
        Run.objects.filter(sync=sync, dry_run=False, finished_at__isnull=False)
        .exclude(trigger=RunTrigger.RETRY)
        .exclude(status=RunStatus.CANCELLED)
        .order_by("-finished_at")
        .first()
    )
    if latest is None or latest.status == RunStatus.FAILED:
        return None
    still_open, _ = open_failures(latest)
    with transaction.atomic():
        return _apply_health(latest, RunStatus.PARTIAL if still_open else RunStatus.SUCCEEDED, counts_as_run=False)


def _apply_health(run: Run, status: str, *, counts_as_run: bool) -> StatusChange | None:
    sync = Sync.objects.select_for_update().select_related("target_connection").get(pk=run.sync_id)
    still_open, outage = open_failures(run)
    handled = run.done_count
    limits = thresholds_for(sync)
    took = (
        (run.finished_at - run.started_at).total_seconds()
        if run.started_at is not None and run.finished_at is not None
        else None
    )
    decision = rules.health_after_run(
        current=sync.health,
        run_status=status,
        handled=handled,
        failed_items=still_open,
        consecutive_failures=sync.consecutive_failures if counts_as_run else 0,
        error_summary=run.error_summary,
        outage_items=outage,
        verify_failed=run.verify_failed_count,
        target=sync.target_connection.get_provider_display(),
        degraded_ratio=limits.degraded_ratio,
        failing_after=limits.failing_after,
        duration_seconds=took,
        slow_after_seconds=limits.slow_after_seconds,
    )
    if decision is None:
        return None
    fields = ["health", "health_reason", "health_changed_at", "updated_at"]
    if counts_as_run:
        sync.consecutive_failures = decision.consecutive_failures
        fields.append("consecutive_failures")
        if decision.succeeded:
            sync.last_success_at = run.finished_at or timezone.now()
            fields.append("last_success_at")
    change = _sync_health_set(sync=sync, health=decision.health, reason=decision.reason, run=run)
    sync.save(update_fields=fields)
    return change


def sync_delivery_health_set(*, sync_id: int, healthy: bool, reason: str) -> StatusChange | None:
    """A sync without runs (GHL changes -> your app, services/outbox.py): its webhook endpoint decides its health.
    Disabled -> failing (an alert); delivering again -> healthy (a recovery; the very first delivery quietly)."""
    with transaction.atomic():
        sync = Sync.objects.select_for_update().get(pk=sync_id)
        health = SyncHealth.HEALTHY if healthy else SyncHealth.FAILING
        change = _sync_health_set(
            sync=sync, health=health, reason=reason, quiet=healthy and sync.health == SyncHealth.NEW
        )
        fields = ["health", "health_reason", "health_changed_at", "updated_at"]
        if healthy:
            sync.last_success_at = timezone.now()
            fields.append("last_success_at")
        sync.save(update_fields=fields)
    return change


def _syncs_of(connection: Connection) -> Any:
    return (
        Sync.objects.select_for_update()
        .filter(Q(source_connection=connection) | Q(target_connection=connection))
        .select_related("source_connection", "target_connection")
    )


@transaction.atomic
def connection_status_set(
    *, connection: Connection, status: str, reason: str = "", quiet: bool = False
) -> StatusChange | None:
    """Set a connection's status; on needs re-auth its syncs flip to needs_reauth, and back when it works again.

    The connection's own change is what alerts; the syncs' flips are recorded quietly (one alert, not one per sync).
    `quiet`: recorded, not sent (a run that failed on the connection already alerts through its sync's health).
    """
    conn = Connection.objects.select_for_update().get(pk=connection.pk)
    old = conn.status
    now = timezone.now()
    conn.last_checked_at = now
    if status == ConnectionStatus.CONNECTED:
        conn.last_error = ""
    elif reason:
        conn.last_error = reason
    if old == status:
        conn.save(update_fields=["last_checked_at", "last_error", "updated_at"])
        connection.status, connection.last_error = conn.status, conn.last_error
        return None
    conn.status = status
    conn.save(update_fields=["status", "last_checked_at", "last_error", "updated_at"])
    connection.status, connection.last_error, connection.last_checked_at = status, conn.last_error, now
    change = StatusChange.objects.create(
        connection=conn, old_status=old, new_status=status, reason=reason[:500], processed=now if quiet else None
    )
    log.info("connection %s status %s -> %s %s", conn.pk, old, status, reason)
    if not quiet:
        _send_on_commit()
    for sync in _syncs_of(conn):
        if status == ConnectionStatus.NEEDS_REAUTH and sync.health != SyncHealth.PAUSED:
            _sync_health_set(
                sync=sync, health=SyncHealth.NEEDS_REAUTH, reason=f"{conn.name}: {reason}"[:500], quiet=True
            )
        elif sync.health == SyncHealth.NEEDS_REAUTH and _connections_ok(sync, conn, status):
            back = rules.health_when_reauthorized(
                consecutive_failures=sync.consecutive_failures,
                last_success_at=sync.last_success_at,
                failing_after=thresholds_for(sync).failing_after,
            )
            _sync_health_set(sync=sync, health=back, reason=_reason_of_last(sync, back), quiet=True)
        else:
            continue
        sync.save(update_fields=["health", "health_reason", "health_changed_at", "updated_at"])
    return change


def _reason_of_last(sync: Sync, health: str) -> str:
    """The reason the sync last entered `health` (so "failing: 503" survives a re-auth round trip)."""
    if health == SyncHealth.HEALTHY:
        return ""
    last = StatusChange.objects.filter(sync=sync, new_status=health).order_by("-created_at").first()
    return last.reason if last else ""


def _connections_ok(sync: Sync, changed: Connection, new_status: str) -> bool:
    for c in (sync.source_connection, sync.target_connection):
        status = new_status if c.pk == changed.pk else c.status
        if status == ConnectionStatus.NEEDS_REAUTH:
            return False
    return True


@transaction.atomic
def sync_paused_set(*, sync: Sync, paused: bool, user: Any = None) -> StatusChange | None:
    """Pause or resume a sync. A person did it, so it is recorded (and audited) but not alerted."""
    locked = Sync.objects.select_for_update().select_related("source_connection", "target_connection").get(pk=sync.pk)
    locked.enabled = not paused
    if paused:
        change = _sync_health_set(sync=locked, health=SyncHealth.PAUSED, reason="paused", quiet=True)
    elif locked.health == SyncHealth.PAUSED:
        conns_ok = all(
            c.status != ConnectionStatus.NEEDS_REAUTH for c in (locked.source_connection, locked.target_connection)
        )
        back = (
            rules.health_when_reauthorized(
                consecutive_failures=locked.consecutive_failures,
                last_success_at=locked.last_success_at,
                failing_after=thresholds_for(locked).failing_after,
            )
            if conns_ok
            else SyncHealth.NEEDS_REAUTH
        )
        change = _sync_health_set(sync=locked, health=back, reason="resumed", quiet=True)
    else:
        change = None
    locked.save(update_fields=["enabled", "health", "health_reason", "health_changed_at", "updated_at"])
    sync.enabled, sync.health, sync.health_reason = locked.enabled, locked.health, locked.health_reason
    sync.health_changed_at = locked.health_changed_at
    audit_record(
        actor=user, action="sync.pause" if paused else "sync.resume", obj=locked, changes={"enabled": locked.enabled}
    )
    return change


def stale_syncs_mark() -> int:
    """Periodic: flag enabled syncs with no successful run within their stale limit (the AlertRule's hours, else
    STALE_AFTER_INTERVALS polling intervals; a sync with neither never goes stale)."""
    now = timezone.now()
    watched = (SyncHealth.HEALTHY, SyncHealth.DEGRADED, SyncHealth.NEW)
    candidates = (
        Sync.objects.filter(enabled=True, health__in=watched)
        .filter(Q(poll_interval_seconds__isnull=False) | Q(alert_rule__stale_after_hours__isnull=False))
        .values_list("pk", "poll_interval_seconds", "last_success_at", "created_at", "alert_rule__stale_after_hours")
    )
    marked = 0
    for pk, interval, last_success_at, created_at, hours in candidates:
        limit = rules.stale_after(poll_interval_seconds=interval, stale_after_seconds=hours * 3600 if hours else None)
        if not rules.is_stale(
            now=now,
            poll_interval_seconds=interval,
            last_success_at=last_success_at,
            created_at=created_at,
            stale_after_seconds=limit,
        ):
            continue
        with transaction.atomic():
            sync = Sync.objects.select_for_update().get(pk=pk)
            if sync.health not in watched or not sync.enabled:
                continue
            since = sync.last_success_at
            assert limit is not None  # is_stale said so
            reason = (
                f"no successful run since {timezone.localtime(since):%Y-%m-%d %H:%M}"
                if since
                else "no successful run yet"
            ) + f" (the limit is {_span(limit)})"
            if _sync_health_set(sync=sync, health=SyncHealth.STALE, reason=reason):
                sync.save(update_fields=["health", "health_reason", "health_changed_at", "updated_at"])
                marked += 1
    return marked


# --- background components (Celery workers, beat) ---------------------------------------------------------------

# pg_advisory_xact_lock keys: two processes checking the same component at once record one flip, not two.
COMPONENT_LOCK_KEYS = {Component.WORKER: 7_300_001, Component.BEAT: 7_300_002}


def component_status_set(
    *, component: str, status: str, reason: str = "", deliver_now: bool = False
) -> StatusChange | None:
    """Record the Celery workers or beat going down or coming back: one StatusChange per flip.

    `deliver_now` sends the alert in this process instead of enqueueing the sender: beat uses it for "no worker",
    since no worker would run the sender task.
    """
    with transaction.atomic():
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [COMPONENT_LOCK_KEYS[Component(component)]])
        last = StatusChange.objects.filter(component=component).order_by("-created_at", "-pk").first()
        old = last.new_status if last else ComponentStatus.UP
        if old == status:
            return None
        change = StatusChange.objects.create(
            component=component, old_status=old, new_status=status, reason=reason[:500]
        )
        log.warning("%s %s -> %s %s", Component(component).label, old, status, reason)
        if not deliver_now:
            _send_on_commit()
    if deliver_now:
        from contacts_sync.services.alerts import status_changes_send_pending

        status_changes_send_pending()
    return change


def _span(seconds: int) -> str:
    hours, minutes = divmod(seconds // 60, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes or 1} min"
