"""GHL as the source, end to end with real parts: a person changes a task, note or appointment in GHL (the
emulator's admin endpoints play GHL's UI), the emulator signs and delivers GHL's webhook to the running service,
a real Celery worker runs the sync, the Hubstaff emulator receives the to-do. Every GHL exchange is checked
against the official spec. Deletes follow the sync's delete policy; the reconcile poll finds what webhooks missed
and reads only what changed since its cursor."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.utils import timezone

from contacts_sync import models as m
from contacts_sync.services import scheduling
from contacts_sync.services.syncs import sync_create_from_recipe
from tests.support import wait_until
from tests.sync.world import GhlApi, HubstaffOrg, connections

pytestmark = [pytest.mark.timeout(300), pytest.mark.worker]


class Flow:
    """One GHL-source sync into a fresh Hubstaff organization, with GHL's webhooks pointed at the service."""

    def __init__(self, sandbox: Any, live_server: Any, recipe: str, **sync_fields: Any) -> None:
        self.sandbox = sandbox
        self.org = HubstaffOrg(sandbox)
        projects = self.org.get(f"/organizations/{self.org.org_id}/projects")["projects"]
        self.project_id = projects[0]["id"]
        hub, ghl = connections(sandbox, self.org)
        self.sync = sync_create_from_recipe(
            recipe=recipe,
            name=f"{recipe} {self.org.org_id}",
            source_connection=ghl,
            target_connection=hub,
            options={"project_id": self.project_id},
            poll_interval_seconds=None,
            webhook_trigger=True,
            live=True,
        )
        if sync_fields:
            m.Sync.objects.filter(pk=self.sync.pk).update(**sync_fields)
            self.sync.refresh_from_db()
        self.ghl = GhlApi(sandbox)
        self.location = sandbox.location_id
        sandbox.admin(
            "POST",
            "/ghl/_admin/webhooks",
            json={"locationId": self.location, "url": f"{live_server.url}/webhooks/ghl/"},
        )
        email = f"src-{uuid.uuid4().hex[:8]}@example.com"
        self.contact_id = self.ghl.call(
            "POST",
            "/contacts/",
            {"locationId": self.location, "firstName": "Source", "lastName": "Flow", "email": email},
        )["contact"]["id"]

    def admin(self, method: str, what: str, **body: Any) -> Any:
        """A person changing a task / note / appointment in GHL's UI (GHL sends its webhook)."""
        body = {"locationId": self.location, **body}
        if method == "DELETE":
            return self.sandbox.admin("DELETE", f"/ghl/_admin/{what}", params=body)
        return self.sandbox.admin(method, f"/ghl/_admin/{what}", json=body)

    def todos(self) -> list[dict[str, Any]]:
        return self.org.get(f"/projects/{self.project_id}/tasks")["tasks"]

    def todo(self, task_id: str) -> requests.Response:
        return self.org.http.get(f"{self.sandbox.url}/hubstaff/v2/tasks/{task_id}", timeout=10)

    def runs(self, **filters: Any) -> list[m.Run]:
        return list(m.Run.objects.filter(sync=self.sync, **filters).order_by("pk"))

    def settled(self, runs: int, timeout: float = 90) -> list[m.Run]:
        """Wait for this many finished runs of the sync (and no active one); they are returned oldest first."""

        def done() -> bool:
            finished = m.Run.objects.filter(sync=self.sync).exclude(status__in=m.ACTIVE_RUN_STATUSES).count()
            return (
                finished >= runs and not m.Run.objects.filter(sync=self.sync, status__in=m.ACTIVE_RUN_STATUSES).exists()
            )

        wait_until(done, timeout=timeout, interval=0.3, what=f"{runs} finished runs of sync {self.sync.pk}")
        return self.runs()


@pytest.fixture
def flow(clean_sandbox: Any, live_server: Any, settings: Any, celery_worker: Any) -> Iterator[Any]:
    """A maker of flows on a clean GHL location (its tasks are read location-wide)."""
    sandbox = clean_sandbox
    settings.GHL_WEBHOOK_PUBLIC_KEY = requests.get(f"{sandbox.ghl_url}/_admin/public-key", timeout=10).text
    sandbox.defer_contracts()  # what earlier tests left is reported at session end, not blamed here
    made: list[Flow] = []

    def make(recipe: str, **sync_fields: Any) -> Flow:
        made.append(Flow(sandbox, live_server, recipe, **sync_fields))
        return made[-1]

    yield make
    sandbox.admin("POST", "/ghl/_admin/webhooks", json={"locationId": sandbox.location_id, "url": ""})
    sandbox.clear_faults()
    _n, problems = sandbox.check_contracts()
    assert not problems, "\n".join(problems)


