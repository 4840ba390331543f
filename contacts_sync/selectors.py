"""The read API for the dashboard: annotated querysets, no N+1.

Every page here costs a fixed number of queries whatever the number of syncs, runs or items
(tests/dashboard/test_live.py pins the budgets; bench/dashboard.py measures them on 1M items).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection as db
from django.db.models import Aggregate, Count, F, FloatField, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from contacts_sync.models import (
    ACTIVE_RUN_STATUSES,
    Alert,
    AlertChannel,
    AlertState,
    ApiCall,
    Connection,
    ItemAction,
    Notification,
    Run,
    RunItem,
    RunStatus,
    RunTrigger,
    StatusChange,
    Sync,
)

# The sparkline covers the last day in hourly buckets: enough to see "it broke at 3 am" at a glance.
SPARKLINE_HOURS = 24
# The per-sync chart: 7 days by the hour (168 bars) is the longest range that still reads as bars.
CHART_DAYS = 7
OPEN_ALERTS_ON_OVERVIEW = 8
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


# --- overview -----------------------------------------------------------------------------------------


@dataclass
class Tile:
    sync: Sync
    active_run: Run | None
    last_run: Run | None
    moved_24h: int = 0
    failed_runs_24h: int = 0
    buckets: list[tuple[int, int]] = field(default_factory=list)  # (succeeded, failed) runs per hour, oldest first

    @property
    def status(self) -> str:
        return "running" if self.active_run and self.active_run.status == RunStatus.RUNNING else self.sync.health

    @property
    def progress_pct(self) -> int | None:
        run = self.active_run
        if not run or not run.expected_total:
            return None
        return min(100, round(100 * run.done_count / run.expected_total))


@dataclass
class Overview:
    tiles: list[Tile]
    connections: list[Connection]
    open_alerts: list[Alert]
    any_active: bool
    token: str


def _hour_floor(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def overview_get(*, now: datetime | None = None) -> Overview:
    """Tiles for every sync + connections + open alerts in 6 queries."""
    now = now or timezone.now()
    last_finished = (
        Run.objects.filter(sync=OuterRef("pk")).exclude(status__in=ACTIVE_RUN_STATUSES).order_by("-created_at")
    )
    syncs = list(
        Sync.objects.select_related("source_connection", "target_connection")
        .defer("source_connection__secrets", "target_connection__secrets")
        .annotate(last_run_id=Subquery(last_finished.values("pk")[:1]))
        .order_by("name")
    )
    runs_by_id = {
        r.pk: r
        for r in Run.objects.filter(
            Q(pk__in=[s.last_run_id for s in syncs if s.last_run_id]) | Q(status__in=ACTIVE_RUN_STATUSES)
        )
    }
    active = {r.sync_id: r for r in runs_by_id.values() if r.status in ACTIVE_RUN_STATUSES}
    start = _hour_floor(now) - timedelta(hours=SPARKLINE_HOURS - 1)
    first_hour = int(start.timestamp()) // 3600
    buckets: dict[tuple[int, int], tuple[int, int, int]] = {}
    # Hours as integers (epoch / 3600): no time-zone conversion of ~1,000 datetimes per page.
    with db.cursor() as cur:
        cur.execute(_SPARK_SQL, [start, [str(s.value) for s in ACTIVE_RUN_STATUSES]])
        for sync_id, hour, ok, bad, moved in cur.fetchall():
            buckets[(sync_id, int(hour) - first_hour)] = (ok, bad, moved or 0)
    tiles = []
    for s in syncs:
        series = [buckets.get((s.pk, i), (0, 0, 0)) for i in range(SPARKLINE_HOURS)]
        tiles.append(Tile(
            sync=s, active_run=active.get(s.pk), last_run=runs_by_id.get(s.last_run_id),
            moved_24h=sum(b[2] for b in series), failed_runs_24h=sum(b[1] for b in series),
            buckets=[(b[0], b[1]) for b in series],
        ))
    connections = list(Connection.objects.defer("secrets").order_by("provider", "name"))
    open_alerts = list(
        Alert.objects.exclude(state=AlertState.RESOLVED).select_related("sync", "connection")
        .order_by("-opened_at")[:OPEN_ALERTS_ON_OVERVIEW]
    )
    return Overview(tiles=tiles, connections=connections, open_alerts=open_alerts, any_active=bool(active),
                    token=status_token())


_SPARK_SQL = """
SELECT sync_id, floor(extract(epoch FROM created_at) / 3600) AS hour,
       count(*) FILTER (WHERE status IN ('succeeded', 'partial')),
       count(*) FILTER (WHERE status = 'failed'),
       sum(created_count + updated_count)
