"""Dashboard benchmark: `python -m bench.dashboard --json`.

Creates a throwaway PostgreSQL database next to the configured one, migrates it, seeds 100,000 runs and
1,000,000 run items (plus API calls, status changes and alerts) with INSERT ... SELECT generate_series, then
requests every monitoring page in-process through Django's test client (the whole request/response cycle:
middleware, session, selectors, templates) and reports per page the server-time p50/p95 in ms and the number
of SQL queries. Goals (issue 7): p95 < 150 ms and <= 15 queries per page; the status poll p95 < 30 ms.

Prints one JSON object. Nothing here is a test; numbers are recorded by hand in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

GOAL_PAGE_P95_MS = 150
GOAL_POLL_P95_MS = 30
GOAL_QUERIES = 15

SEED_SQL = """
INSERT INTO contacts_sync_connection (name, provider, auth_kind, external_account_id, company_id, base_url, config,
    secrets, scopes, status, last_error, created_at, updated_at, token_expires_at, webhook_token)
SELECT 'Connection ' || g, (ARRAY['ghl','hubstaff','upguard','starbuero','hotspotsystem'])[1 + g % 5], 'api_key',
    'acct' || g, '', '', '{}', '', '[]', 'connected', '', now(), now(), now() + interval '5 hours',
    md5(random()::text || g)
FROM generate_series(1, @connections@) g;

INSERT INTO contacts_sync_sync (name, recipe, source_connection_id, source_object, target_connection_id,
    target_object, webhook_trigger, poll_interval_seconds, mode, enabled, went_live_at, options, health, health_reason,
    consecutive_failures, created_at, updated_at, last_success_at, next_run_at, delete_policy, delete_tag,
    recreate_deleted, source_cursor)
SELECT 'Sync ' || lpad(g::text, 3, '0'), 'bench', (SELECT min(id) FROM contacts_sync_connection) + g % @connections@,
    'contact', (SELECT min(id) FROM contacts_sync_connection), 'contact', false, 900, 'incremental', true,
    now() - interval '60 days', '{}', CASE WHEN g % 7 = 0 THEN 'failing' WHEN g % 5 = 0 THEN 'degraded' ELSE 'healthy' END, '', 0,
    now() - interval '60 days', now(), now() - interval '5 minutes', now() + interval '10 minutes', 'ignore', '',
    false, '{}'
FROM generate_series(1, @syncs@) g;

-- runs: spread evenly over the last 30 days, newest last; ~8% failed, ~10% partial
INSERT INTO contacts_sync_run (sync_id, status, trigger, mode, dry_run, created_at, started_at, finished_at,
    worker, cancel_requested, read_count, created_count, updated_count, unchanged_count, skipped_count, failed_count,
    would_create_count, would_update_count, api_calls, http_429s, checkpoint, suspicious, error_summary,
    deleted_count, verify_sampled, verified_count, verify_failed_count)
SELECT s.first + g % @syncs@,
    CASE WHEN g % 13 = 0 THEN 'failed' WHEN g % 10 = 0 THEN 'partial' ELSE 'succeeded' END,
    (ARRAY['schedule','webhook','manual','reconcile'])[1 + g % 4], 'incremental', false,
    now() - interval '30 days' * (1 - g::float / @runs@),
    now() - interval '30 days' * (1 - g::float / @runs@),
    now() - interval '30 days' * (1 - g::float / @runs@) + interval '20 seconds',
    'bench', false, 12, 3, 4, 4, 0, CASE WHEN g % 13 = 0 THEN 1 ELSE 0 END, 0, 0, 14, (g % 50 = 0)::int, '{}', false,
    CASE WHEN g % 13 = 0 THEN 'ServerError: 503' ELSE '' END, 0, 0, 0, 0
FROM generate_series(1, @runs@) g, (SELECT min(id) AS first FROM contacts_sync_sync) s;

