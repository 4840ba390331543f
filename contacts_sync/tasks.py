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