FROM contacts_sync_run
WHERE created_at >= %s AND NOT (status = ANY(%s))
GROUP BY 1, 2
"""

_TOKEN_SQL = """
SELECT
  (SELECT coalesce(max(updated_at)::text, '') || count(*) FROM contacts_sync_sync),
  (SELECT coalesce(max(updated_at)::text, '') || count(*) FROM contacts_sync_connection),
  (SELECT coalesce(max(id), 0) FROM contacts_sync_run),
  (SELECT coalesce(string_agg(id || ':' || status || ':' || read_count || ':'
      || (created_count + updated_count + unchanged_count + skipped_count + failed_count), ',' ORDER BY id), '')
     FROM contacts_sync_run WHERE status IN ('queued', 'running')),
  (SELECT coalesce(string_agg(id || ':' || state, ',' ORDER BY id), '')
     FROM contacts_sync_alert WHERE state <> 'resolved'),
  (SELECT coalesce(max(id), 0) FROM contacts_sync_alert)
"""


def status_token() -> str:
    """A cheap fingerprint of everything the overview shows that can change; one query, index-only parts."""
    with db.cursor() as cur:
        cur.execute(_TOKEN_SQL)
        row = cur.fetchone()
    return hashlib.blake2s("|".join(map(str, row)).encode(), digest_size=8).hexdigest()


def run_token(*, run_id: int) -> tuple[str, bool] | None:
    """(fingerprint, still active) of one run for the run detail's live poll; None if the run is gone."""
    row = (
        Run.objects.filter(pk=run_id)
        .values_list("status", "read_count", "created_count", "updated_count", "unchanged_count",
                     "skipped_count", "failed_count", "api_calls", "finished_at", "cancel_requested")
        .first()
    )
    if row is None:
        return None
    token = hashlib.blake2s(repr(row).encode(), digest_size=8).hexdigest()
    return token, row[0] in ACTIVE_RUN_STATUSES


# --- run history ----------------------------------------------------------------------------------------


@dataclass
class RunFilters:
    sync_id: int | None = None
    status: str = ""
    trigger: str = ""
    date_from: date | None = None
    date_to: date | None = None
    problems: list[str] = field(default_factory=list)  # human messages for values that were ignored

    def as_query(self) -> dict[str, str]:
        out = {"sync": str(self.sync_id or ""), "status": self.status, "trigger": self.trigger,
               "from": self.date_from.isoformat() if self.date_from else "",
               "to": self.date_to.isoformat() if self.date_to else ""}
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


# --- run detail -----------------------------------------------------------------------------------------


def run_get(*, run_id: int) -> Run | None:
    return (
        Run.objects.select_related("sync", "sync__source_connection", "sync__target_connection", "mapping_version",
                                   "retry_of", "event")
        .filter(pk=run_id)
        .first()
    )


