"""Outgoing webhooks benchmark: `python -m bench.outbox --json [--events 500]`.

Creates a throwaway PostgreSQL database next to the configured one, migrates it, and measures in-process:

- `feed_no_outbox`: what every stored GHL event now costs the webhook task when no "GHL changes -> your app" sync
  reads its location (`outbox_feed`: the event lookup and one sync query), p50/p95;
- `feed_one_endpoint`: the same with one such sync (the mapping, the body, one INSERT), p50/p95;
- `flush`: one endpoint's `endpoint_flush` sending `--events` deliveries to a local HTTP receiver that answers
  204 at once (sign, POST, log the attempt, mark delivered): deliveries per second, one sender;
- `changes_page`: a 100-event page of the changes feed (`changes_page`), p50/p95.

Prints one JSON object; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("PRIVATE_URL_ALLOWLIST", "127.0.0.1")


def _use_throwaway_db() -> str:
    import psycopg

    parts = urlsplit(os.environ["DATABASE_URL"])
    name = (parts.path.lstrip("/") or "contacts_sync") + f"_bench_outbox_{os.getpid()}"
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    return name


def _drop(name: str, url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=20) if len(ordered) > 1 else [ordered[0]] * 19
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(q[18], 2), "n": len(ordered)}


class _Quiet(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _events(location: str, n: int, prefix: str) -> list[int]:
    from django.utils import timezone

    from contacts_sync import models as m

    rows = [
        m.InboundEvent(
            provider="ghl",
            event_id=f"{prefix}-{i}",
            event_type="ContactUpdate",
            account_id=location,
            status=m.EventStatus.IGNORED,
            body=json.dumps(
                {
                    "type": "ContactUpdate",
                    "locationId": location,
                    "id": f"c{i}",
                    "firstName": "Ada",
                    "email": f"ada{i}@example.com",
                    "tags": ["vip"],
                    "timestamp": timezone.now().isoformat(),
                }
            ),
        )
        for i in range(n)
    ]
    return [e.pk for e in m.InboundEvent.objects.bulk_create(rows)]


def _timed(ids: list[int]) -> list[float]:
    from contacts_sync.services import outbox

    out = []
    for pk in ids:
        start = time.perf_counter()
        outbox.outbox_feed(event_id=pk)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    original = os.environ["DATABASE_URL"]
    name = _use_throwaway_db()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from contacts_sync import models as m
    from contacts_sync.services import changes_feed, outbox
    from contacts_sync.services.syncs import sync_create_from_recipe

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result: dict[str, Any] = {"bench": "outbox", "events": args.events, "cpus": os.cpu_count()}
        result["feed_no_outbox"] = _ms(_timed(_events("loc-none", args.events, "a")))
        ghl = m.Connection.objects.create(
            name="GHL",
            provider="ghl",
            auth_kind="private_token",
            external_account_id="loc-bench",
            secrets={"access_token": "x"},
        )
        app = m.Connection.objects.create(
            name="App",
            provider="custom",
            auth_kind="webhook_secret",
            base_url="http://127.0.0.1:9",
            secrets={"api_token": "x"},
        )
        sync = sync_create_from_recipe(
            recipe=outbox.OUTBOX_RECIPE, name="bench", source_connection=ghl, target_connection=app, live=True
        )
        endpoint, made = outbox.endpoint_create(sync=sync, url=f"http://127.0.0.1:{server.server_port}/hook")
        result["feed_one_endpoint"] = _ms(_timed(_events("loc-bench", args.events, "b")))
        start = time.perf_counter()
        while m.WebhookDelivery.objects.filter(endpoint=endpoint, status=m.DeliveryStatus.PENDING).exists():
            outbox.endpoint_flush(endpoint_id=endpoint.pk)  # at most MAX_PER_FLUSH per call, as the task does
        took = time.perf_counter() - start
        sent = m.WebhookDelivery.objects.filter(endpoint=endpoint, status=m.DeliveryStatus.DELIVERED).count()
        result["flush"] = {"delivered": sent, "seconds": round(took, 2), "per_second": round(sent / took, 1)}
        pages, cursor = [], ""
        for _ in range(max(1, args.events // 100)):
            t0 = time.perf_counter()
            page = changes_feed.changes_page(token=made.feed_token, cursor=cursor, limit="100")
            pages.append((time.perf_counter() - t0) * 1000)
            cursor = page["next_cursor"]
        result["changes_page"] = _ms(pages)
        print(json.dumps(result, indent=2 if not args.json else None))
    finally:
        server.shutdown()
        from django.db import connections

        connections.close_all()
        _drop(name, original)


if __name__ == "__main__":
    main()
