"""starbuero.de as a source: call records -> contacts (new leads) and notes; call-back tasks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contacts_sync.connectors.base import BaseConnector, ConnectionInfo, Page, SourceField

from . import spec
from .client import API_BASE_URL, PAGE_LIMIT, StarbueroClient

CALL_FIELDS = [
    SourceField("id", "Call ID", "number"),
    SourceField("call_start", "Call start", "datetime"),
    SourceField("duration", "Duration (s)", "number"),
    SourceField("caller_name", "Caller name"),
    SourceField("caller_number", "Caller number", "phone"),
    SourceField("caller_company", "Caller company"),
    SourceField("caller_email", "Caller e-mail", "email"),
    SourceField("message", "Message"),
    SourceField("transcript", "Transcript", sensitive=True),
    SourceField("employee", "For employee"),
    SourceField("callback_requested", "Call back requested", "bool"),
]
CONTACT_FIELDS = [
    SourceField("id", "Contact ID", "number"),
    SourceField("salutation", "Salutation"),
    SourceField("firstname", "First name"),
    SourceField("lastname", "Last name"),
    SourceField("company", "Company"),
    SourceField("emailAddresses.0", "E-mail", "email"),
    SourceField("phoneNumbers.0", "Phone", "phone"),
    SourceField("vip", "VIP", "bool"),
    SourceField("notice", "Notice"),
]
TASK_FIELDS = [
    SourceField("id", "Task ID", "number"),
    SourceField("call_id", "Call ID", "number"),
    SourceField("title", "Title"),
    SourceField("status", "Status"),
    SourceField("created_at", "Created at", "datetime"),
    SourceField("completed_at", "Completed at", "datetime"),
]


class StarbueroConnector(BaseConnector):
    SPEC = spec.SPEC
    API_BASE_URL = API_BASE_URL
    FIELDS = {"contact": CALL_FIELDS, "note": CALL_FIELDS, "task": TASK_FIELDS}

    def __init__(self, info: ConnectionInfo) -> None:
        super().__init__(info)
        self.client = StarbueroClient(
            api_token=self.secret("api_token"), base_url=self.api_base_url(), budget=self.budget(),
            on_call=info.on_call,
        )  # no documented limit: no budget

    def fields(self, object_kind: str, *, options: dict[str, Any] | None = None) -> list[SourceField]:
        if object_kind == "contact" and (options or {}).get("source") == "contacts":
            return list(CONTACT_FIELDS)
        return super().fields(object_kind, options=options)

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

    def probe(self) -> str:
        info = self.client.company()
        return f"starbuero.de account {info.get('info_unternehmen') or '(no company info)'}"
