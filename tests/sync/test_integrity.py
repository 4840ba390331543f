"""No record lost, merged, resurrected or misreported: real worker processes, the emulators over HTTP, and what
the GHL emulator received compared with what each run reports."""

from __future__ import annotations

import json
import signal
import uuid
from typing import Any

import pytest
from django.db import connection

from contacts_sync import models as m
from contacts_sync.services import runs
from contacts_sync.services.syncs import sync_create_from_recipe
from tests.support import start_worker, wait_until
from tests.sync.integrity_world import custom_records, custom_sync, ghl_writes, record_offset
from tests.sync.world import GhlApi, HubstaffOrg, connections, ghl_contacts, wait_finished

pytestmark = [pytest.mark.worker]


def _run(sync: m.Sync, **kw: Any) -> m.Run:
    run = runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL, **kw)
    assert run is not None
    return wait_finished(run)


def _items(run: m.Run) -> dict[str, m.RunItem]:
    return {i.source_id: i for i in run.items.all()}


def _client_world(sandbox: Any, org: HubstaffOrg) -> tuple[dict[str, Any], m.Connection, m.Connection, m.Sync]:
    """The organization's first project, its connections, and a live contact sync of its clients (each client a
    contact with a made-up address, archived ones too) for child flows to attach to."""
    project = org.get(f"/organizations/{org.org_id}/projects")["projects"][0]
    hub, ghl = connections(sandbox, org)
    contacts = sync_create_from_recipe(
        recipe="hubstaff_client_to_ghl_contact",
        name="clients",
        live=True,
        source_connection=hub,
        target_connection=ghl,
        options={"client_status": "all"},
    )
    version = m.MappingVersion.objects.create(
        sync=contacts,
        number=2,
        note="test",
        rules=[
            {"source": "name", "target": "firstName", "transforms": [], "required": True},
            {"template": "client{id}@integrity.example.com", "target": "email", "transforms": []},
        ],
    )
    m.Sync.objects.filter(pk=contacts.pk).update(mapping_version=version)
    contacts.refresh_from_db()
    return project, hub, ghl, contacts


def _contacts_named(sandbox: Any, token: str) -> list[dict[str, Any]]:
    return [c for c in ghl_contacts(sandbox) if token in f"{c.get('firstName')} {c.get('lastName')}"]


