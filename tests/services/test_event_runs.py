"""services.event_runs.inbound_event_process: stored events become runs of the syncs they concern."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from contacts_sync.models import (
    AuthKind,
    EventStatus,
    InboundEvent,
    Provider,
    Run,
    RunStatus,
    RunTrigger,
    SyncEvent,
)
from contacts_sync.services import event_runs as events
from contacts_sync.services import inbox, runs
from contacts_sync.sync import sources
from tests.factories import ConnectionFactory, RunFactory, SyncFactory

pytestmark = pytest.mark.django_db


def ghl_event(type_: str = "ContactUpdate", location: str = "loc-1") -> InboundEvent:
    body = json.dumps({"type": type_, "locationId": location, "id": "c-1", "email": "a@example.com"})
    event, _ = inbox.inbound_event_store(
        provider="ghl",
        event_id=str(uuid.uuid4()),
        body=body.encode(),
        headers={},
        event_type=type_,
        account_id=location,
    )
    return event


def ghl_source_sync(location: str = "loc-1", **fields: Any) -> Any:
    hub = ConnectionFactory(provider=Provider.HUBSTAFF, auth_kind=AuthKind.API_KEY, external_account_id="501")
    defaults = {
        "recipe": "ghl_critical_contact_to_hubstaff_task",
        "source_object": "contact",
        "target_object": "task",
        "webhook_trigger": True,
        "poll_interval_seconds": None,
    }
    return SyncFactory(
        source_connection=ConnectionFactory(external_account_id=location),
        target_connection=hub,
        **{**defaults, **fields},
    )


def test_an_event_waits_for_the_next_run_of_each_sync_that_reads_that_location_and_object() -> None:
    sync = ghl_source_sync()
    other_location = ghl_source_sync(location="loc-2")
    event = ghl_event()
    outcome = events.inbound_event_process(event_id=event.pk)
    assert outcome.status == EventStatus.PROCESSED
    run = Run.objects.get(sync=sync)
    assert outcome.runs == [run.pk]
    # a coalesced run: it takes every event waiting for the sync when it starts, not just this one
    assert (run.trigger, run.event_id, run.status) == (RunTrigger.WEBHOOK, None, RunStatus.QUEUED)
    assert list(SyncEvent.objects.values_list("sync_id", "event_id", "run_id", "done")) == [
        (sync.pk, event.pk, None, False)
    ]
    assert not Run.objects.filter(sync=other_location).exists()
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED
    assert f"queued for the next run of sync “{sync.name}” (#{sync.pk})" == event.error
    assert event.processed_at is not None


def test_processing_the_same_event_twice_makes_one_run() -> None:
    sync = ghl_source_sync()
    event = ghl_event()
    events.inbound_event_process(event_id=event.pk)
    again = events.inbound_event_process(event_id=event.pk)
    assert again.reason == "not pending"
    assert Run.objects.filter(sync=sync).count() == 1
    assert SyncEvent.objects.count() == 1


@pytest.mark.parametrize(
    "fields",
    [{"webhook_trigger": False}, {"enabled": False}, {"source_object": "task", "target_object": "task"}],
    ids=["no-webhook-trigger", "paused", "other-object"],
)
def test_an_event_no_sync_wants_is_ignored_with_the_reason(fields: dict[str, Any]) -> None:
    sync = ghl_source_sync(**fields)
    event = ghl_event()
    outcome = events.inbound_event_process(event_id=event.pk)
    assert outcome.status == EventStatus.IGNORED
    assert not Run.objects.filter(sync=sync).exists()
    event.refresh_from_db()
    assert event.status == EventStatus.IGNORED
    assert "no enabled sync with a webhook trigger reads contact from account loc-1" in event.error


def test_an_event_type_that_feeds_no_object_is_ignored() -> None:
    ghl_source_sync()
    event = ghl_event(type_="LocationUpdate")
    assert events.inbound_event_process(event_id=event.pk).status == EventStatus.IGNORED
    event.refresh_from_db()
    assert "'LocationUpdate' does not feed syncs" in event.error


@pytest.mark.parametrize("active", [RunStatus.RUNNING, RunStatus.QUEUED])
def test_an_event_for_a_sync_with_an_active_run_never_fails_it_waits_for_that_or_the_next_run(active: str) -> None:
    """A 3-hour first sync used to make an event wait 60 x 60 s and then fail it."""
    sync = ghl_source_sync()
    busy = RunFactory(sync=sync, status=active, finished_at=None, trigger=RunTrigger.SCHEDULE)
    event = ghl_event()
    outcome = events.inbound_event_process(event_id=event.pk)
    assert (outcome.status, outcome.runs) == (EventStatus.PROCESSED, [])
    assert Run.objects.filter(sync=sync).count() == 1
    assert SyncEvent.objects.get().run_id is None  # waiting
    # the busy run ends: the ending asks for the next run, which will take the event
    Run.objects.filter(pk=busy.pk).update(status=RunStatus.SUCCEEDED, finished_at=timezone.now())
    follow_up = runs.sync_events_follow_up(sync_id=sync.pk)
    assert follow_up is not None
    assert (follow_up.trigger, follow_up.event_id) == (RunTrigger.WEBHOOK, None)
    assert runs.sync_events_follow_up(sync_id=sync.pk) is None  # one active run per sync


def test_a_run_that_ends_with_nothing_waiting_asks_for_no_next_run() -> None:
    sync = ghl_source_sync()
    assert runs.sync_events_follow_up(sync_id=sync.pk) is None
    assert not Run.objects.filter(sync=sync).exists()


def test_a_burst_of_events_for_one_sync_is_drained_into_one_run_that_reads_each_record_once_latest_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events, "DRAIN_BATCH", 7)  # several drain batches, still one run
    sync = ghl_source_sync()
    ignored = [ghl_event(location="loc-nobody") for _ in range(3)]
    stored = []
    for i in range(30):  # 10 contacts, 3 updates each, the last one wins
        body = json.dumps(
            {
                "type": "ContactUpdate",
                "locationId": "loc-1",
                "id": f"c-{i % 10}",
                "firstName": f"v{i // 10}",
                "tags": ["critical"],
            }
        )
        stored.append(
            inbox.inbound_event_store(
                provider="ghl",
                event_id=str(uuid.uuid4()),
                body=body.encode(),
                headers={},
                event_type="ContactUpdate",
                account_id="loc-1",
            )[0]
        )
    assert events.inbound_events_drain() == 33
    assert not InboundEvent.objects.filter(status=EventStatus.PENDING).exists()
    assert set(InboundEvent.objects.filter(pk__in=[e.pk for e in ignored]).values_list("status", flat=True)) == {
        EventStatus.IGNORED
    }
    run = Run.objects.get(sync=sync)
    assert SyncEvent.objects.filter(sync=sync, run__isnull=True).count() == 30
    pages = list(sources.pending_event_pages(run, object_kind="contact"))
    records = [r for page in pages for r in page.records]
    assert sorted((r["id"], r["firstName"]) for r in records) == [(f"c-{i}", "v2") for i in range(10)]
    assert SyncEvent.objects.filter(sync=sync, run=run, done=True).count() == 30


def test_the_sweeper_starts_the_run_of_a_sync_whose_waiting_events_lost_their_follow_up() -> None:
    sync = ghl_source_sync()
    RunFactory(sync=sync, status=RunStatus.RUNNING, finished_at=None)
    event = ghl_event()
    events.inbound_event_process(event_id=event.pk)
    SyncEvent.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    events.inbound_events_sweep()
    assert Run.objects.filter(sync=sync).count() == 1  # still active: it or the run after it takes the event
    Run.objects.filter(sync=sync).update(status=RunStatus.FAILED, finished_at=timezone.now())
    events.inbound_events_sweep()
    assert Run.objects.filter(sync=sync, status=RunStatus.QUEUED, trigger=RunTrigger.WEBHOOK).count() == 1


def test_an_app_event_starts_the_syncs_that_read_from_that_connection() -> None:
    sync = SyncFactory(
        webhook_trigger=True, source_object="task", target_object="task", recipe="hubstaff_task_to_ghl_task"
    )
    unrelated = SyncFactory(webhook_trigger=True, source_object="task", target_object="task")
    body = json.dumps({"id": "e1", "event": "task.create", "payload": {"task_id": 5}}).encode()
    event, _ = inbox.inbound_event_store(
        provider="hubstaff",
        event_id="x:e1",
        body=body,
        headers={},
        event_type="task.create",
        connection=sync.source_connection,
    )
    assert events.inbound_event_process(event_id=event.pk).status == EventStatus.PROCESSED
    assert Run.objects.filter(sync=sync, trigger=RunTrigger.WEBHOOK).count() == 1
    assert not Run.objects.filter(sync=unrelated).exists()


def test_a_missing_event_is_a_quiet_no_op() -> None:
    assert events.inbound_event_process(event_id=987654).status == "missing"


def test_an_unexpected_error_marks_the_event_failed_not_pending() -> None:
    event = ghl_event()
    events.inbound_event_fail(event_id=event.pk, reason="RuntimeError: boom")
    event.refresh_from_db()
    assert (event.status, event.error) == (EventStatus.FAILED, "RuntimeError: boom")


def test_pruning_deletes_old_finished_events_but_never_pending_ones() -> None:
    from datetime import timedelta

    from django.utils import timezone

    old = timezone.now() - timedelta(days=40)
    kept_pending, done, recent_failed = ghl_event(), ghl_event(), ghl_event()
    InboundEvent.objects.filter(pk=done.pk).update(status=EventStatus.PROCESSED)
    InboundEvent.objects.filter(pk=recent_failed.pk).update(status=EventStatus.FAILED)
    InboundEvent.objects.filter(pk__in=[kept_pending.pk, done.pk, recent_failed.pk]).update(received_at=old)
    assert events.inbound_events_prune() == 1
    assert set(InboundEvent.objects.values_list("pk", flat=True)) == {kept_pending.pk, recent_failed.pk}


def test_an_untagged_contact_event_needs_no_run_of_the_critical_contact_sync(db):
    import json

    from contacts_sync.models import EventStatus, InboundEvent, Provider, Run
    from contacts_sync.services.event_runs import inbound_event_process
    from tests.factories import ConnectionFactory, SyncFactory

    ghl = ConnectionFactory(provider=Provider.GHL, external_account_id="loc-filter")
    hub = ConnectionFactory(provider=Provider.HUBSTAFF, auth_kind="api_key")
    sync = SyncFactory(
        recipe="ghl_critical_contact_to_hubstaff_task",
        source_connection=ghl,
        source_object="contact",
        target_connection=hub,
        target_object="task",
        webhook_trigger=True,
    )

    def event(event_id: str, tags: list[str]) -> InboundEvent:
        body = {"type": "ContactUpdate", "locationId": "loc-filter", "id": f"c-{event_id}", "tags": tags}
        return InboundEvent.objects.create(
            provider=Provider.GHL,
            event_id=event_id,
            event_type="ContactUpdate",
            account_id="loc-filter",
            body=json.dumps(body),
        )

    plain = event("e-plain", ["vip"])
    outcome = inbound_event_process(event_id=plain.pk)
    assert outcome.status == EventStatus.IGNORED
    assert f"does not match the filter of sync “{sync.name}” (#{sync.pk})" in outcome.reason
    assert not Run.objects.filter(sync=sync).exists()

    critical = event("e-critical", ["Critical"])
    outcome = inbound_event_process(event_id=critical.pk)
    assert outcome.status == EventStatus.PROCESSED
    assert Run.objects.filter(sync=sync, trigger="webhook").count() == 1
    assert list(SyncEvent.objects.filter(sync=sync).values_list("event_id", flat=True)) == [critical.pk]
