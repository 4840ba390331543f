"""The engine's small parts: the API-call recorder, the parent lookup of tasks and notes, one record's Step, and
the texts and hashes of failures (kept apart so the engine module stays about the run itself)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contacts_sync.apiclient.calls import CallRecord
from contacts_sync.apiclient.errors import ApiError
from contacts_sync.models import ACTIVE_RUN_STATUSES, ItemAction, RecordLink, Run, RunItem

from .persist import Outcome


@dataclass
class CallRecorder:
    """Collects CallRecords from the source and target clients; the engine flushes them per page."""

    records: list[CallRecord] = field(default_factory=list)

    def __call__(self, record: CallRecord) -> None:
        self.records.append(record)

    def drain(self) -> list[CallRecord]:
        out, self.records = self.records, []
        return out


@dataclass
class ParentLookup:
    """Finds the GHL contact id of a task's/note's parent in the links of the contact syncs (one query/page)."""

    sync_ids: list[int]
    default_parent_id: str | None = None
    # parent source id -> why the contact sync's last run failed it (for the parents `resolve` did not find)
    failed: dict[str, str] = field(default_factory=dict)

    def resolve(self, parent_source_ids: set[str]) -> dict[str, str]:
        if not parent_source_ids or not self.sync_ids:
            return {}
        rows = RecordLink.objects.filter(sync_id__in=self.sync_ids, source_id__in=parent_source_ids).exclude(
            target_id=""
        )
        found = {sid: tid.split("/", 1)[0] for sid, tid in rows.values_list("source_id", "target_id")}
        self.failed = self._failures(parent_source_ids - found.keys()) if len(found) < len(parent_source_ids) else {}
        return found

    def _failures(self, missing: set[str]) -> dict[str, str]:
        """Why the contact syncs' last finished runs failed these parents (index run+source_id, one query)."""
        last_runs = (
            Run.objects.filter(sync_id__in=self.sync_ids)
            .exclude(status__in=ACTIVE_RUN_STATUSES)
            .order_by("sync_id", "-pk")
            .distinct("sync_id")
            .values("pk")
        )
        rows = RunItem.objects.filter(run_id__in=last_runs, source_id__in=missing, action=ItemAction.FAILED)
        return dict(rows.values_list("source_id", "error_message"))


@dataclass
class Step:
    """What to do with one record of a page: a finished outcome, or a push (create/update/delete/tag)."""

    sid: str
    outcome: Outcome | None = None
    action: str = "push"  # push | delete | tag
    payload: dict[str, Any] = field(default_factory=dict)
    shown: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    warnings: str = ""
    target_id: str | None = None
    parent_id: str | None = None
    identity: str = ""
    adopt_since: datetime | None = None
    tags: list[str] = field(default_factory=list)  # the payload's tags, for a writer that removes dropped ones
    untag: list[str] = field(default_factory=list)  # tags this sync wrote before that the source no longer has


def tag_changes(payload: dict[str, Any], link: RecordLink | None) -> tuple[list[str], list[str]]:
    """(the payload's tags, the tags this sync wrote before that the payload no longer has); GHL tags are
    case-insensitive (it stores them lower-cased)."""
    raw = payload.get("tags")
    tags = [str(t) for t in raw] if isinstance(raw, list) else [str(raw)] if raw else []
    kept = {t.strip().lower() for t in tags}
    before = link.tags_written if link is not None and isinstance(link.tags_written, list) else []
    return tags, [str(t) for t in before if str(t).strip().lower() not in kept]


def error_text(exc: ApiError) -> str:
    messages = getattr(exc, "messages", None) or []
    text = str(exc)
    extra = [m for m in messages if m not in text]
    if extra:
        text += " | " + "; ".join(extra)
    if exc.request_id:
        text += f" (request id {exc.request_id})"
    return text


def source_hash(record: dict[str, Any], content_hash: Callable[[Any], str]) -> str:
    """The hash of a record that failed before it had a payload: an acknowledged failure returns when it changes."""
    try:
        return content_hash(record)
    except (TypeError, ValueError):
        return content_hash(json.dumps(record, default=str, sort_keys=True))
