"""The engine's own decisions (diff, dry run, cancel, statuses, suspicious zero, redaction, ownership), driven
with an in-memory source connector and a recording writer so each rule is checked in isolation. The same paths
run end to end against the emulators and a real worker in tests/reliability and tests/services/test_runs.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from contacts_sync import models as m
from contacts_sync.apiclient.errors import ServerError, ValidationError
from contacts_sync.connectors.base import Page
from contacts_sync.mapping import apply, content_hash
from contacts_sync.sync.engine import CallRecorder, Engine
from contacts_sync.sync.recipes import RECIPES
from contacts_sync.sync.redaction import REDACTED, Redactor
from tests.factories import RunFactory, SyncFactory

pytestmark = pytest.mark.django_db

RULES = [
    {"source": "name", "target": "firstName", "transforms": [], "required": True},
    {"source": "email", "target": "email", "transforms": [{"name": "email", "args": {}}]},
]


class ListSource:
    """A source connector over a list, paged like the real ones (cursor = next index)."""

    provider = "custom"

    def __init__(self, records: list[dict[str, Any]], page_size: int = 3) -> None:
        self.records = records
        self.page_size = page_size
        self.reads: list[Any] = []

    def record_id(self, object_kind: str, record: dict[str, Any]) -> str:
        return str(record["id"])

    def read(self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]):
        start = int((cursor or {}).get("next", 0))
        self.reads.append(start)
        while True:
            chunk = self.records[start : start + self.page_size]
            start += self.page_size
            more = start < len(self.records)
            yield Page(records=chunk, cursor={"next": start} if more else None)
            if not more:
                return


class RecordingWriter:
    needs_parent = False

    def __init__(self, fail: dict[str, Exception] | None = None, on_push: Any = None) -> None:
        self.calls: list[tuple[dict[str, Any], str | None]] = []
        self.fail = fail or {}
        self.on_push = on_push

    def identity(self, payload):
        return ""

    def push(self, payload, *, target_id, parent_id, adopt_since=None, taken=None):
        self.calls.append((payload, target_id))
        if self.on_push:
            self.on_push(len(self.calls))
        key = payload.get("firstName", "")
        if key in self.fail:
            raise self.fail[key]
        return target_id or f"ghl-{key}", target_id is None


def people(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"id": i, "name": f"P{i}", "email": f"p{i}@example.com", "api_token": "s3cret"} for i in range(start, start + n)
    ]


def running_run(sync: m.Sync, **kw: Any) -> m.Run:
    run = RunFactory(
        sync=sync, status=m.RunStatus.RUNNING, worker="w:1", heartbeat_at=timezone.now(), finished_at=None, **kw
    )
    return run


def execute(run: m.Run, source: ListSource, writer: RecordingWriter, **kw: Any) -> m.Run:
    Engine(
        run=run,
        worker_token="w:1",
        recipe=RECIPES["custom_contact_to_ghl_contact"],
        source=source,
        writer=writer,
        rules=RULES,
        apply=apply,
        content_hash=content_hash,
        recorder=CallRecorder(),
        redactor=Redactor(rules=RULES),
        **kw,
    ).execute()
    run.refresh_from_db()
    return run


def test_it_creates_every_record_once_and_checkpoints_each_page() -> None:
    sync = SyncFactory()
    run = execute(running_run(sync), ListSource(people(7)), writer := RecordingWriter())
    assert run.status == m.RunStatus.SUCCEEDED
    assert (run.read_count, run.created_count, run.failed_count) == (7, 7, 0)
    assert len(writer.calls) == 7
    assert m.RecordLink.objects.filter(sync=sync).count() == 7
    assert sorted(run.items.values_list("source_id", flat=True)) == sorted(str(i) for i in range(7))


def test_a_rerun_with_nothing_changed_makes_no_write_call() -> None:
    sync = SyncFactory()
    execute(running_run(sync), ListSource(people(5)), RecordingWriter())
    writer = RecordingWriter()
    run = execute(running_run(sync, trigger=m.RunTrigger.MANUAL), ListSource(people(5)), writer)
    assert writer.calls == []
    assert (run.status, run.unchanged_count) == (m.RunStatus.SUCCEEDED, 5)


def test_a_changed_record_is_updated_through_its_link() -> None:
    sync = SyncFactory()
    execute(running_run(sync), ListSource(people(3)), RecordingWriter())
    records = people(3)
    records[1]["email"] = "changed@example.com"
    writer = RecordingWriter()
    run = execute(running_run(sync), ListSource(records), writer)
    assert writer.calls == [({"firstName": "P1", "email": "changed@example.com"}, "ghl-P1")]
    assert (run.updated_count, run.unchanged_count) == (1, 2)


def test_a_record_failing_validation_is_a_failed_item_with_every_reason_and_the_run_goes_on() -> None:
    sync = SyncFactory()
    records = people(4)
    records[2] = {"id": 2, "name": "", "email": "not-an-email"}
    run = execute(running_run(sync), ListSource(records), RecordingWriter())
    assert run.status == m.RunStatus.PARTIAL
    item = run.items.get(source_id="2")
    assert item.action == m.ItemAction.FAILED and item.error_class == "MappingError"
    assert "firstName" in item.error_message and "email" in item.error_message
    assert run.created_count == 3


def test_a_permanent_write_error_is_a_failed_item_with_its_class_and_message() -> None:
    sync = SyncFactory()
    err = ValidationError(
        "property additionalEmails should not exist", status=422, provider="ghl", operation="upsert_contact"
    )
    run = execute(running_run(sync), ListSource(people(3)), RecordingWriter(fail={"P1": err}))
    item = run.items.get(source_id="1")
    assert (item.action, item.error_class) == (m.ItemAction.FAILED, "ValidationError")
    assert "additionalEmails" in item.error_message
    assert run.status == m.RunStatus.PARTIAL and "ValidationError" in run.error_summary
    link = m.RecordLink.objects.get(sync=sync, source_id="1")  # remembers the rejection, links to nothing
    assert (link.target_id, link.content_hash) == ("", "") and link.failed_hash


def test_when_every_record_fails_the_run_is_failed_not_partial() -> None:
    sync = SyncFactory()
    err = ServerError("boom", status=503)
    run = execute(running_run(sync), ListSource(people(2)), RecordingWriter(fail={"P0": err, "P1": err}))
    assert run.status == m.RunStatus.FAILED


def test_a_dry_run_writes_nothing_and_reports_what_would_change() -> None:
    sync = SyncFactory()
    execute(running_run(sync), ListSource(people(2)), RecordingWriter())
    records = people(3)
    records[0]["email"] = "new@example.com"
    writer = RecordingWriter()
    run = execute(running_run(sync, dry_run=True), ListSource(records), writer)
    assert writer.calls == []
    assert (run.would_create_count, run.would_update_count, run.unchanged_count) == (1, 1, 1)
    assert m.RecordLink.objects.filter(sync=sync).count() == 2
    assert set(run.items.values_list("action", flat=True)) == {"would_create", "would_update", "unchanged"}


def test_reading_zero_where_the_last_run_read_many_is_suspicious_and_failed() -> None:
    sync = SyncFactory()
    execute(running_run(sync), ListSource(people(8)), RecordingWriter())
    run = execute(running_run(sync), ListSource([]), RecordingWriter())
    assert run.status == m.RunStatus.FAILED and run.suspicious
    assert "read 0 records" in run.error_summary


def test_reading_zero_on_a_first_run_is_not_suspicious() -> None:
    run = execute(running_run(SyncFactory()), ListSource([]), RecordingWriter())
    assert run.status == m.RunStatus.SUCCEEDED and not run.suspicious


def test_a_cancel_request_stops_the_run_between_records() -> None:
    sync = SyncFactory()
    run = running_run(sync)

    def cancel_after_two(n: int) -> None:
        if n == 2:
            m.Run.objects.filter(pk=run.pk).update(cancel_requested=True)

    source = ListSource(people(9), page_size=3)
    run = execute(run, source, RecordingWriter(on_push=cancel_after_two))
    assert run.status == m.RunStatus.CANCELLED
    assert run.read_count < 9


def test_it_resumes_from_the_checkpoint_cursor() -> None:
    sync = SyncFactory()
    run = running_run(sync, checkpoint={"cursor": {"next": 6}})
    source = ListSource(people(9), page_size=3)
    run = execute(run, source, RecordingWriter())
    assert source.reads == [6]
    assert run.read_count == 3


def test_a_run_taken_over_by_another_worker_stops_without_writing() -> None:
    sync = SyncFactory()
    run = running_run(sync)

    def steal(n: int) -> None:
        m.Run.objects.filter(pk=run.pk).update(worker="other:2")

    run = execute(run, ListSource(people(3)), RecordingWriter(on_push=steal))
    assert run.status == m.RunStatus.RUNNING and run.worker == "other:2"
    assert run.items.count() == 0


def test_retry_only_touches_the_listed_source_ids() -> None:
    sync = SyncFactory()
    writer = RecordingWriter()
    run = execute(
        running_run(sync, trigger=m.RunTrigger.RETRY, checkpoint={"only_ids": ["4", "7"]}),
        ListSource(people(9)),
        writer,
    )
    assert sorted(run.items.values_list("source_id", flat=True)) == ["4", "7"]
    assert len(writer.calls) == 2 and run.status == m.RunStatus.SUCCEEDED


def test_item_payloads_are_redacted() -> None:
    red = Redactor(
        sensitive_source_paths=["profile.birthday"],
        rules=[
            {"source": "profile.birthday", "target": "dateOfBirth"},
            {"source": "x", "target": "customField.ssn_no"},
        ],
    )
    shown = red.source({"api_token": "abc", "profile": {"birthday": "1990-01-01", "city": "Rome"}})
    assert shown == {"api_token": REDACTED, "profile": {"birthday": REDACTED, "city": "Rome"}}
    assert red.payload({"dateOfBirth": "1990-01-01", "email": "a@b.c"}) == {"dateOfBirth": REDACTED, "email": "a@b.c"}


def test_a_ghl_contact_webhook_run_handles_just_the_event_record() -> None:
    import json

    sync = SyncFactory()
    event = m.InboundEvent.objects.create(
        provider="ghl",
        event_id="wh-1",
        event_type="ContactUpdate",
        body=json.dumps({"type": "ContactUpdate", "id": "c-9", "name": "Eve", "email": "eve@example.com"}),
    )
    run = running_run(sync, trigger=m.RunTrigger.WEBHOOK, event=event)
    recipe = RECIPES["ghl_critical_contact_to_hubstaff_task"]
    rules = [{"source": "name", "target": "summary", "transforms": []}]
    source = ListSource(people(4))
    writer = RecordingWriter()
    Engine(
        run=run,
        worker_token="w:1",
        recipe=recipe,
        source=source,
        writer=writer,
        rules=rules,
        apply=apply,
        content_hash=content_hash,
    ).execute()
    run.refresh_from_db()
    assert source.reads == []  # no listing: the event carries the record
    assert run.read_count == 1
    # not tagged critical: the recipe's filter skips it, and says so
    assert run.items.get().action == m.ItemAction.SKIPPED and writer.calls == []


def test_a_payload_the_target_rejected_is_not_sent_again_until_it_changes_or_is_retried() -> None:
    sync = SyncFactory()
    err = ValidationError("email is invalid", status=422, provider="ghl", operation="upsert_contact")
    first = execute(running_run(sync), ListSource(people(3)), RecordingWriter(fail={"P1": err}))
    assert first.failed_count == 1

    writer = RecordingWriter(fail={"P1": err})
    second = execute(running_run(sync), ListSource(people(3)), writer)
    assert writer.calls == []  # P0 and P2 unchanged, P1 rejected before with this very payload
    item = second.items.get(source_id="1")
    assert (item.action, item.error_class) == (m.ItemAction.FAILED, "ValidationError")
    assert "Not sent again" in item.error_message and "email is invalid" in item.error_message

    retry_writer = RecordingWriter()
    retry = execute(
        running_run(sync, trigger=m.RunTrigger.RETRY, checkpoint={"only_ids": ["1"]}),
        ListSource(people(3)),
        retry_writer,
    )
    assert len(retry_writer.calls) == 1 and retry.created_count == 1
    link = m.RecordLink.objects.get(sync=sync, source_id="1")
    assert (link.target_id, link.failed_hash) == ("ghl-P1", "")


def test_a_transient_failure_is_sent_again_on_the_next_run() -> None:
    sync = SyncFactory()
    execute(
        running_run(sync), ListSource(people(2)), RecordingWriter(fail={"P0": ServerError("bad gateway", status=502)})
    )
    writer = RecordingWriter()
    execute(running_run(sync), ListSource(people(2)), writer)
    assert [c[0]["firstName"] for c in writer.calls] == ["P0"]


def test_rejected_credentials_stop_the_run_and_keep_the_items_already_done() -> None:
    from contacts_sync.apiclient.errors import AuthError

    sync = SyncFactory()
    err = AuthError("Invalid token: access token is invalid", status=401, provider="ghl")
    run = execute(running_run(sync), ListSource(people(5), page_size=5), RecordingWriter(fail={"P2": err}))
    assert run.status == m.RunStatus.FAILED and "credentials" in run.error_summary
    assert sorted(run.items.values_list("source_id", flat=True)) == ["0", "1"]
    assert m.RecordLink.objects.filter(sync=sync).count() == 2


def test_a_source_record_without_an_id_is_a_failed_item_and_the_rest_go_on() -> None:
    records = people(3)
    del records[1]["id"]
    run = execute(running_run(SyncFactory()), ListSource(records), RecordingWriter())
    assert run.status == m.RunStatus.PARTIAL and run.created_count == 2
    assert run.items.get(action=m.ItemAction.FAILED).error_class == "MissingId"


def _waiting(sync: m.Sync, *bodies: dict[str, Any], provider: str = "ghl") -> list[m.SyncEvent]:
    """Routed events waiting for the sync's next run (services/event_runs.py), in arrival order."""
    import json
    import uuid

    rows = []
    for body in bodies:
        event = m.InboundEvent.objects.create(
            provider=provider,
            event_id=str(uuid.uuid4()),
            event_type=body.get("type", "ContactUpdate"),
            body=json.dumps(body),
        )
        rows.append(m.SyncEvent.objects.create(sync=sync, event=event))
    return rows