def test_two_records_with_the_same_email_differing_in_case_are_not_merged(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    custom_records(
        clean_sandbox,
        [
            {"id": "ann", "first_name": "Ann", "last_name": "One", "email": "Dup.Person@Example.com"},
            {"id": "bob", "first_name": "Bob", "last_name": "Two", "email": " dup.person@example.com"},
            {"id": "cid", "first_name": "Cid", "last_name": "Three", "email": "cid@example.com"},
        ],
    )
    sync = custom_sync(clean_sandbox)
    start = record_offset(clean_sandbox)
    run = _run(sync)
    items = _items(run)
    assert items["ann"].action == m.ItemAction.CREATED and items["cid"].action == m.ItemAction.CREATED
    assert items["bob"].action == m.ItemAction.FAILED
    assert items["bob"].error_class == "DuplicateSourceRecord" and "ann" in items["bob"].error_message
    same = [c for c in ghl_contacts(clean_sandbox) if str(c.get("email")).lower() == "dup.person@example.com"]
    assert [c["firstName"] for c in same] == ["Ann"]  # Bob did not overwrite Ann
    # what the run reports is what GHL received: one upsert per created record, nothing for the refused one
    writes = ghl_writes(clean_sandbox, start)
    assert len(writes) == run.created_count + run.updated_count == 2
    assert run.status == m.RunStatus.PARTIAL and run.failed_count == 1

    again = _run(sync)  # nothing changed: nothing is sent, the duplicate is still reported
    assert (again.unchanged_count, again.failed_count) == (2, 1)
    assert ghl_writes(clean_sandbox, record_offset(clean_sandbox)) == []


@pytest.mark.timeout(600)
def test_a_worker_killed_between_writes_and_their_commit_neither_duplicates_nor_merges_nameless_contacts(
    clean_sandbox: Any, transactional_db: None, redis_client: Any, tmp_path: Any
) -> None:
    """Contacts without email or phone (GHL's upsert cannot match them), some with the same name."""
    token = uuid.uuid4().hex[:6]
    records = [{"id": f"n{i:03d}", "first_name": f"Nameless{i}", "last_name": f"T{token}"} for i in range(240)]
    records += [{"id": f"twin{i}", "first_name": "Twin", "last_name": f"T{token}"} for i in range(4)]
    custom_records(clean_sandbox, records)
    sync = custom_sync(clean_sandbox, page_limit=500)  # one page: nothing is committed before the kill
    start = record_offset(clean_sandbox)
    db_name = connection.settings_dict["NAME"]
    doomed = start_worker(db_name, tmp_path, name="doomed", concurrency=1)
    try:
        run = runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL)
        wait_until(
            lambda: len(ghl_writes(clean_sandbox, start)) >= 120,
            timeout=180,
            interval=0.05,
            what="half the page to reach GHL",
        )
        doomed.kill(signal.SIGKILL)
    finally:
        doomed.stop()
    run.refresh_from_db()
    assert run.status == m.RunStatus.RUNNING and run.read_count == 0  # the page was never committed
    written_before = len(_contacts_named(clean_sandbox, token))
    assert 0 < written_before < len(records)
    assert m.RecordLink.objects.filter(sync=sync, pending_since__isnull=False).count() == len(records)

    rescuer = start_worker(db_name, tmp_path, name="rescuer", concurrency=1)
    try:
        wait_until(
            lambda: runs.runs_reap(older_than_seconds=3) or None,
            timeout=60,
            interval=0.5,
            what="the reaper to requeue the run",
        )
        run = wait_finished(run, timeout=300)
    finally:
        rescuer.stop()
    assert run.status == m.RunStatus.SUCCEEDED, run.error_summary
    contacts = _contacts_named(clean_sandbox, token)
    assert len(contacts) == len(records)  # 0 duplicated, 0 lost
    assert sum(1 for c in contacts if c["firstName"] == "Twin") == 4  # same names, still four people
    links = m.RecordLink.objects.filter(sync=sync)
    assert links.filter(pending_since__isnull=False).count() == 0
    targets = [t for t in links.values_list("target_id", flat=True) if t]
    assert len(targets) == len(set(targets)) == len(records)  # every record its own contact
    assert {c["id"] for c in contacts} == set(targets)
    assert run.items.count() == len(records)
    adopted = run.items.filter(error_message__startswith="Found in the target").count()
    assert adopted == written_before  # the writes of the killed worker were found, not repeated
    assert run.created_count == len(records) - written_before


