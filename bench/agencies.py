"""Agency benchmark: `python -m bench.agencies --json [--locations 500]`.

Creates a throwaway PostgreSQL database next to the configured one, migrates it and makes two agencies with
`--locations` connected sub-accounts between them (rows only: no HTTP), with a few requests spent on each
location's rate budget in the real Redis. Then measures, in-process:

- `template_create`: a sync template applied to every location (one Sync + its first mapping version each);
- `template_edit`: one change of the template's mapping written to every location's sync (a new version each);
- `fleet_page`: GET /fleet/ through Django's test client (every location, its syncs, health rolled up, the budget
  each is spending now read from Redis in one pipeline), p50/p95 over `--n` requests, and its SQL queries;
- `agency_page`: GET of one agency's page (its directory of sub-accounts).

Prints one JSON object; nothing here is a test. Budget keys are deleted at the end.
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

# The fleet page lists every location of a mid-size agency in one response: it should stay interactive.
GOAL_FLEET_P95_MS = 1000
# Saving a template's mapping happens in the editor's request: a few seconds for hundreds of locations is the limit.
GOAL_EDIT_S = 10


def _admin_conn() -> Any:
    import psycopg

    parts = urlsplit(os.environ["DATABASE_URL"])
    return psycopg.connect(urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, "")), autocommit=True)


def _use_throwaway_db() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = (parts.path.lstrip("/") or "contacts_sync") + f"_bench_agencies_{os.getpid()}"
    with _admin_conn() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    return name


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=20) if len(ordered) > 1 else [ordered[0]] * 19
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(q[18], 1)}


def _seed(n: int) -> tuple[list[Any], Any]:
    from contacts_sync import models as m

    agencies = [
        m.Connection.objects.create(
            name=f"Agency {a}",
            provider="ghl",
            auth_kind="oauth2",
            company_id=f"co-bench-{a}",
            secrets={"access_token": "x"},
        )
        for a in range(2)
    ]
    locations = m.Connection.objects.bulk_create(
        [
            m.Connection(
                name=f"Location {i:04d}",
                provider="ghl",
                auth_kind="location_token",
                external_account_id=f"loc-bench-{os.getpid()}-{i}",
                company_id=agencies[i % 2].company_id,
                agency=agencies[i % 2],
                base_url="http://127.0.0.1:9",
                secrets={"access_token": "x"},
            )
            for i in range(n)
        ]
    )
    m.AgencyLocation.objects.bulk_create(
        [
            m.AgencyLocation(
                agency=c.agency, location_id=c.external_account_id, name=c.name, installed=True, connection=c
            )
            for c in locations
        ]
    )
    hub = m.Connection.objects.create(
        name="Hubstaff", provider="hubstaff", auth_kind="api_key", external_account_id="1001", secrets={"api_key": "x"}
    )
    return locations, hub


def _pages(client: Any, n: int, agency_url: str) -> dict[str, Any]:
    """p50/p95 of the fleet page (one page of FLEET_PAGE_SIZE locations), of the same page with every location on
    it (as before paging), measured interleaved so both see the same machine, and of one agency's page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from contacts_sync.selectors import fleet

    paged = fleet.FLEET_PAGE_SIZE
    variants = {"fleet_page": paged, "fleet_page_all_rows": 10**6}
    times: dict[str, list[float]] = {name: [] for name in (*variants, "agency_page")}
    queries: dict[str, int] = {}
    for i in range(n + 1):
        for name, size in (*variants.items(), ("agency_page", paged)):
            fleet.FLEET_PAGE_SIZE = size
            url = agency_url if name == "agency_page" else "/fleet/"
            if i == 0:  # the first round warms the caches and counts the queries
                with CaptureQueriesContext(connection) as ctx:
                    assert client.get(url).status_code == 200
                queries[name] = len(ctx)
                continue
            t0 = time.perf_counter()
            client.get(url)
            times[name].append((time.perf_counter() - t0) * 1000)
    fleet.FLEET_PAGE_SIZE = paged
    out: dict[str, Any] = {name: {**_ms(t), "queries": queries[name]} for name, t in times.items()}
    out["fleet_page"]["page_size"] = paged
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--locations", type=int, default=500)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    db_name = _use_throwaway_db()
    os.environ.setdefault("DEBUG", "true")  # development keys for the in-process client; DEBUG itself off below
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from contacts_sync.connectors.ghl.auth import budget_for
    from contacts_sync.services import sync_templates
    from contacts_sync.services.users import user_create

    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.DEBUG = False  # production-like: no query log, no template debug info (as bench.dashboard)
    budgets = []
    try:
        locations, hub = _seed(args.locations)
        for i, loc in enumerate(locations):
            budget = budget_for(settings.REDIS_URL, loc.external_account_id, {})
            for _ in range(i % 7):
                budget.try_acquire()
            budgets.append(budget)
        user = user_create(email="bench@example.com", role="Admin", password="bench-password-123")
        t0 = time.perf_counter()
        template = sync_templates.sync_template_create(
            name="Clients", recipe="hubstaff_client_to_ghl_contact", counterpart=hub, locations=locations, user=user
        )
        create_s = time.perf_counter() - t0
        first = template.members.order_by("pk").first().location
        cache.set(f"mapping:custom-fields:{first.pk}:{first.created_at.timestamp()}", [], 600)  # no HTTP in the edit
        rules = [dict(r) for r in template.rules]
        rules[0] = {**rules[0], "default": "n/a"}
        with CaptureQueriesContext(connection) as edit_queries:
            t0 = time.perf_counter()
            written = sync_templates.sync_template_rules_set(template=template, rules=rules, note="bench", user=user)
            edit_s = time.perf_counter() - t0
        edit_query_count = len(edit_queries)  # now: the log is read lazily and the next request clears it
        client = Client()
        client.force_login(user)
        pages = _pages(client, args.n, f"/connections/agencies/{first.agency_id}/")
    finally:
        for budget in budgets:
            budget.reset()
        connection.close()
        with _admin_conn() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    result = {
        "benchmark": "agencies",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, {platform.python_version()}",
        "load_average_1m": round(os.getloadavg()[0], 1),
        "locations": args.locations,
        "template_create": {"seconds": round(create_s, 2), "syncs": args.locations},
        "template_edit": {"seconds": round(edit_s, 2), "versions_written": written, "queries": edit_query_count},
        **pages,
        "goal_fleet_p95_ms": GOAL_FLEET_P95_MS,
        "goal_edit_s": GOAL_EDIT_S,
    }
    result["meets_goal"] = pages["fleet_page"]["p95_ms"] < GOAL_FLEET_P95_MS and edit_s < GOAL_EDIT_S
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
