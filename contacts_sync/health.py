"""What /healthz checks: the database, the broker, a live Celery worker and a ticking beat.

Workers write a heartbeat key in Redis every WORKER_HEARTBEAT_SECONDS (config/celery.py, a worker bootstep) and
beat writes its last tick (config/celery.py, the scheduler). Reading them costs one SCAN and one GET: no broadcast
round trip, so /healthz answers fast even when no worker is there to reply.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from django.db import connection

WORKER_HEARTBEAT_SECONDS = 15  # each worker writes its heartbeat this often
WORKER_HEARTBEAT_TTL_SECONDS = 60  # a worker silent this long (four missed beats) counts as gone
BEAT_MAX_TICK_SECONDS = 30  # beat wakes at least this often (config/celery.py caps its sleep)
BEAT_STALE_SECONDS = 120  # four missed ticks: beat is gone
WORKER_KEY = "contacts_sync:health:worker:"  # + the worker's hostname
BEAT_KEY = "contacts_sync:health:beat"
BEAT_MISSING_KEY = "contacts_sync:health:beat-missing-since"  # when a check first found no tick at all
REDIS_TIMEOUT_SECONDS = 2  # /healthz must answer even when Redis hangs


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]


@functools.cache
def _redis_for(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS)


def redis_client() -> Any:
    from django.conf import settings

    return _redis_for(settings.REDIS_URL)


# --- written by the worker and by beat ------------------------------------------------------------


def worker_heartbeat_write(hostname: str) -> None:
    redis_client().set(WORKER_KEY + hostname, f"{time.time():.3f}", ex=WORKER_HEARTBEAT_TTL_SECONDS)


def worker_heartbeat_clear(hostname: str) -> None:
    redis_client().delete(WORKER_KEY + hostname)


def beat_tick_write() -> None:
    client = redis_client()
    client.set(BEAT_KEY, f"{time.time():.3f}")
    client.delete(BEAT_MISSING_KEY)


# --- read by /healthz, the overview and the checks --------------------------------------------------


def workers_alive() -> list[str]:
    """Hostnames of the workers whose heartbeat is younger than WORKER_HEARTBEAT_TTL_SECONDS."""
    client = redis_client()
    return sorted(k.decode()[len(WORKER_KEY) :] for k in client.scan_iter(match=WORKER_KEY + "*", count=500))


def beat_seconds_since_tick() -> float | None:
    """Seconds since beat's last tick; None when no tick was ever recorded (or Redis lost it)."""
    raw = redis_client().get(BEAT_KEY)
    return None if raw is None else max(0.0, time.time() - float(raw))


def beat_missing_for() -> float:
    """How long checks have found no beat tick at all (0 on the first look): a wiped Redis is not a dead beat."""
    client = redis_client()
    client.set(BEAT_MISSING_KEY, f"{time.time():.3f}", nx=True, ex=24 * 3600)
    raw = client.get(BEAT_MISSING_KEY)
    return 0.0 if raw is None else max(0.0, time.time() - float(raw))


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure is reported, not raised
        return _error(exc)
    return None


def check_broker() -> str | None:
    from django.conf import settings
    from kombu import Connection

    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return None


def check_workers() -> str | None:
    try:
        alive = workers_alive()
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    if not alive:
        return f"no Celery worker has sent a heartbeat in the last {WORKER_HEARTBEAT_TTL_SECONDS} s"
    return None


def check_beat() -> str | None:
    try:
        since = beat_seconds_since_tick()
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    if since is None:
        return "Celery beat has not ticked (not running, or Redis lost its state)"
    if since > BEAT_STALE_SECONDS:
        return f"Celery beat last ticked {int(since)} s ago"
    return None


def check_all() -> dict[str, str | None]:
    return {"database": check_database(), "broker": check_broker(), "workers": check_workers(), "beat": check_beat()}


def background_problems() -> dict[str, str]:
    """The overview banner: what is wrong with the workers and beat (empty when both are alive)."""
    checks = {"workers": check_workers(), "beat": check_beat()}
    return {name: error for name, error in checks.items() if error}
