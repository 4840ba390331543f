"""The fleet page: every GHL location (sub-account) with its syncs, grouped by agency; health rolled up per
location; the rate budget each location is spending right now (read from Redis, read-only)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Q

from contacts_sync.apiclient.budget import RateBudget, WindowUse, used_now_many
from contacts_sync.connectors.ghl.auth import budget_for
from contacts_sync.models import (
    Connection,
    ConnectionStatus,
    Provider,
    Run,
    RunStatus,
    Sync,
    SyncHealth,
)

log = logging.getLogger(__name__)

# Worst first: a location shows the worst state among its connection and its syncs.
SEVERITY = [
    "disabled",
    SyncHealth.NEEDS_REAUTH,
    SyncHealth.FAILING,
    SyncHealth.DEGRADED,
    SyncHealth.STALE,
    SyncHealth.NEW,
    SyncHealth.HEALTHY,
    SyncHealth.PAUSED,
    "no_syncs",
]
HEALTH_LABELS = {
    "disabled": "Disabled",
    SyncHealth.NEEDS_REAUTH: "Needs re-auth",
    SyncHealth.FAILING: "Failing",
    SyncHealth.DEGRADED: "Degraded",
    SyncHealth.STALE: "Stale",
    SyncHealth.NEW: "Not run yet",
    SyncHealth.HEALTHY: "Healthy",
    SyncHealth.PAUSED: "Paused",
    "no_syncs": "No syncs",
}
# Locations per page (a budget read and a rendered row each): 500 rows took ~1.5 s at p95 on a loaded 2-core
# machine (bench.agencies), 100 keep the page well under a second. Search and filters apply before paging.
FLEET_PAGE_SIZE = 100


@dataclass
class FleetLocation:
    connection: Connection
    syncs: list[Sync]
    health: str
    reason: str
    running: int = 0
    running_ids: frozenset[int] = frozenset()  # its syncs with a run going now
    budget: list[WindowUse] | None = None  # None: no shared budget for this location (turned off)

    @property
    def health_label(self) -> str:
        return HEALTH_LABELS.get(self.health, self.health)

    @property
    def problems(self) -> int:
        return sum(
            1
            for s in self.syncs
            if s.health in (SyncHealth.FAILING, SyncHealth.DEGRADED, SyncHealth.STALE, SyncHealth.NEEDS_REAUTH)
        )


@dataclass
class FleetGroup:
    agency: Connection | None
    locations: list[FleetLocation] = field(default_factory=list)  # this page's
    tally: dict[str, int] = field(default_factory=dict)  # health -> locations, over every page

    @property
    def counts(self) -> list[tuple[str, str, int]]:
        """(health, label, locations) for the states present, worst first, for the whole group (every page)."""
        return [(h, HEALTH_LABELS[h], self.tally[h]) for h in SEVERITY if h in self.tally]


@dataclass
class Fleet:
    groups: list[FleetGroup]
    total: int  # locations before search / filter
    page: Page[FleetLocation]  # of the locations after search / filter (page.paginator.count of them)
    budget_error: str = ""


def _rollup(connection: Connection, syncs: list[Sync]) -> tuple[str, str]:
    if connection.status == ConnectionStatus.DISABLED:
        return "disabled", connection.last_error
    if connection.status == ConnectionStatus.NEEDS_REAUTH:
        return SyncHealth.NEEDS_REAUTH, connection.last_error
    if connection.status == ConnectionStatus.ERROR:
        return SyncHealth.FAILING, connection.last_error
    if not syncs:
        return "no_syncs", ""
    active = [s for s in syncs if s.health != SyncHealth.PAUSED] or syncs
    worst = min(active, key=lambda s: SEVERITY.index(s.health) if s.health in SEVERITY else len(SEVERITY))
    return worst.health, f"{worst.name}: {worst.health_reason}" if worst.health_reason else ""


def _matches(loc: FleetLocation, needle: str) -> bool:
    c = loc.connection
    words = [c.name, c.external_account_id, c.agency.name if c.agency else "", *(s.name for s in loc.syncs)]
    return any(needle in w.lower() for w in words)


def _budgets(locations: list[FleetLocation]) -> str:
    """Fill each location's budget use from Redis in one pipeline; the error text when Redis cannot be read."""
    pairs: list[tuple[FleetLocation, RateBudget]] = []
    for loc in locations:
        budget = budget_for(settings.REDIS_URL, loc.connection.external_account_id, loc.connection.config)
        if isinstance(budget, RateBudget):
            pairs.append((loc, budget))
    try:
        uses = used_now_many([b for _loc, b in pairs])
    except Exception as exc:  # noqa: BLE001 - the page still shows health; the budget column says why not
        log.warning("fleet: rate budgets unreadable: %s", type(exc).__name__)
        return f"rate budgets unavailable ({type(exc).__name__})"
    for (loc, _budget), use in zip(pairs, uses, strict=True):
        loc.budget = use
    return ""


