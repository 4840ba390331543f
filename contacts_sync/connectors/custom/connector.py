"""Your app as a source: REST polling with a `since` cursor (contacts, tasks, notes at configurable paths; by
default /records, /tasks and /notes, as the reference emulator serves them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contacts_sync.connectors.base import BaseConnector, ConnectionInfo, Page, SourceField
from contacts_sync.exceptions import ConfigurationError

from . import spec
from .client import PAGE_LIMIT, CustomAppClient

DEFAULT_PATHS = {"contact": "/records", "task": "/tasks", "note": "/notes"}

CONTACT_FIELDS = [
    SourceField("id", "Record ID"),
    SourceField("first_name", "First name"),
    SourceField("last_name", "Last name"),
    SourceField("email", "E-mail", "email"),
    SourceField("phone", "Phone", "phone"),
    SourceField("company", "Company"),
    SourceField("tags", "Tags", "list"),
    SourceField("updated_at", "Updated at", "datetime"),
    SourceField("deleted_at", "Deleted at", "datetime"),
]
# Tasks and notes name their contact in `contact_id` (the id of a record of the contact path).
TASK_FIELDS = [
    SourceField("id", "Task ID"),
    SourceField("contact_id", "Contact (record) ID"),
    SourceField("title", "Title"),
    SourceField("description", "Description"),
    SourceField("due_date", "Due date", "datetime"),
    SourceField("created_at", "Created at", "datetime"),
    SourceField("status", "Status (open | completed)"),
    SourceField("updated_at", "Updated at", "datetime"),
    SourceField("deleted_at", "Deleted at", "datetime"),
]
NOTE_FIELDS = [
    SourceField("id", "Note ID"),
    SourceField("contact_id", "Contact (record) ID"),
    SourceField("body", "Text"),
    SourceField("updated_at", "Updated at", "datetime"),
    SourceField("deleted_at", "Deleted at", "datetime"),
]


class CustomAppConnector(BaseConnector):
    SPEC = spec.SPEC
    FIELDS = {"contact": CONTACT_FIELDS, "task": TASK_FIELDS, "note": NOTE_FIELDS}

    def __init__(self, info: ConnectionInfo) -> None:
        super().__init__(info)
        if not info.base_url:
            raise ConfigurationError("A custom app connection needs the app's base URL")
        self.paths = {**DEFAULT_PATHS, **(info.config.get("paths") or {})}
        self.client = CustomAppClient(
            api_token=str(info.secrets.get("api_token") or ""),  # optional: some apps only push webhooks
            base_url=self.api_base_url(),
            budget=self.budget(),
            on_call=info.on_call,
        )

    def objects(self) -> list[str]:
        return sorted(self.paths)

    def _path(self, object_kind: str) -> str:
        try:
            return str(self.paths[object_kind])
        except KeyError:
            raise ConfigurationError(
                f"this custom app has no path for {object_kind!r} records (configured: {', '.join(sorted(self.paths))})"
            ) from None

    def fields(self, object_kind: str, *, options: dict[str, Any] | None = None) -> list[SourceField]:
        self._path(object_kind)
        if object_kind in self.FIELDS:
            return list(self.FIELDS[object_kind])
        sample = self.sample(object_kind, limit=1)
        return [SourceField(k, k) for k in (sample[0] if sample else {})]  # whatever the app sends

    def read(self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]) -> Iterator[Page]:
        """Keyset pages since `options["updated_since"]`; the cursor carries the app's opaque next_cursor."""
        path = self._path(object_kind)
        cursor = cursor or {}
        since = cursor.get("since") or options.get("updated_since")
        limit = int(options.get("page_limit") or PAGE_LIMIT)
        for items, nxt in self.client.pages(path, since=since, cursor=cursor.get("cursor"), limit=limit):
            yield Page(records=items, cursor={"cursor": nxt, "since": since} if nxt else None)

    def probe(self) -> str:
        path = self._path("contact" if "contact" in self.paths else self.objects()[0])
        items, _ = next(self.client.pages(path, since=None, cursor=None, limit=1))
        return f"custom app at {self.client.base_url} answers {path} ({len(items)} record(s) on a 1-record page)"