-- one active run per tenth sync, so the overview shows progress bars and the token has work to do; their worker
-- beats (a heartbeat ahead of the clock): a stalled run would change the poll tokens every 30 s by design
INSERT INTO contacts_sync_run (sync_id, status, trigger, mode, dry_run, created_at, started_at, worker,
    cancel_requested, expected_total, read_count, created_count, updated_count, unchanged_count, skipped_count,
    failed_count, would_create_count, would_update_count, api_calls, http_429s, checkpoint, suspicious, error_summary,
    deleted_count, verify_sampled, verified_count, verify_failed_count, heartbeat_at)
SELECT id, 'running', 'schedule', 'incremental', false, now(), now(), 'bench', false, 1000, 400, 100, 200, 50, 0, 0,
    0, 0, 300, 0, '{}', false, '', 0, 0, 0, 0, now() + interval '1 day'
FROM contacts_sync_sync WHERE id % 10 = 0;
"""

ITEMS_SQL = """
-- the big run: @big_items@ items, a tenth failed with two error classes, and @big_calls@ API calls
INSERT INTO contacts_sync_runitem (run_id, source_id, target_id, action, error_class, error_message, attempts,
    payload, created_at, acknowledge_note)
SELECT @big@, 'src-' || g, CASE WHEN g % 10 = 0 THEN '' ELSE 'tgt-' || g END,
    CASE WHEN g % 10 = 0 THEN 'failed' WHEN g % 3 = 0 THEN 'created' WHEN g % 3 = 1 THEN 'updated'
         ELSE 'unchanged' END,
    CASE WHEN g % 20 = 0 THEN 'ServerError' WHEN g % 10 = 0 THEN 'ValidationError' ELSE '' END,
    CASE WHEN g % 10 = 0 THEN 'phone is not E.164' ELSE '' END, 1,
    CASE WHEN g % 10 = 0 THEN '{"email": "[redacted]", "firstName": "Ann"}'::jsonb ELSE '{}'::jsonb END, now(), ''
FROM generate_series(1, @big_items@) g;

-- the rest of the 1M items over the newest runs, 10 per run
INSERT INTO contacts_sync_runitem (run_id, source_id, target_id, action, error_class, error_message, attempts,
    payload, created_at, acknowledge_note)
SELECT r.id, 'src-' || k, 'tgt-' || k,
    (ARRAY['created','updated','unchanged','unchanged','unchanged','updated','skipped','created','updated',
           'failed'])[1 + k], CASE WHEN k = 9 THEN 'ValidationError' ELSE '' END, '', 1, '{}'::jsonb, r.created_at, ''
FROM (SELECT id, created_at FROM contacts_sync_run WHERE id <> @big@ ORDER BY id DESC LIMIT @item_runs@) r,
     generate_series(0, 9) k;

INSERT INTO contacts_sync_apicall (run_id, provider, method, path_template, status, duration_ms, attempts, at)
SELECT @big@, 'ghl', CASE WHEN g % 4 = 0 THEN 'GET' ELSE 'POST' END,
    (ARRAY['/contacts/upsert','/contacts/search','/contacts/{contactId}/tasks','/contacts/{contactId}/notes'])[1 + g % 4],
    CASE WHEN g % 50 = 0 THEN 429 WHEN g % 33 = 0 THEN 503 ELSE 200 END, 50 + (g * 7919) % 900, 1 + (g % 50 = 0)::int,
    now()
FROM generate_series(1, @big_calls@) g;

INSERT INTO contacts_sync_apicall (run_id, provider, method, path_template, status, duration_ms, attempts, at)
SELECT r.id, 'ghl', 'POST', '/contacts/upsert', 200, 120, 1, r.created_at
FROM (SELECT id, created_at FROM contacts_sync_run ORDER BY id DESC LIMIT @call_runs@) r, generate_series(1, 5);

INSERT INTO contacts_sync_statuschange (sync_id, component, old_status, new_status, reason, created_at, processed)
SELECT id, '', 'healthy', health, 'bench', now() - interval '1 hour', now() FROM contacts_sync_sync
WHERE health <> 'healthy';
INSERT INTO contacts_sync_alert (sync_id, opened_by_id, title, state, opened_at, suppressed, component, detail,
    held_reason)
