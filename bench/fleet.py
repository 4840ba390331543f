"""A fleet of GHL locations synced at their full rate limits: `python -m bench.fleet --json`.

Starts its own sandbox (emulators) and the README's production worker commands (thread pools, `-Q sync` and the
live queues) against the configured PostgreSQL and Redis, with production settings (DEBUG off). Then:

- fleet: `--locations` (50) GHL locations are created in the GHL emulator, which keeps GHL's real limit of 100
  requests / 10 s per location; one custom app holds `--contacts` (1,000) records; one contact sync per location
  (custom app -> that location) is enqueued at once, and the bench waits for all of them.
  - aggregate_budget_used: GHL requests made / requests the budgets allowed during the elapsed time
    (locations x 100 x ceil(elapsed / 10 s)); goal >= 0.9;
  - http_429_ratio: 429 answers / GHL requests; goal <= 0.01;
  - fairness_ratio: the slowest location's finish time / the fastest's (from the common start); goal <= 1.3;
  - worker_rss_mb_total: peak resident memory of all worker processes together; goal < 1,500;
  - worker_cpu_ms_per_request: worker CPU seconds (user + system) / GHL requests; goal <= 1.5.
- continuation: one location with `--continuation-contacts` records, its emulator limit raised so the run lasts
  a few minutes, workers started with CELERY_TASK_TIME_LIMIT=60 (so each task works on the run for 30 s, the
  default time slice being half the limit); the reaper is called every 10 s as beat would call it. Reports
  continuations, reaps, duplicates (writes beyond one per record, or GHL contacts beyond the records) and lost
  records (without an item or a GHL contact).

Prints one JSON object. Nothing here is a test; results are recorded by hand in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.support import production_env  # noqa: E402

BURST = (100, 10.0)  # GHL's limit per location
PAGE_LIMIT = 100
# The continuation phase: the emulator's (and the budget's) limit for its one location, per 10 s.
CONTINUATION_LIMIT = 500
CONTINUATION_TIME_LIMIT_S = 60
REAP_EVERY_S = 10.0
# The bench shares the 2 cores with the workers it measures: it samples their RSS and polls the runs no more often
# than this (a run's finish time is read from the database, not from when the poll saw it).
RSS_SAMPLE_S = 0.5
POLL_S = 1.0


class Workers:
    """The README's worker commands as child processes, with their peak RSS and CPU time sampled."""

    def __init__(self, tmp: Path, extra_env: dict[str, str] | None = None) -> None:
        from django.db import connection

        from tests.support import start_readme_workers

        # production settings (child_env would turn DEBUG on); -l INFO only adds Celery's "ready." and one line
        # per task (the start-up wait reads it)
        env = {"DEBUG": "false", **(extra_env or {})}
        self.procs = start_readme_workers(connection.settings_dict["NAME"], tmp, extra_env=env)
        self.peak_rss = 0
        self._stop = threading.Event()
        self._cpu0 = self.cpu_seconds()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _processes(self) -> list[Any]:
        import psutil

        out = []
        for proc in self.procs.values():
            try:
                root = psutil.Process(proc.pid)
                out += [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
        return out

    def cpu_seconds(self) -> float:
        import psutil

        total = 0.0
        for p in self._processes():
            try:
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                continue
        return total

    def _sample(self) -> None:
        import psutil

        while not self._stop.is_set():
            rss = 0
            for p in self._processes():
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_rss = max(self.peak_rss, rss)
            self._stop.wait(RSS_SAMPLE_S)

    def stop(self) -> tuple[float, float]:
        """(peak RSS MB of all workers together, CPU seconds used since start)."""
        cpu = self.cpu_seconds() - self._cpu0
        self._stop.set()
        self._thread.join(2)
        for proc in self.procs.values():
            proc.stop()
        return round(self.peak_rss / 2**20, 1), cpu


def _records(box: Any, n: int, tag: str) -> None:
    box.admin("POST", "/custom/_admin/clear")
    rows = [
        {
            "id": f"{tag}-{i:06d}",
            "first_name": f"Fleet{i}",
            "last_name": tag.title(),
            "email": f"{tag}.{i}@fleet.example",
            "phone": "",
        }
        for i in range(n)
    ]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda r: box.admin("POST", "/custom/_admin/records", json=r), rows))


