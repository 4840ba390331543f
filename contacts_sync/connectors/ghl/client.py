"""The HighLevel (LeadConnector API v2) client: every operation the product uses, on top of apiclient.

Paths, bodies and responses follow the official spec (../shared/specs/ghl/apps/contacts.json etc.).
Bearer auth from a token provider, `Version` header, the per-location Redis rate budget corrected from GHL's
X-RateLimit-* headers, GHL's error bodies mapped to the error tree, paging behind generators.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol, cast

import requests

from contacts_sync.apiclient.budget import NullBudget, RateBudget
from contacts_sync.apiclient.calls import CallRecord
from contacts_sync.apiclient.client import ApiClient, parse_body, request_id_of
from contacts_sync.apiclient.errors import (
    ApiError,
    AuthError,
    ForbiddenError,
    MalformedResponseError,
    NotFoundError,
    ScopeError,
    ValidationError,
    messages_from_body,
)
from contacts_sync.connectors.ghl.errors import DuplicateContactError
from contacts_sync.connectors.ghl.reads import LocationReads

DEFAULT_BASE_URL = "https://services.leadconnectorhq.com"
DEFAULT_VERSION = "2021-07-28"
# GHL's published limits per app per location: 100 requests / 10 s burst, 200,000 per day.
GHL_LIMITS: list[tuple[int, float]] = [(100, 10.0), (200_000, 86_400.0)]
SEARCH_PAGE_LIMIT_MAX = 500  # POST /contacts/search pageLimit maximum
LIST_LIMIT_MAX = 100  # GET /contacts/ (deprecated) limit maximum
SCOPE_MESSAGE = "not authorized for this scope"


class TokenProvider(Protocol):
    def access_token(self) -> str: ...

    def refresh(self, stale_token: str) -> str: ...


def ghl_budget(redis_url: str, location_id: str, **kw: Any) -> RateBudget:
    """The shared budget of one location (every process on every machine uses the same Redis keys)."""
    return RateBudget.for_account(redis_url, "ghl", location_id, GHL_LIMITS, **kw)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


class GHLClient(LocationReads, ApiClient):
    provider = "ghl"

    def __init__(
        self,
        *,
        location_id: str,
        token_provider: TokenProvider,
        base_url: str = DEFAULT_BASE_URL,
        version: str = DEFAULT_VERSION,
        budget: RateBudget | NullBudget | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
        sleep: Callable[[float], Any] = time.sleep,
        session: requests.Session | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(
            base_url=base_url or DEFAULT_BASE_URL,
            budget=budget,
            on_call=on_call,
            sleep=sleep,
            session=session,
            **kw,
        )
        self.location_id = location_id
        self.tokens = token_provider
        self.version = version
        self._token_used: str | None = None

    # ----- apiclient hooks ----------------------------------------------------------------------------------
    def default_headers(self) -> dict[str, str]:
        return {**super().default_headers(), "Version": self.version}

    def auth_headers(self) -> dict[str, str]:
        self._token_used = self.tokens.access_token()
        return {"Authorization": f"Bearer {self._token_used}"}

    def on_401(self, response: requests.Response) -> bool:
        if SCOPE_MESSAGE in " ".join(messages_from_body(parse_body(response))).lower():
            return False  # a missing scope is not cured by a new token
        stale = self._token_used or ""
        return self.tokens.refresh(stale) != stale

    def observe_response(self, response: requests.Response) -> None:
        h = response.headers
        remaining = _int(h.get("X-RateLimit-Remaining"))
        daily = _int(h.get("X-RateLimit-Daily-Remaining"))
        if remaining is not None or daily is not None:
            # charged with the next token (one Redis round trip per request, not two)
            self.budget.observe(remaining, _int(h.get("X-RateLimit-Interval-Milliseconds")), daily, defer=True)

    def error_for(self, response: requests.Response, operation: str) -> ApiError:
        body = parse_body(response)
        messages = messages_from_body(body)
        message = "; ".join(messages) or f"HTTP {response.status_code}"
        kw: dict[str, Any] = {
            "status": response.status_code,
            "body": body,
            "operation": operation,
            "provider": self.provider,
            "request_id": request_id_of(response, body),
        }
        status = response.status_code
        if status == 401:
            cls = ScopeError if SCOPE_MESSAGE in message.lower() else AuthError
            return cls(message, **kw)
        if status == 403:
            return ForbiddenError(message, **kw)
        if status == 400 and isinstance(body, dict):
            meta = body.get("meta")
            if isinstance(meta, dict) and meta.get("contactId"):
                # GHL answers 400 with meta.contactId when the location does not allow duplicated contacts
                return DuplicateContactError(
                    message,
                    existing_id=str(meta["contactId"]),
                    matching_field=meta.get("matchingField"),
                    messages=messages,
                    **kw,
                )
            if "not found" in message.lower():
                return NotFoundError(message, **kw)  # GHL: 400 "Contact with id ... not found"
        if status in (400, 422):
            return ValidationError(message, messages=messages, **kw)
        return super().error_for(response, operation)

    # ----- helpers -------------------------------------------------------------------------------------------
    def _one(self, body: Any, key: str, operation: str) -> dict[str, Any]:
        return self.require(body, key, operation=operation, kind=dict)

    def _many(self, body: Any, key: str, operation: str) -> list[dict[str, Any]]:
        rows = self.require(body, key, operation=operation, kind=list)
        if not all(isinstance(r, dict) for r in rows):
            raise MalformedResponseError(
                f"{operation}: '{key}' holds non-objects", operation=operation, provider=self.provider
            )
        return rows

    def _with_location(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "locationId": payload.get("locationId") or self.location_id}

    # ===== contacts ==========================================================================================
    def get_contact(self, contact_id: str) -> dict[str, Any]:
        op = "get_contact"
        body = self._request("GET", "/contacts/{contactId}", path_params={"contactId": contact_id}, operation=op)
        return self._one(body, "contact", op)

    def search_contacts(
        self,
        *,
        query: str | None = None,
        filters: list[dict[str, Any]] | None = None,
        page_limit: int = 100,
        sort: list[dict[str, Any]] | None = None,
        search_after: list[Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every matching contact, paged with `searchAfter` (works past GHL's 10,000-record `page` window).

        Each yielded contact carries its own `searchAfter`, so a caller can checkpoint and resume from it.
        """
        op = "search_contacts"
        page_limit = max(1, min(page_limit, SEARCH_PAGE_LIMIT_MAX))
        after = search_after
        while True:
            payload: dict[str, Any] = {"locationId": self.location_id, "pageLimit": page_limit}
            if query:
                payload["query"] = query
            if filters:
                payload["filters"] = filters
            if sort:
                payload["sort"] = sort
            if after is not None:
                payload["searchAfter"] = after
            body = self._request("POST", "/contacts/search", json=payload, operation=op)
            rows = self._many(body, "contacts", op)
            yield from rows
            if len(rows) < page_limit:
                return
            after = rows[-1].get("searchAfter")
            if not isinstance(after, list) or not after:
                raise MalformedResponseError(
                    f"{op}: the last contact of a full page has no searchAfter",
                    operation=op,
                    provider=self.provider,
                )

    def iter_contacts_deprecated(
        self,
        *,
        query: str | None = None,
        limit: int = LIST_LIMIT_MAX,
        start_after: int | None = None,
        start_after_id: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """GET /contacts/ (deprecated by GHL, kept): paged with meta.startAfter / meta.startAfterId."""
        op = "list_contacts_deprecated"
        limit = max(1, min(limit, LIST_LIMIT_MAX))
        while True:
            params: dict[str, Any] = {"locationId": self.location_id, "limit": limit}
            if query:
                params["query"] = query
            if start_after is not None and start_after_id:
                params["startAfter"], params["startAfterId"] = start_after, start_after_id
            body = self._request("GET", "/contacts/", params=params, operation=op)
            rows = self._many(body, "contacts", op)
            yield from rows
            meta = body.get("meta") if isinstance(body, dict) else None
            if len(rows) < limit or not isinstance(meta, dict) or not meta.get("startAfterId"):
                return
            start_after, start_after_id = meta.get("startAfter"), meta["startAfterId"]

    def search_duplicate(self, *, email: str | None = None, phone: str | None = None) -> dict[str, Any] | None:
        op = "search_duplicate"
        if not email and not phone:
            raise ValueError("search_duplicate needs an email or a phone")
        params = {"locationId": self.location_id}
        if email:
            params["email"] = email
        if phone:
            params["number"] = phone  # requests encodes "+" as %2B
        body = self._request("GET", "/contacts/search/duplicate", params=params, operation=op)
        if not isinstance(body, dict) or "contact" not in body:
            raise MalformedResponseError(f"{op}: response lacks 'contact'", operation=op, provider=self.provider)
        contact = body["contact"]
        return contact if isinstance(contact, dict) and contact else None

    def create_contact(self, payload: dict[str, Any]) -> dict[str, Any]:
        op = "create_contact"
        body = self._request("POST", "/contacts/", json=self._with_location(payload), operation=op, expected=(200, 201))
        return self._one(body, "contact", op)

    def upsert_contact(self, payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        op = "upsert_contact"
        body = self._request(
            "POST", "/contacts/upsert", json=self._with_location(payload), operation=op, expected=(200, 201)
        )
        contact = self._one(body, "contact", op)
        new = body.get("new")
        if not isinstance(new, bool):
            raise MalformedResponseError(f"{op}: response lacks a boolean 'new'", operation=op, provider=self.provider)
        return contact, new

    def update_contact(self, contact_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """PUT /contacts/{id}. Note: `tags` here REPLACES every tag; use add_tags/remove_tags to merge."""
        op = "update_contact"
        body = self._request(
            "PUT", "/contacts/{contactId}", path_params={"contactId": contact_id}, json=payload, operation=op
        )
        return self._one(body, "contact", op)

    def delete_contact(self, contact_id: str) -> bool:
        op = "delete_contact"
        body = self._request("DELETE", "/contacts/{contactId}", path_params={"contactId": contact_id}, operation=op)
        return bool(body.get("succeded", True)) if isinstance(body, dict) else True

    def contacts_by_business(
        self, business_id: str, *, query: str | None = None, page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        op = "contacts_by_business"
        skip = 0
        while True:
            params: dict[str, Any] = {
                "locationId": self.location_id,
                "limit": str(page_size),
                "skip": str(skip),
            }
            if query:
                params["query"] = query
            body = self._request(
                "GET",
                "/contacts/business/{businessId}",
                path_params={"businessId": business_id},
                params=params,
                operation=op,
            )
            rows = self._many(body, "contacts", op)
            yield from rows
            if len(rows) < page_size:
                return
            skip += len(rows)

    def bulk_business(self, ids: list[str], business_id: str | None) -> dict[str, Any]:
        """Link contacts to a business (business_id=None unlinks them): POST /contacts/bulk/business."""
        op = "bulk_business"
        body = self._request(
            "POST",
            "/contacts/bulk/business",
            operation=op,
            expected=(200, 201),
            json={"locationId": self.location_id, "ids": list(ids), "businessId": business_id},
        )
        self.require(body, "ids", operation=op, kind=list)
        return cast("dict[str, Any]", body)  # require() has checked that it is an object

    def create_business(self, payload: dict[str, Any]) -> dict[str, Any]:
        """POST /businesses/ (CreateBusinessDto: name + locationId required); the created business."""
        op = "create_business"
        body = self._request(
            "POST", "/businesses/", json=self._with_location(payload), operation=op, expected=(200, 201)
        )
        # The spec's UpdateBusinessResponseDto spells the key "buiseness"; accept the correct spelling too.
        business = body.get("business") if isinstance(body, dict) else None
        if isinstance(business, dict) and "buiseness" not in body:
            return business
        return self._one(body, "buiseness", op)

    # ===== tasks =============================================================================================
    def list_tasks(self, contact_id: str) -> list[dict[str, Any]]:
        op = "list_tasks"
        body = self._request("GET", "/contacts/{contactId}/tasks", path_params={"contactId": contact_id}, operation=op)
        return self._many(body, "tasks", op)

    def get_task(self, contact_id: str, task_id: str) -> dict[str, Any]:
        op = "get_task"
        body = self._request(
            "GET",
            "/contacts/{contactId}/tasks/{taskId}",
            path_params={"contactId": contact_id, "taskId": task_id},
            operation=op,
        )
        return self._one(body, "task", op)

    def create_task(self, contact_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        op = "create_task"
        body = self._request(
            "POST",
            "/contacts/{contactId}/tasks",
            path_params={"contactId": contact_id},
            json=payload,
            operation=op,
        )
        return self._one(body, "task", op)

    def update_task(self, contact_id: str, task_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        op = "update_task"
        body = self._request(
            "PUT",
            "/contacts/{contactId}/tasks/{taskId}",
            path_params={"contactId": contact_id, "taskId": task_id},
            json=payload,
            operation=op,
        )
        return self._one(body, "task", op)

    def complete_task(self, contact_id: str, task_id: str, completed: bool = True) -> dict[str, Any]:
        op = "complete_task"
        body = self._request(
            "PUT",
            "/contacts/{contactId}/tasks/{taskId}/completed",
            path_params={"contactId": contact_id, "taskId": task_id},
            json={"completed": completed},
            operation=op,
        )
        return self._one(body, "task", op)

    def delete_task(self, contact_id: str, task_id: str) -> bool:
        op = "delete_task"
        body = self._request(
            "DELETE",
            "/contacts/{contactId}/tasks/{taskId}",
            path_params={"contactId": contact_id, "taskId": task_id},
            operation=op,
        )
        return bool(body.get("succeded", True)) if isinstance(body, dict) else True

    # ===== tags ==============================================================================================
    def add_tags(self, contact_id: str, tags: list[str]) -> list[str]:
        op = "add_tags"
        body = self._request(
            "POST",
            "/contacts/{contactId}/tags",
            path_params={"contactId": contact_id},
            json={"tags": list(tags)},
            operation=op,
        )
        return self.require(body, "tags", operation=op, kind=list)

    def remove_tags(self, contact_id: str, tags: list[str]) -> list[str]:
        op = "remove_tags"
        body = self._request(
            "DELETE",
            "/contacts/{contactId}/tags",
            path_params={"contactId": contact_id},
            json={"tags": list(tags)},
            operation=op,
        )  # DELETE with a JSON body
        return self.require(body, "tags", operation=op, kind=list)

    # ===== notes =============================================================================================
    def list_notes(self, contact_id: str) -> list[dict[str, Any]]:
        op = "list_notes"
        body = self._request("GET", "/contacts/{contactId}/notes", path_params={"contactId": contact_id}, operation=op)
        return self._many(body, "notes", op)

    def get_note(self, contact_id: str, note_id: str) -> dict[str, Any]:
        op = "get_note"
        body = self._request(
            "GET",
            "/contacts/{contactId}/notes/{id}",
            path_params={"contactId": contact_id, "id": note_id},
            operation=op,
        )
        return self._one(body, "note", op)

    def create_note(self, contact_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        op = "create_note"
        body = self._request(
            "POST",
            "/contacts/{contactId}/notes",
            path_params={"contactId": contact_id},
            json=payload,
            operation=op,
        )
        return self._one(body, "note", op)

    def update_note(self, contact_id: str, note_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        op = "update_note"
        body = self._request(
            "PUT",
            "/contacts/{contactId}/notes/{id}",
            path_params={"contactId": contact_id, "id": note_id},
            json=payload,
            operation=op,
        )
        return self._one(body, "note", op)

    def delete_note(self, contact_id: str, note_id: str) -> bool:
        op = "delete_note"
        body = self._request(
            "DELETE",
            "/contacts/{contactId}/notes/{id}",
            path_params={"contactId": contact_id, "id": note_id},
            operation=op,
        )
        return bool(body.get("succeded", True)) if isinstance(body, dict) else True


__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_VERSION",
    "GHL_LIMITS",
    "GHLClient",
    "TokenProvider",
    "ValidationError",
    "ghl_budget",
]
