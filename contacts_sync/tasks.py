"""Thin Celery tasks: ids in, call a service. Enqueue them with transaction.on_commit."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from celery.signals import worker_shutting_down
from django.db import DatabaseError

from contacts_sync.exceptions import TransientError
from contacts_sync.models import Connection
from contacts_sync.services import (
    agencies,
    alerts,
    app_webhooks,
    connections,
    demo,
    event_runs,
    ops,
    outbox,
    runs,
    scheduling,
    status,
)

log = logging.getLogger(__name__)

# A webhook whose processing met a database error is tried again after this long (the sweeper backs it up).
DB_RETRY_SECONDS = 15


@shared_task(name="contacts_sync.tasks.ping_task", bind=True)
def ping_task(self: Task, token: str) -> str:
    ops.worker_ping_record(token=token, worker=self.request.hostname or "")
    return token


@shared_task(name="contacts_sync.tasks.heartbeat_task")
def heartbeat_task() -> None:
    """Scheduled every minute by beat; proves the scheduler is alive in the logs."""
    log.info("scheduler heartbeat")


@shared_task(name="contacts_sync.tasks.beat_check_task")
def beat_check_task() -> str:
    """Sent every minute by each worker's heartbeat (config/celery.py): alerts when beat stops ticking."""
    change = ops.beat_check()
    return change.new_status if change else "unchanged"


# --- monitoring and alerts ----------------------------------------------------------------


@shared_task(name="contacts_sync.tasks.status_change_send_task")
def status_change_send_task() -> int:
    """Claim and announce pending status changes (enqueued on commit by services.status; also swept by beat)."""
    return alerts.status_changes_send_pending().claimed


@shared_task(name="contacts_sync.tasks.alert_sweep_task")
def alert_sweep_task() -> int:
    """Beat, every minute: announce held alerts that may now go out, and send the reminders that are due."""
    result = alerts.alerts_sweep()
    return result.notified + result.failed


@shared_task(name="contacts_sync.tasks.sync_stale_mark_task")
def sync_stale_mark_task() -> int:
    return status.stale_syncs_mark()


# --- webhook inbox and dispatcher ---------------------------------------------------------


@shared_task(name="contacts_sync.tasks.inbound_events_drain_task", bind=True, max_retries=None)
def inbound_events_drain_task(self: Task) -> int:
    """Route every pending webhook to the syncs it concerns (events coalesce into their syncs' next runs)."""
    try:
        return event_runs.inbound_events_drain()
    except DatabaseError as exc:
        # The database is away: the events stay pending and are tried again (and the sweeper catches them too).
        raise self.retry(exc=exc, countdown=DB_RETRY_SECONDS) from exc


@shared_task(name="contacts_sync.tasks.inbound_event_process_task", bind=True, max_retries=None)
def inbound_event_process_task(self: Task, event_id: int) -> str:
    """Route one stored webhook (messages sent before the drain existed; the drain does this in batches)."""
    try:
        outcome = event_runs.inbound_event_process(event_id=event_id)
        outbox.outbox_feed(event_id=event_id)  # GHL changes -> your app's webhooks (once per event and endpoint)
    except DatabaseError as exc:
        raise self.retry(exc=exc, countdown=DB_RETRY_SECONDS) from exc
    except Exception as exc:
        event_runs.inbound_event_fail(event_id=event_id, reason=f"{type(exc).__name__}: {exc}")
        raise
    return outcome.status


@shared_task(name="contacts_sync.tasks.syncs_dispatch_due_task")
def syncs_dispatch_due_task() -> int:
    """Beat, every 30 s: enqueue the due polling syncs, fairly per GHL location."""
    return len(scheduling.syncs_dispatch_due().enqueued)


@shared_task(name="contacts_sync.tasks.inbound_events_prune_task")
def inbound_events_prune_task() -> int:
    """Beat, daily: delete old processed/ignored webhooks (pending ones are never deleted)."""
    return event_runs.inbound_events_prune()


@shared_task(name="contacts_sync.tasks.inbound_events_sweep_task")
def inbound_events_sweep_task() -> int:
    """Beat, every minute: webhooks still pending minutes after they arrived are handed to a worker again."""
    return len(event_runs.inbound_events_sweep())


@shared_task(name="contacts_sync.tasks.connection_webhook_register_task")
def connection_webhook_register_task(connection_id: int, target_url: str) -> str:
    """Register our webhook URL with the app (Hubstaff): create, wait for the handshake, activate."""
    return str(app_webhooks.app_webhook_register(connection_id=connection_id, target_url=target_url)["status"])