def run_item_counts(*, run: Run) -> dict[str, int]:
    """Items per action from the run's own counters (the engine writes them with the items, page by page):
    no GROUP BY over a run's items, which costs ~50 ms for a 100k-item run."""
    counts = {
        ItemAction.CREATED: run.created_count, ItemAction.UPDATED: run.updated_count,
        ItemAction.UNCHANGED: run.unchanged_count, ItemAction.SKIPPED: run.skipped_count,
        ItemAction.FAILED: run.failed_count,
        ItemAction.WOULD_CREATE: getattr(run, "would_create_count", 0),
        ItemAction.WOULD_UPDATE: getattr(run, "would_update_count", 0),
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


def run_items_counted(*, run: Run, action: str = "", error: str = "", counts: dict[str, int],
                      errors: list[tuple[str, int]]) -> KnownCount:
    """run_items() with its size taken from the counters / the error-class aggregate already loaded."""
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
        RunItem.objects.filter(run=run, action=ItemAction.FAILED).values("error_class").annotate(n=Count("*"))
        .order_by("-n", "error_class")
    )
    return [(r["error_class"] or "(none)", r["n"]) for r in rows]


def run_items(*, run: Run, action: str = "", error: str = "") -> QuerySet[RunItem]:
    qs = RunItem.objects.filter(run=run).order_by("pk")
    if action:
        qs = qs.filter(action=action)
    if error:
        qs = qs.filter(action=ItemAction.FAILED, error_class="" if error == "(none)" else error)
    return qs