def _location_sync(box: Any, lid: str, token: str, limit_per_10s: int | None = None) -> Any:
    from contacts_sync import models as m
    from contacts_sync.services.syncs import sync_create_from_recipe

    box.admin("POST", "/ghl/_admin/locations", json={"id": lid, "name": f"Fleet {lid}", "token": token})
    app = m.Connection.objects.create(
        name=f"app for {lid}",
        provider=m.Provider.CUSTOM,
        auth_kind="webhook_secret",
        base_url=f"{box.url}/custom",
        secrets={"api_token": "custom-sandbox-token"},
    )
    ghl = m.Connection.objects.create(
        name=f"GHL {lid}",
        provider=m.Provider.GHL,
        auth_kind="private_token",
        external_account_id=lid,
        base_url=f"{box.url}/ghl",
        secrets={"access_token": token},
        config={} if limit_per_10s is None else {"rate_limit_per_10s": limit_per_10s},
    )
    return sync_create_from_recipe(
        recipe="custom_contact_to_ghl_contact",
        name=f"fleet {lid}",
        source_connection=app,
        target_connection=ghl,
        options={"page_limit": PAGE_LIMIT},
    )


def _reset_budgets(lids: list[str]) -> None:
    from django.conf import settings

    from contacts_sync.apiclient.budget import shared_redis

    redis = shared_redis(settings.REDIS_URL)
    for lid in lids:
        keys = redis.keys(f"ratebudget:ghl:{lid}:*")
        if keys:
            redis.delete(*keys)


def _wait(run_ids: list[int], timeout: float, every: Any = None) -> list[Any]:
    from django.db import close_old_connections

    from contacts_sync import models as m

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        if every is not None:
            every()
        if not m.Run.objects.filter(pk__in=run_ids, status__in=m.ACTIVE_RUN_STATUSES).exists():
            return list(m.Run.objects.filter(pk__in=run_ids))
        time.sleep(POLL_S)
    raise TimeoutError(f"runs {run_ids} did not finish in {timeout:.0f}s")


def _ghl_requests(run_ids: list[int]) -> tuple[int, int]:
    """(requests sent to GHL, 429 answers) by these runs, from their recorded API calls."""
    from django.db.models import Sum

    from contacts_sync import models as m

    sent = m.ApiCall.objects.filter(run_id__in=run_ids, provider="ghl").aggregate(n=Sum("attempts"))["n"] or 0
    return int(sent), int(m.Run.objects.filter(pk__in=run_ids).aggregate(n=Sum("http_429s"))["n"] or 0)


