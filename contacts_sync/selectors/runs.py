"""The run history (filters, pages), a run's detail (items, calls, timeline) and its poll token."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection as db
from django.db.models import Aggregate, Count, FloatField, Max, QuerySet, Sum
from django.utils import timezone

from contacts_sync.connectors import registry
from contacts_sync.connectors.spec import RecordRef
from contacts_sync.models import (
    ACTIVE_RUN_STATUSES,
    STALLED_AFTER_SECONDS,
    ApiCall,
    ItemAction,
    Run,
    RunItem,
    RunStatus,
    RunTrigger,
    StatusChange,
    Sync,
)

RUNS_PER_PAGE = 50
ITEMS_PER_PAGE = 50
CALLS_PER_PAGE = 100


class Percentile(Aggregate):
    """PostgreSQL percentile_cont(p) WITHIN GROUP (ORDER BY expr)."""

    function = "percentile_cont"
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, percentile: float, **extra: Any) -> None:
        super().__init__(expression, percentile=float(percentile), **extra)


@dataclass
class RunFilters:
    sync_id: int | None = None
    status: str = ""
    trigger: str = ""
    date_from: date | None = None
    date_to: date | None = None
    problems: list[str] = field(default_factory=list)  # human messages for values that were ignored

    def as_query(self) -> dict[str, str]:
        out = {
            "sync": str(self.sync_id or ""),
            "status": self.status,
            "trigger": self.trigger,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in out.items() if v}


def _parse_date(raw: str, label: str, problems: list[str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        problems.append(f"Ignored the {label} date {raw[:40]!r}: use YYYY-MM-DD.")
        return None


def run_filters_parse(params: Any) -> RunFilters:
    """Query-string values -> filters; a bad value is dropped with a message, never an error."""
    f = RunFilters()
    raw_sync = (params.get("sync") or "").strip()
    if raw_sync:
        if raw_sync.isdigit() and Sync.objects.filter(pk=int(raw_sync)).exists():
            f.sync_id = int(raw_sync)
        else:
            f.problems.append(f"Ignored the sync filter {raw_sync[:40]!r}: no such sync.")
    for name, choices in (("status", RunStatus), ("trigger", RunTrigger)):
        raw = (params.get(name) or "").strip()
        if raw and raw in choices.values:
            setattr(f, name, raw)
        elif raw:
            f.problems.append(f"Ignored the {name} filter {raw[:40]!r}: not one of {', '.join(choices.values)}.")
    f.date_from = _parse_date(params.get("from") or "", "from", f.problems)
    f.date_to = _parse_date(params.get("to") or "", "to", f.problems)
    if f.date_from and f.date_to and f.date_from > f.date_to:
        f.problems.append("Ignored the date range: 'from' is after 'to'.")
        f.date_from = f.date_to = None
    return f


def run_list(*, filters: RunFilters) -> QuerySet[Run]:
    qs = Run.objects.select_related("sync").order_by("-created_at", "-pk")
    if filters.sync_id:
        qs = qs.filter(sync_id=filters.sync_id)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.trigger:
        qs = qs.filter(trigger=filters.trigger)
    tz = timezone.get_current_timezone()
    if filters.date_from:
        qs = qs.filter(created_at__gte=datetime.combine(filters.date_from, datetime.min.time(), tz))
    if filters.date_to:
        qs = qs.filter(created_at__lt=datetime.combine(filters.date_to + timedelta(days=1), datetime.min.time(), tz))
    return qs


def sync_choices() -> list[tuple[int, str]]:
    return list(Sync.objects.order_by("name").values_list("pk", "name"))


def run_get(*, run_id: int) -> Run | None:
    return (
        Run.objects.select_related(
            "sync", "sync__source_connection", "sync__target_connection", "mapping_version", "retry_of", "event"
        )
        .filter(pk=run_id)
        .first()
    )


def run_item_counts(*, run: Run) -> dict[str, int]:
    """Items per action from the run's own counters (the engine writes them with the items, page by page):
    no GROUP BY over a run's items, which costs ~50 ms for a 100k-item run."""
    counts = {
        ItemAction.CREATED: run.created_count,
        ItemAction.UPDATED: run.updated_count,
        ItemAction.UNCHANGED: run.unchanged_count,
        ItemAction.SKIPPED: run.skipped_count,
        ItemAction.FAILED: run.failed_count,
        ItemAction.WOULD_CREATE: getattr(run, "would_create_count", 0),
        ItemAction.WOULD_UPDATE: getattr(run, "would_update_count", 0),
        ItemAction.DELETED: getattr(run, "deleted_count", 0),
        ItemAction.VERIFY_FAILED: getattr(run, "verify_failed_count", 0),
    }
    return {str(k): v for k, v in counts.items() if v}


class KnownCount:
    """A queryset whose length is already known, so Paginator does not run COUNT(*) over the items again."""

    def __init__(self, qs: QuerySet[Any], count: int) -> None:
        self.qs, self._count = qs, count

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, key: Any) -> Any:
        return self.qs[key]


