"""Thin Celery tasks: ids in, call a service. Enqueue them with transaction.on_commit."""

from __future__ import annotations

import logging

from celery import shared_task

from contacts_sync.services import ops

log = logging.getLogger(__name__)


@shared_task(name="contacts_sync.tasks.ping_task", bind=True)
def ping_task(self, token: str) -> str:  # type: ignore[no-untyped-def]
    ops.worker_ping_record(token=token, worker=self.request.hostname or "")
    return token


@shared_task(name="contacts_sync.tasks.heartbeat_task")
def heartbeat_task() -> None:
    """Scheduled every minute by beat; proves the scheduler is alive in the logs."""
    log.info("scheduler heartbeat")


# --- monitoring and alerts (helper E) ----------------------------------------------------------------


@shared_task(name="contacts_sync.tasks.status_change_send_task")
def status_change_send_task() -> int:
    """Claim and announce pending status changes (enqueued on commit by services.status; also swept by beat)."""
    from contacts_sync.services import alerts

    return alerts.status_changes_send_pending().claimed


@shared_task(name="contacts_sync.tasks.sync_stale_mark_task")
def sync_stale_mark_task() -> int:
    from contacts_sync.services import status

    return status.stale_syncs_mark()


# --- webhook inbox and dispatcher (helper G) ---------------------------------------------------------


@shared_task(name="contacts_sync.tasks.inbound_event_process_task", bind=True, max_retries=None)
def inbound_event_process_task(self, event_id: int) -> str:  # type: ignore[no-untyped-def]
    """Turn a stored webhook into runs; waits (retries) while a sync's run is still reading."""
    from contacts_sync.services import events

    give_up = self.request.retries >= events.ACTIVE_RUN_MAX_RETRIES
    try:
        outcome = events.inbound_event_process(event_id=event_id, attempt=self.request.retries, give_up=give_up)
    except Exception as exc:
        events.inbound_event_fail(event_id=event_id, reason=f"{type(exc).__name__}: {exc}")
        raise
    if outcome.status == "retry":
        raise self.retry(countdown=events.ACTIVE_RUN_RETRY_SECONDS)
    return outcome.status


@shared_task(name="contacts_sync.tasks.syncs_dispatch_due_task")
def syncs_dispatch_due_task() -> int:
    """Beat, every 30 s: enqueue the due polling syncs, fairly per GHL location."""
    from contacts_sync.services import scheduling

    return len(scheduling.syncs_dispatch_due().enqueued)


@shared_task(name="contacts_sync.tasks.reconcile_poll_task")
def reconcile_poll_task() -> int:
    """Beat, every 5 min: re-read GHL-source syncs that rely on webhooks (GHL drops undelivered events)."""
    from contacts_sync.services import scheduling

    return len(scheduling.reconcile_poll())