def fleet(box: Any, tmp: Path, locations: int, contacts: int) -> dict[str, Any]:
    from contacts_sync import models as m
    from contacts_sync.services.runs import run_enqueue

    stamp = uuid.uuid4().hex[:6]
    _records(box, contacts, f"f{stamp}")
    lids = [f"fleet-{stamp}-{i:02d}" for i in range(locations)]
    syncs = [_location_sync(box, lid, f"pit-{lid}") for lid in lids]
    _reset_budgets(lids)
    workers = Workers(tmp)
    try:
        workers._cpu0 = workers.cpu_seconds()  # idle start-up is not the runs' cost
        t0 = time.time()
        run_ids = [run_enqueue(sync=s, trigger=m.RunTrigger.MANUAL).pk for s in syncs]
        runs = _wait(run_ids, timeout=3600)
        elapsed = max(r.finished_at.timestamp() for r in runs) - t0
    finally:
        rss, cpu = workers.stop()
    requests, http_429 = _ghl_requests(run_ids)
    finish = sorted(r.finished_at.timestamp() - t0 for r in runs)
    allowed = locations * BURST[0] * math.ceil(elapsed / BURST[1])
    return {
        "locations": locations,
        "contacts_per_location": contacts,
        "elapsed_s": round(elapsed, 1),
        "ghl_requests": requests,
        "ghl_requests_allowed": allowed,
        "aggregate_budget_used": round(requests / allowed, 3),
        "http_429": http_429,
        "http_429_ratio": round(http_429 / max(1, requests), 4),
        "fairness_ratio": round(finish[-1] / finish[0], 3),
        "finish_s": {
            "fastest": round(finish[0], 1),
            "median": round(finish[len(finish) // 2], 1),
            "slowest": round(finish[-1], 1),
        },
        "worker_rss_mb_total": rss,
        "worker_cpu_s": round(cpu, 1),
        "worker_cpu_ms_per_request": round(cpu * 1000 / max(1, requests), 3),
        "runs": {
            "statuses": sorted({r.status for r in runs}),
            "created": sum(r.created_count for r in runs),
            "failed": sum(r.failed_count for r in runs),
        },
    }


def continuation(box: Any, tmp: Path, contacts: int) -> dict[str, Any]:
    from contacts_sync import models as m
    from contacts_sync.services.runs import run_enqueue, runs_reap

    stamp = uuid.uuid4().hex[:6]
    tag = f"c{stamp}"
    _records(box, contacts, tag)
    lid = f"fleet-long-{stamp}"
    sync = _location_sync(box, lid, f"pit-{lid}", limit_per_10s=CONTINUATION_LIMIT)
    box.admin("POST", "/_admin/faults", json={"app": "ghl", "account": lid, "rate_limit": CONTINUATION_LIMIT})
    _reset_budgets([lid])
    limit = str(CONTINUATION_TIME_LIMIT_S)
    workers = Workers(
        tmp,
        extra_env={"CELERY_TASK_TIME_LIMIT": limit, "CELERY_TASK_SOFT_TIME_LIMIT": str(CONTINUATION_TIME_LIMIT_S - 5)},
    )
    reaped: list[int] = []
    last_reap = [time.monotonic()]

    def reap() -> None:  # what beat does every minute, here more often
        if time.monotonic() - last_reap[0] >= REAP_EVERY_S:
            last_reap[0] = time.monotonic()
            reaped.extend(runs_reap())

    try:
        t0 = time.time()
        run = run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL)
        [run] = _wait([run.pk], timeout=3600, every=reap)
        elapsed = run.finished_at.timestamp() - t0
    finally:
        workers.stop()
    items = list(m.RunItem.objects.filter(run=run).values_list("source_id", "action"))
    ids = [sid for sid, _ in items]
    written = {sid for sid, action in items if action in (m.ItemAction.CREATED, m.ItemAction.UPDATED)}
    writes = m.ApiCall.objects.filter(run=run, provider="ghl", method="POST", status__lt=300).count()
    in_ghl = int(box.admin("GET", "/ghl/_admin/stats")["locations"].get(lid, 0))
    expected = {f"{tag}-{i:06d}" for i in range(contacts)}
    return {
        "contacts": contacts,
        "task_time_limit_s": CONTINUATION_TIME_LIMIT_S,
        "emulator_limit_per_10s": CONTINUATION_LIMIT,
        "elapsed_s": round(elapsed, 1),
        "status": run.status,
        "continuations": int(run.checkpoint.get("continuations", 0)),
        "reaps": len(reaped) + int(run.checkpoint.get("reaps", 0)),
        "duplicates": max(0, writes - len(written)) + (len(ids) - len(set(ids))) + max(0, in_ghl - contacts),
        "lost": len(expected - written) + max(0, contacts - in_ghl),
        "ghl_contacts": in_ghl,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--locations", type=int, default=50)
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--continuation-contacts", type=int, default=6000)
    parser.add_argument("--skip-continuation", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default)")
    args = parser.parse_args()
    production_env()
    from bench.sync import Box, _setup_django

    _setup_django()
    load = os.getloadavg()[0]
    started = datetime.now(UTC).isoformat(timespec="seconds")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp_name:
        tmp = Path(tmp_name)
        box = Box(tmp)
        try:
            result: dict[str, Any] = {
                "benchmark": "fleet",
                "date": started,
                "machine": {
                    "cores": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                    "load_avg_1m_at_start": round(load, 2),
                },
            }
            result.update(fleet(box, tmp, args.locations, args.contacts))
            result["load_avg_1m_after_fleet"] = round(os.getloadavg()[0], 2)
            if not args.skip_continuation:
                result["continuation"] = continuation(box, tmp, args.continuation_contacts)
        finally:
            box.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
