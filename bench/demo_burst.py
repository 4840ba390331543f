"""Demo web server under a burst: `python -m config.devservers run -- python -m bench.demo_burst --json`.

`make demo` once served with Django's threaded runserver and CONN_MAX_AGE=60: every request thread opened its own
PostgreSQL connection and kept it, so a burst (webhooks from the emulator, a few people clicking) used up the
server's connections; login answered 500 and did not recover. This starts the web server exactly as `make demo`
does (config.devservers.web_command; `--server runserver` starts the old one for comparison) on a throwaway
database next to DATABASE_URL, fires `--requests` requests at `--concurrency` at once (login pages, logins,
the overview with a session, webhook posts), samples PostgreSQL's connection count meanwhile, then logs in once
more. Prints one JSON object; exits 1 when any request failed or the login afterwards did not work.

Run it through config.devservers without DATABASE_URL / REDIS_URL set and it uses an embedded PostgreSQL and Redis
(nothing to install by hand), so the machine's own PostgreSQL is never drained by the runserver comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.devservers import web_command  # noqa: E402

USER, PASSWORD = "burst@example.com", "burst-bench-password-2041"
USERS = 30  # the logins of the burst rotate over this many accounts (allauth limits failures per account)
REQUEST_TIMEOUT_SECONDS = 60  # a queued request may wait; a minute means the server is stuck, not busy
SAMPLE_SECONDS = 0.1


def _admin_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))


def _throwaway_db() -> tuple[str, str]:
    import psycopg

    parts = urlsplit(os.environ["DATABASE_URL"])
    name = (parts.path.lstrip("/") or "contacts_sync") + "_bench_demo"
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _connections(db_name: str) -> int:
    import psycopg

    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (db_name,)).fetchone()
        return int(row[0]) if row else 0


def _max_connections() -> int:
    import psycopg

    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        row = conn.execute("SHOW max_connections").fetchone()
        return int(row[0]) if row else 0


def _server_command(kind: str, port: int) -> list[str]:
    if kind == "runserver":  # what make demo ran before
        return [sys.executable, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload"]
    return web_command(sys.executable, "127.0.0.1", port)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _client() -> dict[str, str]:
    """A distinct client address per request (the server trusts one proxy): the burst is many people, so
    allauth's per-client login limit does not turn it into 429s."""
    import random

    return {"X-Forwarded-For": f"198.18.{random.randint(0, 255)}.{random.randint(1, 254)}"}


def _user(i: int) -> str:
    return USER if i < 0 else f"burst{i % USERS}@example.com"


