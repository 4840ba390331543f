"""GHL rate budget and emulator throughput: `python -m bench.ghl_budget --json`.

Starts its own GHL emulator (`manage.py sandbox` on a free port) and measures:

- budget_used: 4 worker processes call the emulator (at GHL's real limit, 100 requests / 10 s per location) for
  60 s through GHLClient with the shared Redis RateBudget; requests made / requests allowed, where allowed =
  100 * ceil(duration / 10 s), the most GHL admits in that time (goal >= 0.95);
- http_429_ratio: 429 answers / requests made in that phase (goal <= 0.01);
- emulator_rps: requests/s the emulator serves with its limit lifted, driven by `wrk` (not Python, so the load
  generator does not eat the measured cores) with a Lua script mixing GET /contacts/{id} and POST
  /contacts/upsert (goal >= 1000).

Prints one JSON object. Nothing here is a test; results are recorded by hand in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("PRIVATE_URL_ALLOWLIST", "127.0.0.1")  # the emulator this benchmark starts is local
sys.path.insert(0, str(ROOT))

from bench.support import production_env, wrk_path  # noqa: E402

LIMIT, WINDOW_S = 100, 10.0  # GHL's burst limit per location
LOCATION = "bench-location"
TOKEN = "pit-bench-token"
WRK_SCRIPT = """
counter = 0
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["Version"] = "2021-07-28"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  if counter %% 2 == 0 then
    return wrk.format("GET", "/ghl/contacts/" .. ids[(counter %% #ids) + 1])
  end
  local body = '{"locationId":"%(location)s","email":"wrk' .. (counter %% 5000) .. '@example.com","firstName":"W"}'
  return wrk.format("POST", "/ghl/contacts/upsert", nil, body)
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Emulator:
    def __init__(self, tmp: Path, seed: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(tmp / "sandbox.log", "wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "sandbox",
                "--port",
                str(self.port),
                "--ghl-location",
                LOCATION,
                "--ghl-token",
                TOKEN,
                "--seed",
                str(seed),
            ],
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DEBUG": os.environ.get("DEBUG", "false"),
            },
        )
        import requests

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/_admin/health", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("the sandbox did not start; see " + str(tmp / "sandbox.log"))

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        import requests

        r = requests.request(method, f"{self.url}{path}", timeout=30, **kw)
        r.raise_for_status()
        return r.json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def contact_ids(emulator: Emulator, n: int = 500) -> list[str]:
    import requests

    r = requests.post(
        f"{emulator.url}/ghl/contacts/search",
        timeout=30,
        headers={"Authorization": f"Bearer {TOKEN}", "Version": "2021-07-28"},
        json={"locationId": LOCATION, "pageLimit": n},
    )
    r.raise_for_status()
    return [c["id"] for c in r.json()["contacts"]]


def _worker(base_url: str, redis_url: str, budget_key: str, ids: list[str], deadline: float, out: Any) -> None:
    """One worker process: calls through GHLClient + the shared budget until the deadline."""
    import redis

    from contacts_sync.apiclient.budget import RateBudget
    from contacts_sync.apiclient.errors import ApiError, BudgetExhaustedError
    from contacts_sync.apiclient.tokens import StaticTokenProvider
    from contacts_sync.connectors.ghl.client import GHL_LIMITS, GHLClient

    budget = RateBudget(redis.Redis.from_url(redis_url), budget_key, GHL_LIMITS)

    class UntilDeadline:
        """The shared budget, but no waiting past the end of the measured period."""

        def acquire(self, timeout: float = 60.0) -> float:
            return budget.acquire(timeout=min(timeout, max(0.0, deadline - time.time())))

        def observe(self, *args: Any, **kwargs: Any) -> int:
            return budget.observe(*args, **kwargs)

    stats = {"requests": 0, "http_429": 0, "calls": 0, "errors": 0, "first": None, "last": None}

    def record(call: Any) -> None:
        stats["calls"] += 1
        stats["requests"] += call.attempts
        stats["http_429"] += call.rate_limited
        if call.attempts:
            stats["first"] = stats["first"] or time.time()
            stats["last"] = time.time()

    client = GHLClient(
        location_id=LOCATION,
        token_provider=StaticTokenProvider(TOKEN),
        base_url=f"{base_url}/ghl",
        budget=UntilDeadline(),
        on_call=record,
    )
    rng = random.Random(os.getpid())
    while time.time() < deadline:
        try:
            if rng.random() < 0.5:
                client.get_contact(rng.choice(ids))
            else:
                client.upsert_contact({"email": f"bench{rng.randrange(2000)}@example.com", "firstName": "Bench"})
        except BudgetExhaustedError:
            break
        except ApiError:
            stats["errors"] += 1
    out.put(stats)


def budget_phase(emulator: Emulator, ids: list[str], duration: float, workers: int) -> dict[str, Any]:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    key = f"bench-ghl-budget:{uuid.uuid4().hex}"
    emulator.admin("DELETE", "/_admin/faults")  # the real limit: 100 / 10 s
    time.sleep(WINDOW_S + 0.5)  # let the emulator's window forget the set-up requests
    ctx = multiprocessing.get_context("spawn")
    out, ready = ctx.Queue(), ctx.Queue()
    go = ctx.Event()
    start_at = ctx.Value("d", 0.0)
    procs = [
        ctx.Process(target=_worker_at, args=(ready, go, start_at, duration, emulator.url, redis_url, key, ids, out))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    for _ in procs:  # every worker has imported everything and built its client
        ready.get(timeout=120)
    start_at.value = time.time() + 0.5
    go.set()
    results = [out.get(timeout=duration + 120) for _ in procs]
    for p in procs:
        p.join(30)
    try:
        import redis

        client = redis.Redis.from_url(redis_url)
        for k in client.scan_iter(f"{key}*"):
            client.delete(k)
    except Exception:  # noqa: BLE001 - cleanup only
        pass
    requests_made = sum(r["requests"] for r in results)
    http_429 = sum(r["http_429"] for r in results)
    # the most a sliding 10 s window admits in [0, duration) from a fresh start: one full burst per started window
    allowed = LIMIT * math.ceil(duration / WINDOW_S)
    return {
        "duration_s": duration,
        "workers": workers,
        "limit": f"{LIMIT}/{WINDOW_S:g}s",
        "requests": requests_made,
        "requests_allowed": allowed,
        "budget_used": round(requests_made / allowed, 4),
        "http_429": http_429,
        "http_429_ratio": round(http_429 / requests_made, 4) if requests_made else None,
        "calls": sum(r["calls"] for r in results),
        "errors": sum(r["errors"] for r in results),
    }


def _worker_at(ready: Any, go: Any, start_at: Any, duration: float, *args: Any) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import contacts_sync.connectors.ghl.client  # noqa: F401 - import before the clock starts

    ready.put(os.getpid())
    go.wait(300)
    time.sleep(max(0.0, start_at.value - time.time()))
    base_url, redis_url, key, ids, out = args
    _worker(base_url, redis_url, key, ids, start_at.value + duration, out)


def wrk_phase(emulator: Emulator, ids: list[str], seconds: int, connections: int, tmp: Path) -> dict[str, Any]:
    emulator.admin("POST", "/_admin/faults", json={"app": "ghl", "account": LOCATION, "rate_limit": 10**9})
    script = tmp / "mix.lua"
    script.write_text(
        "ids = {" + ",".join(f'"{i}"' for i in ids) + "}\n" + WRK_SCRIPT % {"token": TOKEN, "location": LOCATION}
    )
    cpu_before = cpu_seconds(emulator.proc.pid)
    run = subprocess.run(
        [wrk_path(), "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), emulator.url],
        capture_output=True,
        text=True,
        check=True,
    )
    cpu_used = cpu_seconds(emulator.proc.pid) - cpu_before
    rps = re.search(r"Requests/sec:\s+([\d.]+)", run.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", run.stdout)
    total = re.search(r"(\d+) requests in", run.stdout)
    latency = re.search(r"Latency\s+([\d.]+\w+)\s+([\d.]+\w+)\s+([\d.]+\w+)", run.stdout)
    served = int(total.group(1)) if total else 0
    return {
        "emulator_rps": float(rps.group(1)) if rps else None,
        # requests served per second of CPU the emulator process used: what one free core sustains, independent
        # of how many other processes compete for the machine while the benchmark runs
        "emulator_rps_per_cpu_second": round(served / cpu_used, 1) if cpu_used > 0 else None,
        "emulator_cpu_s": round(cpu_used, 2),
        "wrk": {
            "threads": 1,
            "connections": connections,
            "seconds": seconds,
            "requests": int(total.group(1)) if total else None,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "latency_avg": latency.group(1) if latency else None,
            "mix": "50% GET /contacts/{id}, 50% POST /contacts/upsert",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (the only output format)")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--wrk-seconds", type=int, default=15)
    parser.add_argument("--wrk-connections", type=int, default=32)
    parser.add_argument("--seed", type=int, default=2000, help="contacts in the emulated location")
    args = parser.parse_args()
    production_env()  # the emulator and the worker processes inherit it (they failed on DEBUG off without keys)
    wrk_path()  # before anything starts: installs Debian's wrk when it is missing (root), or says how
    with tempfile.TemporaryDirectory(prefix="bench-ghl-") as tmp_name:
        tmp = Path(tmp_name)
        emulator = Emulator(tmp, args.seed)
        try:
            ids = contact_ids(emulator)
            result: dict[str, Any] = {
                "benchmark": "ghl_budget",
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {
                    "cores": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                    "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
                },
            }
            result.update(budget_phase(emulator, ids, args.duration, args.workers))
            result.update(wrk_phase(emulator, ids, args.wrk_seconds, args.wrk_connections, tmp))
        finally:
            emulator.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
