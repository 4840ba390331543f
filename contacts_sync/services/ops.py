from __future__ import annotations

from contacts_sync import health
from contacts_sync.models import Component, ComponentStatus, StatusChange, WorkerPing
from contacts_sync.services.status import component_status_set


def worker_ping_record(*, token: str, worker: str) -> WorkerPing:
    ping, _ = WorkerPing.objects.get_or_create(token=token, defaults={"worker": worker})
    return ping


def workers_check(*, silent_for: float) -> StatusChange | None:
    """Beat, every tick: no worker heartbeat for longer than the TTL flips "workers" down and alerts at once.

    `silent_for` is how long beat has seen no worker heartbeat (beat counts from its own start, so a fresh
    deployment is not reported before the workers had time to beat). Beat sends the alert itself: with no worker,
    an enqueued sender task would never run.
    """
    if silent_for > health.WORKER_HEARTBEAT_TTL_SECONDS:
        return component_status_set(
            component=Component.WORKER,
            status=ComponentStatus.DOWN,
            deliver_now=True,
            reason=f"no Celery worker has sent a heartbeat for {int(silent_for)} s: syncs, webhooks and alerts wait",
        )
    if silent_for == 0:
        return component_status_set(
            component=Component.WORKER,
            status=ComponentStatus.UP,
            deliver_now=True,
            reason="a worker is sending heartbeats again",
        )
    return None


def beat_check() -> StatusChange | None:
    """A worker, every minute: beat silent for longer than BEAT_STALE_SECONDS flips "beat" down (and back)."""
    since = health.beat_seconds_since_tick()
    if since is None:
        since = health.beat_missing_for()
    if since > health.BEAT_STALE_SECONDS:
        return component_status_set(
            component=Component.BEAT,
            status=ComponentStatus.DOWN,
            reason=f"Celery beat has not ticked for {int(since)} s: no polling, sweeps or reconciles are scheduled",
        )
    return component_status_set(
        component=Component.BEAT, status=ComponentStatus.UP, reason="Celery beat is ticking again"
    )
