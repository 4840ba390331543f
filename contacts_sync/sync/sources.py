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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from contacts_sync.connectors.base import Page
from contacts_sync.connectors.ghl import webhooks as ghl_webhooks
from contacts_sync.connectors.ghl.reader import parse_moment
from contacts_sync.models import InboundEvent, Run, RunTrigger, SyncEvent

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


# Routed webhook events a coalesced run takes per page (services/event_runs.py): a page of records, like a source's.
EVENT_PAGE_SIZE = 200
# The cursor of a page of events: not None (None ends the run after the page), never read by a source.
EVENTS_CURSOR = {"events": "coalesced"}


def claim_events(run: Run, limit: int | None = EVENT_PAGE_SIZE) -> list[int]:
    """Claim up to `limit` of the sync's waiting events for this run (also those it claimed before a crash and
    had not finished); ids of the SyncEvent rows. SKIP LOCKED: a router inserting rows never blocks a run."""
    with transaction.atomic():
        qs = (
            SyncEvent.objects.select_for_update(skip_locked=True)
            .filter(Q(run__isnull=True) | Q(run_id=run.pk), sync_id=run.sync_id, done=False)
            .order_by("pk")
        )
        ids = list((qs[:limit] if limit else qs).values_list("pk", flat=True))
        if ids:
            SyncEvent.objects.filter(pk__in=ids).update(run_id=run.pk)
    return ids


def events_done(ids: list[int]) -> None:
    SyncEvent.objects.filter(pk__in=ids).update(done=True)


def pending_event_pages(run: Run, *, object_kind: str) -> Iterator[Page]:
    """The records the sync's waiting GHL events carry, page by page, until none waits: the latest of each
    record (by arrival) once per page. A page's rows are marked done after the engine committed it (a crash
    before that re-reads them; writes are idempotent). An event whose body holds no record is done unread."""
    while ids := claim_events(run):
        latest: dict[str, dict[str, Any]] = {}
        for event in (
            InboundEvent.objects.filter(sync_events__pk__in=ids)
            .only("provider", "event_type", "body")
            .order_by("received_at", "pk")
        ):
            page = event_page(event, source_provider="ghl", object_kind=object_kind)
            for record in page.records if page is not None else []:
                latest.pop(str(record["id"]), None)  # a later event of the record wins, in its arrival order
                latest[str(record["id"])] = record
        if latest:
            yield Page(records=list(latest.values()), cursor=dict(EVENTS_CURSOR))
        events_done(ids)


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


def cursor_options(
    *, trigger: str, mode: str, event_id: int | None, only_ids: bool, source_cursor: dict[str, Any] | None
) -> dict[str, Any]:
    """The source options a run takes from the sync's change cursor ({} when it reads everything)."""
    since = (source_cursor or {}).get("updated_since")
    if not since or mode != "incremental" or event_id is not None or only_ids or trigger not in CURSOR_TRIGGERS:
        return {}
    return {"updated_since": since}
