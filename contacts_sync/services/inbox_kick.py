"""The drain kick: how a stored webhook event asks for the drain task (services/event_runs.py).

Ingest publishes no message per event: the inbox row is the durable record. The first event stored after a drain
started sends one drain message, decided by a Redis SET NX key that the drain deletes when it starts.

A web request does not even pay that Redis round trip: `drain_kick_soon` (called once the event's INSERT has
committed) only raises a flag, and one thread per process sends the kick for every event flagged within
KICK_BATCH_SECONDS. Under a burst that is one SET NX per process every few tens of milliseconds instead of one per
event (the round trip was about a fifth of a webhook's CPU in the web process, docs/benchmarks.md, webhooks). The
order is what makes it safe: an event raises the flag after its commit, the thread lowers the flag before its
SET NX, so every committed event is followed by a kick that starts after it (or by the drain that kick's key
belongs to, which sees the event). A kick that a process takes with it when it stops is what the sweeper (beat,
every minute) is for, as for a broker that is away.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from celery import current_app
from django.conf import settings

from contacts_sync.apiclient.budget import shared_redis  # one shared client per URL

log = logging.getLogger(__name__)

DRAIN_TASK = "contacts_sync.tasks.inbound_events_drain_task"
# Set (SET NX) by the first event stored after a drain started; the drain deletes it when it starts. A drain message
# lost with the key set holds new kicks back at most this long (the sweeper backs everything up).
DRAIN_KICK_KEY = "inbox:drain-kick"
DRAIN_KICK_TTL_SECONDS = 10
# Events flagged within this long share one kick (the drain itself waits COALESCE_SECONDS before a run starts).
KICK_BATCH_SECONDS = 0.05


def drain_kick() -> None:
    """Send one drain message unless one was sent since the last drain started. Never raises: a stored event
    whose kick failed is drained by the sweeper.

    A plain shared Redis client, not Django's cache: that builds a new client object per call (its response
    callbacks, a few hundred dict entries)."""
    try:
        if shared_redis(settings.REDIS_URL).set(DRAIN_KICK_KEY, 1, nx=True, ex=DRAIN_KICK_TTL_SECONDS):
            # By task name: webhooks and tasks are sibling layers, services sit below tasks (import-linter).
            current_app.send_task(DRAIN_TASK)
    except Exception as exc:  # noqa: BLE001 - broker or Redis away: the event is stored, the sweeper drains it
        log.warning("webhook drain not enqueued (the sweeper will drain): %s", type(exc).__name__)


def drain_kick_reset() -> None:
    """The drain starts: the next event stored sends the next drain message."""
    try:
        shared_redis(settings.REDIS_URL).delete(DRAIN_KICK_KEY)
    except Exception as exc:  # noqa: BLE001 - Redis away: the key expires by itself
        log.warning("drain kick key not reset: %s", type(exc).__name__)


class _Kicker:
    """This process's kick thread, started by the first flag (after a fork too: threads do not survive one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._pid = 0

    def want(self) -> None:
        if self._pid != os.getpid():
            self._start()
        self._wanted.set()

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._wanted = threading.Event()
            threading.Thread(target=self._loop, args=(self._wanted,), name="drain-kick", daemon=True).start()
            self._pid = os.getpid()

    @staticmethod
    def _loop(wanted: threading.Event) -> None:
        while True:
            wanted.wait()
            time.sleep(KICK_BATCH_SECONDS)  # events committed meanwhile share this kick
            wanted.clear()  # before the SET NX: a flag raised from now on makes another round
            drain_kick()


_kicker = _Kicker()


def drain_kick_soon() -> None:
    """Ask this process's kick thread for a drain kick (call it once the event has committed); returns at once."""
    _kicker.want()
