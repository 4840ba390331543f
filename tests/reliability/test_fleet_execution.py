"""The execution model for fleets (docs/operations.md, "Execution model"), with the README's own worker commands:
a run longer than its time slice continues from its checkpoint as a new message (no reap, nothing duplicated or
lost), and a webhook run is not kept waiting by a long first sync of the same GHL location.

Real PostgreSQL, real Celery worker processes (thread pool) on Redis, the emulators over HTTP; no mocks.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

import pytest
from django.db import connection

from contacts_sync import models as m
from contacts_sync.services import runs
from tests.support import readme_worker_commands, start_readme_workers, sync_worker_output, wait_until
from tests.sync.integrity_world import custom_records, custom_sync, ghl_writes, record_offset
from tests.sync.world import HubstaffOrg, client_sync, wait_finished

pytestmark = [pytest.mark.worker]

# At GHL's real limit (100 requests / 10 s) these take at least 10 s: many 1 s slices, whatever the machine.
SLICED_RECORDS = 200
SLICE_SECONDS = "1"
# GHL's real burst limit per location (the emulator enforces it when asked to).
GHL_BURST_LIMIT = 100


def test_the_readme_recommends_thread_pool_workers_with_a_separate_queue_for_webhook_runs() -> None:
    commands = {c["name"]: c for c in readme_worker_commands()}
    assert set(commands) == {"sync", "sync2", "live"}  # one sync process per core of the 2-core machine
    assert all(c["pool"] == "threads" for c in commands.values())
    assert commands["sync"]["queues"].split(",") == commands["sync2"]["queues"].split(",") == [runs.BULK_QUEUE]
    assert runs.LIVE_QUEUE in commands["live"]["queues"].split(",")
    assert runs.run_queue(m.RunTrigger.WEBHOOK) == runs.LIVE_QUEUE
    assert runs.run_queue(m.RunTrigger.SCHEDULE) == runs.run_queue(m.RunTrigger.MANUAL) == runs.BULK_QUEUE


@pytest.mark.timeout(600)
def test_a_run_longer_than_its_time_slice_continues_from_its_checkpoint_without_a_reap_a_duplicate_or_a_loss(
    clean_sandbox: Any, transactional_db: None, redis_client: Any, tmp_path: Any
) -> None:
    token = uuid.uuid4().hex[:6]
    records = [
        {
            "id": f"s{i:04d}",
            "first_name": f"Slice{i}",
            "last_name": f"T{token}",
            "email": f"slice{i}.{token}@fleet.example",
        }
        for i in range(SLICED_RECORDS)
    ]
    # a case-twin of one email: refused as a duplicate identity, once, in whichever slice it lands
    records.append(
        {"id": "twin", "first_name": "Twin", "last_name": f"T{token}", "email": f"SLICE7.{token}@fleet.example"}
    )
    custom_records(clean_sandbox, records)
    # manual only: a dispatcher tick of another test's worker must not start it first
    sync = custom_sync(clean_sandbox, page_limit=10, poll_interval_seconds=None)
    clean_sandbox.set_faults("ghl", clean_sandbox.location_id, rate_limit=GHL_BURST_LIMIT)
    m.Connection.objects.filter(pk=sync.target_connection_id).update(config={})  # the real budget
    redis_client.delete(*redis_client.keys(f"ratebudget:ghl:{clean_sandbox.location_id}:*") or ["none"])
    start = record_offset(clean_sandbox)
    workers = start_readme_workers(
        connection.settings_dict["NAME"], tmp_path, extra_env={"RUN_SLICE_SECONDS": SLICE_SECONDS}
    )
    try:
        run = runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL)
        assert run is not None, list(m.Run.objects.filter(sync=sync).values("trigger", "status", "created_at"))
        run = wait_finished(run, timeout=300)
    finally:
        for proc in workers.values():
            proc.stop()
    log = sync_worker_output(workers)

    assert run.status == m.RunStatus.PARTIAL, run.error_summary  # the twin is refused, everything else synced
    assert run.checkpoint.get("continuations", 0) >= 1  # at least 10 s of work, 1 s slices
    assert "reaps" not in run.checkpoint
    assert "yields after" in log and "reaped" not in log and "vanished" not in run.error_summary
    writes = ghl_writes(clean_sandbox, start)
    emails = Counter(str(json.loads(w["body"]).get("email") or "").lower() for w in writes)
    assert len(writes) == SLICED_RECORDS  # one write per record: no slice repeated a page
    assert set(emails) == {r["email"].lower() for r in records[:SLICED_RECORDS]}
    assert set(emails.values()) == {1}
    items = Counter(run.items.values_list("source_id", flat=True))
    assert set(items) == {r["id"] for r in records} and set(items.values()) == {1}  # nothing lost, nothing twice
    assert run.items.get(source_id="twin").error_class == "DuplicateSourceRecord"
    assert (run.read_count, run.created_count, run.failed_count) == (SLICED_RECORDS + 1, SLICED_RECORDS, 1)
    assert m.RecordLink.objects.filter(sync=sync).exclude(target_id="").count() == SLICED_RECORDS
    assert not m.RecordLink.objects.filter(sync=sync, pending_since__isnull=False).exists()


@pytest.mark.timeout(600)
def test_a_webhook_run_is_not_starved_by_a_long_first_sync_of_the_same_location(
    clean_sandbox: Any, transactional_db: None, redis_client: Any, tmp_path: Any
) -> None:
    token = uuid.uuid4().hex[:6]
    custom_records(
        clean_sandbox,
        [
            {
                "id": f"f{i:04d}",
                "first_name": f"First{i}",
                "last_name": f"T{token}",
                "email": f"first{i}.{token}@fleet.example",
            }
            for i in range(1500)
        ],
    )
    first = custom_sync(clean_sandbox, page_limit=50, poll_interval_seconds=None)
    org = HubstaffOrg(clean_sandbox, clients=3)
    live = client_sync(clean_sandbox, org)
    # both syncs spend the one budget of the sandbox location, at GHL's real limit
    clean_sandbox.set_faults("ghl", clean_sandbox.location_id, rate_limit=GHL_BURST_LIMIT)
    m.Connection.objects.filter(pk__in=[first.target_connection_id, live.target_connection_id]).update(config={})
    m.Sync.objects.filter(pk=live.pk).update(webhook_trigger=True)
    redis_client.delete(*redis_client.keys(f"ratebudget:ghl:{clean_sandbox.location_id}:*") or ["none"])
    # the bulk side has one slot (one sync worker, -c 1), taken by the first sync; the webhook run must not wait for it
    workers = start_readme_workers(
        connection.settings_dict["NAME"], tmp_path, concurrency={"sync": 1}, only={"sync", "live"}
    )
    try:
        bulk = runs.run_enqueue(sync=first, trigger=m.RunTrigger.MANUAL)
        assert bulk is not None
        wait_until(
            lambda: m.Run.objects.get(pk=bulk.pk).created_count >= 50,
            timeout=120,
            interval=0.2,
            what="the first sync to be writing",
        )
        hook = runs.run_enqueue(sync=live, trigger=m.RunTrigger.WEBHOOK)
        assert hook is not None
        hook = wait_finished(hook, timeout=120)
        bulk.refresh_from_db()
    finally:
        for proc in workers.values():
            proc.stop()

    assert hook.status == m.RunStatus.SUCCEEDED, hook.error_summary
    assert hook.created_count == 3
    assert hook.worker.startswith("live-")  # the webhook run went to its own queue and worker
    assert bulk.worker.startswith("sync-") or bulk.status == m.RunStatus.QUEUED
    assert bulk.created_count < 1500  # the first sync was still far from done when the webhook run finished
    assert hook.http_429s == 0 and bulk.http_429s == 0  # one shared budget, respected by both


@pytest.mark.timeout(600)
def test_a_worker_told_to_stop_lets_its_run_yield_at_the_next_page_and_another_worker_finishes_it(
    clean_sandbox: Any, transactional_db: None, redis_client: Any, tmp_path: Any
) -> None:
    token = uuid.uuid4().hex[:6]
    records = [
        {
            "id": f"d{i:04d}",
            "first_name": f"Deploy{i}",
            "last_name": f"T{token}",
            "email": f"deploy{i}.{token}@fleet.example",
        }
        for i in range(400)
    ]
    custom_records(clean_sandbox, records)
    sync = custom_sync(clean_sandbox, page_limit=20, poll_interval_seconds=None)
    # GHL's real limit: 400 records take about 40 s, far less than one time slice (300 s)
    clean_sandbox.set_faults("ghl", clean_sandbox.location_id, rate_limit=GHL_BURST_LIMIT)
    m.Connection.objects.filter(pk=sync.target_connection_id).update(config={})
    redis_client.delete(*redis_client.keys(f"ratebudget:ghl:{clean_sandbox.location_id}:*") or ["none"])
    start = record_offset(clean_sandbox)
    db_name = connection.settings_dict["NAME"]
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
    first = start_readme_workers(db_name, tmp_path / "first")
    try:
        run = runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL)
        assert run is not None
        wait_until(
            lambda: m.Run.objects.get(pk=run.pk).created_count >= 40,
            timeout=120,
            interval=0.2,
            what="the run to be writing",
        )
    finally:
        for proc in first.values():
            proc.stop()  # SIGTERM: a warm shutdown; SIGKILL only if it took more than 15 s
    # every worker stopped by itself, within seconds, not killed
    assert [(name, w.proc.returncode) for name, w in first.items()] == [(name, 0) for name in first]
    run.refresh_from_db()
    # (a continuation the stopping worker still received yields again at once: one or two continuations)
    assert run.status == m.RunStatus.QUEUED and run.checkpoint.get("continuations", 0) >= 1
    assert 40 <= run.created_count < 400

    second = start_readme_workers(db_name, tmp_path / "second")
    try:
        runs.runs_reap()  # what beat does: the queued run's message was sent when it yielded, nothing to reap
        run = wait_finished(run, timeout=300)
    finally:
        for proc in second.values():
            proc.stop()
    assert run.status == m.RunStatus.SUCCEEDED, run.error_summary
    assert "reaps" not in run.checkpoint
    writes = ghl_writes(clean_sandbox, start)
    assert len(writes) == 400 == len({json.loads(w["body"])["email"] for w in writes})
    assert run.items.count() == 400 == len(set(run.items.values_list("source_id", flat=True)))
