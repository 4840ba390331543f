"""Hubstaff as a source (clients/members -> contacts, tasks, notes) and a target (tasks).

Records handed to the engine are Hubstaff's own JSON objects (members carry their user under `user`).
Cursors are plain JSON: {"page_start_id": N} for clients/members/tasks, plus {"window_start": ISO} for notes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from contacts_sync.apiclient.errors import ConflictError, NotFoundError, ValidationError
from contacts_sync.connectors.base import BaseConnector, ConnectionInfo, Page, SourceField, budget_account
from contacts_sync.exceptions import ConfigurationError

from . import spec
from .client import DEFAULT_PAGE_LIMIT, LOCK_CONFLICT_RETRIES, HubstaffClient, build_client

# Notes can only be listed in time_slot windows of at most 31 days (spec); we use 30 to stay clear of the edge.
NOTES_WINDOW = timedelta(days=30)
# Hubstaff keeps notes for 3 years; a first notes run without a start date looks back this far.
NOTES_DEFAULT_LOOKBACK = timedelta(days=30)
NOTES_MAX_LOOKBACK = timedelta(days=3 * 365 - 1)
# Fields a task write may carry (postV2ProjectsProjectIdTasks / putV2TasksTaskId in the spec).
# `details` is a Task field the spec's write bodies do not list; it is sent anyway (see the spec gaps).
TASK_CREATE_FIELDS = {
    "summary",
    "details",
    "assignee_id",
    "assignee_ids",
    "metadata",
    "pay_rate",
    "bill_rate",
}
TASK_UPDATE_FIELDS = TASK_CREATE_FIELDS | {"status"}
# The statuses a task update may set (putV2TasksTaskId).
TASK_STATUSES = ("active", "completed")

CLIENT_FIELDS = [
    SourceField("id", "Client ID", "number"),
    SourceField("name", "Name"),
    SourceField("emails.0", "First e-mail", "email"),
    SourceField("emails", "All e-mails", "list"),
    SourceField("phone", "Phone", "phone"),
    SourceField("address", "Address"),
    SourceField("status", "Status"),
    SourceField("invoice_notes", "Invoice notes"),
    SourceField("net_terms", "Net terms (days)"),
    SourceField("project_ids", "Project IDs", "list"),
    SourceField("metadata", "Metadata (key/value)", "list"),
    SourceField("metadata.industry", "Metadata: industry"),
    SourceField("metadata.tier", "Metadata: tier"),
    SourceField("created_at", "Created at", "datetime"),
    SourceField("updated_at", "Updated at", "datetime"),
]
MEMBER_FIELDS = [
    SourceField("user_id", "User ID", "number"),
    SourceField("user.name", "Full name"),
    SourceField("user.first_name", "First name"),
    SourceField("user.last_name", "Last name"),
    SourceField("user.email", "E-mail", "email"),
    SourceField("user.time_zone", "Time zone"),
    SourceField("user.ip_address", "Last IP address", sensitive=True),
    SourceField("membership_role", "Role"),
    SourceField("membership_status", "Membership status"),
    SourceField("profile.job_title", "Job title"),
    SourceField("profile.location", "Location"),
    SourceField("metadata", "Metadata (key/value)", "list"),
    SourceField("created_at", "Member since", "datetime"),
    SourceField("updated_at", "Updated at", "datetime"),
]
TASK_FIELDS = [
    SourceField("id", "Task ID", "number"),
    SourceField("summary", "Summary"),
    SourceField("details", "Details"),
    SourceField("status", "Status"),
    SourceField("project_id", "Project ID", "number"),
    SourceField("client_id", "Client ID (of the project; added by the connector)", "number"),
    SourceField("assignee_ids", "Assignee user IDs", "list"),
    SourceField("due_at", "Due at", "datetime"),
    SourceField("completed_at", "Completed at", "datetime"),
    SourceField("lock_version", "Lock version", "number"),
    SourceField("metadata", "Metadata (key/value)", "list"),
    SourceField("created_at", "Created at", "datetime"),
    SourceField("updated_at", "Updated at", "datetime"),
]
NOTE_FIELDS = [
    SourceField("id", "Note ID", "number"),
    SourceField("note", "Text"),
    SourceField("time_slot", "Time slot", "datetime"),
    SourceField("recorded_at", "Recorded at", "datetime"),
    SourceField("date", "Date", "date"),
    SourceField("user_id", "User ID", "number"),
    SourceField("project_id", "Project ID", "number"),
    SourceField("client_id", "Client ID (of the project; added by the connector)", "number"),
    SourceField("task_id", "Task ID", "number"),
]
# What a write to a Hubstaff task accepts (for the mapping editor when Hubstaff is the target).
TASK_TARGET_FIELDS = [
    SourceField("summary", "Summary (required)"),
    SourceField("details", "Details"),
    SourceField("status", "Status (active | completed; updates only)"),
    SourceField("assignee_ids", "Assignee user IDs", "list"),
    SourceField("project_id", "Project ID (else the sync's project)", "number"),
    SourceField("metadata.ghl_contact_id", "Metadata: GHL contact id"),
    SourceField("metadata.ghl_task_id", "Metadata: GHL task id"),
    SourceField("metadata.ghl_note_id", "Metadata: GHL note id"),
    SourceField("metadata.ghl_appointment_id", "Metadata: GHL appointment id"),
]


def _parse_dt(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ConfigurationError(f"{value!r} is not an ISO 8601 date-time") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class HubstaffConnector(BaseConnector):
    SPEC = spec.SPEC
    FIELDS = {"task": TASK_FIELDS, "note": NOTE_FIELDS}

    def __init__(self, info: ConnectionInfo, client: HubstaffClient | None = None) -> None:
        super().__init__(info)
        self.organization_id = str(info.account_id or info.config.get("organization_id") or "")
        self._project_clients: dict[int, int] | None = None
        self.client = client or build_client(
            base_url=info.base_url,
            secrets=info.secrets,
            store=info.token_store,
            budget=self.budget(account=budget_account(self.organization_id, info.base_url)),
            on_call=info.on_call,
        )

    # ---- description -----------------------------------------------------------------------------------------

    def fields(self, object_kind: str, *, options: dict[str, Any] | None = None) -> list[SourceField]:
        if object_kind == "contact":
            return list(MEMBER_FIELDS if (options or {}).get("source") == "members" else CLIENT_FIELDS)
        return super().fields(object_kind, options=options)

    def target_fields(self, object_kind: str) -> list[SourceField]:
        if object_kind != "task":
            raise ConfigurationError("only Hubstaff tasks can be written")
        return list(TASK_TARGET_FIELDS)

    def record_id(self, object_kind: str, record: dict[str, Any]) -> str:
        value = record.get("id", record.get("user_id"))  # members are keyed by user_id
        if value in (None, ""):
            raise ValidationError(
                f"Hubstaff {object_kind} record has no id", operation="record id", provider=self.provider
            )
        return str(value)

    def _org(self) -> str:
        if not self.organization_id:
            raise ConfigurationError("The Hubstaff connection has no organization id")
        return self.organization_id

    # ---- reads -----------------------------------------------------------------------------------------------

    def read(self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]) -> Iterator[Page]:
        """Pages since `cursor`. `options["updated_since"]` (ISO) narrows to changed records where Hubstaff allows
        it (members server-side; clients and tasks client-side, since the API has no such filter)."""
        cursor = cursor or {}
        page_limit = int(options.get("page_limit") or DEFAULT_PAGE_LIMIT)
        start_id = int(cursor.get("page_start_id") or 0)
        since = _parse_dt(options.get("updated_since"))
        if object_kind == "note":
            yield from self._read_notes(cursor, options, page_limit)
            return
        if object_kind == "contact" and options.get("source") == "members":
            pages = self.client.member_pages(
                self._org(),
                updated_since=since.isoformat() if since else None,
                page_start_id=start_id,
                page_limit=page_limit,
            )
        elif object_kind == "contact":
            pages = self.client.client_pages(
                self._org(),
                status=str(options.get("client_status") or "active"),
                page_start_id=start_id,
                page_limit=page_limit,
            )
        elif object_kind == "task":
            statuses = options.get("task_statuses") or ["active", "completed"]
            project_ids = [int(p) for p in options.get("project_ids") or []]
            pages = self.client.task_pages(
                self._org(),
                statuses=list(statuses),
                project_ids=project_ids,
                page_start_id=start_id,
                page_limit=page_limit,
            )
        else:
            self.check_object(object_kind)
            return
        for items, nxt in pages:
            if since is not None:
                items = [r for r in items if (_parse_dt(r.get("updated_at")) or since) >= since]
            if object_kind == "task":
                items = self._with_client_ids(items)
            yield Page(records=items, cursor={"page_start_id": nxt} if nxt is not None else None)

    def _read_notes(self, cursor: dict[str, Any], options: dict[str, Any], page_limit: int) -> Iterator[Page]:
        now = datetime.now(UTC)
        window_start = (
            _parse_dt(cursor.get("window_start"))
            or _parse_dt(options.get("updated_since"))
            or (now - timedelta(days=int(options.get("notes_lookback_days") or NOTES_DEFAULT_LOOKBACK.days)))
        )
        window_start = max(window_start, now - NOTES_MAX_LOOKBACK)
        start_id = int(cursor.get("page_start_id") or 0)
        while window_start < now:
            window_stop = min(window_start + NOTES_WINDOW, now)
            for items, nxt in self.client.note_pages(
                self._org(),
                start=window_start,
                stop=window_stop,
                page_start_id=start_id,
                page_limit=page_limit,
            ):
                if nxt is not None:
                    next_cursor: dict[str, Any] | None = {
                        "window_start": window_start.isoformat(),
                        "page_start_id": nxt,
                    }
                elif window_stop < now:
                    next_cursor = {"window_start": window_stop.isoformat(), "page_start_id": 0}
                else:
                    next_cursor = None
                yield Page(records=self._with_client_ids(items), cursor=next_cursor)
            window_start, start_id = window_stop, 0

    def _with_client_ids(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Tasks and notes name their project only; the GHL recipes attach them to the project's client's
        contact, so each record gets `client_id` (absent when the project has no client)."""
        if self._project_clients is None:
            self._project_clients = {
                int(p["id"]): int(p["client_id"])
                for items, _ in self.client.project_pages(self._org())
                for p in items
                if p.get("client_id")
            }
        out = []
        for record in records:
            client_id = self._project_clients.get(int(record.get("project_id") or 0))
            out.append({**record, "client_id": client_id} if client_id else record)
        return out

    def probe(self) -> str:
        """Cheap reads: the token's user and (when set) the organization it must be a member of."""
        user = self.client.me()
        who = f"{user.get('name') or '?'} <{user.get('email') or 'no e-mail'}>"
        if not self.organization_id:
            return f"Hubstaff user {who}"
        org = self.client.organization(self.organization_id)
        return f"Hubstaff organization {org.get('name')} ({org.get('id')}) as {who}"

    # ---- writes ----------------------------------------------------------------------------------------------

    def write(
        self, object_kind: str, payload: dict[str, Any], *, target_id: str | None, options: dict[str, Any]
    ) -> tuple[str, bool]:
        """Create a task in the sync's project, or update one (lock_version handled). Returns (task id, created)."""
        if object_kind != "task":
            raise ConfigurationError(f"writing Hubstaff {object_kind!r} records is not supported (only tasks)")
        body = task_body(payload)
        if target_id:
            unknown = set(body) - TASK_UPDATE_FIELDS
            if unknown:
                raise _bad(f"unknown Hubstaff task fields: {', '.join(sorted(unknown))}")
            task = self.client.update_task_latest(target_id, body)
            return str(task["id"]), False
        project_id = payload.get("project_id") or options.get("project_id") or self.info.config.get("project_id")
        if not project_id:
            raise ConfigurationError("creating a Hubstaff task needs a project id (set it on the sync)")
        body.pop("status", None)  # a new task is always active (the create body has no status)
        unknown = set(body) - TASK_CREATE_FIELDS
        if unknown:
            raise _bad(f"unknown Hubstaff task fields: {', '.join(sorted(unknown))}")
        if not str(body.get("summary") or "").strip():
            raise _bad("a Hubstaff task needs a summary")
        task = self.client.create_task(project_id, body)
        return str(task["id"]), True

    def delete(self, object_kind: str, target_id: str, *, options: dict[str, Any]) -> None:
        """Delete a task this product created (a GHL-source sync whose delete policy is "mirror"); a task that is
        already gone counts as deleted."""
        if object_kind != "task":
            raise ConfigurationError(f"deleting Hubstaff {object_kind!r} records is not supported (only tasks)")
        try:
            self.client.delete_task(target_id)
        except NotFoundError:
            return

    def status_set(self, object_kind: str, record_id: str, status: str) -> bool:
        """Set a task's status (active | completed) unless it has it already; True when it was written.
        Hubstaff updates need the task's current lock_version: read, write, and on a conflict (someone wrote in
        between) read again."""
        if object_kind != "task":
            raise ConfigurationError(f"the status of Hubstaff {object_kind!r} records cannot be set")
        if status not in TASK_STATUSES:
            raise _bad(f"a Hubstaff task status is one of {', '.join(TASK_STATUSES)}, not {status!r}")
        for attempt in range(LOCK_CONFLICT_RETRIES + 1):
            task = self.client.get_task(record_id)
            if task.get("status") == status:
                return False
            try:
                self.client.update_task(record_id, {"status": status}, lock_version=int(task.get("lock_version") or 0))
                return True
            except ConflictError:
                if attempt == LOCK_CONFLICT_RETRIES:
                    raise
        raise AssertionError("unreachable")


def task_body(payload: dict[str, Any]) -> dict[str, Any]:
    """Mapped payload -> Hubstaff's request body: `metadata.<key>` entries become [{key, value}]."""
    body: dict[str, Any] = {}
    metadata: list[dict[str, str]] = []
    for key, value in payload.items():
        if key == "project_id":
            continue
        if key.startswith("metadata."):
            metadata.append({"key": key.split(".", 1)[1], "value": "" if value is None else str(value)[:200]})
        elif key == "metadata" and isinstance(value, dict):
            metadata += [{"key": str(k), "value": str(v)[:200]} for k, v in value.items()]
        elif key == "metadata" and isinstance(value, list):
            metadata += value
        else:
            body[key] = value
    if metadata:
        body["metadata"] = metadata
    return body


def _bad(message: str) -> ValidationError:
    return ValidationError(message, operation="write task", provider="hubstaff")