def test_a_worker_killed_while_writing_tasks_neither_duplicates_nor_merges_same_titled_ones(
    clean_sandbox: Any, transactional_db: None, redis_client: Any, tmp_path: Any
) -> None:
    """Tasks are found again after a crash by their title on their contact (a pending intent allows it): ten to-dos
    titled alike must still become ten GHL tasks, each found again at most once."""
    org = HubstaffOrg(clean_sandbox, seeded_clients=1)
    project, hub, ghl, contacts = _client_world(clean_sandbox, org)
    db_name = connection.settings_dict["NAME"]
    setup = start_worker(db_name, tmp_path, name="setup", concurrency=1)
    try:
        assert _run(contacts).status == m.RunStatus.SUCCEEDED
    finally:
        setup.stop()
    contact_id = m.RecordLink.objects.get(sync=contacts, source_id=str(project["client_id"])).target_id
    titles = [f"Task {i}" for i in range(150)] + ["Weekly check-in"] * 10
    made = [org.send("POST", f"/projects/{project['id']}/tasks", {"summary": t})["task"] for t in titles]
    tasks = sync_create_from_recipe(
        recipe="hubstaff_task_to_ghl_task", name="tasks", live=True, source_connection=hub, target_connection=ghl
    )
    api = GhlApi(clean_sandbox)
    start = record_offset(clean_sandbox)
    doomed = start_worker(db_name, tmp_path, name="doomed", concurrency=1)
    try:
        run = runs.run_enqueue(sync=tasks, trigger=m.RunTrigger.MANUAL)
        assert run is not None
        wait_until(
            lambda: len(ghl_writes(clean_sandbox, start)) >= 80,
            timeout=180,
            interval=0.05,
            what="half the page's tasks to reach GHL",
        )
        doomed.kill(signal.SIGKILL)
    finally:
        doomed.stop()
    run.refresh_from_db()
    assert run.status == m.RunStatus.RUNNING and run.read_count == 0  # the page was never committed
    written_before = len(api.call("GET", f"/contacts/{contact_id}/tasks")["tasks"])
    assert 0 < written_before < len(made)

    rescuer = start_worker(db_name, tmp_path, name="rescuer", concurrency=1)
    try:
        wait_until(
            lambda: runs.runs_reap(older_than_seconds=3) or None,
            timeout=60,
            interval=0.5,
            what="the reaper to requeue the run",
        )
        run = wait_finished(run, timeout=300)
    finally:
        rescuer.stop()
    assert run.status == m.RunStatus.SUCCEEDED, run.error_summary
    in_ghl = api.call("GET", f"/contacts/{contact_id}/tasks")["tasks"]
    assert sorted(t["title"] for t in in_ghl) == sorted(titles)  # 0 duplicated, 0 lost, 10 alike stay 10
    links = m.RecordLink.objects.filter(sync=tasks)
    targets = [t for t in links.values_list("target_id", flat=True) if t]
    assert len(targets) == len(set(targets)) == len(made)  # every to-do its own task
    assert {t.split("/")[-1] for t in targets} == {t["id"] for t in in_ghl}
    adopted = run.items.filter(error_message__startswith="Found in the target").count()
    assert adopted == written_before and run.created_count == len(made) - written_before