# Failures come first on a run's page: what someone must look at, then what went fine.
PROBLEM_ACTIONS = (ItemAction.FAILED, ItemAction.VERIFY_FAILED)


class FailedFirst:
    """A run's items, failures first, each part in id order: two index scans whose sizes the run's counters
    already know, instead of sorting every item of a 100k-item run by a CASE for each page."""

    def __init__(self, first: QuerySet[RunItem], rest: QuerySet[RunItem], first_count: int, total: int) -> None:
        self.first, self.rest, self.first_count, self.total = first, rest, first_count, total

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, key: slice) -> list[RunItem]:
        start, stop = key.start or 0, self.total if key.stop is None else key.stop
        out: list[RunItem] = []
        if start < self.first_count:
            out += list(self.first[start : min(stop, self.first_count)])
        if stop > self.first_count:
            out += list(self.rest[max(start - self.first_count, 0) : stop - self.first_count])
        return out


def run_items_counted(
    *, run: Run, action: str = "", error: str = "", counts: dict[str, int], errors: list[tuple[str, int]]
) -> KnownCount | FailedFirst:
    """run_items() with its size taken from the counters / the error-class aggregate already loaded; unfiltered,
    the failures first."""
    if not action and not error:
        items = RunItem.objects.filter(run=run).select_related("acknowledged_by").order_by("pk")
        return FailedFirst(
            items.filter(action__in=PROBLEM_ACTIONS),
            items.exclude(action__in=PROBLEM_ACTIONS),
            sum(counts.get(a, 0) for a in PROBLEM_ACTIONS),
            sum(counts.values()),
        )
    qs = run_items(run=run, action=action, error=error)
    if error:
        n = dict(errors).get(error, 0) if action in ("", ItemAction.FAILED) else 0
    elif action:
        n = counts.get(action, 0)
    else:
        n = sum(counts.values())
    return KnownCount(qs, n)


def run_error_classes(*, run: Run) -> list[tuple[str, int]]:
    rows = (
        RunItem.objects.filter(run=run, action=ItemAction.FAILED)
        .values("error_class")
        .annotate(n=Count("*"))
        .order_by("-n", "error_class")
    )
    return [(r["error_class"] or "(none)", r["n"]) for r in rows]


def run_items(*, run: Run, action: str = "", error: str = "") -> QuerySet[RunItem]:
    qs = RunItem.objects.filter(run=run).select_related("acknowledged_by").order_by("pk")
    if action:
        qs = qs.filter(action=action)
    if error:
        qs = qs.filter(action=ItemAction.FAILED, error_class="" if error == "(none)" else error)
    return qs


def run_call_groups(*, run: Run) -> list[Mapping[str, Any]]:
    return list(
        ApiCall.objects.filter(run=run)
        .values("provider", "method", "path_template", "status")
        .annotate(n=Count("*"), p50=Percentile("duration_ms", 0.5), max_ms=Max("duration_ms"), attempts=Sum("attempts"))
        .order_by("provider", "method", "path_template", "status")  # = index apicall_run_group: no sort
    )


def run_calls(*, run: Run) -> QuerySet[ApiCall]:
    return ApiCall.objects.filter(run=run).order_by("pk")


def run_timeline(*, run: Run) -> list[tuple[datetime, str, str]]:
    """(when, what, css status) for the run detail: lifecycle timestamps, health changes, retries."""
    events: list[tuple[datetime, str, str]] = [(run.created_at, f"Queued ({run.get_trigger_display()})", "queued")]
    if run.started_at:
        events.append((run.started_at, f"Started{' on ' + run.worker if run.worker else ''}", "running"))
    if run.finished_at:
        events.append((run.finished_at, f"Finished: {run.get_status_display()}", run.status))
    for ch in StatusChange.objects.filter(run=run).order_by("created_at"):
        events.append((ch.created_at, f"Sync health {ch.old_status} → {ch.new_status}", ch.new_status))
    for retry in Run.objects.filter(retry_of=run).order_by("created_at").only("pk", "created_at", "status"):
        events.append((retry.created_at, f"Retry run #{retry.pk} ({retry.status})", retry.status))
    return sorted(events, key=lambda e: e[0])


