"""Sync engine benchmark: `python -m bench.sync --contacts 10000 --json`.

Starts its own sandbox (emulators) and Celery worker processes against the configured database and Redis, then
measures (see docs/benchmarks.md, section "sync"):

- records_per_s: N Hubstaff clients -> GHL contacts end to end (pull, map, diff, push, record) with 2 worker
  processes, rate limits off, split over two syncs so both processes work; baseline_records_per_s: the same
  reads and GHL upserts by bare `requests` loops in 2 processes against the same emulator;
- write_calls_per_changed (first run) and incremental_write_calls_per_changed (re-run with 1% new clients);
- db_queries_per_record: one run executed in this process with every SQL statement counted;
- budget_used and http_429_ratio: 60 s of runs with the GHL emulator at its real limit (100 / 10 s), the shared
  Redis budget on, 4 worker processes;
- peak_worker_rss_mb: the highest resident memory of a worker process during the throughput run (use
  `--contacts 100000` for the streaming check).

Prints one JSON object. Nothing here is a test; numbers are recorded by hand in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("PRIVATE_URL_ALLOWLIST", "127.0.0.1")  # the emulators this benchmark starts are local

from bench.support import production_env  # noqa: E402

NO_LIMIT = 10**9
PAGE_LIMIT = 100
LIMITED_SECONDS = 60.0
GHL_BURST = (100, 10.0)
BASELINE_RULES = [
    {"source": "name", "target": "firstName", "transforms": [{"name": "split_name", "args": {"part": "first"}}]},
    {"source": "name", "target": "lastName", "transforms": [{"name": "split_name", "args": {"part": "last"}}]},
    {
        "source": "emails.0",
        "target": "email",
        "transforms": [{"name": "trim", "args": {}}, {"name": "lower", "args": {}}],
    },
    {"constant": "Hubstaff", "target": "source", "transforms": []},
]


def _setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


class Box:
    """The sandbox server as a child process."""

    def __init__(self, tmp: Path) -> None:
        from tests.support import Process, free_port, wait_until

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.location, self.token = "bench-location", "pit-bench-token"
        self.proc = Process(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "sandbox",
                "--port",
                str(self.port),
                "--ghl-location",
                self.location,
                "--ghl-token",
                self.token,
            ],
            {**os.environ},
            tmp / "sandbox.log",
        )
        import requests

        self.http = requests.Session()
        wait_until(self._up, timeout=60, what="sandbox")

    def _up(self) -> bool:
        import requests

        try:
            return self.http.get(f"{self.url}/_admin/health", timeout=1).ok
        except requests.RequestException:
            return False

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        r = self.http.request(method, f"{self.url}{path}", timeout=120, **kw)
        r.raise_for_status()
        return r.json() if r.content else {}

    def faults(self, app: str, account: str, **values: Any) -> None:
        self.admin("POST", "/_admin/faults", json={"app": app, "account": account, **values})

    def stop(self) -> None:
        self.proc.stop()


_org_counter = iter(range(20000, 30000))


def _org(box: Box, clients: int) -> tuple[int, str]:
    org = next(_org_counter) + int(time.time()) % 5000 * 3
    box.admin(
        "POST",
        "/hubstaff/_admin/seed",
        json={"organization_id": org, "clients": clients, "members": 0, "tasks": 0, "notes": 0, "projects": 1},
    )
    return org, box.admin("POST", "/hubstaff/_admin/pats", json={})["refresh_token"]


def _sync(box: Box, org: int, pat: str, *, limited: bool = False) -> Any:
    from contacts_sync import models as m
    from contacts_sync.services.syncs import sync_create_from_recipe

    hub = m.Connection.objects.create(
        name=f"bench hubstaff {org}",
        provider="hubstaff",
        auth_kind="oauth2",
        external_account_id=str(org),
        base_url=f"{box.url}/hubstaff",
        secrets={"refresh_token": pat},
        config={"rate_limit_per_hour": 0},
    )
    ghl = m.Connection.objects.create(
        name=f"bench ghl {org}",
        provider="ghl",
        auth_kind="private_token",
        external_account_id=box.location,
        base_url=f"{box.url}/ghl",
        secrets={"access_token": box.token},
        config={} if limited else {"rate_limit_per_10s": 0},
    )
    sync = sync_create_from_recipe(
        recipe="hubstaff_client_to_ghl_contact",
        name=f"bench {org}",
        source_connection=hub,
        target_connection=ghl,
        options={"page_limit": PAGE_LIMIT},
        live=True,
    )
    # The same fields the baseline script sends, so both make one upsert per record (the recipe's default
    # mapping rejects the emulator's messy phones, which would spare the engine half of the writes).
    version = m.MappingVersion.objects.create(sync=sync, number=2, rules=BASELINE_RULES, note="bench")
    sync.mapping_version = version
    sync.save(update_fields=["mapping_version"])
    return sync


def _wait(run_ids: list[int], timeout: float = 3600) -> list[Any]:
    from django.db import close_old_connections

    from contacts_sync import models as m

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        runs = list(m.Run.objects.filter(pk__in=run_ids))
        if all(r.status not in m.ACTIVE_RUN_STATUSES for r in runs):
            return runs
        time.sleep(0.2)
    raise TimeoutError(f"runs {run_ids} did not finish")


def _needing_write(run_ids: list[int]) -> int:
    """Records that needed a write call: changed ones, plus those the target rejected on this attempt."""
    from contacts_sync import models as m

    items = m.RunItem.objects.filter(run_id__in=run_ids)
    changed = items.filter(action__in=[m.ItemAction.CREATED, m.ItemAction.UPDATED]).count()
    rejected = (
        items.filter(action=m.ItemAction.FAILED)
        .exclude(error_class__in=["MappingError", "ParentNotLinked"])
        .exclude(error_message__startswith="Not sent again")
        .count()
    )
    return changed + rejected


def _write_calls(run_ids: list[int]) -> int:
    from contacts_sync import models as m

    calls = m.ApiCall.objects.filter(run_id__in=run_ids, provider="ghl").exclude(method="GET")
    return calls.exclude(path_template__endswith="/search").count()


# --- the baseline: what a hand-written script does --------------------------------------------------------------


def _baseline_worker(args: tuple[str, int, str, str, str]) -> int:
    import requests

    url, org, pat, location, token = args
    http = requests.Session()
    tok = http.post(
        f"{url}/hubstaff/access_tokens", data={"grant_type": "refresh_token", "refresh_token": pat}, timeout=30
    ).json()["access_token"]
    ghl = requests.Session()
    ghl.headers.update({"Authorization": f"Bearer {token}", "Version": "2021-07-28"})
    start, done = 0, 0
    while True:
        r = http.get(
            f"{url}/hubstaff/v2/organizations/{org}/clients",
            params={"page_start_id": start, "page_limit": PAGE_LIMIT},
            headers={"Authorization": f"Bearer {tok}"},
            timeout=30,
        )
        data = r.json()
        for c in data.get("clients", []):
            first, _, last = str(c.get("name") or "").strip().partition(" ")
            emails = c.get("emails") or []
            body = {"locationId": location, "firstName": first, "lastName": last, "source": "Hubstaff"}
            if emails:
                body["email"] = str(emails[0]).strip().lower()
            ghl.post(f"{url}/ghl/contacts/upsert", json=body, timeout=30)
            done += 1
        nxt = (data.get("pagination") or {}).get("next_page_start_id")
        if not nxt:
            return done
        start = nxt


def _baseline(box: Box, orgs: list[tuple[int, str]]) -> float:
    args = [(box.url, org, pat, box.location, box.token) for org, pat in orgs]
    t0 = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(len(args)) as pool:
        total = sum(pool.map(_baseline_worker, args))
    return total / (time.monotonic() - t0)


# --- measurements -------------------------------------------------------------------------------------------------


class RssSampler:
    def __init__(self, root_pid: int) -> None:
        import threading

        self.root_pid = root_pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                root = psutil.Process(self.root_pid)
                for p in [root, *root.children(recursive=True)]:
                    self.peak = max(self.peak, p.memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(0.25)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(2)
        return round(self.peak / 2**20, 1)


def _worker(tmp: Path, name: str, concurrency: int) -> Any:
    from django.db import connection

    from tests.support import start_worker

    return start_worker(
        connection.settings_dict["NAME"],
        tmp,
        queues="sync",
        concurrency=concurrency,
        name=name,
        extra_env={"DEBUG": os.environ.get("DEBUG", "false")},
    )


def _enqueue(syncs: list[Any]) -> list[int]:
    from contacts_sync import models as m
    from contacts_sync.services.runs import run_enqueue

    return [run_enqueue(sync=s, trigger=m.RunTrigger.MANUAL).pk for s in syncs]


def throughput(box: Box, tmp: Path, contacts: int, *, baseline_too: bool = True) -> dict[str, Any]:
    box.faults("ghl", box.location, rate_limit=NO_LIMIT)
    box.faults("hubstaff", "*", rate_limit=NO_LIMIT)
    half = contacts // 2
    orgs = [_org(box, half), _org(box, contacts - half)]
    baseline_orgs = [(org, box.admin("POST", "/hubstaff/_admin/pats", json={})["refresh_token"]) for org, _ in orgs]
    baseline = 0.0
    if baseline_too:
        baseline = _baseline(box, baseline_orgs)
        box.admin("POST", "/_admin/reset", params={"app": "ghl"})
        box.faults("ghl", box.location, rate_limit=NO_LIMIT)
    syncs = [_sync(box, org, pat) for org, pat in orgs]
    worker = _worker(tmp, "bench-throughput", 2)
    sampler = RssSampler(worker.pid)
    try:
        t0 = time.monotonic()
        first = _enqueue(syncs)
        runs = _wait(first)
        elapsed = time.monotonic() - t0
        read = sum(r.read_count for r in runs)
        changed = sum(r.created_count + r.updated_count for r in runs)
        writes = _write_calls(first)
        # 1% changed: new clients in each organization since the first run
        for org, _ in orgs:
            box.admin(
                "POST",
                "/hubstaff/_admin/seed",
                json={"organization_id": org, "clients": max(1, contacts // 200), "members": 0, "tasks": 0, "notes": 0},
            )
        second = _enqueue(syncs)
        runs2 = _wait(second)
        changed2 = sum(r.created_count + r.updated_count for r in runs2)
        writes2 = _write_calls(second)
    finally:
        rss = sampler.stop()
        worker.stop()
    return {
        "records_per_s": round(read / elapsed, 1),
        "baseline_records_per_s": round(baseline, 1) if baseline else None,
        "ratio_to_baseline": round(read / elapsed / baseline, 3) if baseline else None,
        "first_run": {
            "read": read,
            "changed": changed,
            "failed": sum(r.failed_count for r in runs),
            "statuses": sorted({r.status for r in runs}),
            "seconds": round(elapsed, 1),
        },
        "write_calls_per_changed": round(writes / max(1, _needing_write(first)), 3),
        "incremental_write_calls_per_changed": round(writes2 / max(1, _needing_write(second)), 3),
        "first_run_writes": {"write_calls": writes, "needing_write": _needing_write(first)},
        "incremental_run": {
            "read": sum(r.read_count for r in runs2),
            "changed": changed2,
            "writes": writes2,
            "needing_write": _needing_write(second),
        },
        "peak_worker_rss_mb": rss,
    }


def db_queries(box: Box, records: int = 1000) -> float:
    from django.db import connection

    from contacts_sync import models as m
    from contacts_sync.services.runs import run_execute

    box.faults("ghl", box.location, rate_limit=NO_LIMIT)
    org, pat = _org(box, records)
    sync = _sync(box, org, pat)
    run = m.Run.objects.create(sync=sync, trigger=m.RunTrigger.MANUAL, mapping_version=sync.mapping_version)
    count = [0]

    def counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        run_execute(run_id=run.pk, worker="bench")
    run.refresh_from_db()
    return round(count[0] / max(1, run.read_count), 3)


def limited(box: Box, tmp: Path, seconds: float = LIMITED_SECONDS) -> dict[str, Any]:
    from contacts_sync import models as m
    from contacts_sync.apiclient.budget import RateBudget
    from contacts_sync.services.runs import run_cancel

    box.admin("DELETE", "/_admin/faults")  # the GHL emulator's real limit: 100 requests / 10 s per location
    box.faults("hubstaff", "*", rate_limit=NO_LIMIT)
    from django.conf import settings

    RateBudget.for_account(settings.REDIS_URL, "ghl", box.location, [GHL_BURST]).reset()
    syncs = [_sync(box, *_org(box, 1500), limited=True) for _ in range(4)]
    worker = _worker(tmp, "bench-limited", 4)
    try:
        t0 = time.monotonic()
        ids = _enqueue(syncs)
        time.sleep(seconds)
        for run in m.Run.objects.filter(pk__in=ids):
            run_cancel(run=run, user=None)
        elapsed = time.monotonic() - t0
        runs = _wait(ids, timeout=300)
    finally:
        worker.stop()
    calls = m.ApiCall.objects.filter(run_id__in=ids, provider="ghl")
    requests_sent = sum(c.attempts for c in calls)
    http_429 = sum(r.http_429s for r in runs)
    allowed = GHL_BURST[0] * elapsed / GHL_BURST[1]
    return {
        "budget_used": round(requests_sent / allowed, 3),
        "http_429_ratio": round(http_429 / max(1, requests_sent), 4),
        "limited_run": {"seconds": round(elapsed, 1), "ghl_requests": requests_sent, "http_429s": http_429},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-limited", action="store_true", help="skip the 60 s rate-limited measurement")
    parser.add_argument("--skip-baseline", action="store_true", help="no bare-requests baseline (RSS runs)")
    parser.add_argument("--only-limited", action="store_true", help="only the 60 s rate-limited measurement")
    args = parser.parse_args()
    production_env()
    _setup_django()
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    box = Box(tmp)
    try:
        result: dict[str, Any] = {
            "benchmark": "sync",
            "contacts": args.contacts,
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()} {os.cpu_count()} cpu, {platform.system()} {platform.release()}",
        }
        if not args.only_limited:
            result.update(throughput(box, tmp, args.contacts, baseline_too=not args.skip_baseline))
            result["db_queries_per_record"] = db_queries(box)
        if not args.skip_limited:
            result.update(limited(box, tmp))
    finally:
        box.stop()
        _cleanup()
    print(json.dumps(result, indent=None if args.json else 2))


def _cleanup() -> None:
    """Remove the bench's syncs (runs, items, links, calls cascade) and connections from the database."""
    from django.db import close_old_connections

    from contacts_sync import models as m

    close_old_connections()
    m.Sync.objects.filter(name__startswith="bench ").delete()
    m.Connection.objects.filter(name__startswith="bench ").delete()


if __name__ == "__main__":
    main()
