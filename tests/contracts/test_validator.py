"""The conformance check itself: it accepts what the spec allows and catches what it does not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.contracts import spec_exceptions
from tests.contracts.validator import Exchange, specs_available, validate_exchange, validate_webhook
from tests.support import missing

AUTH = {"version": "2021-07-28", "authorization": "Bearer pit-x"}


@pytest.fixture(autouse=True)
def _specs() -> None:
    if not specs_available():
        missing("the official GHL spec files are not available (set GHL_SPEC_DIR)")


def exchange(
    method: str,
    path: str,
    *,
    body: Any = None,
    status: int = 200,
    response: Any = None,
    headers: dict[str, str] | None = None,
    query: str = "",
) -> Exchange:
    return Exchange(
        method,
        path,
        query,
        "application/json" if body is not None else "",
        AUTH if headers is None else headers,
        "" if body is None else json.dumps(body),
        status,
        "application/json",
        json.dumps(response if response is not None else {}),
    )


def test_a_conforming_get_contact_passes() -> None:
    assert validate_exchange(exchange("GET", "/contacts/abc", response={"contact": {"id": "abc", "tags": []}})) == []


def test_a_response_of_the_wrong_shape_is_caught() -> None:
    problems = validate_exchange(exchange("GET", "/contacts/abc", response={"contact": {"tags": "vip"}}))
    assert problems and "tags must be array" in problems[0]


def test_a_request_without_version_or_token_that_the_emulator_accepted_is_caught() -> None:
    problems = validate_exchange(exchange("GET", "/contacts/abc", headers={}, response={"contact": {}}))
    assert "missing required header parameter Version" in problems[0]
    assert "security: bearer" in problems[0]


def test_the_same_request_rejected_with_401_is_fine() -> None:
    x = exchange(
        "GET",
        "/contacts/abc",
        headers={"version": "2021-07-28"},
        status=401,
        response={"statusCode": 401, "message": "Invalid JWT", "error": "Unauthorized"},
    )
    assert validate_exchange(x) == []


def test_a_missing_required_body_field_must_be_rejected() -> None:
    ok = exchange(
        "POST",
        "/contacts/abc/tasks",
        body={"title": "t"},
        status=422,
        response={"statusCode": 422, "message": ["dueDate should not be empty"], "error": "x"},
    )
    assert validate_exchange(ok) == []
    accepted = exchange("POST", "/contacts/abc/tasks", body={"title": "t"}, status=201, response={"task": {}})
    assert "accepted a request the spec rejects" in validate_exchange(accepted)[0]


def test_undeclared_body_properties_are_rejected_as_ghl_does() -> None:
    x = exchange(
        "POST",
        "/contacts/upsert",
        body={"locationId": "l", "additionalEmails": []},
        status=200,
        response={"new": True, "contact": {}},
    )
    assert "additionalEmails" in validate_exchange(x)[0]


def test_an_undeclared_status_needs_a_recorded_exception() -> None:
    assert 429 in spec_exceptions.UNDECLARED_STATUSES
    assert validate_exchange(exchange("GET", "/contacts/abc", status=429, response={"statusCode": 429})) == []
    problems = validate_exchange(exchange("GET", "/contacts/abc", status=409, response={}))
    assert "not declared" in problems[0]


def test_search_uses_the_recorded_body_and_response_schemas() -> None:
    good = exchange(
        "POST",
        "/contacts/search",
        body={"locationId": "l", "pageLimit": 10},
        response={"contacts": [{"id": "a", "searchAfter": [1, "a"]}], "total": 1},
    )
    assert validate_exchange(good) == []
    bad = exchange(
        "POST",
        "/contacts/search",
        body={"locationId": "l", "pageLimit": 10},
        response={"contacts": [{"id": 1}]},
    )
    assert validate_exchange(bad)


def test_webhook_payloads_are_checked_against_the_documented_events() -> None:
    base = {"locationId": "l", "webhookId": "w", "timestamp": "2026-01-01T00:00:00Z"}
    assert validate_webhook({"type": "NoteCreate", "id": "n", "body": "b", **base}) == []
    assert validate_webhook({"type": "NoteCreate", "id": 5, **base})
    assert validate_webhook({"type": "NoteCreate", "id": "n", "locationId": "l"})  # unsigned fields missing
    assert validate_webhook({"type": "NoSuchEvent", **base})


def form_exchange(path: str, body: str, *, status: int, response: Any) -> Exchange:
    return Exchange(
        "POST",
        path,
        "",
        "application/x-www-form-urlencoded",
        AUTH,
        body,
        status,
        "application/json",
        json.dumps(response),
    )


def test_the_dashed_agency_paths_are_checked_against_the_camel_case_operations() -> None:
    minted = {"access_token": "t", "userId": "u", "locationId": "l"}
    for path in ("/oauth/locationToken", "/oauth/location-token"):
        assert validate_exchange(form_exchange(path, "companyId=c&locationId=l", status=201, response=minted)) == []
        accepted = form_exchange(path, "companyId=c", status=201, response=minted)
        assert "locationId" in validate_exchange(accepted)[0]
    listing = exchange("GET", "/oauth/installed-locations", query="companyId=c", response={"locations": []})
    assert "missing required query parameter appId" in validate_exchange(listing)[0]


def test_the_task_search_rows_must_be_task_objects_not_the_specs_arrays() -> None:
    row = {
        "_id": "t",
        "title": "T",
        "completed": False,
        "contactId": "c",
        "locationId": "l",
        "dateAdded": "d",
        "dateUpdated": "d",
    }
    good = exchange("POST", "/locations/l/tasks/search", body={"limit": 10}, status=201, response={"tasks": [row]})
    assert validate_exchange(good) == []
    arrays = exchange("POST", "/locations/l/tasks/search", body={}, status=201, response={"tasks": [["t"]]})
    assert "must be object" in validate_exchange(arrays)[0]
    undeclared = exchange("POST", "/locations/l/tasks/search", body={"since": "x"}, status=201, response={"tasks": []})
    assert "accepted a request the spec rejects" in validate_exchange(undeclared)[0]


def test_calendar_event_dates_are_checked_as_strings() -> None:
    event = {
        "id": "e",
        "title": "t",
        "calendarId": "c",
        "locationId": "l",
        "contactId": "c",
        "groupId": "",
        "appointmentStatus": "confirmed",
        "assignedUserId": "u",
        "users": [],
        "startTime": "2027-01-01T00:00:00Z",
        "endTime": "2027-01-01T00:30:00Z",
        "dateAdded": "x",
        "dateUpdated": "x",
    }
    headers = {**AUTH, "version": "2021-04-15"}
    query = "locationId=l&calendarId=c&startTime=1&endTime=2"
    ok = exchange("GET", "/calendars/events", query=query, headers=headers, response={"events": [event]})
    assert validate_exchange(ok) == []
    wrong = exchange(
        "GET",
        "/calendars/events",
        query=query,
        headers=headers,
        response={"events": [{**event, "endTime": 5}]},
    )
    assert "must be string" in validate_exchange(wrong)[0]
    v2 = exchange("GET", "/calendars/events", query=query, response={"events": []})
    assert "Version" in validate_exchange(v2)[0]  # Calendars wants 2021-04-15


def test_install_and_agency_webhooks_are_checked_against_their_docs() -> None:
    signed = {"webhookId": "w", "timestamp": "2026-01-01T00:00:00Z"}
    trial = {"onTrial": True, "trialDuration": 10, "trialStartDate": "2024-07-23T23:54:51.264Z"}
    assert validate_webhook({"type": "INSTALL", "appId": "a", "locationId": "l", "trial": trial, **signed}) == []
    assert validate_webhook({"type": "INSTALL", "appId": "a", "companyId": "c", **signed}) == []  # agency level
    assert validate_webhook({"type": "INSTALL", "appId": 5, "locationId": "l", **signed})
    assert validate_webhook({"type": "UNINSTALL", "appId": "a", **signed})  # neither locationId nor companyId
    assert validate_webhook({"type": "LocationCreate", "id": "l", "companyId": "c", "name": "N", **signed}) == []
    assert validate_webhook({"type": "TaskCreate", "id": "t", "companyId": "c", **signed})  # needs its location
