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
