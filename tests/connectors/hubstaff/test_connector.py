"""The Hubstaff connector (registry name "hubstaff") as the engine uses it, against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from contacts_sync.apiclient.errors import ValidationError
from contacts_sync.connectors.base import Page
from contacts_sync.connectors.hubstaff import TokenRefreshError
from contacts_sync.exceptions import ConfigurationError
from tests.connectors.conftest import HUBSTAFF_ORG, HUBSTAFF_PROJECT, HubstaffBox


def test_test_names_the_organization_and_user_with_a_good_token(hubstaff: HubstaffBox) -> None:
    assert hubstaff.connector().test() == (
        "Hubstaff organization Sandbox Org 1001 (1001) as Sandra Owner <owner@sandbox.example>"
    )


def test_test_with_a_wrong_token_raises_a_clear_permanent_error(hubstaff: HubstaffBox) -> None:
    with pytest.raises(TokenRefreshError) as info:
        hubstaff.connector(secrets={"refresh_token": "typo-in-the-pat"}).test()
    assert info.value.permanent
    assert "Hubstaff refused the personal access token" in str(info.value)


def test_test_with_an_unknown_organization_says_so(hubstaff: HubstaffBox) -> None:
    with pytest.raises(Exception) as info:
        hubstaff.connector(account_id="999999").test()
    assert getattr(info.value, "status", None) == 404
    assert "Could not find organization" in str(info.value)


def test_read_resumes_from_the_cursor_of_any_page_without_gaps_or_repeats(hubstaff: HubstaffBox) -> None:
    connector = hubstaff.connector()
    options = {"page_limit": 200, "client_status": "all"}
    pages: list[Page] = list(connector.read("contact", cursor=None, options=options))
    assert len(pages) == 13 and pages[-1].cursor is None
    assert all(p.cursor for p in pages[:-1])
    all_ids = [connector.record_id("contact", r) for p in pages for r in p.records]
    assert len(all_ids) == len(set(all_ids)) == 2500
    # A run that crashed after page 5 resumes from page 5's checkpoint and reads exactly the rest.
    resumed = [r for p in connector.read("contact", cursor=pages[4].cursor, options=options) for r in p.records]
    assert [connector.record_id("contact", r) for r in resumed] == all_ids[1000:]


def test_read_of_clients_skips_records_not_updated_since(hubstaff: HubstaffBox) -> None:
    connector = hubstaff.connector()
    everything = [r for p in connector.read("contact", cursor=None, options={}) for r in p.records]
    since = sorted(r["updated_at"] for r in everything)[len(everything) // 2]
    recent = [r for p in connector.read("contact", cursor=None, options={"updated_since": since}) for r in p.records]
    assert 0 < len(recent) < len(everything)
    assert all(r["updated_at"] >= since for r in recent)


def test_members_are_read_as_contacts_with_their_user_merged_in(hubstaff: HubstaffBox) -> None:
    connector = hubstaff.connector()
    members = connector.sample("contact", limit=30, options={"source": "members"})
    assert len(members) == 26  # the owner + 25 seeded members
    owner = members[0]
    assert connector.record_id("contact", owner) == "7001"
    assert owner["user"]["email"] == "owner@sandbox.example"
    assert {f.path for f in connector.fields("contact", options={"source": "members"})} >= {
        "user.email",
        "user.first_name",
    }


def test_notes_are_read_in_windows_of_at_most_31_days(hubstaff: HubstaffBox) -> None:
    connector = hubstaff.connector()
    pages = list(connector.read("note", cursor=None, options={"notes_lookback_days": 95, "page_limit": 50}))
    windows = {p.cursor["window_start"] for p in pages if p.cursor}
    assert len(windows) >= 3  # 95 days = four windows of up to 30 days
    notes = [n for p in pages for n in p.records]
    assert len(notes) == len({n["id"] for n in notes}) == 300
    assert pages[-1].cursor is None


def test_the_emulator_refuses_a_notes_window_longer_than_31_days(hubstaff: HubstaffBox) -> None:
    now = datetime.now(UTC)
    r = requests.get(
        f"{hubstaff.url}/v2/organizations/{HUBSTAFF_ORG}/notes",
        params={
            "time_slot[start]": (now - timedelta(days=40)).isoformat(),
            "time_slot[stop]": now.isoformat(),
        },
        headers={"Authorization": f"Bearer {hubstaff.access_token()}"},
    )
    assert r.status_code == 400
    assert r.json() == {
        "code": "invalid_params",
        "error": "time_slot range must be 31 days or less",
        "error_code": 11000,
    }


def test_write_creates_a_task_in_the_project_then_completes_it(hubstaff: HubstaffBox) -> None:
    connector = hubstaff.connector()
    task_id, created = connector.write(
        "task",
        {
            "summary": "Critical: call Anna (GHL)",
            "details": "Tags: critical",
            "metadata.ghl_contact_id": "c-123",
        },
        target_id=None,
        options={"project_id": HUBSTAFF_PROJECT},
    )
    assert created
    task = connector.client.get_task(task_id)
    assert task["project_id"] == HUBSTAFF_PROJECT and task["metadata"] == {"ghl_contact_id": "c-123"}
    assert task["details"] == "Tags: critical"
    assert connector.write("task", {"status": "completed"}, target_id=task_id, options={}) == (task_id, False)
    assert connector.client.get_task(task_id)["status"] == "completed"


def test_write_without_a_project_or_summary_or_with_unknown_fields_fails_clearly(
    hubstaff: HubstaffBox,
) -> None:
    connector = hubstaff.connector()
    with pytest.raises(ConfigurationError, match="needs a project id"):
        connector.write("task", {"summary": "x"}, target_id=None, options={})
    with pytest.raises(ValidationError, match="needs a summary"):
        connector.write("task", {"summary": ""}, target_id=None, options={"project_id": HUBSTAFF_PROJECT})
    with pytest.raises(ValidationError, match="unknown Hubstaff task fields: due_date"):
        connector.write(
            "task",
            {"summary": "x", "due_date": "tomorrow"},
            target_id=None,
            options={"project_id": HUBSTAFF_PROJECT},
        )
    with pytest.raises(ConfigurationError, match="only tasks"):
        connector.write("contact", {"name": "x"}, target_id=None, options={})


def test_an_unknown_object_kind_is_a_configuration_error(hubstaff: HubstaffBox) -> None:
    connector = hubstaff.connector()
    assert connector.objects() == ["contact", "task", "note"]
    with pytest.raises(ConfigurationError, match="no 'appointment' objects"):
        list(connector.read("appointment", cursor=None, options={}))


def test_tasks_and_notes_carry_the_client_of_their_project(hubstaff: HubstaffBox) -> None:
    connector = hubstaff.connector()
    projects = [p for items, _ in connector.client.project_pages(HUBSTAFF_ORG) for p in items]
    client_of = {p["id"]: p["client_id"] for p in projects}
    assert len(projects) == 6 and all(client_of.values())
    tasks = connector.sample("task", limit=50)
    notes = connector.sample("note", limit=20)
    assert tasks and notes
    assert all(r["client_id"] == client_of[r["project_id"]] for r in tasks + notes)


def test_notes_resume_from_a_cursor_inside_a_window_without_gaps(hubstaff: HubstaffBox) -> None:
    connector = hubstaff.connector()
    options = {"notes_lookback_days": 95, "page_limit": 20}
    pages = list(connector.read("note", cursor=None, options=options))
    mid = next(i for i, p in enumerate(pages) if p.cursor and p.cursor["page_start_id"])  # a page inside a window
    ids = [n["id"] for p in pages for n in p.records]
    resumed = [n["id"] for p in connector.read("note", cursor=pages[mid].cursor, options=options) for n in p.records]
    assert resumed == ids[sum(len(p.records) for p in pages[: mid + 1]) :]


def test_members_updated_since_is_filtered_by_hubstaff(hubstaff: HubstaffBox) -> None:
    connector = hubstaff.connector()
    members = connector.sample("contact", limit=100, options={"source": "members"})
    since = sorted(m["updated_at"] for m in members)[20]
    recent = [
        m
        for p in connector.read("contact", cursor=None, options={"source": "members", "updated_since": since})
        for m in p.records
    ]
    assert {m["user_id"] for m in recent} == {m["user_id"] for m in members if m["updated_at"] >= since}
    assert 0 < len(recent) < len(members)
