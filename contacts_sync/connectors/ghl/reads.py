"""GHL reads beyond one contact: appointments, businesses, users, the location, custom fields and the
location-wide task search (a mixin of GHLClient, kept apart so the client module stays readable)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

BUSINESS_PAGE = 100  # GET /businesses/ limit
# POST /locations/{id}/tasks/search pages with limit/skip; integrators page it with 500 (the default is 25).
TASK_SEARCH_PAGE = 500
# GET /calendars/events is served under the calendars API version, not the contacts one.
CALENDARS_VERSION = "2021-04-15"


class LocationReads:
    """Needs the ApiClient's `_request`, the GHLClient's `_many`/`_one` and `location_id`."""

    location_id: str
    _request: Callable[..., Any]
    _many: Callable[[Any, str, str], list[dict[str, Any]]]
    _one: Callable[[Any, str, str], dict[str, Any]]

    # ===== appointments, businesses, users, custom fields ======================================================
    def list_appointments(self, contact_id: str) -> list[dict[str, Any]]:
        op = "list_appointments"
        body = self._request(
            "GET", "/contacts/{contactId}/appointments", path_params={"contactId": contact_id}, operation=op
        )
        return self._many(body, "events", op)

    def list_businesses(self) -> list[dict[str, Any]]:
        op = "list_businesses"
        out: list[dict[str, Any]] = []
        while True:
            body = self._request(
                "GET",
                "/businesses/",
                operation=op,
                params={"locationId": self.location_id, "limit": BUSINESS_PAGE, "skip": len(out)},
            )
            rows = self._many(body, "businesses", op)
            out.extend(rows)
            if len(rows) < BUSINESS_PAGE:
                return out

    def list_users(self) -> list[dict[str, Any]]:
        op = "list_users"
        body = self._request("GET", "/users/", params={"locationId": self.location_id}, operation=op)
        return self._many(body, "users", op)

    def get_location(self) -> dict[str, Any]:
        """The sub-account itself (name, country, timezone): GET /locations/{locationId}."""
        op = "get_location"
        body = self._request(
            "GET", "/locations/{locationId}", operation=op, path_params={"locationId": self.location_id}
        )
        return self._one(body, "location", op)

    def list_custom_fields(self, model: str = "contact") -> list[dict[str, Any]]:
        op = "list_custom_fields"
        body = self._request(
            "GET",
            "/locations/{locationId}/customFields",
            operation=op,
            path_params={"locationId": self.location_id},
            params={"model": model},
        )
        return self._many(body, "customFields", op)

    def calendar_events(
        self, *, start_ms: int, end_ms: int, calendar_id: str = "", user_id: str = "", group_id: str = ""
    ) -> list[dict[str, Any]]:
        """GET /calendars/events: the appointments starting in [start, end] (epoch ms) of one calendar, user or
        group (GHL requires one of them)."""
        op = "calendar_events"
        params: dict[str, Any] = {"locationId": self.location_id, "startTime": str(start_ms), "endTime": str(end_ms)}
        for key, value in (("calendarId", calendar_id), ("userId", user_id), ("groupId", group_id)):
            if value:
                params[key] = value
        if len(params) == 3:
            raise ValueError("calendar_events needs a calendar, user or group id")
        body = self._request(
            "GET", "/calendars/events", params=params, headers={"Version": CALENDARS_VERSION}, operation=op
        )
        return self._many(body, "events", op)

    def search_tasks(
        self,
        *,
        contact_ids: list[str] | None = None,
        completed: bool | None = None,
        page: int = TASK_SEARCH_PAGE,
        skip: int = 0,
    ) -> Iterator[dict[str, Any]]:
        """Every task of the location (POST /locations/{id}/tasks/search, paged with skip). GHL answers 201, and
        its rows name the task `_id`; the spec has no date filter and no order (compare dateUpdated yourself)."""
        op = "search_tasks"
        while True:
            payload: dict[str, Any] = {"limit": page, "skip": skip}
            if contact_ids:
                payload["contactId"] = list(contact_ids)
            if completed is not None:
                payload["completed"] = completed
            body = self._request(
                "POST",
                "/locations/{locationId}/tasks/search",
                operation=op,
                path_params={"locationId": self.location_id},
                json=payload,
                expected=(200, 201),
            )
            rows: list[dict[str, Any]] = self._many(body, "tasks", op)
            yield from rows
            if len(rows) < page:
                return
            skip += len(rows)
