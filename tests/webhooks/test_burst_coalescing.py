"""A bulk import's burst of webhooks, end to end with real parts: 2,000 signed GHL events posted over HTTP to the
running service, a real Celery worker, the Hubstaff emulator as the target. Events coalesce into a handful of runs;
every contact is written once, with its latest data; no event is left waiting."""

from __future__ import annotations

import json
import math
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from django.db.models import Max, Min

from contacts_sync import models as m
from contacts_sync.mapping.text import clean_text
from contacts_sync.services import event_runs
from contacts_sync.services.syncs import sync_create_from_recipe
from tests.support import wait_until
from tests.sync.world import HubstaffOrg, connections
from tests.webhooks.test_replay_end_to_end import sandbox_sign

pytestmark = pytest.mark.timeout(600)

CRITICAL = 1200  # contacts tagged "critical": one Hubstaff task each
UPDATED = 400  # of them, this many get a second event with new data (the latest must win)
UNTAGGED = 350  # contacts the critical-contact filter refuses: ignored, never a run
DELETES = 50  # ContactDelete of contacts the sync never wrote: taken by a run, skipped there
N = CRITICAL + UPDATED + UNTAGGED + DELETES  # 2,000


def _event(kind: str, contact: str, location: str, **fields: Any) -> bytes:
    body = {
        "type": kind,
        "locationId": location,
        "id": contact,
        "webhookId": str(uuid.uuid4()),
        "timestamp": datetime.now(UTC).isoformat(),
        **fields,
    }
    return json.dumps(body).encode()


def _burst(location: str) -> tuple[list[bytes], dict[str, str]]:
    """The events in posting order and, per critical contact, the first name its task must end with."""
    bodies, latest = [], {}
    for i in range(CRITICAL):
        # messy data: NUL and control characters, an empty first name, a huge last name, e-mails differing in case
        first = {0: "Nul\x00Name", 1: "Tab\tand\x07bell", 2: ""}.get(i % 50, f"First-{i}")
        extra = {"lastName": "L" * 20_000} if i % 97 == 0 else {}
        email = f"Crit{i}@Example.com" if i % 2 else f"crit{i}@example.com"
        bodies.append(
            _event("ContactCreate", f"c-{i}", location, firstName=first, email=email, tags=["critical"], **extra)
        )
        latest[f"c-{i}"] = first or email
    for i in range(UPDATED):
        bodies.append(
            _event(
                "ContactUpdate",
                f"c-{i}",
                location,
                firstName=f"Second-{i}",
                email=f"crit{i}@example.com",
                tags=["critical", "vip"],
            )
        )
        latest[f"c-{i}"] = f"Second-{i}"
    bodies += [_event("ContactUpdate", f"u-{i}", location, firstName="Plain", tags=["vip"]) for i in range(UNTAGGED)]
    bodies += [_event("ContactDelete", f"d-{i}", location) for i in range(DELETES)]
    return bodies, latest


def _tasks(org: HubstaffOrg, project_id: int) -> list[dict[str, Any]]:
    tasks, start = [], 0
    while True:
        r = org.http.get(
            f"{org.sandbox.url}/hubstaff/v2/projects/{project_id}/tasks",
            params={"page_limit": 500, "page_start_id": start},
            timeout=30,
        )
        r.raise_for_status()
        body = r.json()
        tasks += body["tasks"]
        start = (body.get("pagination") or {}).get("next_page_start_id")
        if not start:
            return tasks


@pytest.fixture
def burst_sync(sandbox: Any, live_server: Any, settings: Any) -> Any:
    settings.GHL_WEBHOOK_PUBLIC_KEY = requests.get(f"{sandbox.ghl_url}/_admin/public-key", timeout=10).text
    org = HubstaffOrg(sandbox)
    projects = org.http.get(f"{sandbox.url}/hubstaff/v2/organizations/{org.org_id}/projects", timeout=10)
    project_id = projects.json()["projects"][0]["id"]
    location = f"loc-burst-{uuid.uuid4().hex[:8]}"
    hub, ghl = connections(sandbox, org, location=location)
    sync = sync_create_from_recipe(
        recipe="ghl_critical_contact_to_hubstaff_task",
        name="burst",
        source_connection=ghl,
        target_connection=hub,
        options={"project_id": project_id},
        poll_interval_seconds=None,
        webhook_trigger=True,
        live=True,
    )
    return sync, org, project_id, location


