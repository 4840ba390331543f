"""Hubstaff's flows end to end: a real worker moves records between the Hubstaff and GHL emulators over HTTP, and
what the emulators received is checked against what the run reports (the critical-contact flow and the notes
flow are in tests/sync/test_recipes.py)."""

from __future__ import annotations

from typing import Any

import pytest

from contacts_sync import models as m
from contacts_sync.services.syncs import sync_create_from_recipe
from tests.connectors.flows import Received, calls, run, spec_checked
from tests.sync.world import GhlApi, HubstaffOrg, connections

pytestmark = [pytest.mark.worker]
__all__ = ["spec_checked"]

# Seeded clients may lack an e-mail; these rules give every client a contact keyed by its id.
CLIENT_RULES = [
    {"source": "name", "target": "firstName", "transforms": [], "required": True},
    {"template": "client{id}@flows.example.com", "target": "email", "transforms": []},
    {"source": "metadata", "target": "tags", "transforms": [{"name": "to_tags", "args": {}}]},
]


def _rules(sync: m.Sync, rules: list[dict[str, Any]]) -> None:
    version = m.MappingVersion.objects.create(sync=sync, number=2, rules=rules, note="test")
    sync.mapping_version = version
    sync.save(update_fields=["mapping_version"])


def _task_world(sandbox: Any) -> tuple[HubstaffOrg, dict[str, Any], m.Connection, m.Connection, str]:
    """An organization whose one project has a client, that client's GHL contact, and the connections."""
    org = HubstaffOrg(sandbox, seeded_clients=1)
    project = org.get(f"/organizations/{org.org_id}/projects")["projects"][0]
    hub, ghl = connections(sandbox, org)
    contacts = sync_create_from_recipe(
        recipe="hubstaff_client_to_ghl_contact",
        name="clients",
        source_connection=hub,
        target_connection=ghl,
        options={"client_status": "all"},
    )
    _rules(contacts, CLIENT_RULES)
    assert run(contacts).status == m.RunStatus.SUCCEEDED
    contact_id = m.RecordLink.objects.get(sync=contacts, source_id=str(project["client_id"])).target_id
    return org, project, hub, ghl, contact_id


