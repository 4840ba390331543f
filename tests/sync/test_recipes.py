"""Recipes end to end: a real worker moves records between the Hubstaff and GHL emulators over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from contacts_sync import models as m
from contacts_sync.services import runs
from contacts_sync.services.syncs import sync_create_from_recipe
from tests.sync.world import GhlApi, HubstaffOrg, connections, wait_finished

pytestmark = [pytest.mark.worker]

# Messy seeded clients may lack an e-mail; these rules give every client a contact keyed by its id.
CLIENT_RULES = [
    {"source": "name", "target": "firstName", "transforms": [], "required": True},
    {"template": "client{id}@recipes.example.com", "target": "email", "transforms": []},
]


def _rules(sync: m.Sync, rules: list[dict[str, Any]]) -> None:
    version = m.MappingVersion.objects.create(sync=sync, number=2, rules=rules, note="test")
    sync.mapping_version = version
    sync.save(update_fields=["mapping_version"])


def _run(sync: m.Sync) -> m.Run:
    run = runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL)
    assert run is not None
    return wait_finished(run)


def test_hubstaff_tasks_become_tasks_on_the_clients_contact_and_completion_follows(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    org = HubstaffOrg(clean_sandbox, seeded_clients=1)
    project = org.get(f"/organizations/{org.org_id}/projects")["projects"][0]
    assert project["client_id"]
    hub, ghl = connections(clean_sandbox, org)
    contacts = sync_create_from_recipe(
        recipe="hubstaff_client_to_ghl_contact",
        name="clients",
        source_connection=hub,
        target_connection=ghl,
        options={"client_status": "all"},
    )  # the seeded client may be archived
    _rules(contacts, CLIENT_RULES)
    assert _run(contacts).status == m.RunStatus.SUCCEEDED
    contact_id = m.RecordLink.objects.get(sync=contacts, source_id=str(project["client_id"])).target_id

    made = [
        org.send("POST", f"/projects/{project['id']}/tasks", {"summary": f"Call back #{i}"})["task"] for i in range(3)
    ]
    tasks = sync_create_from_recipe(
        recipe="hubstaff_task_to_ghl_task",
        name="tasks",
        source_connection=hub,
        target_connection=ghl,
        options={"page_limit": 2},
    )
    first = _run(tasks)
    assert first.status == m.RunStatus.SUCCEEDED, first.error_summary
    assert first.created_count == 3
    api = GhlApi(clean_sandbox)
    in_ghl = api.call("GET", f"/contacts/{contact_id}/tasks")["tasks"]
    assert sorted(t["title"] for t in in_ghl) == ["Call back #0", "Call back #1", "Call back #2"]
    assert not any(t["completed"] for t in in_ghl)

    done = made[1]
    org.send("PUT", f"/tasks/{done['id']}", {"status": "completed", "lock_version": done["lock_version"]})
    second = _run(tasks)
    assert (second.updated_count, second.unchanged_count) == (1, 2)
    by_title = {t["title"]: t for t in api.call("GET", f"/contacts/{contact_id}/tasks")["tasks"]}
    assert by_title["Call back #1"]["completed"] is True
    assert len(by_title) == 3


def test_a_task_whose_client_has_no_contact_is_a_failed_item_that_says_why(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    org = HubstaffOrg(clean_sandbox, seeded_clients=1)
    project = org.get(f"/organizations/{org.org_id}/projects")["projects"][0]
    org.send("POST", f"/projects/{project['id']}/tasks", {"summary": "Orphan"})
    hub, ghl = connections(clean_sandbox, org)
    tasks = sync_create_from_recipe(
        recipe="hubstaff_task_to_ghl_task", name="tasks", source_connection=hub, target_connection=ghl
    )
    run = _run(tasks)
    assert run.status == m.RunStatus.FAILED
    item = run.items.get()
    assert item.error_class == "ParentNotLinked" and "contact sync" in item.error_message


def test_a_critical_ghl_contact_opens_one_hubstaff_task_and_others_do_not(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    org = HubstaffOrg(clean_sandbox, seeded_clients=0)
    project = org.get(f"/organizations/{org.org_id}/projects")["projects"][0]
    api = GhlApi(clean_sandbox)
    loc = clean_sandbox.location_id
    critical = api.call(
        "POST", "/contacts/", {"locationId": loc, "firstName": "Ada", "email": "ada@crit.example", "tags": ["critical"]}
    )["contact"]
    api.call("POST", "/contacts/", {"locationId": loc, "firstName": "Bob", "email": "bob@calm.example"})
    hub, ghl = connections(clean_sandbox, org)
    sync = sync_create_from_recipe(
        recipe="ghl_critical_contact_to_hubstaff_task",
        name="critical",
        source_connection=ghl,
        target_connection=hub,
        options={"project_id": project["id"]},
    )
    run = _run(sync)
    assert run.status == m.RunStatus.SUCCEEDED, run.error_summary
    assert run.created_count == 1
    assert run.items.get(action=m.ItemAction.CREATED).source_id == critical["id"]
    hub_tasks = org.get(f"/projects/{project['id']}/tasks")["tasks"]
    assert [t["summary"] for t in hub_tasks] == ["Follow up: Ada"]
    again = _run(sync)
    assert again.unchanged_count == 1 and again.created_count == 0
    assert len(org.get(f"/projects/{project['id']}/tasks")["tasks"]) == 1


def test_the_same_contact_event_delivered_five_times_makes_one_hubstaff_task(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    import json

    org = HubstaffOrg(clean_sandbox, seeded_clients=0)
    project = org.get(f"/organizations/{org.org_id}/projects")["projects"][0]
    hub, ghl = connections(clean_sandbox, org)
    sync = sync_create_from_recipe(
        recipe="ghl_critical_contact_to_hubstaff_task",
        name="critical",
        source_connection=ghl,
        target_connection=hub,
        options={"project_id": project["id"]},
    )
    body = json.dumps(
        {
            "type": "ContactTagUpdate",
            "locationId": clean_sandbox.location_id,
            "id": "c-77",
            "name": "Grace",
            "email": "grace@crit.example",
            "tags": ["critical"],
        }
    )
    finished = []
    for n in range(5):
        event = m.InboundEvent.objects.create(
            provider="ghl",
            event_id=f"replay-{n}",
            event_type="ContactTagUpdate",
            account_id=clean_sandbox.location_id,
            body=body,
        )
        finished.append(wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.WEBHOOK, event=event)))
    assert [r.created_count for r in finished] == [1, 0, 0, 0, 0]
    assert all(r.read_count == 1 for r in finished)
    assert [t["summary"] for t in org.get(f"/projects/{project['id']}/tasks")["tasks"]] == ["Follow up: Grace"]


def test_hubstaff_notes_become_notes_on_the_clients_contact_once(clean_sandbox: Any, celery_worker: Any) -> None:
    org = HubstaffOrg(clean_sandbox, seeded_clients=1, seeded_tasks=2, seeded_notes=6)
    project = org.get(f"/organizations/{org.org_id}/projects")["projects"][0]
    hub, ghl = connections(clean_sandbox, org)
    contacts = sync_create_from_recipe(
        recipe="hubstaff_client_to_ghl_contact",
        name="clients",
        source_connection=hub,
        target_connection=ghl,
        options={"client_status": "all"},
    )
    _rules(contacts, CLIENT_RULES)
    assert _run(contacts).status == m.RunStatus.SUCCEEDED
    contact_id = m.RecordLink.objects.get(sync=contacts, source_id=str(project["client_id"])).target_id
    notes = sync_create_from_recipe(
        recipe="hubstaff_note_to_ghl_note",
        name="notes",
        source_connection=hub,
        target_connection=ghl,
        options={"notes_lookback_days": 120},
    )
    run = _run(notes)
    assert run.status == m.RunStatus.SUCCEEDED, run.error_summary
    assert run.created_count == 6
    in_ghl = GhlApi(clean_sandbox).call("GET", f"/contacts/{contact_id}/notes")["notes"]
    assert len(in_ghl) == 6 and all("(Hubstaff," in n["body"] for n in in_ghl)
    again = _run(notes)
    assert (again.unchanged_count, again.created_count) == (6, 0)
    assert len(GhlApi(clean_sandbox).call("GET", f"/contacts/{contact_id}/notes")["notes"]) == 6