def test_a_burst_of_2000_webhooks_makes_a_handful_of_runs_and_writes_every_contact_once_with_its_latest_data(
    burst_sync: Any, live_server: Any, celery_worker: Any, record_property: Any
) -> None:
    sync, org, project_id, location = burst_sync
    bodies, latest = _burst(location)
    http = requests.Session()
    http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))

    def post(body: bytes) -> int:
        return http.post(
            f"{live_server.url}/webhooks/ghl/",
            data=body,
            timeout=60,
            headers={"Content-Type": "application/json", "x-ghl-signature": sandbox_sign(body)},
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(post, bodies))
    assert statuses == [200] * N

    def settled() -> bool:
        return not (
            m.InboundEvent.objects.filter(status=m.EventStatus.PENDING).exists()
            or m.SyncEvent.objects.filter(done=False).exists()
            or m.Run.objects.filter(sync=sync, status__in=m.ACTIVE_RUN_STATUSES).exists()
        )

    wait_until(settled, timeout=400, interval=1, what="every event routed and taken, no active run")

    events = m.InboundEvent.objects.filter(account_id=location)
    assert events.count() == N
    by_status = dict(events.values_list("status").annotate(n=Min("id")).values_list("status", "n"))
    assert set(by_status) == {m.EventStatus.PROCESSED, m.EventStatus.IGNORED}, by_status
    assert events.filter(status=m.EventStatus.IGNORED).count() == UNTAGGED
    routed = m.SyncEvent.objects.filter(sync=sync)
    assert routed.count() == CRITICAL + UPDATED + DELETES  # deletes carry no tags: the run decides
    assert not routed.filter(run__isnull=True).exists() and not routed.filter(done=False).exists()

    # What the emulator holds: one task per critical contact, with the contact's latest data.
    tasks = _tasks(org, project_id)
    by_contact: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        by_contact.setdefault(str((task.get("metadata") or {}).get("ghl_contact_id")), []).append(task)
    assert sorted(by_contact) == sorted(latest), "a task per critical contact, none for the others"
    assert {c: len(ts) for c, ts in by_contact.items() if len(ts) != 1} == {}, "a contact written twice"
    # control characters are dropped on the way (mapping/text.py: clean_text), a tab becomes a space
    wrong = {
        c: ts[0]["summary"]
        for c, ts in by_contact.items()
        if ts[0]["summary"] != clean_text(f"Follow up: {latest[c]}", multiline=False)[0][:200]
    }
    assert wrong == {}, list(wrong.items())[:5]
    # A contact with one event was written exactly once (created, never updated); one with two events at most twice.
    once = {c: ts[0]["lock_version"] for c, ts in by_contact.items() if int(c[2:]) >= UPDATED}
    assert set(once.values()) == {0}, {c: v for c, v in once.items() if v}
    assert max(ts[0]["lock_version"] for c, ts in by_contact.items() if int(c[2:]) < UPDATED) <= 1

    runs = list(m.Run.objects.filter(sync=sync))
    assert {r.status for r in runs} == {m.RunStatus.SUCCEEDED}, [(r.pk, r.status, r.error_summary) for r in runs]
    assert sum(r.created_count for r in runs) == CRITICAL
    assert sum(r.failed_count for r in runs) == 0
    # The bound, from how coalescing works rather than from a timing: a webhook run starts COALESCE_SECONDS after it
    # was asked for and, once running, takes every waiting event until none is left; the next run is asked for only
    # when one ends with events waiting (one active run per sync). So every run but the first needs events routed
    # at least COALESCE_SECONDS after the previous run was asked for: runs <= 2 + routing span / COALESCE_SECONDS,
    # whatever the machine's speed. One run per event would be 1,950.
    span = events.aggregate(first=Min("received_at"), last=Max("processed_at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    bound = 2 + math.ceil(seconds / event_runs.COALESCE_SECONDS)
    record_property("runs", len(runs))
    record_property("routing_span_s", round(seconds, 1))
    assert len(runs) <= bound, (len(runs), seconds)
    assert len(runs) <= 10, (len(runs), seconds)


def test_an_event_for_a_sync_inside_its_long_first_sync_waits_for_the_next_run_and_never_fails(
    sandbox: Any, live_server: Any, celery_worker: Any, settings: Any
) -> None:
    """It used to wait 60 x 60 s for the busy run and then fail. Now it is routed at once and the run that
    follows the first sync takes it, with the data the event carries."""
    from contacts_sync.services.runs import run_enqueue
    from tests.sync.world import calm

    settings.GHL_WEBHOOK_PUBLIC_KEY = requests.get(f"{sandbox.ghl_url}/_admin/public-key", timeout=10).text
    org = HubstaffOrg(sandbox)
    project_id = org.http.get(f"{sandbox.url}/hubstaff/v2/organizations/{org.org_id}/projects", timeout=10).json()[
        "projects"
    ][0]["id"]
    location, token = f"loc-long-{uuid.uuid4().hex[:8]}", f"pit-{uuid.uuid4().hex[:12]}"
    contacts = [{"firstName": f"Old-{i}", "email": f"long{i}@example.com", "tags": ["critical"]} for i in range(150)]
    sandbox.admin("POST", "/ghl/_admin/locations", json={"id": location, "token": token, "contacts": contacts})
    hub, ghl = connections(sandbox, org, location=location)
    ghl.secrets = {"access_token": token}
    ghl.save()
    sync = sync_create_from_recipe(
        recipe="ghl_critical_contact_to_hubstaff_task",
        name="long first sync",
        source_connection=ghl,
        target_connection=hub,
        options={"project_id": project_id},
        poll_interval_seconds=None,
        webhook_trigger=True,
        live=True,
    )
    sandbox.set_faults("hubstaff", "*", latency_ms=60)  # ~10 s of writes: the first sync is still reading
    try:
        first = run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL)
        assert first is not None
        wait_until(lambda: m.Run.objects.get(pk=first.pk).created_count >= 10, timeout=120, what="the first sync")
        ghl_id = m.RecordLink.objects.filter(sync=sync).values_list("source_id", flat=True).first()
        body = _event("ContactUpdate", ghl_id, location, firstName="Newest", tags=["critical"])
        reply = requests.post(
            f"{live_server.url}/webhooks/ghl/",
            data=body,
            timeout=30,
            headers={"Content-Type": "application/json", "x-ghl-signature": sandbox_sign(body)},
        )
        assert reply.json()["status"] == "accepted"
        event = m.InboundEvent.objects.get(pk=reply.json()["event"])
        wait_until(
            lambda: m.InboundEvent.objects.get(pk=event.pk).status != m.EventStatus.PENDING,
            timeout=60,
            what="the event routed",
        )
        assert m.Run.objects.get(pk=first.pk).status == m.RunStatus.RUNNING  # routed while the first sync reads
        assert m.InboundEvent.objects.get(pk=event.pk).status == m.EventStatus.PROCESSED
        assert m.SyncEvent.objects.get(event=event).run_id is None  # waiting, not failed
    finally:
        calm(sandbox)

    def taken() -> m.SyncEvent | None:
        row = m.SyncEvent.objects.get(event=event)
        return row if row.done else None

    row = wait_until(taken, timeout=180, interval=0.5, what="the next run to take the event")
    assert isinstance(row, m.SyncEvent)
    assert row.run_id != first.pk
    follow_up = m.Run.objects.get(pk=row.run_id)
    wait_until(
        lambda: m.Run.objects.get(pk=follow_up.pk).status not in m.ACTIVE_RUN_STATUSES,
        timeout=60,
        what="the follow-up run to end",
    )
    first.refresh_from_db()
    follow_up.refresh_from_db()
    assert (first.status, first.created_count) == (m.RunStatus.SUCCEEDED, 150)
    assert (follow_up.trigger, follow_up.status, follow_up.updated_count) == (
        m.RunTrigger.WEBHOOK,
        m.RunStatus.SUCCEEDED,
        1,
    )
    tasks = [t for t in _tasks(org, project_id) if (t.get("metadata") or {}).get("ghl_contact_id") == ghl_id]
    assert [(t["summary"], t["lock_version"]) for t in tasks] == [("Follow up: Newest", 1)]
