"""What a run reads (sync/sources.py): a GHL event's own record, and the sync's change cursor."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contacts_sync import models as m
from contacts_sync.sync.sources import Watermark, cursor_options, event_page


def _event(event_type: str, body: Any, provider: str = "ghl") -> m.InboundEvent:
    return m.InboundEvent(provider=provider, event_type=event_type, body=json.dumps(body))


@pytest.mark.parametrize(
    ("event_type", "kind", "deleted"),
    [
        ("TaskCreate", "task", False),
        ("TaskComplete", "task", False),
        ("TaskDelete", "task", True),
        ("NoteUpdate", "note", False),
        ("NoteDelete", "note", True),
        ("ContactDelete", "contact", True),
    ],
)
def test_a_ghl_event_of_the_syncs_object_is_a_one_record_page(event_type: str, kind: str, deleted: bool) -> None:
    page = event_page(
        _event(event_type, {"type": event_type, "id": "r1", "contactId": "c1"}), source_provider="ghl", object_kind=kind
    )
    assert page is not None and page.cursor is None
    assert page.records == [{"id": "r1", "contactId": "c1", **({"_deleted": True} if deleted else {})}]


def test_an_appointment_event_gives_its_nested_record() -> None:
    body = {"type": "AppointmentDelete", "locationId": "L", "appointment": {"id": "a1", "contactId": "c1"}}
    page = event_page(_event("AppointmentDelete", body), source_provider="ghl", object_kind="appointment")
    assert page is not None and page.records == [{"id": "a1", "contactId": "c1", "_deleted": True}]


@pytest.mark.parametrize(
    ("event", "source", "kind"),
    [
        (None, "ghl", "task"),
        (_event("TaskCreate", {"id": "t"}), "ghl", "note"),  # another object: the run reads the source
        (_event("TaskCreate", {"id": "t"}, provider="hubstaff"), "ghl", "task"),
        (_event("TaskCreate", {"id": "t"}), "hubstaff", "task"),
        (_event("TaskCreate", {"title": "no id"}), "ghl", "task"),
        (m.InboundEvent(provider="ghl", event_type="TaskCreate", body="{not json"), "ghl", "task"),
    ],
)
def test_other_runs_read_the_source(event: Any, source: str, kind: str) -> None:
    assert event_page(event, source_provider=source, object_kind=kind) is None


def test_the_watermark_is_the_newest_change_held_back_by_a_passing_failure() -> None:
    mark = Watermark("dateUpdated")
    assert mark.cursor() is None
    mark.saw({"dateUpdated": "2026-01-02T00:00:00.000Z"}, retry_later=False)
    mark.saw({"dateUpdated": 1767484800000}, retry_later=False)  # epoch ms: 2026-01-04
    mark.saw({"dateUpdated": "not a date"}, retry_later=False)
    mark.saw({}, retry_later=False)
    assert mark.cursor() == {"updated_since": "2026-01-04T00:00:00Z"}
    mark.saw({"dateUpdated": "2026-01-03T00:00:00Z"}, retry_later=True)
    assert mark.cursor() == {"updated_since": "2026-01-03T00:00:00Z"}
    assert Watermark(None).cursor() is None


@pytest.mark.parametrize(
    ("trigger", "mode", "event_id", "only_ids", "expected"),
    [
        (m.RunTrigger.RECONCILE, "incremental", None, False, {"updated_since": "T"}),
        (m.RunTrigger.SCHEDULE, "incremental", None, False, {"updated_since": "T"}),
        (m.RunTrigger.WEBHOOK, "incremental", None, False, {"updated_since": "T"}),  # a catch-up run
        (m.RunTrigger.WEBHOOK, "incremental", 7, False, {}),  # one event's record
        (m.RunTrigger.MANUAL, "incremental", None, False, {}),  # a person asks for everything
        (m.RunTrigger.SCHEDULE, "full", None, False, {}),
        (m.RunTrigger.RETRY, "incremental", None, True, {}),
    ],
)
def test_which_runs_start_at_the_change_cursor(
    trigger: str, mode: str, event_id: Any, only_ids: bool, expected: dict[str, str]
) -> None:
    assert (
        cursor_options(
            trigger=trigger, mode=mode, event_id=event_id, only_ids=only_ids, source_cursor={"updated_since": "T"}
        )
        == expected
    )
    assert cursor_options(trigger=trigger, mode=mode, event_id=event_id, only_ids=only_ids, source_cursor={}) == {}