def _only(items: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(items) == 1, items
    return items[0]


def _took(run: m.Run) -> list[str]:
    """The types of the webhook events a (coalesced) run took."""
    return list(m.SyncEvent.objects.filter(run=run).order_by("pk").values_list("event__event_type", flat=True))


def _metadata(todo: dict[str, Any]) -> dict[str, str]:
    """A to-do's metadata as {key: value} (Hubstaff answers an object; writes send [{key, value}])."""
    value = todo.get("metadata") or {}
    return dict(value) if isinstance(value, dict) else {e["key"]: e["value"] for e in value}


def test_a_task_added_and_completed_in_ghl_becomes_a_completed_hubstaff_todo(flow: Any) -> None:
    f = flow("ghl_task_to_hubstaff_task")
    task = f.admin("POST", "tasks", contactId=f.contact_id, title="Send the offer", body="Pricing v2")["task"]
    first = f.settled(1)
    assert [r.status for r in first] == [m.RunStatus.SUCCEEDED], first[0].error_summary
    todo = _only(f.todos())
    assert todo["summary"] == "Send the offer" and todo["status"] == "active"
    assert _metadata(todo) == {"ghl_contact_id": f.contact_id, "ghl_task_id": task["id"]}
    item = _only(list(first[0].items.values("source_id", "action", "target_id")))
    assert item == {"source_id": task["id"], "action": m.ItemAction.CREATED, "target_id": str(todo["id"])}
    # The run read nothing from GHL: the TaskCreate webhook carried the whole task.
    assert not first[0].calls.filter(provider="ghl").exists()

    assert f.admin("PUT", "tasks", contactId=f.contact_id, id=task["id"], completed=True)["webhooks"] == [
        "TaskComplete"
    ]
    second = f.settled(2)[-1]
    assert second.status == m.RunStatus.SUCCEEDED and second.updated_count == 1, second.error_summary
    assert _took(second) == ["TaskComplete"]
    done = f.todo(str(todo["id"])).json()["task"]
    assert done["status"] == "completed" and f.todos() == []  # the project lists active to-dos only


@pytest.mark.parametrize("policy", [m.DeletePolicy.MIRROR, m.DeletePolicy.IGNORE])
def test_a_task_deleted_in_ghl_follows_the_syncs_delete_policy(flow: Any, policy: str) -> None:
    f = flow("ghl_task_to_hubstaff_task", delete_policy=policy)
    task = f.admin("POST", "tasks", contactId=f.contact_id, title="Will be deleted")["task"]
    f.settled(1)
    todo_id = str(_only(f.todos())["id"])

    assert f.admin("DELETE", "tasks", contactId=f.contact_id, id=task["id"])["webhooks"] == ["TaskDelete"]
    run = f.settled(2)[-1]
    assert run.status == m.RunStatus.SUCCEEDED, run.error_summary
    item = _only(list(run.items.values("source_id", "action", "target_id", "error_message")))
    assert item["source_id"] == task["id"] and item["target_id"] == todo_id
    if policy == m.DeletePolicy.MIRROR:
        assert item["action"] == m.ItemAction.DELETED
        assert f.todo(todo_id).status_code == 404
        assert f.todos() == []
    else:
        assert item["action"] == m.ItemAction.SKIPPED and "delete policy is 'ignore'" in item["error_message"]
        assert f.todo(todo_id).status_code == 200


def test_a_note_written_then_edited_in_ghl_is_one_hubstaff_todo_with_the_new_text(flow: Any) -> None:
    f = flow("ghl_note_to_hubstaff_task")
    note = f.admin("POST", "notes", contactId=f.contact_id, body="Call Anna about the <b>renewal</b>")["note"]
    assert f.settled(1)[0].created_count == 1
    todo = _only(f.todos())
    assert todo["summary"] == "GHL note: Call Anna about the renewal"
    assert _metadata(todo)["ghl_contact_id"] == f.contact_id

    f.admin("PUT", "notes", contactId=f.contact_id, id=note["id"], body="Call Anna and Ben about the renewal")
    run = f.settled(2)[-1]
    assert run.updated_count == 1 and _took(run) == ["NoteUpdate"], run.error_summary
    edited = _only(f.todos())
    assert edited["id"] == todo["id"] and edited["summary"] == "GHL note: Call Anna and Ben about the renewal"


def test_an_appointment_booked_then_moved_in_ghl_is_one_hubstaff_todo_with_the_new_time(flow: Any) -> None:
    f = flow("ghl_appointment_to_hubstaff_task")
    booked = f.admin(
        "POST",
        "appointments",
        contactId=f.contact_id,
        title="Onboarding call",
        startTime="2031-03-04T10:00:00Z",
        endTime="2031-03-04T10:30:00Z",
    )["appointment"]
    assert f.settled(1)[0].created_count == 1
    assert _only(f.todos())["summary"] == "Prepare: Onboarding call (2031-03-04T10:00:00Z)"

    f.admin("PUT", "appointments", id=booked["id"], startTime="2031-03-05T15:00:00Z", endTime="2031-03-05T15:30:00Z")
    run = f.settled(2)[-1]
    assert run.updated_count == 1 and _took(run) == ["AppointmentUpdate"], run.error_summary
    todo = _only(f.todos())
    assert todo["summary"] == "Prepare: Onboarding call (2031-03-05T15:00:00Z)"
    assert _metadata(todo) == {"ghl_contact_id": f.contact_id, "ghl_appointment_id": booked["id"]}


def test_the_reconcile_poll_finds_tasks_whose_webhooks_were_lost_and_then_reads_only_changes(flow: Any) -> None:
    f = flow("ghl_task_to_hubstaff_task")
    f.sandbox.set_faults("ghl", f.location, drop_webhooks=True)  # GHL could not deliver: nothing reaches us
    task = f.admin("POST", "tasks", contactId=f.contact_id, title="Lost webhook")["task"]

    assert scheduling.reconcile_poll() and f.settled(1)
    todo = _only(f.todos())
    assert todo["summary"] == "Lost webhook"
    f.sync.refresh_from_db()
    assert f.sync.source_cursor.get("updated_since")

    # An edit in GHL's UI sends no webhook at all (GHL has no TaskUpdate): the next reconcile finds it.
    f.admin("PUT", "tasks", contactId=f.contact_id, id=task["id"], title="Lost webhook, edited")
    assert scheduling.reconcile_poll(now=timezone.now() + scheduling.RECONCILE_INTERVAL)
    second = f.settled(2)[-1]
    assert second.trigger == m.RunTrigger.RECONCILE and second.updated_count == 1, second.error_summary
    assert _only(f.todos())["summary"] == "Lost webhook, edited"
    # Only the changed task was taken from the location's tasks (the search has no date filter: rows older
    # than the cursor are dropped before the engine sees them).
    assert second.read_count == 1, second.read_count


def test_a_contact_reconcile_reads_one_page_when_nothing_was_missed(flow: Any) -> None:
    f = flow("ghl_critical_contact_to_hubstaff_task")
    f.sandbox.set_faults("ghl", f.location, drop_webhooks=True)
    ids = [
        f.ghl.call(
            "POST",
            "/contacts/",
            {
                "locationId": f.location,
                "firstName": f"Crit{i}",
                "email": f"crit{i}-{uuid.uuid4().hex[:6]}@example.com",
                "tags": ["critical"],
            },
        )["contact"]["id"]
        for i in range(3)
    ]

    def next_reconcile() -> list[int]:
        """The reconcile poll as the beat runs it once its interval has passed since the last one."""
        return scheduling.reconcile_poll(now=timezone.now() + scheduling.RECONCILE_INTERVAL)

    assert next_reconcile()
    first = f.settled(1)[-1]
    assert first.created_count == 3 and len(f.todos()) == 3, first.error_summary

    assert next_reconcile()
    quiet = f.settled(2)[-1]
    assert quiet.status == m.RunStatus.SUCCEEDED, quiet.error_summary
    ghl_calls = list(quiet.calls.filter(provider="ghl").values_list("method", "path_template"))
    assert ghl_calls == [("POST", "/contacts/search")]  # one page
    assert quiet.read_count <= 1 and quiet.unchanged_count == quiet.read_count  # at most the cursor's own contact
    assert not quiet.calls.filter(provider="hubstaff").exclude(method="GET").exists()

    f.sandbox.admin(
        "PUT", "/ghl/_admin/contacts", json={"locationId": f.location, "id": ids[0], "firstName": "Renamed"}
    )
    assert next_reconcile()
    changed = f.settled(3)[-1]
    assert changed.updated_count == 1 and changed.read_count <= 2, changed.error_summary
    assert "Follow up: Renamed" in {t["summary"] for t in f.todos()}
