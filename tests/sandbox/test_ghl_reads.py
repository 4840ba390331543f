"""Reads the next features need, over raw HTTP: appointments (per contact and per calendar window), businesses
(bulk link / unlink), and the changed-since reads of reconcile polls (contacts by dateUpdated, the location's
tasks)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tests.sandbox.ghl_support import CALENDARS, Loc, call, spec_conformance
from tests.sandbox_fixture import Sandbox

__all__ = ["spec_conformance"]  # fixtures used by this module

DUE = "2026-12-01T09:00:00.000Z"


def ms(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).timestamp() * 1000)


def test_a_contacts_appointments_and_a_calendar_window_are_read(sandbox: Sandbox) -> None:
    loc = Loc(sandbox)
    a, b = loc.contact(email="a@example.com"), loc.contact(email="b@example.com")
    slots = ["2027-03-01T09:00:00.000Z", "2027-03-02T09:00:00.000Z", "2027-04-01T09:00:00.000Z"]
    booked = [
        sandbox.admin(
            "POST",
            "/ghl/_admin/appointments",
            json={"locationId": loc.id, "contactId": who["id"], "startTime": start, "title": f"Slot {i}"},
        )["appointment"]
        for i, (who, start) in enumerate(zip((a, a, b), slots, strict=True))
    ]
    mine = loc.call("GET", f"/contacts/{a['id']}/appointments").json()["events"]
    assert sorted(e["id"] for e in mine) == sorted(x["id"] for x in booked[:2])
    assert loc.call("GET", "/contacts/nope/appointments").status_code == 400
    window = {
        "locationId": loc.id,
        "calendarId": "sandbox-calendar",
        "startTime": str(ms("2027-03-01T00:00:00.000Z")),
        "endTime": str(ms("2027-03-31T23:59:59.999Z")),
    }
    events = loc.call("GET", "/calendars/events", version=CALENDARS, params=window).json()["events"]
    assert [e["title"] for e in events] == ["Slot 0", "Slot 1"] and all(e["dateUpdated"] for e in events)
    by_user = {**window, "calendarId": "", "userId": booked[0]["assignedUserId"]}
    assert len(loc.call("GET", "/calendars/events", version=CALENDARS, params=by_user).json()["events"]) == 2
    no_owner = {k: v for k, v in window.items() if k != "calendarId"}
    r = loc.call("GET", "/calendars/events", version=CALENDARS, params=no_owner)
    assert r.status_code == 400 and "calendarId" in r.json()["message"]


def test_bulk_business_links_and_unlinks_contacts(sandbox: Sandbox) -> None:
    loc = Loc(sandbox)
    a, b = loc.contact(email="a@example.com"), loc.contact(email="b@example.com")
    business = loc.call("GET", "/businesses/", params={"locationId": loc.id}).json()["businesses"][0]
    body = {"locationId": loc.id, "ids": [a["id"], "no-such-contact", b["id"]], "businessId": business["id"]}
    linked = loc.call("POST", "/contacts/bulk/business", json=body)
    assert linked.status_code == 200 and linked.json() == {"success": True, "ids": [a["id"], b["id"]]}
    members = loc.call("GET", f"/contacts/business/{business['id']}", params={"locationId": loc.id}).json()
    assert members["count"] == 2 and {c["id"] for c in members["contacts"]} == {a["id"], b["id"]}
    assert loc.call("GET", f"/contacts/{a['id']}").json()["contact"]["businessId"] == business["id"]
    loc.call("POST", "/contacts/bulk/business", json={**body, "ids": [a["id"]], "businessId": None})
    assert "businessId" not in loc.call("GET", f"/contacts/{a['id']}").json()["contact"]
    unknown = loc.call("POST", "/contacts/bulk/business", json={**body, "businessId": "nope"})
    assert unknown.status_code == 422
    missing = loc.call("POST", "/contacts/bulk/business", json={"locationId": loc.id, "ids": [a["id"]]})
    assert missing.status_code == 422
    assert loc.call("PUT", f"/contacts/business/{business['id']}", json={}).status_code == 404  # not in the spec


def test_a_reconcile_poll_reads_only_contacts_changed_since_its_cursor(sandbox: Sandbox) -> None:
    loc = Loc(sandbox, seed=30)
    everyone = loc.call("POST", "/contacts/search", json={"locationId": loc.id, "pageLimit": 100}).json()
    cursor = max(c["dateUpdated"] for c in everyone["contacts"])
    time.sleep(0.01)
    ids = [c["id"] for c in everyone["contacts"]]
    loc.call("PUT", f"/contacts/{ids[3]}", json={"city": "Potsdam"})
    time.sleep(0.01)
    loc.call("POST", f"/contacts/{ids[7]}/tags", json={"tags": ["changed"]})
    fresh = loc.contact(email="new@example.com")
    poll = {
        "locationId": loc.id,
        "pageLimit": 1,
        "filters": [{"field": "dateUpdated", "operator": "range", "value": {"gt": cursor}}],
        "sort": [{"field": "dateUpdated", "direction": "asc"}],
    }
    seen, after = [], None
    while True:
        body = {**poll, **({"searchAfter": after} if after else {})}
        page = loc.call("POST", "/contacts/search", json=body).json()
        assert page["total"] == 3
        if not page["contacts"]:
            break
        seen += [c["id"] for c in page["contacts"]]
        after = page["contacts"][-1]["searchAfter"]
    assert seen == [ids[3], ids[7], fresh["id"]]  # oldest change first, each once, nothing unchanged
    by_ms = {
        **poll,
        "pageLimit": 10,
        "filters": [{"field": "dateUpdated", "operator": "range", "value": {"gte": ms(cursor) + 1}}],
    }
    assert [c["id"] for c in loc.call("POST", "/contacts/search", json=by_ms).json()["contacts"]] == seen


def test_the_location_task_search_pages_and_filters_every_task(sandbox: Sandbox) -> None:
    loc = Loc(sandbox)
    users = loc.call("GET", "/users/", params={"locationId": loc.id}).json()["users"]
    a, b = loc.contact(email="a@example.com", firstName="Ann"), loc.contact(email="b@example.com")
    made = []
    for i, (who, done) in enumerate([(a, False), (a, True), (b, False), (b, False), (a, False)]):
        body = {"title": f"Task {i}", "dueDate": DUE, "completed": done, "assignedTo": users[i % 2]["id"]}
        made.append(loc.call("POST", f"/contacts/{who['id']}/tasks", json=body).json()["task"]["id"])
    path = f"/locations/{loc.id}/tasks/search"
    first = loc.call("POST", path, json={"limit": 2})
    assert first.status_code == 201  # GHL answers this search 201 (see tests/contracts/spec_exceptions.py)
    pages, skip = [], 0
    while True:
        rows = loc.call("POST", path, json={"limit": 2, "skip": skip}).json()["tasks"]
        pages += rows
        if len(rows) < 2:
            break
        skip += 2
    assert [r["_id"] for r in pages] == made  # every task once, in the order they were added
    row = pages[0]
    assert (row["contactId"], row["locationId"], row["deleted"], row["contactDetails"]["firstName"]) == (
        a["id"],
        loc.id,
        False,
        "Ann",
    )
    assert row["dateUpdated"] and row["assignedToUserDetails"]["id"] == users[0]["id"]
    open_of_a = loc.call("POST", path, json={"contactId": [a["id"]], "completed": False}).json()["tasks"]
    assert [r["_id"] for r in open_of_a] == [made[0], made[4]]
    mine = loc.call("POST", path, json={"assignedTo": [users[1]["id"]], "query": "task 3"}).json()["tasks"]
    assert [r["_id"] for r in mine] == [made[3]]
    assert loc.call("POST", path, json={"limit": 501}).status_code == 422
    assert loc.call("POST", path, json={"since": "2026-01-01"}).status_code == 422  # no date filter in the spec
    other = Loc(sandbox)
    assert loc.call("POST", f"/locations/{other.id}/tasks/search", json={}).status_code == 403


def test_the_task_search_needs_the_locations_tasks_scope(sandbox: Sandbox) -> None:
    loc = Loc(sandbox)
    narrow = sandbox.admin("POST", "/ghl/_admin/tokens", json={"locationId": loc.id, "scopes": ["contacts.readonly"]})
    r = call(sandbox, "POST", f"/locations/{loc.id}/tasks/search", narrow["token"], json={})
    assert r.status_code == 401 and r.json()["message"] == "The token is not authorized for this scope."
