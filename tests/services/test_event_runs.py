"""services.event_runs.inbound_event_process: stored events become runs of the syncs they concern."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from contacts_sync.models import AuthKind, EventStatus, InboundEvent, Provider, Run, RunStatus, RunTrigger
from contacts_sync.services import event_runs as events
from contacts_sync.services import inbox
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


def test_an_event_starts_a_webhook_run_of_each_sync_that_reads_that_location_and_object() -> None:
    sync = ghl_source_sync()
    other_location = ghl_source_sync(location="loc-2")
    event = ghl_event()
    outcome = events.inbound_event_process(event_id=event.pk)
    assert outcome.status == EventStatus.PROCESSED
    run = Run.objects.get(sync=sync)
    assert (run.trigger, run.event_id, run.status) == (RunTrigger.WEBHOOK, event.pk, RunStatus.QUEUED)
    assert not Run.objects.filter(sync=other_location).exists()
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED
    assert f"run {run.pk}" in event.error
    assert event.processed_at is not None


def test_processing_the_same_event_twice_makes_one_run() -> None:
    sync = ghl_source_sync()
    event = ghl_event()
    events.inbound_event_process(event_id=event.pk)
    again = events.inbound_event_process(event_id=event.pk)
    assert again.reason == "not pending"
    assert Run.objects.filter(sync=sync).count() == 1


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


def test_an_event_waits_while_the_syncs_run_is_reading_then_fails_with_the_reason_when_it_gives_up() -> None:
    sync = ghl_source_sync()
    RunFactory(sync=sync, status=RunStatus.RUNNING, finished_at=None)
    event = ghl_event()
    first = events.inbound_event_process(event_id=event.pk)
    assert first.status == "retry"
    event.refresh_from_db()
    assert event.status == EventStatus.PENDING
    assert event.error.startswith("waiting:")
    last = events.inbound_event_process(event_id=event.pk, attempt=60, give_up=True)
    assert last.status == EventStatus.FAILED
    event.refresh_from_db()
    assert event.status == EventStatus.FAILED
    assert "reconcile poll" in event.error


def test_after_waiting_an_event_asks_for_one_incremental_catch_up_run() -> None:
    sync = ghl_source_sync()
    running = RunFactory(sync=sync, status=RunStatus.RUNNING, finished_at=None)
    event = ghl_event()
    assert events.inbound_event_process(event_id=event.pk).status == "retry"
    Run.objects.filter(pk=running.pk).update(status=RunStatus.SUCCEEDED)
    assert events.inbound_event_process(event_id=event.pk, attempt=1).status == EventStatus.PROCESSED
    catch_up = Run.objects.get(sync=sync, status=RunStatus.QUEUED)
    assert catch_up.event_id is None  # reads incrementally, so it covers every event that waited
    assert catch_up.trigger == RunTrigger.WEBHOOK


def test_a_queued_incremental_run_covers_a_new_event() -> None:
    sync = ghl_source_sync()
    queued = RunFactory(sync=sync, status=RunStatus.QUEUED, started_at=None, finished_at=None)
    event = ghl_event()
    outcome = events.inbound_event_process(event_id=event.pk)
    assert outcome.status == EventStatus.PROCESSED
    assert (
        f"coalesced into run {queued.pk}" in outcome.reason or f"covered by run {queued.pk}" in outcome.reason
    )
    assert Run.objects.filter(sync=sync).count() == 1


def test_a_run_between_two_time_slices_does_not_cover_an_event_that_arrived_after_it_started_reading() -> None:
    """A yielded run is queued again, but it reads on from its cursor: a record it already read may have changed."""
    sync = ghl_source_sync()
    continuing = RunFactory(sync=sync, status=RunStatus.QUEUED, started_at=timezone.now() - timedelta(minutes=10),
                            finished_at=None, checkpoint={"cursor": {"after": "x"}, "continuations": 1})
    Run.objects.filter(pk=continuing.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    event = ghl_event()
    assert events.inbound_event_process(event_id=event.pk).status == "retry"  # waits for the run to end
    assert Run.objects.filter(sync=sync).count() == 1


def test_a_queued_run_for_another_ghl_event_does_not_cover_this_one() -> None:
    """The engine turns a GHL event's run into a one-record run, so it cannot carry a second event's record."""
    sync = ghl_source_sync()
    first = ghl_event()
    events.inbound_event_process(event_id=first.pk)
    second = ghl_event()
    assert events.inbound_event_process(event_id=second.pk).status == "retry"
    assert list(Run.objects.filter(sync=sync).values_list("event_id", flat=True)) == [first.pk]


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
    sync = SyncFactory(recipe="ghl_critical_contact_to_hubstaff_task", source_connection=ghl, source_object="contact",
                       target_connection=hub, target_object="task", webhook_trigger=True)

    def event(event_id: str, tags: list[str]) -> InboundEvent:
        body = {"type": "ContactUpdate", "locationId": "loc-filter", "id": f"c-{event_id}", "tags": tags}
        return InboundEvent.objects.create(provider=Provider.GHL, event_id=event_id, event_type="ContactUpdate",
                                           account_id="loc-filter", body=json.dumps(body))

    plain = event("e-plain", ["vip"])
    outcome = inbound_event_process(event_id=plain.pk)
    assert outcome.status == EventStatus.IGNORED
    assert f"does not match the filter of sync(s) {sync.pk}" in outcome.reason
    assert not Run.objects.filter(sync=sync).exists()

    critical = event("e-critical", ["Critical"])
    outcome = inbound_event_process(event_id=critical.pk)
    assert outcome.status == EventStatus.PROCESSED
    assert Run.objects.filter(sync=sync, event=critical).count() == 1
