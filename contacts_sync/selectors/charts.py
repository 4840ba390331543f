"""The per-sync chart: records moved and failed items by the hour."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from contacts_sync.models import Run, RunStatus
from contacts_sync.selectors.overview import hour_floor

# The per-sync chart: 7 days by the hour (168 bars) is the longest range that still reads as bars.
CHART_DAYS = 7


def sync_hourly(*, sync_id: int, now: datetime | None = None, days: int = CHART_DAYS) -> list[dict[str, Any]]:
    """Records moved and failed items per hour for the last `days` days (zero-filled, oldest first)."""
    now = now or timezone.now()
    start = hour_floor(now) - timedelta(hours=days * 24 - 1)
    rows = (
        Run.objects.filter(sync_id=sync_id, created_at__gte=start)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(
            moved=Sum(F("created_count") + F("updated_count")),
            failed=Sum("failed_count"),
            failed_runs=Count("pk", filter=Q(status=RunStatus.FAILED)),
        )
    )
    by_hour = {r["hour"]: r for r in rows}
    out = []
    for i in range(days * 24):
        h = start + timedelta(hours=i)
        r: Mapping[str, Any] = by_hour.get(h, {})
        out.append(
            {
                "hour": h,
                "moved": r.get("moved") or 0,
                "failed": r.get("failed") or 0,
                "failed_runs": r.get("failed_runs") or 0,
            }
        )
    return out
