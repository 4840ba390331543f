"""starbuero.de connector: call records -> contacts (new leads) and notes (message/transcript); call-back tasks.

Connection: secrets {"api_token"} (Bearer); base_url "" for production or "http://127.0.0.1:8010/starbuero" for
the sandbox. Objects: contact (call records; {"source": "contacts"} reads the caller address book instead),
note (call records), task (call-back tasks; {"task_status": "completed"} for the "task completed" recipe).
The API is documented only by a community client, so the record shapes follow the emulator's documented
assumptions (docs/adding-a-connector.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contacts_sync.apiclient.budget import NullBudget
from contacts_sync.apiclient.client import ApiClient
from contacts_sync.apiclient.errors import AuthError, ValidationError
from contacts_sync.connectors.base import ConnectionInfo, FieldSpec, Page, SampleFromRead
from contacts_sync.connectors.registry import register
from contacts_sync.exceptions import ConfigurationError

API_BASE_URL = "https://backend.starbuero.de/external/api/v1"
PAGE_LIMIT = 200  # the API allows 10-1000 per page

CALL_FIELDS = [
    FieldSpec("id", "Call ID", "number"),
    FieldSpec("call_start", "Call start", "datetime"),
    FieldSpec("duration", "Duration (s)", "number"),
    FieldSpec("caller_name", "Caller name"),
    FieldSpec("caller_number", "Caller number", "phone"),
    FieldSpec("caller_company", "Caller company"),
    FieldSpec("caller_email", "Caller e-mail", "email"),
    FieldSpec("message", "Message"),
    FieldSpec("transcript", "Transcript", sensitive=True),
    FieldSpec("employee", "For employee"),
    FieldSpec("callback_requested", "Call back requested", "bool"),
]
CONTACT_FIELDS = [
    FieldSpec("id", "Contact ID", "number"),
    FieldSpec("salutation", "Salutation"),
    FieldSpec("firstname", "First name"),
    FieldSpec("lastname", "Last name"),
    FieldSpec("company", "Company"),
    FieldSpec("emailAddresses.0", "E-mail", "email"),
    FieldSpec("phoneNumbers.0", "Phone", "phone"),
    FieldSpec("vip", "VIP", "bool"),
    FieldSpec("notice", "Notice"),
]
TASK_FIELDS = [
    FieldSpec("id", "Task ID", "number"),
    FieldSpec("call_id", "Call ID", "number"),
    FieldSpec("title", "Title"),
    FieldSpec("status", "Status"),
    FieldSpec("created_at", "Created at", "datetime"),
    FieldSpec("completed_at", "Completed at", "datetime"),
]
OBJECTS = ["contact", "note", "task"]


class StarbueroClient(ApiClient):
    provider = "starbuero"

    def __init__(self, *, api_token: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_token = api_token

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_token}"}

    def company(self) -> dict[str, Any]:
        return self._request("GET", "/", operation="get company info")

    def pages(
        self,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        page: int = 1,
        limit: int = PAGE_LIMIT,
        operation: str,
    ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        """(items, next page or None) over `page`/`limit` paging."""
        while True:
            body = self._request(
                "GET", path, params={**(params or {}), "page": page, "limit": limit}, operation=operation
            )
            items = self.require(body, "data", operation=operation, kind=list)
            meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
            pages = meta.get("pages")
            more = page < pages if isinstance(pages, int) else len(items) == limit
            yield items, page + 1 if more else None
            if not more:
                return
            page += 1


class StarbueroConnector(SampleFromRead):
    provider = "starbuero"

    def __init__(self, info: ConnectionInfo) -> None:
        token = str(info.secrets.get("api_token") or "")
        if not token:
            raise ConfigurationError("The starbuero.de connection has no API token")
        self.client = StarbueroClient(
            api_token=token,
            base_url=info.base_url.rstrip("/") or API_BASE_URL,
            budget=NullBudget(),
            on_call=info.on_call,
        )  # no documented limit

    def objects(self) -> list[str]:
        return list(OBJECTS)

    def fields(self, object_kind: str, *, options: dict[str, Any] | None = None) -> list[FieldSpec]:
        if object_kind == "task":
            return list(TASK_FIELDS)
        if object_kind == "contact" and (options or {}).get("source") == "contacts":
            return list(CONTACT_FIELDS)
        if object_kind in ("contact", "note"):
            return list(CALL_FIELDS)
        raise ConfigurationError(f"starbuero.de has no {object_kind!r} objects (it has {', '.join(OBJECTS)})")

    def record_id(self, object_kind: str, record: dict[str, Any]) -> str:
        if record.get("id") in (None, ""):
            raise ValidationError(
                "starbuero.de record has no id", operation="record id", provider=self.provider
            )
        return str(record["id"])

    def read(
        self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]
    ) -> Iterator[Page]:
        """Pages by number (oldest first). For call records `options["updated_since"]` becomes startDateTime."""
        self.fields(object_kind, options=options)  # validates the object kind
        params: dict[str, Any] = {}
        if object_kind == "task":
            path, operation = "/tasks", "list tasks"
            if options.get("task_status"):
                params["status"] = options["task_status"]
        elif object_kind == "contact" and options.get("source") == "contacts":
            path, operation = "/addon_contact/contact", "list contacts"
        else:
            path, operation = "/call_data", "list call records"
            if options.get("updated_since"):
                params["startDateTime"] = str(options["updated_since"]).replace("Z", "")[:19]
        limit = min(1000, max(10, int(options.get("page_limit") or PAGE_LIMIT)))
        for items, nxt in self.client.pages(
            path, params=params, page=int((cursor or {}).get("page") or 1), limit=limit, operation=operation
        ):
            yield Page(records=items, cursor={"page": nxt} if nxt is not None else None)

    def test(self) -> str:
        try:
            info = self.client.company()
        except AuthError as exc:
            exc.message = f"starbuero.de rejected the API token ({exc.message})"
            raise
        return f"starbuero.de account {info.get('info_unternehmen') or '(no company info)'}"


@register("starbuero")
def starbuero_connector(info: ConnectionInfo) -> StarbueroConnector:
    return StarbueroConnector(info)
