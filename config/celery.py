"""The Celery app: Redis broker, JSON only, late acks, four queues, beat for periodic tasks.

Two additions report liveness for /healthz, the overview banner and the alerts (contacts_sync/health.py):
- every worker writes a heartbeat key every WORKER_HEARTBEAT_SECONDS, and once a minute sends `beat_check_task`,
  which alerts when beat stops ticking;
- beat (HealthScheduler) records each tick and alerts, from its own process, when no worker heartbeat is seen.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from typing import Any

from celery import Celery, bootsteps
from celery.beat import PersistentScheduler
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

log = logging.getLogger(__name__)

app = Celery("contacts_sync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["contacts_sync"])

BEAT_CHECK_EVERY_BEATS = 4  # a worker sends beat_check_task on every 4th heartbeat (once a minute)
WORKERS_CHECK_SECONDS = 15  # beat looks at the worker heartbeats at most this often


class HealthHeartbeat(bootsteps.StartStopStep):
    """Worker bootstep: a heartbeat key in Redis while the worker runs; removed on a clean stop."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref: Any = None
        self.beats = 0

    def start(self, worker: Any) -> None:
        from contacts_sync import health

        self.beat(worker)
        self.tref = worker.timer.call_repeatedly(health.WORKER_HEARTBEAT_SECONDS, self.beat, (worker,), priority=10)

    def beat(self, worker: Any) -> None:
        from contacts_sync import health

        try:
            health.worker_heartbeat_write(worker.hostname)
            self.beats += 1
            if self.beats % BEAT_CHECK_EVERY_BEATS == 0 and _checks_beat():
                app.send_task("contacts_sync.tasks.beat_check_task")
        except Exception:  # Redis or the broker away: the next beat tries again; the worker must not die of it
            log.warning("worker heartbeat not written", exc_info=True)

    def stop(self, worker: Any) -> None:
        from contacts_sync import health

        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        try:
            health.worker_heartbeat_clear(worker.hostname)
        except Exception:  # noqa: BLE001 - the key expires by itself
            log.info("worker heartbeat not cleared; it expires on its own")


def _checks_beat() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "WORKER_CHECKS_BEAT", True))


app.steps["worker"].add(HealthHeartbeat)

# Garbage collection in a worker. What is loaded at start-up (Django, Celery, the app) lives as long as the process,
# yet every full collection walked it again: under bench.fleet's load the sync worker stopped all its threads for
# 100-280 ms every 5-10 s (collecting nothing), and each pause delayed every run's next request (at a rate limit a
# delay is never made up: the sliding window moves with it). It is frozen once at start-up (gc.freeze: never scanned
# again, and shared copy-on-write by prefork children); full collections then walk only what the runs hold (about
# a third of the time each, bench.fleet 2026-12-01). A larger gen-0 threshold was tried too: no clear gain.


@worker_init.connect
def _gc_for_workers(**_: Any) -> None:
    gc.collect()
    gc.freeze()


class HealthScheduler(PersistentScheduler):
    """Beat's scheduler: records every tick, and alerts when no worker heartbeat is seen for the TTL."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workers_last_seen = time.time()  # counting starts when beat starts: workers get time to come up
        self.next_workers_check = 0.0

    def tick(self, *args: Any, **kwargs: Any) -> float:
        delay = super().tick(*args, **kwargs)
        try:
            self.health_tick()
        except Exception:  # Redis or the database away: report on the next tick, never stop scheduling
            log.warning("beat health tick failed", exc_info=True)
        return delay

    def health_tick(self) -> None:
        from contacts_sync import health
        from contacts_sync.services import ops

        health.beat_tick_write()
        now = time.time()
        if now < self.next_workers_check:
            return
        self.next_workers_check = now + WORKERS_CHECK_SECONDS
        if health.workers_alive():
            self.workers_last_seen = now
        ops.workers_check(silent_for=now - self.workers_last_seen)
