"""A source made of the records another sync wrote: the GHL tasks a Hubstaff task sync created, read back from
GHL with the id of the record each one mirrors. The "GHL task completed -> Hubstaff task completed" recipe reads
it, so a completion in HighLevel finds its Hubstaff task by the forward sync's link (identity is the source id),
never by a title.

Reading goes through the GHL connector's client (its rate budget and call records); the links come from the
database, which is why this lives in sync/ and not in the connector.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contacts_sync.apiclient.errors import NotFoundError
from contacts_sync.connectors.base import Page, SourceField
from contacts_sync.models import RecordLink, Sync

# Links per page: a page costs one GET /contacts/{id}/tasks per distinct contact among them.
LINKS_PER_PAGE = 100

TASK_FIELDS = [
    SourceField("id", "GHL task id"),
    SourceField("title", "Title"),
    SourceField("body", "Description"),
    SourceField("dueDate", "Due date", "datetime"),
    SourceField("completed", "Completed", "bool"),
    SourceField("contactId", "GHL contact id"),
    SourceField("counterpart_id", "Id of the record this task mirrors (from the forward sync's link)"),
]


def forward_syncs(sync: Sync, object_kind: str) -> list[int]:
    """The syncs that wrote this sync's source records: from its target connection's `object_kind` to its
    source connection (a Hubstaff -> GHL task sync, for a GHL -> Hubstaff completion sync)."""
    return list(
        Sync.objects.filter(
            source_connection_id=sync.target_connection_id,
            target_connection_id=sync.source_connection_id,
            source_object=object_kind,
            target_object=sync.source_object,
        )
        .exclude(pk=sync.pk)
        .values_list("pk", flat=True)
    )


class MirroredTasks:
    """GHL tasks written by the forward syncs, each as GHL returns it plus `contactId` and `counterpart_id`
    (the forward sync's source id). With `completed_only`, only completed tasks are handed on: the flow
    completes, it never reopens (a task reopened in HighLevel is left alone in the other app)."""

    def __init__(self, ghl: Any, sync_ids: list[int], *, completed_only: bool = True) -> None:
        self.ghl = ghl
        self.client = ghl.client
        self.sync_ids = sync_ids
        self.completed_only = completed_only
        self.provider = ghl.provider

    def objects(self) -> list[str]:
        return ["task"]

    def fields(self, object_kind: str, *, options: dict[str, Any] | None = None) -> list[SourceField]:
        return list(TASK_FIELDS)

    def record_id(self, object_kind: str, record: dict[str, Any]) -> str:
        return str(record["id"])

    def is_deleted(self, object_kind: str, record: dict[str, Any]) -> bool:
        return False

    def read(self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]) -> Iterator[Page]:
        after = int((cursor or {}).get("after_link") or 0)
        size = int(options.get("page_limit") or LINKS_PER_PAGE)
        while True:
            links = list(
                RecordLink.objects.filter(sync_id__in=self.sync_ids, pk__gt=after, target_gone_at=None)
                .exclude(target_id="")
                .order_by("pk")
                .values_list("pk", "source_id", "target_id")[:size]
            )
            if not links:
                yield Page(records=[], cursor=None)
                return
            after = links[-1][0]
            records = self._tasks_of(links)
            yield Page(records=records, cursor={"after_link": after} if len(links) == size else None)
            if len(links) < size:
                return

    def _tasks_of(self, links: list[tuple[int, str, str]]) -> list[dict[str, Any]]:
        wanted: dict[str, dict[str, str]] = {}
        for _pk, source_id, target_id in links:
            contact_id, _, task_id = target_id.partition("/")
            if contact_id and task_id:
                wanted.setdefault(contact_id, {})[task_id] = source_id
        out: list[dict[str, Any]] = []
        for contact_id, tasks in wanted.items():
            try:
                rows = self.client.list_tasks(contact_id)
            except NotFoundError:
                continue  # the contact was deleted in HighLevel: its tasks went with it
            for task in rows:
                task_id = str(task.get("id") or "")
                if task_id in tasks and (task.get("completed") is True or not self.completed_only):
                    out.append({**task, "id": task_id, "contactId": contact_id, "counterpart_id": tasks[task_id]})
        return out

    def sample(
        self, object_kind: str, *, limit: int = 5, options: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in self.read(object_kind, cursor=None, options=dict(options or {})):
            out.extend(page.records)
            if len(out) >= limit:
                break
        return out[:limit]

    def test(self) -> str:
        return str(self.ghl.test())


class LinkedTargets:
    """The target id another sync linked to a source id: the starbuero.de address-book entry the "GHL lead ->
    address book" sync made for a GHL contact, so that a contact bundle goes into that entry, not a second one."""

    def __init__(self, sync_ids: list[int]) -> None:
        self.sync_ids = sync_ids

    def __call__(self, source_id: str) -> str | None:
        if not self.sync_ids:
            return None
        return (
            RecordLink.objects.filter(sync_id__in=self.sync_ids, source_id=source_id, target_gone_at=None)
            .exclude(target_id="")
            .order_by("pk")
            .values_list("target_id", flat=True)
            .first()
        )
