"""Webhook inbox benchmark: `python -m bench.webhooks --json`.

GHL drops a webhook whose delivery fails or times out, so `POST /webhooks/ghl/` must answer in milliseconds.
This creates a throwaway PostgreSQL database next to the configured one, migrates it, pre-fills
`--existing` stored events (the dedupe index is not empty in real life), then posts `--n` signed webhooks
in-process through Django's test client (middleware, Ed25519 verification over the raw body, the dedupe
lookup, the INSERT, the drain kick: a Redis SET NX and, once per drain, a publish to the real Redis broker) and `--n` replays of them. Reports p50/p95/p99
server time in ms and SQL queries per request. Goal: p95 < 50 ms for a new event and for a replay.

The processing tasks go to a bench-only queue that is deleted at the end. Then (bench/webhook_load.py) the README's
gunicorn command takes `--sustained-seconds` (30) of signed events from wrk at concurrency 32 and the README's live
worker drains them: events_per_s (goal >= 1,000 on 2 cores), lost (goal 0), runs_per_1000_events. Prints one JSON object; nothing here
is a test.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench.support import production_env  # noqa: E402

GOAL_ACK_P95_MS = 50


def _admin_conn() -> Any:
    import psycopg

    parts = urlsplit(os.environ["DATABASE_URL"])
    return psycopg.connect(urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, "")), autocommit=True)


def _use_throwaway_db() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = (parts.path.lstrip("/") or "contacts_sync") + "_bench_webhooks"
    with _admin_conn() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    return name


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=100)
    return {
        "p50_ms": round(q[49], 2),
        "p95_ms": round(q[94], 2),
        "p99_ms": round(q[98], 2),
        "max_ms": round(ordered[-1], 2),
    }


def _post_all(client: Any, bodies: list[bytes], sign: Any) -> tuple[list[float], list[int], list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries, statuses = [], [], []
    for body in bodies:
        headers = {"x-ghl-signature": sign(body)}
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = client.post("/webhooks/ghl/", data=body, content_type="application/json", headers=headers)
            times.append((time.perf_counter() - t0) * 1000)
        queries.append(len(ctx.captured_queries))
        statuses.append(response.json().get("status", str(response.status_code)))
    return times, queries, statuses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--existing", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--sustained-seconds",
        type=int,
        default=30,
        help="seconds of load through gunicorn with wrk (0: skip that phase)",
    )
    args = parser.parse_args()

    production_env()
    db_name = _use_throwaway_db()
    import django

    django.setup()
    from celery import current_app
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from contacts_sync.models import Connection
    from contacts_sync.services import inbox

    call_command("migrate", verbosity=0)
    key = Ed25519PrivateKey.generate()
    settings.GHL_WEBHOOK_PUBLIC_KEY = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings.ALLOWED_HOSTS = ["testserver"]
    os.environ["GHL_WEBHOOK_PUBLIC_KEY"] = settings.GHL_WEBHOOK_PUBLIC_KEY  # for gunicorn and the workers
    queue = f"bench_webhooks_{os.getpid()}"
    current_app.conf.task_routes = {inbox.PROCESS_TASK: {"queue": queue}, inbox.DRAIN_TASK: {"queue": queue}}
    for i in range(20):
        Connection.objects.create(
            name=f"GHL {i}", provider="ghl", auth_kind="private_token", external_account_id=f"loc-{i}"
        )
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO contacts_sync_inboundevent (provider, event_id, event_type, account_id, headers, body, "
            "status, error, received_at) SELECT 'ghl', 'old-' || g, 'ContactUpdate', 'loc-' || (g %% 20), '{}', "
            "'{}', 'processed', '', now() - interval '1 day' FROM generate_series(1, %s) g",
            [args.existing],
        )

    def sign(body: bytes) -> str:
        return base64.b64encode(key.sign(body)).decode()

    bodies = [
        json.dumps(
            {
                "type": "ContactUpdate",
                "locationId": f"loc-{i % 20}",
                "id": f"c-{i}",
                "webhookId": str(uuid.uuid4()),
                "timestamp": datetime.now(UTC).isoformat(),
                "email": f"c{i}@example.com",
                "firstName": "Ada",
                "tags": ["vip"],
            }
        ).encode()
        for i in range(args.n)
    ]
    client = Client()
    sustained: dict[str, Any] | None = None
    try:
        new_t, new_q, new_s = _post_all(client, bodies, sign)
        dup_t, dup_q, dup_s = _post_all(client, bodies, sign)
        if args.sustained_seconds:
            import tempfile

            from bench.webhook_load import sustained as sustained_load

            current_app.conf.task_routes = settings.CELERY_TASK_ROUTES
            connection.close()
            with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
                sustained = sustained_load(key=key, seconds=args.sustained_seconds, locations=20, tmp=Path(tmp))
    finally:
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)
        connection.close()
        with _admin_conn() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    result = {
        "benchmark": "webhooks",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, {platform.python_version()}",
        "n": args.n,
        "existing_events": args.existing,
        "new": {**_percentiles(new_t), "queries": max(new_q), "accepted": new_s.count("accepted")},
        "replay": {**_percentiles(dup_t), "queries": max(dup_q), "duplicate": dup_s.count("duplicate")},
        "goal_p95_ms": GOAL_ACK_P95_MS,
    }
    if sustained is not None:
        result["sustained"] = sustained
    result["meets_goal"] = result["new"]["p95_ms"] < GOAL_ACK_P95_MS and result["replay"]["p95_ms"] < GOAL_ACK_P95_MS
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