def _login(base: str, i: int = -1) -> int:
    with requests.Session() as s:
        s.headers.update(_client())
        s.get(f"{base}/accounts/login/", timeout=REQUEST_TIMEOUT_SECONDS)
        r = s.post(
            f"{base}/accounts/login/",
            data={"login": _user(i), "password": PASSWORD},
            headers={"X-CSRFToken": s.cookies.get("csrftoken", ""), "Referer": f"{base}/accounts/login/"},
            timeout=REQUEST_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        return r.status_code


def _one(base: str, i: int, cookies: dict[str, str]) -> tuple[str, int | str, float]:
    """One request of the mix; returns (kind, status or error class, milliseconds)."""
    kind = ("login_page", "overview", "webhook", "login")[i % 4]
    started = time.perf_counter()
    try:
        if kind == "login_page":
            status: int | str = requests.get(
                f"{base}/accounts/login/", headers=_client(), timeout=REQUEST_TIMEOUT_SECONDS
            ).status_code
        elif kind == "overview":
            status = requests.get(
                f"{base}/", cookies=cookies, headers=_client(), timeout=REQUEST_TIMEOUT_SECONDS, allow_redirects=False
            ).status_code
        elif kind == "webhook":  # unsigned, as a burst of junk from the internet: refused, never a 500
            status = requests.post(
                f"{base}/webhooks/ghl/",
                data=json.dumps({"type": "ContactCreate", "n": i}),
                headers={"Content-Type": "application/json", **_client()},
                timeout=REQUEST_TIMEOUT_SECONDS,
            ).status_code
        else:
            status = _login(base, i)
    except requests.RequestException as exc:
        status = type(exc).__name__
    return kind, status, (time.perf_counter() - started) * 1000


def _burst(base: str, n: int, concurrency: int, cookies: dict[str, str], db_name: str) -> dict[str, Any]:
    peak, refused = 0, 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak, refused
        while not stop.is_set():
            try:
                peak = max(peak, _connections(db_name))
            except Exception:  # noqa: BLE001 - a full server refuses the sampler too: counted, reported
                refused += 1
            stop.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda i: _one(base, i, cookies), range(n)))
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    statuses: dict[str, int] = {}
    by_kind: dict[str, dict[str, int]] = {}
    for kind, status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        by_kind.setdefault(kind, {})[str(status)] = by_kind.setdefault(kind, {}).get(str(status), 0) + 1
    ms = sorted(r[2] for r in results)
    q = statistics.quantiles(ms, n=100)
    failed = sum(c for s, c in statuses.items() if not s.isdigit() or int(s) >= 500)
    return {
        "statuses": dict(sorted(statuses.items())),
        "by_kind": by_kind,
        "failed": failed,
        "wall_s": round(wall, 2),
        "p50_ms": round(q[49], 1),
        "p95_ms": round(q[94], 1),
        "max_ms": round(ms[-1], 1),
        "peak_db_connections": peak,
        "sampler_refused": refused,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=60)
    ap.add_argument("--server", choices=["demo", "runserver"], default="demo")
    args = ap.parse_args()
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        sys.exit("run through `python -m config.devservers run -- python -m bench.demo_burst` (it sets the URLs)")

    db_name, db_url = _throwaway_db()
    env = {**os.environ, "DATABASE_URL": db_url, "DEBUG": "true", "TRUSTED_PROXY_COUNT": "1"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    create = (
        "from contacts_sync.services.users import user_create\n"
        f"for email in [{USER!r}] + [f'burst{{n}}@example.com' for n in range({USERS})]:\n"
        f"    user_create(email=email, role='Viewer', password={PASSWORD!r})"
    )
    subprocess.run([*manage, "shell", "-c", create], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    (ROOT / ".data").mkdir(exist_ok=True)  # a fresh checkout has none yet
    log = open(ROOT / ".data" / f"bench-demo-{args.server}.log", "wb")
    server = subprocess.Popen(
        _server_command(args.server, port),
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/accounts/login/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        with requests.Session() as s:  # one logged-in session for the overview requests
            s.headers.update(_client())
            s.get(f"{base}/accounts/login/", timeout=REQUEST_TIMEOUT_SECONDS)
            s.post(
                f"{base}/accounts/login/",
                data={"login": USER, "password": PASSWORD},
                headers={"X-CSRFToken": s.cookies.get("csrftoken", ""), "Referer": f"{base}/accounts/login/"},
                timeout=REQUEST_TIMEOUT_SECONDS,
            )
            cookies = {k: v for k, v in s.cookies.items() if k in ("sessionid", "csrftoken")}
        burst = _burst(base, args.requests, args.concurrency, cookies, db_name)
        time.sleep(2)
        after = _login(base)
        connections_after = _connections(db_name)
    finally:
        os.killpg(server.pid, 15)
        server.wait(30)
        log.close()
    result = {
        "bench": "demo_burst",
        "server": args.server,
        "command": " ".join(_server_command(args.server, port)[1:4]),
        "requests": args.requests,
        "concurrency": args.concurrency,
        **burst,
        "max_connections": _max_connections(),
        "db_connections_after": connections_after,
        "login_after_burst": after,
        "ok": burst["failed"] == 0 and after == 302,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
