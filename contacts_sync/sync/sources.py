"""What a run reads: the one record a GHL webhook carries, or the source's pages; and the sync's change cursor.

A run made for a GHL event (Contact*, Task*, Note*, Appointment*, Record*) syncs just the event's own record: the
event carries it whole, so reading GHL again would only spend the location's rate budget. A *Delete event marks
the record `_deleted`, so the sync's delete policy applies.

The change cursor (`Sync.source_cursor`) lets polls read only what changed: a source whose app declares where a
record keeps its last-change time (`AppSpec.change_paths`) is read with `updated_since` = the newest change a
finished run saw. A record whose write failed for a passing reason holds the cursor back to its own change, so
the next poll reads it again; a record the target refused for good does not (it comes back when it changes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contacts_sync.connectors.base import Page
from contacts_sync.connectors.ghl import webhooks as ghl_webhooks
from contacts_sync.connectors.ghl.reader import parse_moment
from contacts_sync.models import InboundEvent, RunTrigger

# Triggers whose incremental runs start at the sync's change cursor. A manual run reads everything: a person
# pressing "Run now" asks for a check of the whole source.
CURSOR_TRIGGERS = (RunTrigger.RECONCILE, RunTrigger.SCHEDULE, RunTrigger.WEBHOOK)


def event_page(event: InboundEvent | None, *, source_provider: str, object_kind: str) -> Page | None:
    """The one-record page of a run made for a GHL event of this object kind; None when the run reads the source
    (no event, another app, another object, or a body without a record)."""
    if event is None or event.provider != "ghl" or source_provider != "ghl":
        return None
    kind = ghl_webhooks.object_kind(event.event_type) if event.event_type else "contact"
    if kind != object_kind:
        return None
    try:
        body = json.loads(event.body)
    except (TypeError, ValueError):
        return None
    record = ghl_webhooks.event_record(body, kind)
    if record is None:
        return None
    if ghl_webhooks.is_delete(event.event_type):
        record = {**record, "_deleted": True}
    return Page(records=[record], cursor=None)


@dataclass
class Watermark:
    """The newest change a run read, held back to the oldest record whose write failed for a passing reason."""

    path: str | None
    newest: datetime | None = None
    held_back: datetime | None = None

    def saw(self, record: dict[str, Any], *, retry_later: bool) -> None:
        if not self.path:
            return
        moment = parse_moment(record.get(self.path))
        if moment is None:
            return
        if retry_later:
            self.held_back = moment if self.held_back is None else min(self.held_back, moment)
        self.newest = moment if self.newest is None else max(self.newest, moment)

    def cursor(self) -> dict[str, str] | None:
        """The cursor to store, or None when the run read no dated record."""
        moment = self.held_back or self.newest
        return {"updated_since": moment.isoformat().replace("+00:00", "Z")} if moment else None


def cursor_options(*, trigger: str, mode: str, event_id: int | None, only_ids: bool,
                   source_cursor: dict[str, Any] | None) -> dict[str, Any]:
    """The source options a run takes from the sync's change cursor ({} when it reads everything)."""
    since = (source_cursor or {}).get("updated_since")
    if not since or mode != "incremental" or event_id is not None or only_ids or trigger not in CURSOR_TRIGGERS:
        return {}
    return {"updated_since": since}