def test_same_titled_tasks_stay_distinct_and_completing_one_completes_only_it(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    org = HubstaffOrg(clean_sandbox, seeded_clients=1)
    project, hub, ghl, contacts = _client_world(clean_sandbox, org)
    assert _run(contacts).status == m.RunStatus.SUCCEEDED
    contact_id = m.RecordLink.objects.get(sync=contacts, source_id=str(project["client_id"])).target_id
    made = [
        org.send("POST", f"/projects/{project['id']}/tasks", {"summary": "Weekly check-in"})["task"] for _ in range(2)
    ]
    tasks = sync_create_from_recipe(
        recipe="hubstaff_task_to_ghl_task", name="tasks", source_connection=hub, target_connection=ghl
    )
    first = _run(tasks)
    assert first.created_count == 2, first.error_summary
    api = GhlApi(clean_sandbox)
    in_ghl = api.call("GET", f"/contacts/{contact_id}/tasks")["tasks"]
    assert [t["title"] for t in in_ghl] == ["Weekly check-in", "Weekly check-in"]
    targets = {m.RecordLink.objects.get(sync=tasks, source_id=str(t["id"])).target_id for t in made}
    assert len(targets) == 2

    org.send("PUT", f"/tasks/{made[0]['id']}", {"status": "completed", "lock_version": made[0]["lock_version"]})
    second = _run(tasks)
    assert (second.updated_count, second.unchanged_count) == (1, 1)
    done_id = m.RecordLink.objects.get(sync=tasks, source_id=str(made[0]["id"])).target_id.split("/")[1]
    state = {t["id"]: t["completed"] for t in api.call("GET", f"/contacts/{contact_id}/tasks")["tasks"]}
    assert state == {done_id: True, next(i for i in state if i != done_id): False}


def test_same_bodied_notes_stay_distinct_notes(clean_sandbox: Any, celery_worker: Any) -> None:
    """Six Hubstaff notes mapped to one identical body are six GHL notes, linked one to one, and a re-run changes
    none of them (a note is identified by its source id, never adopted by its body)."""
    org = HubstaffOrg(clean_sandbox, seeded_clients=1, seeded_tasks=2, seeded_notes=6)
    project, hub, ghl, contacts = _client_world(clean_sandbox, org)
    assert _run(contacts).status == m.RunStatus.SUCCEEDED
    contact_id = m.RecordLink.objects.get(sync=contacts, source_id=str(project["client_id"])).target_id
    notes = sync_create_from_recipe(
        recipe="hubstaff_note_to_ghl_note",
        name="notes",
        source_connection=hub,
        target_connection=ghl,
        options={"notes_lookback_days": 120},
    )
    same = m.MappingVersion.objects.create(
        sync=notes,
        number=2,
        note="one body for all",
        rules=[{"constant": "Weekly check-in", "target": "body", "transforms": [], "required": True}],
    )
    m.Sync.objects.filter(pk=notes.pk).update(mapping_version=same)
    first = _run(notes)
    assert (first.status, first.created_count) == (m.RunStatus.SUCCEEDED, 6), first.error_summary
    in_ghl = GhlApi(clean_sandbox).call("GET", f"/contacts/{contact_id}/notes")["notes"]
    assert [n["body"] for n in in_ghl] == ["Weekly check-in"] * 6
    links = m.RecordLink.objects.filter(sync=notes)
    assert links.count() == 6 and len({link.target_id for link in links}) == 6
    assert {link.target_id.split("/")[-1] for link in links} == {n["id"] for n in in_ghl}
    again = _run(notes)
    assert (again.unchanged_count, again.created_count, again.updated_count) == (6, 0, 0)
    assert len(GhlApi(clean_sandbox).call("GET", f"/contacts/{contact_id}/notes")["notes"]) == 6


@pytest.mark.parametrize("policy", ["ignore", "mirror", "tag"])
def test_a_record_deleted_in_the_source_follows_the_syncs_delete_policy(
    clean_sandbox: Any, celery_worker: Any, policy: str
) -> None:
    custom_records(
        clean_sandbox,
        [
            {"id": "keep", "first_name": "Kim", "last_name": "Keep", "email": "kim@delete.example"},
            {"id": "gone", "first_name": "Gus", "last_name": "Gone", "email": "gus@delete.example"},
        ],
    )
    sync = custom_sync(clean_sandbox, delete_policy=policy)
    assert _run(sync).created_count == 2
    target = m.RecordLink.objects.get(sync=sync, source_id="gone").target_id
    clean_sandbox.admin("POST", "/custom/_admin/records", json={"id": "gone", "deleted_at": "2026-11-30T10:00:00Z"})
    run = _run(sync)
    item = _items(run)["gone"]
    emails = {str(c.get("email")): c for c in ghl_contacts(clean_sandbox)}
    if policy == "ignore":
        assert item.action == m.ItemAction.SKIPPED and "delete policy is 'ignore'" in item.error_message
        assert "gus@delete.example" in emails
    elif policy == "mirror":
        assert item.action == m.ItemAction.DELETED and run.deleted_count == 1
        assert "gus@delete.example" not in emails
    else:
        assert item.action == m.ItemAction.UPDATED and "tagged 'deleted-in-custom'" in item.error_message
        assert "deleted-in-custom" in emails["gus@delete.example"]["tags"]
    assert emails["kim@delete.example"]["id"] != target
    assert run.created_count == 0  # a delete never creates anything


@pytest.mark.parametrize("recreate", [False, True])
def test_a_contact_deleted_in_ghl_is_not_recreated_unless_the_sync_says_so(
    clean_sandbox: Any, celery_worker: Any, recreate: bool
) -> None:
    custom_records(clean_sandbox, [{"id": "r1", "first_name": "Rae", "last_name": "Gone", "email": "rae@x.example"}])
    sync = custom_sync(clean_sandbox, recreate_deleted=recreate)
    assert _run(sync).created_count == 1
    old = m.RecordLink.objects.get(sync=sync, source_id="r1").target_id
    GhlApi(clean_sandbox).call("DELETE", f"/contacts/{old}")
    clean_sandbox.admin("POST", "/custom/_admin/records", json={"id": "r1", "last_name": "Changed"})
    run = _run(sync)
    item = _items(run)["r1"]
    rae = [c for c in ghl_contacts(clean_sandbox) if c.get("email") == "rae@x.example"]
    if recreate:
        assert item.action == m.ItemAction.CREATED and "re-created" in item.error_message
        assert len(rae) == 1 and rae[0]["id"] != old
    else:
        assert item.action == m.ItemAction.SKIPPED and item.error_class == "DeletedInTarget"
        assert rae == []
        again = _run(sync)  # not retried on every run either
        assert _items(again)["r1"].error_class == "DeletedInTarget" and again.calls.filter(method="PUT").count() == 0


def test_a_ghl_contact_delete_event_opens_no_hubstaff_task(clean_sandbox: Any, celery_worker: Any) -> None:
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
            "type": "ContactDelete",
            "locationId": clean_sandbox.location_id,
            "id": "c-del",
            "name": "Dora",
            "email": "dora@crit.example",
            "tags": ["critical"],
        }
    )
    event = m.InboundEvent.objects.create(
        provider="ghl", event_id="del-1", event_type="ContactDelete", account_id=clean_sandbox.location_id, body=body
    )
    run = wait_finished(runs.run_enqueue(sync=sync, trigger=m.RunTrigger.WEBHOOK, event=event))
    assert run.status == m.RunStatus.SUCCEEDED and run.created_count == 0
    assert _items(run)["c-del"].error_class == "DeletedInSource"
    assert org.get(f"/projects/{project['id']}/tasks")["tasks"] == []