def _locations() -> list[FleetLocation]:
    """Every location with its syncs, its rolled-up health and how many of its syncs are running now."""
    connections = list(
        Connection.objects.filter(provider=Provider.GHL)
        .exclude(external_account_id="")
        .select_related("agency")
        .defer("secrets", "agency__secrets")
        .order_by("name", "pk")
    )
    ids = [c.pk for c in connections]
    syncs = list(
        Sync.objects.filter(Q(source_connection_id__in=ids) | Q(target_connection_id__in=ids))
        .defer("options")
        .order_by("name", "pk")
    )
    running = set(
        Run.objects.filter(status=RunStatus.RUNNING, sync_id__in=[s.pk for s in syncs]).values_list(
            "sync_id", flat=True
        )
    )
    by_location: dict[int, list[Sync]] = {}
    for s in syncs:
        for side in {s.source_connection_id, s.target_connection_id}:
            by_location.setdefault(side, []).append(s)
    rows = []
    for c in connections:
        mine = by_location.get(c.pk, [])
        rolled, reason = _rollup(c, mine)
        busy = frozenset(s.pk for s in mine if s.pk in running)
        rows.append(
            FleetLocation(connection=c, syncs=mine, health=rolled, reason=reason, running=len(busy), running_ids=busy)
        )
    return rows


def fleet_get(*, q: str = "", health: str = "", agency: int | None = None, page: int | str = 1) -> Fleet:
    """Locations (GHL connections with a location id) grouped by agency, agencies by name, no agency last; one
    page of FLEET_PAGE_SIZE of them (a page past the last shows the last)."""
    rows = _locations()
    total = len(rows)
    needle = q.strip().lower()
    rows = [
        r
        for r in rows
        if (not needle or _matches(r, needle))
        and (not health or r.health == health)
        and (agency is None or r.connection.agency_id == agency)
    ]
    # Agencies by name, sub-accounts without an agency last, locations by name: a page cuts through at most one
    # or two groups, and each group keeps its place from page to page.
    rows.sort(
        key=lambda r: (
            r.connection.agency is None,
            r.connection.agency.name.lower() if r.connection.agency else "",
            r.connection.agency_id or 0,
            r.connection.name.lower(),
            r.connection.pk,
        )
    )
    groups: dict[int | None, FleetGroup] = {}
    for r in rows:
        group = groups.setdefault(r.connection.agency_id, FleetGroup(agency=r.connection.agency))
        group.tally[r.health] = group.tally.get(r.health, 0) + 1
    shown = Paginator(rows, FLEET_PAGE_SIZE).get_page(page)
    budget_error = _budgets(list(shown))
    for r in shown:
        groups[r.connection.agency_id].locations.append(r)
    return Fleet(groups=[g for g in groups.values() if g.locations], total=total, page=shown, budget_error=budget_error)


def fleet_filter_choices() -> dict[str, Any]:
    return {
        "health": [(h, HEALTH_LABELS[h]) for h in SEVERITY],
        "agencies": list(Connection.objects.agencies().order_by("name").values_list("pk", "name")),
    }
