"""Hubstaff API v2 client on top of apiclient (facts: ../shared/reference/source-apps.md section 1).

Auth: the personal access token (PAT) *is a refresh token*. It is exchanged at `POST <account>/access_tokens`
(form `grant_type=refresh_token`) for a short-lived bearer token plus a NEW refresh token; the old one stops
working, so the new one is saved (through the connection's TokenStore) before the access token is used.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from contacts_sync.apiclient.budget import NullBudget, RateBudget
from contacts_sync.apiclient.calls import CallRecord
from contacts_sync.apiclient.client import ApiClient, parse_body, request_id_of
from contacts_sync.apiclient.errors import (
    ApiError,
    ConflictError,
    MalformedResponseError,
    ValidationError,
)
from contacts_sync.apiclient.outbound import safe_session
from contacts_sync.apiclient.tokens import (
    MemoryTokenStore,
    RotatingTokenProvider,
    TokenGrant,
    TokenRefused,
    TokenStore,
)

API_BASE_URL = "https://api.hubstaff.com"
ACCOUNT_BASE_URL = "https://account.hubstaff.com"
PAT_URL = "https://developer.hubstaff.com/personal_access_tokens"
# Refresh this long before the access token expires (the official CLI uses 120 s).
REFRESH_SKEW_SECONDS = 120
# Hubstaff gives no maximum page size; 500 is what the official demo clients use.
DEFAULT_PAGE_LIMIT = 500
# Optimistic-locking retries for a task update when someone else changed the task in between.
LOCK_CONFLICT_RETRIES = 3


class TokenRefreshError(TokenRefused):
    """The token endpoint refused the refresh token. `permanent` = a new PAT is needed (re-auth)."""


class HubstaffAccountClient(ApiClient):
    """The token endpoint (account.hubstaff.com in production; `<base>/access_tokens` in the sandbox)."""

    provider = "hubstaff"

    def error_for(self, response: requests.Response, operation: str) -> ApiError:
        body = parse_body(response)
        code = body.get("error") if isinstance(body, dict) else None
        if response.status_code in (400, 401) and code in (
            "invalid_grant",
            "invalid_token",
            "invalid_client",
        ):
            detail = body.get("error_description") or code
            return TokenRefreshError(
                f"Hubstaff refused the personal access token ({code}: {detail}). Create a new one at {PAT_URL} "
                "and save it on the connection.",
                permanent=True,
                status=response.status_code,
                body=body,
                operation=operation,
                provider=self.provider,
                request_id=request_id_of(response, body),
            )
        return super().error_for(response, operation)

    def exchange(self, refresh_token: str) -> dict[str, Any]:
        body = self._request(
            "POST",
            "/access_tokens",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            operation="exchange refresh token",
        )
        missing = [
            k
            for k in ("access_token", "refresh_token")
            if not isinstance(body, dict) or not isinstance(body.get(k), str)
        ]
        if missing or not isinstance(body, dict):
            raise MalformedResponseError(
                f"exchange refresh token: response lacks '{missing[0]}'",
                operation="exchange refresh token",
                provider=self.provider,
            )
        return body


def token_provider(
    store: TokenStore, account: HubstaffAccountClient, *, clock: Callable[[], float] = time.time
) -> RotatingTokenProvider:
    """Single-flight access tokens: the PAT is exchanged, and the rotated refresh token saved before use."""

    def exchange(refresh_token: str) -> TokenGrant:
        pair = account.exchange(refresh_token)
        expires_at = datetime.fromtimestamp(clock(), UTC) + timedelta(seconds=int(pair.get("expires_in") or 3600))
        return TokenGrant(pair["access_token"], pair["refresh_token"], expires_at)

    return RotatingTokenProvider(store, exchange, skew_seconds=REFRESH_SKEW_SECONDS, provider="hubstaff", clock=clock)


class HubstaffClient(ApiClient):
    provider = "hubstaff"

    def __init__(self, *, tokens: RotatingTokenProvider, base_url: str = API_BASE_URL, **kwargs: Any) -> None:
        super().__init__(base_url=base_url, **kwargs)
        self.tokens = tokens
        self._token: str | None = None

    # ---- apiclient hooks -------------------------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        self._token = self.tokens.access_token()
        return {"Authorization": f"Bearer {self._token}"}

    def on_401(self, response: requests.Response) -> bool:
        """Hubstaff answers 401 for an expired/revoked access token: refresh once and retry (like the CLI)."""
        self.tokens.refresh(self._token)
        return True

    def should_retry(self, *, response: requests.Response | None = None, exc: Exception | None = None) -> bool:
        """A POST creates something: retried only when Hubstaff surely did not act on it (the connection was
        never made, or a 429 refused it). A 5xx or a read timeout may hide a created task; retrying it could
        make a second one, so the error surfaces and the engine's record link decides on the next run."""
        method = _method_of(response, exc)
        if method != "POST":
            return super().should_retry(response=response, exc=exc)
        if exc is not None:
            return isinstance(exc, requests.ConnectTimeout)
        return response is not None and response.status_code == 429

    def error_for(self, response: requests.Response, operation: str) -> ApiError:
        """Hubstaff's envelope {code, error, error_code}: keep all three in the message."""
        error = super().error_for(response, operation)
        body = error.body
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            extra = ", ".join(f"{k} {body[k]}" for k in ("code", "error_code") if body.get(k) not in (None, ""))
            error.message = f"{body['error']} ({extra})" if extra else body["error"]
            if isinstance(error, ValidationError):
                error.messages = [body["error"]]
        return error

    # ---- paging ----------------------------------------------------------------------------------------------

    def pages(
        self,
        path: str,
        key: str,
        *,
        path_params: dict[str, Any],
        params: list[tuple[str, Any]] | None = None,
        page_start_id: int = 0,
        page_limit: int = DEFAULT_PAGE_LIMIT,
        operation: str,
    ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], int | None]]:
        """Yield (body, items, next_page_start_id); `pagination` is present only when another page exists."""
        start = page_start_id
        while True:
            query = [*(params or []), ("page_start_id", start), ("page_limit", page_limit)]
            body = self._request("GET", path, path_params=path_params, params=query, operation=operation)
            items = self.require(body, key, operation=operation, kind=list)
            pagination = body.get("pagination") if isinstance(body, dict) else None
            nxt = pagination.get("next_page_start_id") if isinstance(pagination, dict) else None
            if nxt is not None and (not isinstance(nxt, int) or nxt <= start):
                raise MalformedResponseError(
                    f"{operation}: pagination.next_page_start_id {nxt!r} does not advance past {start}",
                    operation=operation,
                    provider=self.provider,
                )
            yield body, items, nxt
            if nxt is None:
                return
            start = nxt

    # ---- reads -----------------------------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        body = self._request("GET", "/v2/users/me", operation="get current user")
        return self.require(body, "user", operation="get current user")

    def organization(self, organization_id: str | int) -> dict[str, Any]:
        body = self._request(
            "GET",
            "/v2/organizations/{organization_id}",
            path_params={"organization_id": organization_id},
            operation="get organization",
        )
        return self.require(body, "organization", operation="get organization")

    def client_pages(
        self,
        organization_id: str | int,
        *,
        status: str = "active",
        page_start_id: int = 0,
        page_limit: int = DEFAULT_PAGE_LIMIT,
    ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        for _body, items, nxt in self.pages(
            "/v2/organizations/{organization_id}/clients",
            "clients",
            path_params={"organization_id": organization_id},
            params=[("status", status)],
            page_start_id=page_start_id,
            page_limit=page_limit,
            operation="list clients",
        ):
            yield items, nxt

    def member_pages(
        self,
        organization_id: str | int,
        *,
        updated_since: str | None = None,
        page_start_id: int = 0,
        page_limit: int = DEFAULT_PAGE_LIMIT,
    ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        """Members with their side-loaded user merged in as `member["user"]` (the spec's OrganizationMember)."""
        params: list[tuple[str, Any]] = [("include[]", "users"), ("include_profile", "true")]
        if updated_since:
            params.append(("updated_at[start]", updated_since))
        for body, items, nxt in self.pages(
            "/v2/organizations/{organization_id}/members",
            "members",
            path_params={"organization_id": organization_id},
            params=params,
            page_start_id=page_start_id,
            page_limit=page_limit,
            operation="list members",
        ):
            users = {u.get("id"): u for u in body.get("users") or [] if isinstance(u, dict)}
            yield [{**m, "user": m.get("user") or users.get(m.get("user_id"), {})} for m in items], nxt

    def task_pages(
        self,
        organization_id: str | int,
        *,
        statuses: list[str] | None = None,
        project_ids: list[int] | None = None,
        page_start_id: int = 0,
        page_limit: int = DEFAULT_PAGE_LIMIT,
    ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        params: list[tuple[str, Any]] = [("status[]", s) for s in (statuses or ["active", "completed"])]
        params += [("project_ids[]", p) for p in project_ids or []]
        for _body, items, nxt in self.pages(
            "/v2/organizations/{organization_id}/tasks",
            "tasks",
            path_params={"organization_id": organization_id},
            params=params,
            page_start_id=page_start_id,
            page_limit=page_limit,
            operation="list tasks",
        ):
            yield items, nxt

    def note_pages(
        self,
        organization_id: str | int,
        *,
        start: datetime,
        stop: datetime,
        page_start_id: int = 0,
        page_limit: int = DEFAULT_PAGE_LIMIT,
    ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        """One time_slot window (Hubstaff: at most 31 days, at most 3 years back)."""
        params = [("time_slot[start]", _iso(start)), ("time_slot[stop]", _iso(stop))]
        for _body, items, nxt in self.pages(
            "/v2/organizations/{organization_id}/notes",
            "notes",
            path_params={"organization_id": organization_id},
            params=params,
            page_start_id=page_start_id,
            page_limit=page_limit,
            operation="list notes",
        ):
            yield items, nxt

    def project_pages(
        self, organization_id: str | int, *, page_limit: int = DEFAULT_PAGE_LIMIT
    ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        for _body, items, nxt in self.pages(
            "/v2/organizations/{organization_id}/projects",
            "projects",
            path_params={"organization_id": organization_id},
            params=[("status", "all")],
            page_limit=page_limit,
            operation="list projects",
        ):
            yield items, nxt

    def get_task(self, task_id: str | int) -> dict[str, Any]:
        body = self._request("GET", "/v2/tasks/{task_id}", path_params={"task_id": task_id}, operation="get task")
        return self.require(body, "task", operation="get task")

    # ---- writes ----------------------------------------------------------------------------------------------

    def create_task(self, project_id: str | int, payload: dict[str, Any]) -> dict[str, Any]:
        body = self._request(
            "POST",
            "/v2/projects/{project_id}/tasks",
            path_params={"project_id": project_id},
            json=payload,
            operation="create task",
        )
        return self.require(body, "task", operation="create task")

    def update_task(self, task_id: str | int, payload: dict[str, Any], *, lock_version: int) -> dict[str, Any]:
        body = self._request(
            "PUT",
            "/v2/tasks/{task_id}",
            path_params={"task_id": task_id},
            json={**payload, "lock_version": lock_version},
            operation="update task",
        )
        return self.require(body, "task", operation="update task")

    def update_task_latest(
        self, task_id: str | int, payload: dict[str, Any], *, retries: int = LOCK_CONFLICT_RETRIES
    ) -> dict[str, Any]:
        """Read the current lock_version and update; on a lock conflict (someone else wrote) re-read and retry."""
        for attempt in range(retries + 1):
            task = self.get_task(task_id)
            try:
                return self.update_task(task_id, payload, lock_version=int(task.get("lock_version") or 0))
            except ConflictError:
                if attempt == retries:
                    raise
        raise AssertionError("unreachable")

    def delete_task(self, task_id: str | int) -> None:
        """DELETE /v2/tasks/{task_id} (simple to-dos only; Hubstaff answers 204)."""
        self._request(
            "DELETE",
            "/v2/tasks/{task_id}",
            path_params={"task_id": task_id},
            operation="delete task",
            expected=(200, 204),
        )

    def create_client(self, organization_id: str | int, payload: dict[str, Any]) -> dict[str, Any]:
        body = self._request(
            "POST",
            "/v2/organizations/{organization_id}/clients",
            path_params={"organization_id": organization_id},
            json=payload,
            operation="create client",
        )
        return self.require(body, "client", operation="create client")

    # ---- webhooks --------------------------------------------------------------------------------------------

    def create_webhook(
        self, organization_id: str | int, *, target_url: str, events: list[str] | None = None
    ) -> dict[str, Any]:
        """Hubstaff then POSTs `target_url` with X-Hook-Secret; the receiver echoes it and keeps the secret."""
        body = self._request(
            "POST",
            "/v2/organizations/{organization_id}/webhooks",
            path_params={"organization_id": organization_id},
            json={"events": events or ["*"], "target_url": target_url},
            operation="create webhook",
        )
        return body.get("webhook", body) if isinstance(body, dict) else {}

    def activate_webhook(self, webhook_id: str, secret: str) -> dict[str, Any]:
        body = self._request(
            "POST",
            "/v2/webhooks/{webhook_id}/activate",
            path_params={"webhook_id": webhook_id},
            headers={"X-Hook-Secret": secret},
            operation="activate webhook",
        )
        return body.get("webhook", body) if isinstance(body, dict) else {}

    def get_webhook(self, webhook_id: str) -> dict[str, Any]:
        body = self._request(
            "GET",
            "/v2/webhooks/{webhook_id}",
            path_params={"webhook_id": webhook_id},
            operation="get webhook",
        )
        return body.get("webhook", body) if isinstance(body, dict) else {}

    def delete_webhook(self, webhook_id: str) -> None:
        self._request(
            "DELETE",
            "/v2/webhooks/{webhook_id}",
            path_params={"webhook_id": webhook_id},
            operation="delete webhook",
            expected=(200, 204),
        )


def _method_of(response: requests.Response | None, exc: Exception | None) -> str:
    request = response.request if response is not None else getattr(exc, "request", None)
    return str(getattr(request, "method", "") or "").upper()


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_client(
    *,
    base_url: str,
    secrets: dict[str, Any],
    store: TokenStore | None,
    budget: RateBudget | NullBudget | None = None,
    on_call: Callable[[CallRecord], None] | None = None,
    sleep: Callable[[float], Any] = time.sleep,
) -> HubstaffClient:
    """The client for one connection: `base_url` "" = production, else the emulator (API and token endpoint)."""
    api_base = base_url.rstrip("/") or API_BASE_URL
    account_base = base_url.rstrip("/") or ACCOUNT_BASE_URL
    session = safe_session()  # checked addresses only, no environment proxy (apiclient/outbound.py)
    account = HubstaffAccountClient(
        base_url=account_base, on_call=on_call, session=session, sleep=sleep, max_attempts=3
    )
    tokens = token_provider(store or MemoryTokenStore(secrets), account)
    return HubstaffClient(
        tokens=tokens, base_url=api_base, budget=budget or NullBudget(), on_call=on_call, session=session, sleep=sleep
    )
