"""Failed records one by one (services.runs: replay, acknowledge), previews, and what a run tells about its
connections. Unit tests on the database, then end to end with a real Celery worker and the emulators."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from contacts_sync import models as m
from contacts_sync.selectors import runs as runs_selectors
from contacts_sync.services import alerts, runs, status
from tests.factories import RunFactory, RunItemFactory, SyncFactory
from tests.support import wait_until
from tests.sync.world import HubstaffOrg, calm, client_sync, ghl_contacts, ghl_write_calls, wait_finished

# --- replay -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_replaying_one_failed_item_retries_only_its_source_id() -> None:
    run = RunFactory(status=m.RunStatus.PARTIAL, failed_count=2, created_count=1)
    done = RunItemFactory(run=run, source_id="1", action=m.ItemAction.CREATED)
    one = RunItemFactory(run=run, source_id="2", action=m.ItemAction.FAILED, error_class="ValidationError")
    RunItemFactory(run=run, source_id="3", action=m.ItemAction.FAILED, error_class="ValidationError")
    retry = runs.run_items_replay(run=run, items=[one, done], user=None)  # a created item is not replayed
    assert retry is not None
    assert (retry.trigger, retry.retry_of_id, retry.dry_run) == (m.RunTrigger.RETRY, run.pk, False)
    assert retry.checkpoint == {"only_ids": ["2"]}


@pytest.mark.django_db
def test_a_verify_failed_item_can_be_replayed_and_an_item_of_another_run_cannot() -> None:
    run = RunFactory(status=m.RunStatus.PARTIAL)
    mismatch = RunItemFactory(run=run, source_id="7", action=m.ItemAction.VERIFY_FAILED)
    stranger = RunItemFactory(source_id="8", action=m.ItemAction.FAILED)  # another run (and sync)
    assert runs.run_items_replay(run=run, items=[stranger], user=None) is None
    retry = runs.run_items_replay(run=run, items=[mismatch, stranger], user=None)
    assert retry is not None and retry.checkpoint["only_ids"] == ["7"]
    assert not m.Run.objects.filter(sync=stranger.run.sync, trigger=m.RunTrigger.RETRY).exists()


@pytest.mark.django_db
def test_a_replay_while_a_run_of_the_sync_is_active_starts_nothing(editor: Any) -> None:
    run = RunFactory(status=m.RunStatus.FAILED)
    item = RunItemFactory(run=run, action=m.ItemAction.FAILED)
    RunFactory(sync=run.sync, status=m.RunStatus.RUNNING, finished_at=None)
    assert runs.run_items_replay(run=run, items=[item], user=editor) is None
    assert m.Run.objects.filter(sync=run.sync).count() == 2


# --- acknowledge --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_ignoring_failures_keeps_who_and_why_and_the_sync_becomes_healthy(editor: Any) -> None:
    sync = SyncFactory(health=m.SyncHealth.HEALTHY)
    run = RunFactory(sync=sync, status=m.RunStatus.PARTIAL, read_count=10, created_count=7, failed_count=3)
    failed = [RunItemFactory(run=run, action=m.ItemAction.FAILED, error_class="ValidationError") for _ in range(3)]
    status.run_finished(run=run)
    sync.refresh_from_db()
    assert sync.health == m.SyncHealth.DEGRADED
    assert runs.run_items_acknowledge(items=failed, user=editor, note="test vendors, not real") == 3
    sync.refresh_from_db()
    assert sync.health == m.SyncHealth.HEALTHY
    item = m.RunItem.objects.get(pk=failed[0].pk)
    assert (item.acknowledged_by, item.acknowledge_note) == (editor, "test vendors, not real")
    assert m.AuditEntry.objects.filter(action="run_item.acknowledge", actor=editor).count() == 3
    assert runs.run_items_acknowledge(items=failed, user=editor, note="again") == 0  # once is enough


# --- health reason, stall, tokens ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_health_reason_follows_the_latest_run_while_the_state_stays_the_same() -> None:
    sync = SyncFactory(health=m.SyncHealth.HEALTHY)
    status.run_finished(
        run=RunFactory(sync=sync, status=m.RunStatus.PARTIAL, read_count=10, created_count=7, failed_count=3)
    )
    sync.refresh_from_db()
    assert (sync.health, sync.health_reason) == (m.SyncHealth.DEGRADED, "3 of 10 items failed (30%)")
    changed_at = sync.health_changed_at
    status.run_finished(
        run=RunFactory(sync=sync, status=m.RunStatus.PARTIAL, read_count=60, created_count=56, failed_count=4)
    )
    sync.refresh_from_db()
    assert (sync.health, sync.health_reason) == (m.SyncHealth.DEGRADED, "4 of 60 items failed (7%)")
    assert sync.health_changed_at == changed_at  # same state: no status change, no alert
    assert m.StatusChange.objects.filter(sync=sync).count() == 1
    status.sync_paused_set(sync=sync, paused=True)
    status.run_finished(run=RunFactory(sync=sync, status=m.RunStatus.PARTIAL, read_count=9, failed_count=9))
    sync.refresh_from_db()
    assert (sync.health, sync.health_reason) == (m.SyncHealth.PAUSED, "paused")  # a decision without a reason


@pytest.mark.django_db
def test_a_running_run_is_stalled_after_thirty_quiet_seconds_and_the_tokens_say_so() -> None:
    now = timezone.now()
    run = RunFactory(status=m.RunStatus.RUNNING, finished_at=None, heartbeat_at=now - timedelta(seconds=10))
    assert run.stalled_seconds is None
    before = (runs_selectors.run_token(run_id=run.pk), runs_selectors.run_list_token())
    m.Run.objects.filter(pk=run.pk).update(heartbeat_at=now - timedelta(minutes=2))
    run.refresh_from_db()
    assert run.stalled_seconds is not None and 119 <= run.stalled_seconds <= 125
    assert (runs_selectors.run_token(run_id=run.pk), runs_selectors.run_list_token()) != before
    finished = RunFactory(status=m.RunStatus.SUCCEEDED, heartbeat_at=now - timedelta(hours=1))
    assert finished.stalled_seconds is None  # only a running run can stall


# --- preview ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_preview_is_a_dry_run_and_never_writes(editor: Any) -> None:
    sync = SyncFactory()
    preview = runs.run_preview(sync=sync, user=editor)
    assert preview is not None
    assert (preview.trigger, preview.dry_run, preview.checkpoint) == (m.RunTrigger.PREVIEW, True, {"sample": 100})
    assert runs.run_preview(sync=sync, user=editor) is None  # one active run per sync
    whole = runs.run_preview(sync=SyncFactory(), user=editor, sample=None)
    assert whole is not None and whole.checkpoint == {}


# --- end to end: a real worker, the emulators ---------------------------------------------------------------


@pytest.mark.worker
def test_replaying_one_failed_record_writes_that_record_only_and_closes_its_failure(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    org = HubstaffOrg(clean_sandbox, clients=4)
    sync = client_sync(clean_sandbox, org, page_limit=10)
    clean_sandbox.set_faults("ghl", clean_sandbox.location_id, error_rate=1.0)  # every write fails after retries
    failed = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL), timeout=240)
    assert failed.status == m.RunStatus.FAILED and failed.failed_count == 4
    calm(clean_sandbox)
    item = failed.items.filter(action=m.ItemAction.FAILED).order_by("source_id").first()
    replay = wait_finished(runs.run_items_replay(run=failed, items=[item], user=None))
    assert replay.status == m.RunStatus.SUCCEEDED, replay.error_summary
    assert list(replay.items.values_list("source_id", "action")) == [(item.source_id, m.ItemAction.CREATED)]
    assert ghl_write_calls(replay) == 1
    [contact] = ghl_contacts(clean_sandbox, email_suffix=f"org{org.org_id}@example.com")  # what GHL received
    assert contact["id"] == replay.items.get().target_id
    item.refresh_from_db()
    assert item.resolved_by_id == replay.pk
    assert failed.items.filter(action=m.ItemAction.FAILED, resolved_by__isnull=True).count() == 3


@pytest.mark.worker
def test_a_preview_of_a_sample_reads_one_page_and_writes_nothing(clean_sandbox: Any, celery_worker: Any) -> None:
    org = HubstaffOrg(clean_sandbox, clients=12)
    sync = client_sync(clean_sandbox, org, page_limit=5)
    preview = wait_finished(runs.run_preview(sync=sync, user=None, sample=5))
    assert preview.status == m.RunStatus.SUCCEEDED, preview.error_summary
    assert (preview.read_count, preview.would_create_count, preview.created_count) == (5, 5, 0)
    whole = wait_finished(runs.run_preview(sync=sync, user=None, sample=None))
    assert (whole.read_count, whole.would_create_count) == (12, 12)
    assert ghl_contacts(clean_sandbox, email_suffix=f"org{org.org_id}@example.com") == []
    assert not m.RecordLink.objects.filter(sync=sync).exists()


@pytest.mark.worker
def test_a_run_that_finds_the_target_down_marks_its_connection_at_once_and_a_good_run_clears_it(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    org = HubstaffOrg(clean_sandbox, clients=3)
    sync = client_sync(clean_sandbox, org, page_limit=10)
    target = sync.target_connection
    assert target.status == m.ConnectionStatus.CONNECTED
    clean_sandbox.set_faults("ghl", clean_sandbox.location_id, error_rate=1.0)  # GHL answers 500 to everything
    failed = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL), timeout=240)
    assert failed.status == m.RunStatus.FAILED
    wait_until(
        lambda: m.Connection.objects.get(pk=target.pk).status == m.ConnectionStatus.ERROR,
        timeout=20,
        what="the GHL connection to show the error",
    )
    target.refresh_from_db()
    assert "During a run" in target.last_error
    change = m.StatusChange.objects.get(connection=target)
    assert change.processed is not None  # recorded quietly: the sync's own health change is what alerts
    assert m.Connection.objects.get(pk=sync.source_connection_id).status == m.ConnectionStatus.CONNECTED

    calm(clean_sandbox)
    ok = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL))
    assert ok.status == m.RunStatus.SUCCEEDED, ok.error_summary
    wait_until(
        lambda: m.Connection.objects.get(pk=target.pk).status == m.ConnectionStatus.CONNECTED,
        timeout=20,
        what="the GHL connection to recover",
    )
    alerts.status_changes_send_pending()
    assert not m.Alert.objects.filter(connection=target).exists()  # one outage, paged once (through the sync)


@pytest.mark.worker
def test_a_source_that_stops_answering_marks_the_source_connection(clean_sandbox: Any, celery_worker: Any) -> None:
    org = HubstaffOrg(clean_sandbox, clients=3)
    sync = client_sync(clean_sandbox, org, page_limit=10)
    clean_sandbox.set_faults("hubstaff", "*", error_rate=1.0)  # Hubstaff answers 500 to every read
    failed = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL), timeout=240)
    assert failed.status == m.RunStatus.FAILED and failed.error_summary.startswith("Reading hubstaff failed")
    wait_until(
        lambda: m.Connection.objects.get(pk=sync.source_connection_id).status != m.ConnectionStatus.CONNECTED,
        timeout=20,
        what="the Hubstaff connection to show the error",
    )
    assert m.Connection.objects.get(pk=sync.target_connection_id).status == m.ConnectionStatus.CONNECTED


@pytest.mark.django_db
def test_a_previews_failures_are_neither_replayed_nor_ignored(editor: Any) -> None:
    preview = RunFactory(status=m.RunStatus.PARTIAL, dry_run=True, trigger=m.RunTrigger.PREVIEW, failed_count=1)
    item = RunItemFactory(run=preview, action=m.ItemAction.FAILED, error_class="MappingError")
    assert runs.run_items_replay(run=preview, items=[item], user=editor) is None  # a replay would write for real
    assert runs.run_retry_failed(run=preview, user=editor) is None
    assert runs.run_items_acknowledge(items=[item], user=editor, note="x") == 0
    assert m.Run.objects.filter(sync=preview.sync).count() == 1
