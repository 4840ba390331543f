"""Helpers the test suite shares: real processes (Celery worker, sandbox server) and readiness waits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> None:
    """A missing service or browser: a failure in CI, a visible skip elsewhere."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.1, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


def database_url_for(db_name: str) -> str:
    """The configured DATABASE_URL pointed at another database (the test database)."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit((parts.scheme, parts.netloc, "/" + db_name, parts.query, parts.fragment))


class Process:
    """A child process in its own process group, stopped by its PID at teardown."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            os.killpg(self.proc.pid, sig)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")


def child_env(db_name: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url_for(db_name), "DEBUG": "true", **extra}
    return env


def start_worker(
    db_name: str,
    tmp_dir: Path,
    *,
    queues: str = "default,sync,webhooks,alerts",
    concurrency: int = 2,
    name: str = "worker",
    extra_env: dict[str, str] | None = None,
    include: str = "",
    as_deployed: bool = False,
    pool: str | None = None,
    loglevel: str = "INFO",
) -> Process:
    """A worker on the test database; `as_deployed` keeps gossip, mingle and heartbeats on, as README starts it."""
    quiet = [] if as_deployed else ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-Q",
        queues,
        "-c",
        str(concurrency),
        "-l",
        loglevel,
        "-n",
        f"{name}-{os.getpid()}-{time.monotonic_ns()}@%h",
        *quiet,
        *(["--include", include] if include else []),
        *(["-P", pool] if pool else []),
    ]
    # no beat runs beside a test's worker: without this a long test would get a "beat stopped" alert
    checks = {} if as_deployed else {"WORKER_CHECKS_BEAT": "false"}
    proc = Process(args, child_env(db_name, **checks, **(extra_env or {})), tmp_dir / f"{name}.log")
    wait_until(lambda: "ready." in proc.output() or not proc.alive(), timeout=60, what="celery worker ready")
    if not proc.alive():
        raise AssertionError("celery worker died at start:\n" + proc.output()[-3000:])
    return proc


def readme_worker_commands() -> list[dict[str, str]]:
    """The worker commands the README recommends for production (its "Production run" block): for each, the
    options that matter here (-P, -c, -Q, -n). Tests and benchmarks start exactly these."""
    import shlex

    out = []
    for line in (ROOT / "README.md").read_text().splitlines():
        if not line.startswith("celery -A config worker"):
            continue
        words = shlex.split(line.split("#", 1)[0])
        opts = {words[i]: words[i + 1] for i in range(len(words) - 1) if words[i].startswith("-")}
        out.append(
            {
                "pool": opts.get("-P", "prefork"),
                "concurrency": opts.get("-c", "0"),
                "queues": opts.get("-Q", ""),
                "name": opts.get("-n", "worker@%h").split("@", 1)[0],
            }
        )
    if not out:
        raise AssertionError("README.md names no `celery -A config worker` command")
    return out


def sync_worker_output(procs: dict[str, Process]) -> str:
    """The logs of the README's sync workers together (a run may land on any of them)."""
    return "".join(proc.output() for name, proc in procs.items() if name.startswith("sync"))


def start_readme_workers(
    db_name: str,
    tmp_dir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    concurrency: dict[str, int] | None = None,
    loglevel: str = "INFO",
    only: set[str] | None = None,
) -> dict[str, Process]:
    """Start the README's production worker commands (by their -n name: "sync", "sync2", "live"); `concurrency`
    may lower a worker's -c and `only` start some of them, for a test that wants its slots full."""
    procs: dict[str, Process] = {}
    try:
        for cmd in readme_worker_commands():
            if only is not None and cmd["name"] not in only:
                continue
            c = (concurrency or {}).get(cmd["name"], int(cmd["concurrency"]))
            procs[cmd["name"]] = start_worker(
                db_name,
                tmp_dir,
                queues=cmd["queues"],
                concurrency=c,
                name=cmd["name"],
                extra_env=extra_env,
                pool=cmd["pool"],
                loglevel=loglevel,
            )
    except BaseException:
        for proc in procs.values():
            proc.stop()
        raise
    return procs
