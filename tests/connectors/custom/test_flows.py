"""Your app's flows into GHL end to end against the emulators, with a real worker: contacts (tags the app drops
are removed in GHL, tags someone else added stay), tasks (same-titled tasks stay distinct, completion follows,
deletes mirror), notes (an edit updates the same note).

Messy data on purpose: two tasks and two notes with the same text on one contact, a title with control
characters and padding, a task whose contact the app never sent, a task with no title, an email in capitals.
"""

from __future__ import annotations

from typing import Any

import pytest

from contacts_sync import models as m
from tests.connectors.flows import (
    GhlApi,
    Received,
    app_connection,
    calls,
    ghl_connection,
    limits_off,
    make_sync,
    run,
    spec_checked,
)

pytestmark = [pytest.mark.worker]
__all__ = ["spec_checked"]


def _put(sandbox: Any, kind: str, **fields: Any) -> dict[str, Any]:
    return sandbox.admin("POST", f"/custom/_admin/{kind}", json=fields)


def _contacts(sandbox: Any) -> tuple[m.Sync, m.Run]:
    """The app with only Ada (tags vip, lead) and Bob; their contact sync, run once."""
    limits_off(sandbox)
    sandbox.admin("POST", "/custom/_admin/clear")
    _put(
        sandbox,
        "records",
        id="ada",
        first_name="Ada",
        last_name="Lovelace",
        email="ADA@Example.com",
        tags=["vip", "lead"],
    )
    _put(sandbox, "records", id="bob", first_name="Bob", last_name="Byte", phone="+14155550123", tags=[])
    sync = make_sync("custom_contact_to_ghl_contact", app_connection(sandbox, "custom"), ghl_connection(sandbox))
    first = run(sync)
    assert first.status == m.RunStatus.SUCCEEDED, first.error_summary
    assert first.created_count == 2
    return sync, first


def _contact_id(contacts: m.Sync, source_id: str) -> str:
    return m.RecordLink.objects.get(sync=contacts, source_id=source_id).target_id.split("/")[0]