def stall_bucket(status: str, heartbeat_at: datetime | None, *, now: datetime | None = None) -> int:
    """0 while a run beats; else how long it has been quiet, in STALLED_AFTER_SECONDS steps (a poll token part:
    "stalled for 2 min" must appear and grow without a change of counts)."""
    if status != RunStatus.RUNNING or heartbeat_at is None:
        return 0
    quiet = ((now or timezone.now()) - heartbeat_at).total_seconds()
    return int(quiet // STALLED_AFTER_SECONDS) if quiet >= STALLED_AFTER_SECONDS else 0


def run_token(*, run_id: int) -> tuple[str, bool] | None:
    """(fingerprint, still active) of one run for the run detail's live poll; None if the run is gone."""
    row = (
        Run.objects.filter(pk=run_id)
        .values_list(
            "status",
            "read_count",
            "created_count",
            "updated_count",
            "unchanged_count",
            "skipped_count",
            "failed_count",
            "deleted_count",
            "verify_sampled",
            "verify_failed_count",
            "would_create_count",
            "would_update_count",
            "api_calls",
            "finished_at",
            "cancel_requested",
            "heartbeat_at",
        )
        .first()
    )
    if row is None:
        return None
    fingerprint = (*row[:-1], stall_bucket(row[0], row[-1]))
    token = hashlib.blake2s(repr(fingerprint).encode(), digest_size=8).hexdigest()
    return token, row[0] in ACTIVE_RUN_STATUSES


_RUNS_TOKEN_SQL = """
SELECT (SELECT coalesce(max(id), 0) FROM contacts_sync_run),
  (SELECT coalesce(string_agg(id || ':' || status || ':' || read_count || ':' || failed_count || ':'
      || (created_count + updated_count + unchanged_count + skipped_count + deleted_count + would_create_count
          + would_update_count) || ':' || CASE WHEN status = 'running' AND heartbeat_at < now() - %(stalled)s
          THEN floor(extract(epoch FROM now() - heartbeat_at) / %(step)s)::int ELSE 0 END, ',' ORDER BY id), '')
     FROM contacts_sync_run WHERE status IN ('queued', 'running'))
"""


def run_list_token() -> tuple[str, bool]:
    """(fingerprint, any run active) for the run history's live poll: a new run, an active run's progress, its
    stall, and its end (it leaves the active set) all change it. One query, index-only parts."""
    with db.cursor() as cur:
        # django-stubs' cursor parameters leave out timedelta, which psycopg sends as an interval.
        cur.execute(
            _RUNS_TOKEN_SQL,
            {
                "stalled": timedelta(seconds=STALLED_AFTER_SECONDS),  # type: ignore[dict-item]
                "step": STALLED_AFTER_SECONDS,
            },
        )
        max_id, active = cur.fetchone()
    return hashlib.blake2s(f"{max_id}|{active}".encode(), digest_size=8).hexdigest(), bool(active)


# --- a run's items: links into the apps, the selection of an action, the CSV export ---------------------------


def item_links(*, run: Run, items: list[RunItem]) -> None:
    """Set `source_url` / `target_url` on each item: its record's page in the source / target app ("" when the
    app has none). The URLs come from the connections and the apps' SPECs, never from templates."""
    sync = run.sync
    sides = (
        ("source_url", sync.source_connection, sync.source_object),
        ("target_url", sync.target_connection, sync.target_object),
    )
    for item in items:
        for attr, conn, kind in sides:
            record_id = item.source_id if attr == "source_url" else item.target_id
            ref = RecordRef(
                base_url=conn.base_url, account_id=conn.external_account_id, object_kind=kind, record_id=record_id or ""
            )
            setattr(item, attr, registry.record_url(conn.provider, ref) if record_id else "")


def run_items_get(*, run: Run, ids: list[int]) -> list[RunItem]:
    """The items of this run among `ids` (ids of other runs are dropped, never acted on)."""
    return list(RunItem.objects.filter(run=run, pk__in=ids).order_by("pk"))


# The CSV export streams the items in batches of this many rows (a 100k-item run never sits in memory).
EXPORT_BATCH = 2000
EXPORT_COLUMNS = (
    "item",
    "source_id",
    "target_id",
    "action",
    "error_class",
    "error_message",
    "attempts",
    "acknowledged_at",
    "acknowledged_by",
    "acknowledge_note",
    "fixed_by_run",
    "source_url",
    "target_url",
    "payload",
)


def run_items_export_rows(*, run: Run, action: str = "", error: str = "") -> Any:
    """The rows of a run's CSV export (the items the page shows with the same filter), header first."""
    yield EXPORT_COLUMNS
    qs = run_items(run=run, action=action, error=error)
    batch: list[RunItem] = []
    for item in qs.iterator(chunk_size=EXPORT_BATCH):
        batch.append(item)
        if len(batch) >= EXPORT_BATCH:
            yield from _export_rows(run, batch)
            batch = []
    yield from _export_rows(run, batch)


def _export_rows(run: Run, batch: list[RunItem]) -> Any:
    item_links(run=run, items=batch)
    for i in batch:
        yield (
            i.pk,
            i.source_id,
            i.target_id,
            i.action,
            i.error_class,
            i.error_message,
            i.attempts,
            i.acknowledged_at.isoformat() if i.acknowledged_at else "",
            i.acknowledged_by.email if i.acknowledged_by else "",
            i.acknowledge_note,
            i.resolved_by_id or "",
            i.source_url,
            i.target_url,
            json.dumps(i.payload, ensure_ascii=False, sort_keys=True, default=str) if i.payload else "",
        )
