"""services.runs with real parts: PostgreSQL, a real Celery worker on Redis, the emulators over HTTP."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from contacts_sync import models as m
from contacts_sync.services import runs
from tests.factories import RunFactory, RunItemFactory, SyncFactory
from tests.sync.world import HubstaffOrg, calm, client_sync, ghl_contacts, ghl_write_calls, wait_finished

pytestmark = [pytest.mark.worker]


@pytest.mark.django_db(transaction=True)
def test_only_one_run_is_active_per_sync_when_many_enqueue_at_once() -> None:
    sync = SyncFactory()
    results: list[Any] = []
    barrier = threading.Barrier(8)

    def enqueue() -> None:
        try:
            barrier.wait()
            results.append(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL))
        finally:
            connection.close()

    threads = [threading.Thread(target=enqueue) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([r for r in results if r is not None]) == 1
    assert m.Run.objects.filter(sync=sync, status__in=m.ACTIVE_RUN_STATUSES).count() == 1


@pytest.mark.django_db
def test_a_queued_run_is_claimed_by_one_caller_only() -> None:
    run = RunFactory(status=m.RunStatus.QUEUED, finished_at=None, started_at=None)
    assert runs._claim(run.pk, "a:1") is True
    assert runs._claim(run.pk, "b:2") is False
    run.refresh_from_db()
    assert (run.status, run.worker) == (m.RunStatus.RUNNING, "a:1")


@pytest.mark.django_db
def test_a_finished_run_is_never_executed_again() -> None:
    run = RunFactory(status=m.RunStatus.SUCCEEDED)
    assert runs.run_execute(run_id=run.pk, worker="late-redelivery") is None
    run.refresh_from_db()
    assert run.status == m.RunStatus.SUCCEEDED


@pytest.mark.django_db
def test_cancelling_a_queued_run_finishes_it_at_once() -> None:
    run = RunFactory(status=m.RunStatus.QUEUED, finished_at=None)
    runs.run_cancel(run=run, user=None)
    assert (run.status, run.cancel_requested) == (m.RunStatus.CANCELLED, True)


@pytest.mark.django_db
def test_retry_failed_covers_only_the_failed_items_and_nothing_when_none_failed() -> None:
    run = RunFactory()
    RunItemFactory(run=run, source_id="1", action=m.ItemAction.CREATED)
    RunItemFactory(run=run, source_id="2", action=m.ItemAction.FAILED)
    RunItemFactory(run=run, source_id="3", action=m.ItemAction.FAILED)
    retry = runs.run_retry_failed(run=run, user=None)
    assert retry is not None and retry.trigger == m.RunTrigger.RETRY and retry.retry_of == run
    assert retry.checkpoint["only_ids"] == ["2", "3"]
    clean = RunFactory()
    RunItemFactory(run=clean, action=m.ItemAction.CREATED)
    assert runs.run_retry_failed(run=clean, user=None) is None


@pytest.mark.django_db
def test_the_reaper_requeues_a_run_whose_worker_stopped_beating_and_leaves_live_ones() -> None:
    from datetime import timedelta

    from django.utils import timezone

    dead = RunFactory(
        status=m.RunStatus.RUNNING,
        finished_at=None,
        worker="gone:1",
        heartbeat_at=timezone.now() - timedelta(seconds=runs.REAP_AFTER_SECONDS + 5),
        checkpoint={"cursor": {"page_start_id": 40}},
    )
    live = RunFactory(status=m.RunStatus.RUNNING, finished_at=None, worker="here:1", heartbeat_at=timezone.now())
    assert runs.runs_reap() == [dead.pk]
    dead.refresh_from_db()
    live.refresh_from_db()
    assert (dead.status, dead.worker, dead.checkpoint["cursor"]) == (m.RunStatus.QUEUED, "", {"page_start_id": 40})
    assert live.status == m.RunStatus.RUNNING


# --- end to end through a real worker and the emulators -------------------------------------------------------


def test_a_run_moves_hubstaff_clients_into_ghl_and_a_rerun_makes_no_write_call(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    org = HubstaffOrg(clean_sandbox, clients=30)
    sync = client_sync(clean_sandbox, org, page_limit=7)
    first = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL))
    assert first.status == m.RunStatus.SUCCEEDED, first.error_summary
    assert (first.read_count, first.created_count) == (30, 30)
    assert len(ghl_contacts(clean_sandbox, email_suffix=f"org{org.org_id}@example.com")) == 30
    assert set(first.items.values_list("source_id", flat=True)) == org.client_ids()
    assert ghl_write_calls(first) == 30
    assert first.calls.filter(provider="hubstaff").exists()

    again = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL))
    assert again.status == m.RunStatus.SUCCEEDED
    assert again.unchanged_count == 30
    assert (first.expected_total, again.expected_total) == (None, 30)  # the progress bar knows the size
    assert ghl_write_calls(again) == 0


def test_a_dry_run_writes_nothing_to_ghl_and_reports_what_would_change(clean_sandbox: Any, celery_worker: Any) -> None:
    org = HubstaffOrg(clean_sandbox, clients=12)
    sync = client_sync(clean_sandbox, org, page_limit=5)
    run = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL, dry_run=True))
    assert run.status == m.RunStatus.SUCCEEDED
    assert run.would_create_count == 12 and run.created_count == 0
    assert ghl_contacts(clean_sandbox, email_suffix=f"org{org.org_id}@example.com") == []
    assert not m.RecordLink.objects.filter(sync=sync).exists()


def test_a_cancelled_run_stops_early_and_says_so(clean_sandbox: Any, celery_worker: Any) -> None:
    org = HubstaffOrg(clean_sandbox, clients=60)
    clean_sandbox.set_faults("ghl", clean_sandbox.location_id, latency_ms=60)
    sync = client_sync(clean_sandbox, org, page_limit=5)
    run = runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL)
    from tests.support import wait_until

    wait_until(lambda: m.Run.objects.get(pk=run.pk).status == m.RunStatus.RUNNING, timeout=30, what="running")
    runs.run_cancel(run=run, user=None)
    run = wait_finished(run)
    assert run.status == m.RunStatus.CANCELLED
    assert run.read_count < 60


def test_retrying_failed_items_fixes_only_them(clean_sandbox: Any, celery_worker: Any) -> None:
    org = HubstaffOrg(clean_sandbox, clients=5)
    sync = client_sync(clean_sandbox, org, page_limit=10)
    # every GHL answer is a 5xx: each write fails for good after the client's retries
    clean_sandbox.set_faults("ghl", clean_sandbox.location_id, error_rate=1.0)
    failed = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL), timeout=240)
    assert failed.status == m.RunStatus.FAILED
    assert failed.items.filter(action=m.ItemAction.FAILED).exclude(error_class="").exists()
    calm(clean_sandbox)
    retry = wait_finished(runs.run_retry_failed(run=failed, user=None))
    assert retry.status == m.RunStatus.SUCCEEDED, retry.error_summary
    failed_ids = set(failed.items.filter(action=m.ItemAction.FAILED).values_list("source_id", flat=True))
    assert set(retry.items.values_list("source_id", flat=True)) == failed_ids


@pytest.mark.django_db
def test_a_queued_run_whose_message_was_lost_is_sent_again_once_per_interval() -> None:
    from datetime import timedelta

    from django.utils import timezone

    run = RunFactory(status=m.RunStatus.QUEUED, finished_at=None, started_at=None)
    fresh = RunFactory(status=m.RunStatus.QUEUED, finished_at=None, started_at=None)
    m.Run.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=1))
    runs.runs_reap()
    run.refresh_from_db()
    fresh.refresh_from_db()
    first = run.checkpoint["resent_at"]
    assert "resent_at" not in fresh.checkpoint
    runs.runs_reap()
    run.refresh_from_db()
    assert run.checkpoint["resent_at"] == first  # not again within the interval


@pytest.mark.django_db
def test_a_run_that_cannot_start_is_failed_with_the_reason_and_the_sync_shows_it() -> None:
    sync = SyncFactory(target_connection__secrets={})  # a GHL connection whose token was removed
    run = RunFactory(sync=sync, status=m.RunStatus.QUEUED, finished_at=None, started_at=None)
    runs.run_execute(run_id=run.pk, worker="w")
    run.refresh_from_db()
    sync.refresh_from_db()
    assert run.status == m.RunStatus.FAILED and run.error_summary.startswith("Could not start")
    assert run.finished_at is not None
    assert sync.health == m.SyncHealth.FAILING