SELECT sync_id, id, 'Sync is ' || new_status, 'open', created_at, false, '', '', '' FROM contacts_sync_statuschange;
"""


def _db_url(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _admin_conn() -> Any:
    import psycopg

    parts = urlsplit(os.environ["DATABASE_URL"])
    return psycopg.connect(urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, "")), autocommit=True)


def _create_db(name: str) -> None:
    with _admin_conn() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop_db(name: str) -> None:
    with _admin_conn() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fill(sql: str, params: dict[str, Any]) -> str:
    """Integers only, into @name@ slots (the SQL is full of % and {} so no printf/format)."""
    for k, v in params.items():
        sql = sql.replace(f"@{k}@", str(int(v)))
    assert "@" not in sql, sql
    return sql


def _seed(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection

    from contacts_sync.models import Run

    t0 = time.perf_counter()
    params = {"connections": 8, "syncs": args.syncs, "runs": args.runs}
    with connection.cursor() as cur:
        cur.execute(_fill(SEED_SQL, params))
    # the big run: the newest failed run
    big = Run.objects.filter(status="failed").order_by("-id").values_list("id", flat=True).first()
    item_runs = (args.items - args.big_items) // 10
    with connection.cursor() as cur:
        cur.execute(
            _fill(
                ITEMS_SQL,
                {
                    "big": big,
                    "big_items": args.big_items,
                    "item_runs": item_runs,
                    "big_calls": args.big_calls,
                    "call_runs": min(args.runs, 40_000),
                },
            )
        )
        for table in ("run", "runitem", "apicall", "sync", "alert", "statuschange"):
            # what autovacuum does to a live database: statistics + the visibility map index-only scans need
            cur.execute(f"VACUUM ANALYZE contacts_sync_{table}")
        cur.execute("SELECT count(*) FROM contacts_sync_run")
        runs = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM contacts_sync_runitem")
        items = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM contacts_sync_apicall")
        calls = cur.fetchone()[0]
    return {
        "runs": runs,
        "run_items": items,
        "api_calls": calls,
        "big_run_id": big,
        "seed_seconds": round(time.perf_counter() - t0, 1),
    }


def _get(client: Any, url: str) -> Any:
    """One request, a streamed body (the CSV export) read to its end: its time is the whole export."""
    resp = client.get(url)
    if getattr(resp, "streaming", False):
        b"".join(resp.streaming_content)
    return resp


def _measure(client: Any, url: str, n: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    resp = _get(client, url)  # warm-up (and the status code we report)
    with CaptureQueriesContext(connection) as ctx:
        _get(client, url)
    queries = len(ctx)  # now: ctx reads the connection's log lazily, and the next request clears it
    sql_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
    times, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        _get(client, url)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return {
        "status": resp.status_code,
        "queries": queries,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(_p95(times), 1),
        "max_ms": round(max(times), 1),
        # load-independent-ish parts: CPU of this (Django) process, and the SQL time of one request
        "app_cpu_p95_ms": round(_p95(cpu), 1),
        "sql_ms": round(sql_ms, 1),
        "n": n,
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def _pages(big: int) -> list[tuple[str, str]]:
    from contacts_sync.models import Sync
    from contacts_sync.selectors.runs import run_list_token
    from contacts_sync.selectors.syncs import sync_token
    from dashboard.views.overview import poll_token  # the token the overview page holds

    sync = Sync.objects.filter(health="failing").order_by("pk").first()
    big_sync = Sync.objects.filter(runs__pk=big).first()
    return [
        ("overview", "/"),
        ("status_poll_unchanged", f"/status/poll?token={poll_token()}"),
        ("status_poll_changed", "/status/poll?token=stale"),
        ("run_list", "/runs/"),
        ("run_list_filtered", f"/runs/?sync={sync.pk}&status=failed&from=2000-01-01"),
        ("run_list_page_200", "/runs/?page=200"),
        ("run_detail_big", f"/runs/{big}/"),
        ("run_detail_big_failed_items", f"/runs/{big}/?action=failed&error=ServerError&page=20"),
        ("run_detail_big_all_calls", f"/runs/{big}/?calls=all&calls_page=50"),
        ("run_poll", f"/runs/{big}/poll?token=x"),
        ("run_detail_big_page_1000", f"/runs/{big}/?page=1000"),  # past the failures: the second index scan
        ("run_list_poll_unchanged", f"/runs/poll?token={run_list_token()[0]}"),
        ("run_list_poll_changed", "/runs/poll?token=stale"),
        ("sync_detail", f"/syncs/{big_sync.pk}/"),
        ("sync_poll_unchanged", f"/syncs/{big_sync.pk}/poll?token={(sync_token(sync_id=big_sync.pk) or ('',))[0]}"),
        ("sync_poll_changed", f"/syncs/{big_sync.pk}/poll?token=stale"),
        ("run_items_csv_failed", f"/runs/{big}/items.csv?action=failed"),
        ("alert_list", "/alerts/"),
        ("metrics", "/metrics"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--big-items", type=int, default=100_000, help="items in the one big run shown in detail")
    ap.add_argument("--big-calls", type=int, default=20_000)
    ap.add_argument("--syncs", type=int, default=40)
    ap.add_argument("-n", type=int, default=40, help="timed requests per page")
    ap.add_argument("--keep", action="store_true", help="keep the throwaway database")
    ap.add_argument("--reuse", default="", help="measure again on a database kept by --keep (no seeding)")
    args = ap.parse_args()

    load_before = round(os.getloadavg()[0], 2)  # the numbers are only as quiet as the machine
    name = args.reuse or f"cs_bench_dashboard_{os.getpid()}"
    if not args.reuse:
        _create_db(name)
    os.environ["DATABASE_URL"] = _db_url(name)
    os.environ.setdefault("DEBUG", "true")
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.test import Client

        settings.ALLOWED_HOSTS = ["*"]
        settings.DEBUG = False  # production-like: no query log, no template debug info (set before any render)
        call_command("migrate", verbosity=0, interactive=False)
        from django.contrib.auth import get_user_model

        from contacts_sync.services.users import user_create

        if args.reuse:
            from contacts_sync.models import ApiCall, Run, RunItem

            big = Run.objects.filter(status="failed").order_by("-id").values_list("id", flat=True).first()
            seeded = {
                "runs": Run.objects.count(),
                "run_items": RunItem.objects.count(),
                "api_calls": ApiCall.objects.count(),
                "big_run_id": big,
                "reused": name,
            }
            user = get_user_model().objects.get(email="bench@example.com")
        else:
            seeded = _seed(args)
            user = user_create(email="bench@example.com", role="Viewer", password="bench-password-123")
        client = Client()
        client.force_login(user)
        pages = {label: _measure(client, url, args.n) for label, url in _pages(seeded["big_run_id"])}
        # the goal is for pages: not the polls (their own goal), the metrics scrape or the CSV export (a download)
        worst_page = max(
            v["p95_ms"] for k, v in pages.items() if not k.startswith(("status_poll", "metrics", "run_items_csv"))
        )
        result = {
            "benchmark": "dashboard",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_avg_1m_before": load_before,
                "load_avg_1m_after": round(os.getloadavg()[0], 2),
            },
            "seeded": seeded,
            "pages": pages,
            "goals": {
                "page_p95_ms": GOAL_PAGE_P95_MS,
                "poll_p95_ms": GOAL_POLL_P95_MS,
                "queries": GOAL_QUERIES,
                "pages_p95_ok": worst_page < GOAL_PAGE_P95_MS,
                "poll_p95_ok": pages["status_poll_unchanged"]["p95_ms"] < GOAL_POLL_P95_MS,
                "queries_ok": all(v["queries"] <= GOAL_QUERIES for k, v in pages.items() if k != "metrics"),
            },
        }
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep and not args.reuse:
            _drop_db(name)
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
