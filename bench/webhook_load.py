"""Sustained webhook ingest through the README's production web server (used by bench/webhooks.py).

gunicorn (the README's command, production settings) serves `POST /webhooks/ghl/`; `wrk` (not Python, so the load
generator does not eat the measured cores) posts `--sustained-seconds` of signed GHL events with 32 connections,
each body distinct (a fresh webhookId) and signed with Ed25519 beforehand. Then the README's live worker
(`-Q webhooks,default,alerts`) is started and drains what was stored.

- events_per_s: new events stored per second of load;
- lost: events acknowledged with 2xx but not stored, plus stored events still unprocessed after the drain;
- runs_per_1000_events: runs created per 1,000 events of the one location that has a webhook sync (1 event in
  16 goes there, tagged "critical": the critical-contact -> Hubstaff task recipe against the sandbox's GHL, as a
  dry run); its events coalesce (services/event_runs.py), so this is a handful per 1,000.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 32
# Bodies signed in advance per second of load: more than the server can take, so none is sent twice.
BODIES_PER_SECOND = 2500
HOOK_SHARE = 16  # one event in this many is for the location with a webhook sync
HOOK_LOCATION = "loc-hook"
DRAIN_TIMEOUT_S = 300
# The bodies are read line by line ("body<TAB>signature"): a Lua table literal of them would exceed LuaJIT's
# 65,536 constants per chunk, and wrk would silently fall back to `GET /`.
WRK_SCRIPT = """
local bodies = {}
for line in io.lines("%(data)s") do
  local body, sig = line:match("^(.-)\t(.*)$")
  bodies[#bodies + 1] = {body, sig}
end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i + 1
  local item = bodies[((i - 1) %% #bodies) + 1]
  return wrk.format("POST", "/webhooks/ghl/", {["x-ghl-signature"] = item[2],
                    ["Content-Type"] = "application/json"}, item[1])
end
"""


def _bodies(key: Any, n: int, locations: int) -> list[tuple[str, str]]:
    now = datetime.now(UTC).isoformat()
    out = []
    for i in range(n):
        hook = i % HOOK_SHARE == 0
        body = json.dumps(
            {
                "type": "ContactUpdate",
                "locationId": HOOK_LOCATION if hook else f"loc-{i % locations}",
                "id": f"c-{i}",
                "webhookId": str(uuid.uuid4()),
                "timestamp": now,
                "email": f"c{i}@example.com",
                "firstName": "Ada",
                "tags": ["critical" if hook else "vip"],
            }
        )
        out.append((body, base64.b64encode(key.sign(body.encode())).decode()))
    return out


def _gunicorn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """The README's web command, on a free local port."""
    readme = (ROOT / "README.md").read_text()
    line = next(ln for ln in readme.splitlines() if ln.startswith("gunicorn "))
    args = line.split("#", 1)[0].split()
    args[args.index("--bind") + 1] = f"127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / args[0]), *args[1:]],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not start; see {log}")


def _tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (gunicorn's master and workers)."""
    import psutil

    procs = [psutil.Process(pid)]
    procs += procs[0].children(recursive=True)
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _backends_cpu_seconds() -> float:
    """CPU seconds of the PostgreSQL backends connected to this database, this process's own aside (the server
    runs on this machine in the benchmark's set-up; 0 when it does not)."""
    import psutil
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        pids = [row[0] for row in cur.fetchall()]
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _hook_sync(box: Any) -> None:
    """One GHL location with a live sync fed by its webhooks: critical contact -> Hubstaff task in a fresh
    organization of the sandbox (Sync.dry_run, which this used, is gone: a preview is a run, not a sync)."""
    from bench.sync import _org
    from contacts_sync import models as m
    from contacts_sync.services.syncs import sync_create_from_recipe

    box.admin("POST", "/ghl/_admin/locations", json={"id": HOOK_LOCATION, "token": "pit-hook"})
    org, pat = _org(box, 0)
    ghl = m.Connection.objects.create(
        name="GHL hook",
        provider="ghl",
        auth_kind="private_token",
        external_account_id=HOOK_LOCATION,
        base_url=f"{box.url}/ghl",
        secrets={"access_token": "pit-hook"},
        config={"rate_limit_per_10s": 0},
    )
    hub = m.Connection.objects.create(
        name="Hubstaff hook",
        provider="hubstaff",
        auth_kind="oauth2",
        external_account_id=str(org),
        base_url=f"{box.url}/hubstaff",
        secrets={"refresh_token": pat},
        config={"rate_limit_per_hour": 0},
    )
    project_id = _project(box, org)
    sync_create_from_recipe(
        recipe="ghl_critical_contact_to_hubstaff_task",
        name="hook",
        source_connection=ghl,
        target_connection=hub,
        options={"project_id": project_id},
        poll_interval_seconds=None,
        webhook_trigger=True,
        live=True,
    )


def _project(box: Any, org: int) -> int:
    """The id of the organization's one project, through Hubstaff's public API (with a PAT of its own: a PAT
    rotates on use, and the connection's must stay fresh)."""
    pat = box.admin("POST", "/hubstaff/_admin/pats", json={})["refresh_token"]
    token = box.http.post(
        f"{box.url}/hubstaff/access_tokens", data={"grant_type": "refresh_token", "refresh_token": pat}, timeout=10
    ).json()
    r = box.http.get(
        f"{box.url}/hubstaff/v2/organizations/{org}/projects",
        timeout=10,
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    r.raise_for_status()
    return int(r.json()["projects"][0]["id"])


def sustained(*, key: Any, seconds: int, locations: int, tmp: Path) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import Count

    from bench.support import wrk_path
    from bench.sync import Box
    from contacts_sync import models as m
    from tests.support import free_port, start_readme_workers

    wrk = wrk_path()
    box = Box(tmp)
    gunicorn = None
    try:
        _hook_sync(box)
        last_pk = m.InboundEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        bodies = _bodies(key, BODIES_PER_SECOND * seconds, locations)
        data = tmp / "bodies.tsv"
        data.write_text("".join(f"{b}\t{s}\n" for b, s in bodies))  # JSON bodies hold no raw tab or newline
        script = tmp / "post.lua"
        script.write_text(WRK_SCRIPT % {"data": str(data)})
        port = free_port()
        env = {**os.environ, "DEBUG": "false"}
        gunicorn = _gunicorn(env, port, tmp / "gunicorn.log")
        cpu_before = _tree_cpu_seconds(gunicorn.pid)
        out = subprocess.run(
            [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", str(script), f"http://127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=seconds + 120,
            check=False,
        )
        web_cpu = _tree_cpu_seconds(gunicorn.pid) - cpu_before
        db_cpu = _backends_cpu_seconds()
        completed = int(re.search(r"(\d+) requests in", out.stdout).group(1))  # type: ignore[union-attr]
        non2xx = int(m_.group(1)) if (m_ := re.search(r"Non-2xx or 3xx responses: (\d+)", out.stdout)) else 0
        new = m.InboundEvent.objects.filter(pk__gt=last_pk)
        stored = new.count()
        workers = start_readme_workers(connection.settings_dict["NAME"], tmp, extra_env={"DEBUG": "false"})
        t0 = time.monotonic()
        try:
            while new.filter(status=m.EventStatus.PENDING).exists() and time.monotonic() - t0 < DRAIN_TIMEOUT_S:
                time.sleep(1)
            drained = time.monotonic() - t0
        finally:
            for proc in workers.values():
                proc.stop()
        pending = new.filter(status=m.EventStatus.PENDING).count()
        stored_by_now = new.count()  # requests still in flight when wrk stopped were stored after it counted
        hook_events = new.filter(account_id=HOOK_LOCATION).count()
        runs = m.Run.objects.filter(sync__name="hook").count()
        acknowledged = min(completed - non2xx, len(bodies))
        return {
            "server": "gunicorn (README command), DEBUG off",
            "connections": CONNECTIONS,
            "seconds": seconds,
            "requests": completed,
            "non_2xx": non2xx,
            "bodies_prepared": len(bodies),
            "events_stored": stored,
            "events_per_s": round(stored / seconds, 1),
            # CPU of gunicorn's processes per stored event: what ingest costs, whatever else loads the machine
            "web_cpu_ms_per_event": round(web_cpu * 1000 / max(1, stored), 2),
            # and of the PostgreSQL backends that served gunicorn (started by its first requests of this load)
            "db_cpu_ms_per_event": round(db_cpu * 1000 / max(1, stored), 2),
            # 2 cores / (web + db CPU per event): what 2 idle cores would ingest (Redis, wrk and the kernel aside)
            "events_per_s_on_2_idle_cores_est": round(2000 / max(0.01, (web_cpu + db_cpu) * 1000 / max(1, stored))),
            "lost": max(0, acknowledged - stored_by_now) + pending,
            "still_pending_after_drain": pending,
            "drain_s": round(drained, 1),
            "events_stored_with_in_flight": stored_by_now,
            "hook_location_events": hook_events,
            "runs": runs,
            "runs_per_1000_events": round(runs * 1000 / max(1, hook_events), 1),
            "by_status": dict(new.values("status").annotate(n=Count("id")).values_list("status", "n")),
        }
    finally:
        if gunicorn is not None and gunicorn.poll() is None:
            os.killpg(gunicorn.pid, 15)
            gunicorn.wait(15)
        box.stop()
