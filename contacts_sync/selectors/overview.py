"""The overview: one tile per sync, the connection strip, open alerts, and the status token its poll compares."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection as db
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from contacts_sync.models import (
    ACTIVE_RUN_STATUSES,
    STALLED_AFTER_SECONDS,
    Alert,
    AlertState,
    Connection,
    Run,
    RunStatus,
    Sync,
)

# The sparkline covers the last day in hourly buckets: enough to see "it broke at 3 am" at a glance.
SPARKLINE_HOURS = 24
OPEN_ALERTS_ON_OVERVIEW = 8


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
        if self.active_run and self.active_run.status == RunStatus.RUNNING and not self.active_run.dry_run:
            return "running"
        return self.sync.health if self.sync.went_live_at else "not_live"

    @property
    def stalled_seconds(self) -> int | None:
        return self.active_run.stalled_seconds if self.active_run else None

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


def hour_floor(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def overview_get(*, now: datetime | None = None) -> Overview:
    """Tiles for every sync + connections + open alerts in 6 queries."""
    now = now or timezone.now()
    last_finished = (
        Run.objects.filter(sync=OuterRef("pk")).exclude(status__in=ACTIVE_RUN_STATUSES).order_by("-created_at")
    )
    syncs = list(
        Sync.objects.filter(archived_at__isnull=True)
        .select_related("source_connection", "target_connection")
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
    start = hour_floor(now) - timedelta(hours=SPARKLINE_HOURS - 1)
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
        tiles.append(
            Tile(
                sync=s,
                active_run=active.get(s.pk),
                last_run=runs_by_id.get(s.last_run_id),
                moved_24h=sum(b[2] for b in series),
                failed_runs_24h=sum(b[1] for b in series),
                buckets=[(b[0], b[1]) for b in series],
            )
        )
    connections = list(Connection.objects.defer("secrets").order_by("provider", "name"))
    open_alerts = list(
        Alert.objects.exclude(state=AlertState.RESOLVED)
        .select_related("sync", "connection")
        .order_by("-opened_at")[:OPEN_ALERTS_ON_OVERVIEW]
    )
    return Overview(
        tiles=tiles, connections=connections, open_alerts=open_alerts, any_active=bool(active), token=status_token()
    )


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
      || (created_count + updated_count + unchanged_count + skipped_count + failed_count) || ':'
      || CASE WHEN status = 'running' AND heartbeat_at < now() - %(stalled)s
         THEN floor(extract(epoch FROM now() - heartbeat_at) / %(step)s)::int ELSE 0 END, ',' ORDER BY id), '')
     FROM contacts_sync_run WHERE status IN ('queued', 'running')),
  (SELECT coalesce(string_agg(id || ':' || state, ',' ORDER BY id), '')
     FROM contacts_sync_alert WHERE state <> 'resolved'),
  (SELECT coalesce(max(id), 0) FROM contacts_sync_alert)
"""


def status_token() -> str:
    """A cheap fingerprint of everything the overview shows that can change; one query, index-only parts."""
    with db.cursor() as cur:
        # django-stubs' cursor parameters leave out timedelta, which psycopg sends as an interval.
        cur.execute(
            _TOKEN_SQL,
            {
                "stalled": timedelta(seconds=STALLED_AFTER_SECONDS),  # type: ignore[dict-item]
                "step": STALLED_AFTER_SECONDS,
            },
        )
        row = cur.fetchone()
    return hashlib.blake2s("|".join(map(str, row)).encode(), digest_size=8).hexdigest()