@pytest.mark.django_db(transaction=True)
def test_a_row_the_database_refuses_costs_only_itself_and_the_writes_are_still_recorded(
    clean_sandbox: Any, celery_worker: Any
) -> None:
    """A real refusal from PostgreSQL (a trigger) for one record's item: the page is stored row by row."""
    custom_records(
        clean_sandbox,
        [
            {"id": f"ok{i}", "first_name": f"Fine{i}", "last_name": "Row", "email": f"fine{i}@rows.example"}
            for i in range(5)
        ]
        + [{"id": "bad", "first_name": "Poison", "last_name": "Row", "email": "poison@rows.example"}],
    )
    with connection.cursor() as cur:
        cur.execute("""
            CREATE FUNCTION refuse_poison() RETURNS trigger AS $$
            BEGIN
              IF NEW.payload::text LIKE '%Poison%' THEN RAISE EXCEPTION 'poison row refused'; END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_poison BEFORE INSERT ON contacts_sync_runitem
              FOR EACH ROW EXECUTE FUNCTION refuse_poison();
        """)
    try:
        sync = custom_sync(clean_sandbox)
        start = record_offset(clean_sandbox)
        run = _run(sync)
    finally:
        with connection.cursor() as cur:
            cur.execute("DROP TRIGGER refuse_poison ON contacts_sync_runitem; DROP FUNCTION refuse_poison();")
    items = _items(run)
    assert [items[f"ok{i}"].action for i in range(5)] == [m.ItemAction.CREATED] * 5
    assert items["bad"].error_class == "NotStored" and "poison row refused" in items["bad"].error_message
    assert items["bad"].action == m.ItemAction.CREATED  # it did reach GHL: the item says so
    assert m.RecordLink.objects.filter(sync=sync).exclude(target_id="").count() == 6  # every write is linked
    assert len(ghl_writes(clean_sandbox, start)) == run.created_count == 6