def test_hubstaff_members_become_contacts_and_client_metadata_becomes_tags(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    org = HubstaffOrg(clean_sandbox, seeded_clients=0)
    clean_sandbox.admin(
        "POST",
        "/hubstaff/_admin/seed",
        json={"organization_id": org.org_id, "clients": 0, "members": 4, "tasks": 0, "notes": 0, "projects": 1},
    )
    members = org.get(f"/organizations/{org.org_id}/members", **{"include[]": "users"})
    users = {u["id"]: u for u in members.get("users", [])}
    hub, ghl = connections(clean_sandbox, org)
    sync = sync_create_from_recipe(
        recipe="hubstaff_member_to_ghl_contact", name="members", source_connection=hub, target_connection=ghl
    )
    first = run(sync)
    assert first.status == m.RunStatus.SUCCEEDED, first.error_summary  # users' sign-in addresses all work
    assert first.read_count == len(members["members"]) == 5  # the owner and four members
    api = GhlApi(clean_sandbox)
    for item in first.items.filter(action__in=[m.ItemAction.CREATED, m.ItemAction.UPDATED]):
        contact = api.call("GET", f"/contacts/{item.target_id}")["contact"]
        assert contact["email"] == users[int(item.source_id)]["email"].strip().lower()
    assert calls(first, "POST", "/contacts/upsert") == first.created_count + first.updated_count

    client = org.send(
        "POST",
        f"/organizations/{org.org_id}/clients",
        {
            "name": "Gold Client GmbH",
            "emails": [f"gold.{org.org_id}@flows.example"],
            "metadata": [{"key": "tier", "value": "gold"}, {"key": "region", "value": ""}],
        },
    )["client"]
    clients = sync_create_from_recipe(
        recipe="hubstaff_client_to_ghl_contact", name="clients", source_connection=hub, target_connection=ghl
    )
    done = run(clients)
    assert done.status == m.RunStatus.SUCCEEDED, done.error_summary
    contact_id = done.items.get(source_id=str(client["id"])).target_id
    tags = api.call("GET", f"/contacts/{contact_id}")["contact"]["tags"]
    assert "tier:gold" in tags and not any(t.startswith("region") for t in tags)  # an empty value is no tag


def test_a_completed_hubstaff_task_completes_its_ghl_task_through_the_completed_endpoint(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    org, project, hub, ghl, contact_id = _task_world(clean_sandbox)
    # Two to-dos with the same summary are two tasks, never one.
    made = [
        org.send("POST", f"/projects/{project['id']}/tasks", {"summary": summary})["task"]
        for summary in ("Call back", "Call back", "Send the offer")
    ]
    tasks = sync_create_from_recipe(
        recipe="hubstaff_task_to_ghl_task", name="tasks", source_connection=hub, target_connection=ghl
    )
    assert run(tasks).created_count == 3
    api = GhlApi(clean_sandbox)
    assert sorted(t["title"] for t in api.call("GET", f"/contacts/{contact_id}/tasks")["tasks"]) == [
        "Call back",
        "Call back",
        "Send the offer",
    ]

    received = Received(clean_sandbox)
    done = made[0]
    org.send("PUT", f"/tasks/{done['id']}", {"status": "completed", "lock_version": done["lock_version"]})
    second = run(tasks)
    assert (second.updated_count, second.unchanged_count) == (1, 2)
    task_id = second.items.get(action=m.ItemAction.UPDATED).target_id.split("/")[1]
    completions = received.exchanges("PUT", "/completed")
    assert [(c["path"], c["json"]) for c in completions] == [
        (f"/contacts/{contact_id}/tasks/{task_id}/completed", {"completed": True})
    ]
    assert calls(second, "PUT", "/tasks/{taskId}/completed") == 1
    updates = received.exchanges("PUT", f"/tasks/{task_id}")
    assert all("completed" not in (u["json"] or {}) for u in updates if not u["path"].endswith("/completed"))
    in_ghl = {t["id"]: t for t in api.call("GET", f"/contacts/{contact_id}/tasks")["tasks"]}
    assert in_ghl[task_id]["completed"] is True
    assert sum(t["completed"] for t in in_ghl.values()) == 1  # the other "Call back" stays open

    reopened = org.get(f"/tasks/{done['id']}")["task"]
    org.send("PUT", f"/tasks/{done['id']}", {"status": "active", "lock_version": reopened["lock_version"]})
    third = run(tasks)
    assert third.updated_count == 1 and calls(third, "PUT", "/tasks/{taskId}/completed") == 1
    assert api.call("GET", f"/contacts/{contact_id}/tasks/{task_id}")["task"]["completed"] is False


def test_a_task_completed_in_ghl_completes_its_hubstaff_task_with_its_lock_version(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    org, project, hub, ghl, _contact_id = _task_world(clean_sandbox)
    made = [
        org.send("POST", f"/projects/{project['id']}/tasks", {"summary": summary})["task"]
        for summary in ("Call back", "Call back", "Send the offer")
    ]
    forward = sync_create_from_recipe(
        recipe="hubstaff_task_to_ghl_task", name="tasks", source_connection=hub, target_connection=ghl
    )
    assert run(forward).created_count == 3
    reverse = sync_create_from_recipe(
        recipe="ghl_task_completed_to_hubstaff_task", name="completions", source_connection=ghl, target_connection=hub
    )
    nothing = run(reverse)
    assert nothing.status == m.RunStatus.SUCCEEDED, nothing.error_summary
    assert nothing.read_count == 0 and calls(nothing, "PUT", "/tasks/{task_id}", provider="hubstaff") == 0

    # A person completes the second "Call back" in HighLevel.
    target = m.RecordLink.objects.get(sync=forward, source_id=str(made[1]["id"])).target_id
    ghl_contact, ghl_task = target.split("/")
    GhlApi(clean_sandbox).call("PUT", f"/contacts/{ghl_contact}/tasks/{ghl_task}/completed", {"completed": True})
    lock_before = org.get(f"/tasks/{made[1]['id']}")["task"]["lock_version"]
    second = run(reverse)
    assert second.status == m.RunStatus.SUCCEEDED, second.error_summary
    assert (second.read_count, second.updated_count) == (1, 1), [
        (i.action, i.error_message, i.source_id) for i in second.items.all()
    ]
    assert second.items.get().target_id == str(made[1]["id"])
    assert calls(second, "PUT", "/tasks/{task_id}", provider="hubstaff") == 1
    after = {t["id"]: org.get(f"/tasks/{t['id']}")["task"] for t in made}
    assert after[made[1]["id"]]["status"] == "completed"
    assert after[made[1]["id"]]["lock_version"] == lock_before + 1
    assert after[made[0]["id"]]["status"] == "active"  # the same-titled task is another task
    assert after[made[2]["id"]]["status"] == "active"

    again = run(reverse)
    assert (again.unchanged_count, again.updated_count) == (1, 0)
    assert again.calls.filter(provider="hubstaff").count() == 0

    # Completed in Hubstaff first: the forward sync completes it in GHL, the reverse finds nothing to do.
    org.send(
        "PUT", f"/tasks/{made[2]['id']}", {"status": "completed", "lock_version": after[made[2]["id"]]["lock_version"]}
    )
    echo = run(forward)
    # made[1] changed in Hubstaff too (the reverse completed it): updated, but GHL has it completed already,
    # so only made[2] goes through the completed endpoint.
    assert echo.updated_count == 2 and calls(echo, "PUT", "/tasks/{taskId}/completed") == 1
    settled = run(reverse)
    item = settled.items.get(
        source_id=m.RecordLink.objects.get(sync=forward, source_id=str(made[2]["id"])).target_id.split("/")[1]
    )
    assert item.action == m.ItemAction.UNCHANGED and "already completed" in item.error_message
    assert calls(settled, "PUT", "/tasks/{task_id}", provider="hubstaff") == 0
    assert org.get(f"/tasks/{made[2]['id']}")["task"]["lock_version"] == after[made[2]["id"]]["lock_version"] + 1