def test_a_coalesced_ghl_webhook_run_syncs_the_latest_record_of_every_waiting_event_without_reading_ghl() -> None:
    sync = SyncFactory()
    rows = _waiting(
        sync,
        {"id": "c-1", "name": "Old", "tags": ["critical"]},
        {"id": "c-2", "name": "Two", "tags": ["critical"]},
        {"id": "c-1", "name": "New", "tags": ["critical"]},
        {"type": "ContactDelete", "id": "c-3"},
    )
    run = running_run(sync, trigger=m.RunTrigger.WEBHOOK)
    source, writer = ListSource(people(4)), RecordingWriter()
    Engine(
        run=run,
        worker_token="w:1",
        recipe=RECIPES["ghl_critical_contact_to_hubstaff_task"],
        source=source,
        writer=writer,
        rules=[{"source": "name", "target": "summary", "transforms": []}],
        apply=apply,
        content_hash=content_hash,
    ).execute()
    run.refresh_from_db()
    assert source.reads == []  # the events carry the records
    assert sorted(payload["summary"] for payload, _ in writer.calls) == ["New", "Two"]  # c-1 once, its latest
    assert run.read_count == 3 and run.status == m.RunStatus.SUCCEEDED  # c-3: a delete of a record never written
    assert set(m.SyncEvent.objects.filter(pk__in=[r.pk for r in rows]).values_list("run_id", "done")) == {
        (run.pk, True)
    }


@pytest.mark.parametrize("continuation", [False, True])
def test_an_app_webhook_run_takes_the_waiting_events_when_it_starts_but_not_in_a_continuation(
    continuation: bool,
) -> None:
    """An app source is read incrementally: a run covers what waited when it started reading; a continuation
    reads on from its cursor, so events that arrived since wait for the next run."""
    sync = SyncFactory()
    (row,) = _waiting(sync, {"type": "contact.updated", "id": "x"}, provider="custom")
    checkpoint = {"continuations": 1, "cursor": {"next": 0}} if continuation else {}
    run = execute(
        running_run(sync, trigger=m.RunTrigger.WEBHOOK, checkpoint=checkpoint), ListSource(people(2)), RecordingWriter()
    )
    row.refresh_from_db()
    assert run.created_count == 2
    assert (row.run_id, row.done) == ((None, False) if continuation else (run.pk, True))