def run_call_groups(*, run: Run) -> list[dict[str, Any]]:
    return list(
        ApiCall.objects.filter(run=run)
        .values("provider", "method", "path_template", "status")
        .annotate(n=Count("*"), p50=Percentile("duration_ms", 0.5), max_ms=Max("duration_ms"),
                  attempts=Sum("attempts"))
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


# --- charts ---------------------------------------------------------------------------------------------


def sync_hourly(*, sync_id: int, now: datetime | None = None, days: int = CHART_DAYS) -> list[dict[str, Any]]:
    """Records moved and failed items per hour for the last `days` days (zero-filled, oldest first)."""
    now = now or timezone.now()
    start = _hour_floor(now) - timedelta(hours=days * 24 - 1)
    rows = (
        Run.objects.filter(sync_id=sync_id, created_at__gte=start)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(moved=Sum(F("created_count") + F("updated_count")), failed=Sum("failed_count"),
                  failed_runs=Count("pk", filter=Q(status=RunStatus.FAILED)))
    )
    by_hour = {r["hour"]: r for r in rows}
    out = []
    for i in range(days * 24):
        h = start + timedelta(hours=i)
        r = by_hour.get(h, {})
        out.append({"hour": h, "moved": r.get("moved") or 0, "failed": r.get("failed") or 0,
                    "failed_runs": r.get("failed_runs") or 0})
    return out


# --- alerts and channels ---------------------------------------------------------------------------------


def alert_list(*, state: str = "") -> QuerySet[Alert]:
    qs = (
        Alert.objects.select_related("sync", "connection", "acknowledged_by", "opened_by")
        .annotate(sent=Count("opened_by__notifications", filter=Q(opened_by__notifications__ok=True)),
                  send_failed=Count("opened_by__notifications", filter=Q(opened_by__notifications__ok=False)))
        .order_by("-opened_at")
    )
    if state == "unresolved":
        return qs.exclude(state=AlertState.RESOLVED)
    if state in AlertState.values:
        return qs.filter(state=state)
    return qs


def channel_list() -> list[AlertChannel]:
    last_notifications = Notification.objects.filter(channel=OuterRef("pk")).order_by("-created_at")
    return list(
        AlertChannel.objects.annotate(
            sent=Count("notifications", filter=Q(notifications__ok=True)),
            failed=Count("notifications", filter=Q(notifications__ok=False)),
            last_ok=Subquery(last_notifications.values("ok")[:1]),
        ).order_by("name")
    )


def channel_notifications(*, channel: AlertChannel, limit: int = 20) -> list[Notification]:
    return list(channel.notifications.select_related("status_change").order_by("-created_at")[:limit])


# --- sync pages (helper G): list, create from a recipe, detail ------------------------------------------
# Imports kept with the section so the rest of the module stays as its owner wrote it.
from contacts_sync import models as _m  # noqa: E402
from contacts_sync.sync.recipes import RECIPES as _RECIPES  # noqa: E402
from contacts_sync.sync.recipes import Recipe as _Recipe  # noqa: E402

# The detail page shows this many recent runs and webhook events (the full history is the run list's job).
SYNC_DETAIL_RUNS = 10
SYNC_DETAIL_EVENTS = 10


@dataclass
class SyncRow:
    sync: Sync
    last_run: Run | None

    @property
    def status(self) -> str:
        run = self.last_run
        return "running" if run and run.status == RunStatus.RUNNING else self.sync.health


def sync_list_rows() -> list[SyncRow]:
    """Every sync with its connections and its latest run, in 2 queries."""
    latest = Run.objects.filter(sync=OuterRef("pk")).order_by("-created_at").values("pk")[:1]
    syncs = list(
        Sync.objects.select_related("source_connection", "target_connection")
        .annotate(latest_run_id=Subquery(latest))
        .order_by("name", "pk")
    )
    runs = Run.objects.in_bulk([s.latest_run_id for s in syncs if s.latest_run_id])
    return [SyncRow(sync=s, last_run=runs.get(s.latest_run_id)) for s in syncs]


@dataclass
class RecipeCard:
    """A recipe as the pages show it: provider names instead of keys, an arrow instead of "->"."""

    recipe: _Recipe

    @property
    def key(self) -> str:
        return self.recipe.key

    @property
    def title(self) -> str:
        return self.recipe.title.replace("->", "→")

    @property
    def source_label(self) -> str:
        return _m.Provider(self.recipe.source_provider).label

    @property
    def target_label(self) -> str:
        return _m.Provider(self.recipe.target_provider).label

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "recipe":
            raise AttributeError(name)
        return getattr(self.recipe, name)


def recipe_list() -> list[RecipeCard]:
    cards = [RecipeCard(r) for r in _RECIPES.values()]
    return sorted(cards, key=lambda c: (c.recipe.source_provider != "hubstaff", c.source_label, c.title))


def recipe_get(*, key: str) -> RecipeCard | None:
    recipe = _RECIPES.get(key)
    return RecipeCard(recipe) if recipe else None


def connections_for(*, provider: str) -> QuerySet[Connection]:
    return Connection.objects.filter(provider=provider).order_by("name", "pk")


@dataclass
class SyncDetail:
    sync: Sync
    recipe: RecipeCard | None
    active_run: Run | None
    recent_runs: list[Run]
    recent_events: list[_m.InboundEvent]

    @property
    def status(self) -> str:
        run = self.active_run
        return "running" if run and run.status == RunStatus.RUNNING else self.sync.health


def sync_events(*, sync: Sync, limit: int = SYNC_DETAIL_EVENTS) -> list[_m.InboundEvent]:
    """The webhooks received for the sync's source account (GHL: by location; other apps: by connection)."""
    source = sync.source_connection
    if source.provider == _m.Provider.GHL:
        qs = _m.InboundEvent.objects.filter(provider=_m.Provider.GHL, account_id=source.external_account_id)
    else:
        qs = _m.InboundEvent.objects.filter(connection=source)
    return list(qs.order_by("-received_at")[:limit])


def sync_detail_get(*, sync_id: int) -> SyncDetail | None:
    sync = (
        Sync.objects.select_related("source_connection", "target_connection", "mapping_version")
        .filter(pk=sync_id)
        .first()
    )
    if sync is None:
        return None
    runs = list(Run.objects.filter(sync=sync).order_by("-created_at")[:SYNC_DETAIL_RUNS])
    active = Run.objects.filter(sync=sync, status__in=ACTIVE_RUN_STATUSES).first()
    return SyncDetail(sync=sync, recipe=recipe_get(key=sync.recipe), active_run=active, recent_runs=runs,
                      recent_events=sync_events(sync=sync))