@shared_task(name="contacts_sync.tasks.reconcile_poll_task")
def reconcile_poll_task() -> int:
    """Beat, every 5 min: re-read GHL-source syncs that rely on webhooks (GHL drops undelivered events)."""
    return len(scheduling.reconcile_poll())


# --- connections ----------------------------------------------------------------------------


@shared_task(name="contacts_sync.tasks.connection_check_all_task")
def connection_check_all_task() -> int:
    """Periodic: one check task per connection, so one slow provider does not hold up the others."""
    ids = connections.connection_check_all()
    for connection_id in ids:
        connection_check_task.delay(connection_id)
    return len(ids)


@shared_task(name="contacts_sync.tasks.connection_check_task")
def connection_check_task(connection_id: int) -> str | None:
    """Refresh a GHL token that expires soon, then test the connection; quiet if the row is gone."""
    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None:
        return None
    return connections.connection_check(connection=connection).status


@shared_task(
    name="contacts_sync.tasks.agency_location_connect_task", bind=True, acks_late=True, reject_on_worker_lost=True
)
def agency_location_connect_task(self: Task, agency_id: int, location_id: str) -> str | None:
    """Connect (or reconnect) one sub-account of an agency: mint its token, store it, test it. Idempotent."""
    connection = agencies.agency_location_connect(agency_id=agency_id, location_id=location_id)
    return connection.status if connection is not None else None


# --- runs (sync engine) -----------------------------------------------------------------------------------
@shared_task(name="contacts_sync.tasks.run_execute_task", bind=True, acks_late=True, reject_on_worker_lost=True)
def run_execute_task(self: Task, run_id: int) -> str | None:
    """Claim and execute one run. Idempotent: a redelivered message finds the run claimed or finished."""
    run = runs.run_execute(run_id=run_id, worker=self.request.hostname or "")
    return run.status if run is not None else None


@worker_shutting_down.connect
def _runs_yield_on_shutdown(**_: object) -> None:
    """A worker told to stop (warm shutdown) lets its runs yield at their next page instead of finishing slices."""
    runs.runs_yield_soon()


@shared_task(name="contacts_sync.tasks.runs_reap_task")
def runs_reap_task() -> int:
    """Periodic: running runs whose worker vanished go back to the queue from their checkpoint."""
    return len(runs.runs_reap())


@shared_task(name="contacts_sync.tasks.demo_start_task", bind=True, max_retries=60)
def demo_start_task(self: Task) -> int:
    """make demo: wait for the sandbox, prepare its faulty account, start the demo syncs' first runs."""
    try:
        return len(demo.demo_start())
    except TransientError as exc:
        raise self.retry(exc=exc, countdown=2) from exc


# make demo: a child sync waits at most an hour (720 checks) for its contact sync's first run.
DEMO_CHILDREN_CHECK_SECONDS = 5


@shared_task(name="contacts_sync.tasks.demo_children_task", bind=True, max_retries=720)
def demo_children_task(self: Task, since: str) -> int:
    """make demo: start each task/note sync's first run once its contact sync's first run ended well."""
    from datetime import datetime

    started, waiting = demo.demo_children_start(since=datetime.fromisoformat(since))
    if waiting:
        raise self.retry(countdown=DEMO_CHILDREN_CHECK_SECONDS)
    return len(started)


# --- outgoing webhooks to custom apps (services/outbox.py) ---------------------------------------------------


@shared_task(name="contacts_sync.tasks.webhook_endpoint_flush_task")
def webhook_endpoint_flush_task(endpoint_id: int) -> float | None:
    """Send an endpoint's due deliveries; a retry due soon is this task again with a countdown."""
    wait = outbox.endpoint_flush(endpoint_id=endpoint_id)
    if wait is not None and wait <= outbox.COUNTDOWN_MAX_SECONDS:
        webhook_endpoint_flush_task.apply_async(args=(endpoint_id,), countdown=wait)
    return wait


@shared_task(name="contacts_sync.tasks.webhook_delivery_replay_task")
def webhook_delivery_replay_task(delivery_id: int) -> int | None:
    attempt = outbox.delivery_replay(delivery_id=delivery_id)
    return attempt.status_code if attempt is not None else None


@shared_task(name="contacts_sync.tasks.webhook_deliveries_due_task")
def webhook_deliveries_due_task() -> int:
    return len(outbox.deliveries_due_sweep())


@shared_task(name="contacts_sync.tasks.webhook_deliveries_prune_task")
def webhook_deliveries_prune_task() -> int:
    return outbox.deliveries_prune()