def test_a_tag_dropped_in_the_app_is_removed_in_ghl_but_tags_others_added_stay(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    contacts, _ = _contacts(clean_sandbox)
    ada = _contact_id(contacts, "ada")
    api = GhlApi(clean_sandbox)
    api.call("POST", f"/contacts/{ada}/tags", {"tags": ["partner"]})  # a person adds a tag in HighLevel
    _put(clean_sandbox, "records", id="ada", tags=["VIP"])  # the app drops "lead" (and writes vip in capitals)
    received = Received(clean_sandbox)
    second = run(contacts)
    assert second.items.get(source_id="ada").action == m.ItemAction.UPDATED
    removed = received.exchanges("DELETE", "/tags")
    assert [(e["path"], e["json"]) for e in removed] == [(f"/contacts/{ada}/tags", {"tags": ["lead"]})]
    assert calls(second, "DELETE", "/contacts/{contactId}/tags") == 1
    assert sorted(api.call("GET", f"/contacts/{ada}")["contact"]["tags"]) == ["partner", "vip"]
    assert m.RecordLink.objects.get(sync=contacts, source_id="ada").tags_written == ["VIP"]

    _put(clean_sandbox, "records", id="ada", tags=[])  # every tag dropped: only the one this sync wrote goes
    third = run(contacts)
    assert calls(third, "DELETE", "/contacts/{contactId}/tags") == 1
    assert api.call("GET", f"/contacts/{ada}")["contact"]["tags"] == ["partner"]
    fourth = run(contacts)
    assert (
        fourth.created_count + fourth.updated_count == 0 and calls(fourth, "DELETE", "/contacts/{contactId}/tags") == 0
    )


def test_tasks_with_the_same_title_stay_distinct_tasks_and_follow_completion_and_deletes(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    contacts, _ = _contacts(clean_sandbox)
    _put(
        clean_sandbox,
        "tasks",
        id="t1",
        contact_id="ada",
        title="Call back",
        due_date="2027-01-10T09:00:00Z",
        status="open",
        description="About the invoice",
    )
    _put(
        clean_sandbox,
        "tasks",
        id="t2",
        contact_id="ada",
        title="Call back",
        due_date="2027-01-11T09:00:00Z",
        status="open",
    )
    _put(clean_sandbox, "tasks", id="t3", contact_id="bob", title="  Send\tthe quote\u0007  ", status="completed")
    _put(clean_sandbox, "tasks", id="t4", contact_id="nobody", title="Orphan", status="open")
    _put(clean_sandbox, "tasks", id="t5", contact_id="ada", title="", status="open")
    tasks = make_sync("custom_task_to_ghl_task", contacts.source_connection, contacts.target_connection)
    tasks.delete_policy = m.DeletePolicy.MIRROR
    tasks.save(update_fields=["delete_policy"])
    first = run(tasks)
    assert first.status == m.RunStatus.PARTIAL, first.error_summary
    ada, bob = _contact_id(contacts, "ada"), _contact_id(contacts, "bob")
    t1, t2, t3 = (first.items.get(source_id=s) for s in ("t1", "t2", "t3"))
    assert (t1.action, t2.action, t3.action) == (m.ItemAction.CREATED,) * 3
    assert t1.target_id != t2.target_id and {t1.target_id.split("/")[0], t2.target_id.split("/")[0]} == {ada}
    assert first.items.get(source_id="t4").error_class == "ParentNotLinked"
    assert first.items.get(source_id="t5").error_class == "MappingError"
    assert calls(first, "POST", "/contacts/{contactId}/tasks") == 3
    api = GhlApi(clean_sandbox)
    on_ada = api.call("GET", f"/contacts/{ada}/tasks")["tasks"]
    assert sorted(t["title"] for t in on_ada) == ["Call back", "Call back"]
    quote = api.call("GET", f"/contacts/{t3.target_id.split('/')[0]}/tasks")["tasks"]
    assert t3.target_id.split("/")[0] == bob and quote[0]["completed"] is True
    assert quote[0]["title"] == "Send the quote"  # padding, the tab and the control character cleaned

    _put(clean_sandbox, "tasks", id="t1", status="completed")  # done in the app
    clean_sandbox.admin("POST", "/custom/_admin/delete", json={"kind": "task", "id": "t2"})
    received = Received(clean_sandbox)
    second = run(tasks)
    assert second.items.get(source_id="t1").action == m.ItemAction.UPDATED
    assert second.items.get(source_id="t2").action == m.ItemAction.DELETED
    t1_task = t1.target_id.split("/")[1]
    assert [(e["path"], e["json"]) for e in received.exchanges("PUT", "/completed")] == [
        (f"/contacts/{ada}/tasks/{t1_task}/completed", {"completed": True})
    ]
    left = api.call("GET", f"/contacts/{ada}/tasks")["tasks"]
    assert [(t["id"], t["completed"]) for t in left] == [(t1_task, True)]
    third = run(tasks)
    assert third.created_count + third.updated_count + third.deleted_count == 0


def test_notes_land_on_their_contact_once_and_an_edit_updates_the_same_note(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    contacts, _ = _contacts(clean_sandbox)
    _put(clean_sandbox, "notes", id="n1", contact_id="ada", body="Prefers e-mail.")
    _put(clean_sandbox, "notes", id="n2", contact_id="ada", body="Prefers e-mail.")  # the same text twice
    _put(clean_sandbox, "notes", id="n3", contact_id="bob", body="<p>Met at the <b>fair</b></p>")
    notes = make_sync("custom_note_to_ghl_note", contacts.source_connection, contacts.target_connection)
    first = run(notes)
    assert first.status == m.RunStatus.SUCCEEDED, first.error_summary
    assert first.created_count == 3 and calls(first, "POST", "/contacts/{contactId}/notes") == 3
    ada = _contact_id(contacts, "ada")
    api = GhlApi(clean_sandbox)
    assert [n["body"] for n in api.call("GET", f"/contacts/{ada}/notes")["notes"]] == ["Prefers e-mail."] * 2
    n1 = first.items.get(source_id="n1").target_id
    _put(clean_sandbox, "notes", id="n1", body="Prefers phone calls now.")
    second = run(notes)
    assert second.items.get(source_id="n1").action == m.ItemAction.UPDATED
    assert second.items.get(source_id="n1").target_id == n1
    assert calls(second, "POST", "/contacts/{contactId}/notes") == 0
    assert sorted(n["body"] for n in api.call("GET", f"/contacts/{ada}/notes")["notes"]) == [
        "Prefers e-mail.",
        "Prefers phone calls now.",
    ]
    third = run(notes)
    assert third.created_count + third.updated_count == 0
