"""The agency page: an agency connection with the directory of its sub-accounts and what became of each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from contacts_sync.models import AgencyLocation, AuthKind, Connection, ConnectionStatus, SyncTemplate
from contacts_sync.models.agencies import CONNECT_STALE_AFTER

STATES = {
    "connected": "Connected",
    "connecting": "Connecting…",
    "stalled": "Connect stalled",
    "failed": "Not connected",
    "problem": "Connected, with a problem",
    "available": "Not connected yet",
    "not_installed": "App not installed",
}


@dataclass
class DirectoryRow:
    entry: AgencyLocation
    state: str

    @property
    def label(self) -> str:
        return STATES[self.state]

    @property
    def connection(self) -> Connection | None:
        return self.entry.connection


def _state(entry: AgencyLocation, now: datetime) -> str:
    conn = entry.connection
    if entry.connect_requested_at is not None:
        return "stalled" if entry.connect_requested_at < now - CONNECT_STALE_AFTER else "connecting"
    if conn is not None:
        return "connected" if conn.status == ConnectionStatus.CONNECTED else "problem"
    if entry.connect_error:
        return "failed"
    return "not_installed" if entry.installed is False else "available"


def agency_get(*, pk: int) -> Connection | None:
    agency = Connection.objects.agencies().filter(pk=pk).defer("secrets").first()
    return agency


def agency_directory(*, agency: Connection, q: str = "", state: str = "") -> list[DirectoryRow]:
    entries = (
        AgencyLocation.objects.filter(agency=agency)
        .select_related("connection")
        .defer("connection__secrets")
        .order_by("name", "location_id")
    )
    needle = q.strip()
    if needle:
        entries = entries.filter(
            Q(name__icontains=needle) | Q(location_id__icontains=needle) | Q(email__icontains=needle)
        )
    now = timezone.now()
    rows = [DirectoryRow(entry=e, state=_state(e, now)) for e in entries]
    return [r for r in rows if not state or r.state == state]


def listed_at(agency: Connection) -> datetime | None:
    """When HighLevel last listed the agency's sub-accounts (stored as ISO text in its config)."""
    try:
        return datetime.fromisoformat(str(agency.config.get("listed_at") or ""))
    except ValueError:
        return None


def agency_summary(*, agency: Connection, rows: list[DirectoryRow] | None = None) -> dict[str, int]:
    """Counts for the page head: sub-accounts listed, connected, connecting, and the templates using it
    (`rows`: the whole directory when the caller already has it)."""
    rows = agency_directory(agency=agency) if rows is None else rows
    return {
        "listed": len(rows),
        "connected": sum(1 for r in rows if r.state == "connected"),
        "connecting": sum(1 for r in rows if r.state == "connecting"),
        "problems": sum(1 for r in rows if r.state in ("problem", "failed", "stalled")),
        "templates": SyncTemplate.objects.filter(agency=agency).count(),
    }


def agencies_overview() -> list[Connection]:
    """Every agency with how many sub-accounts are connected through it (for the connections list)."""
    return list(
        Connection.objects.agencies()
        .defer("secrets")
        .annotate(location_count=Count("locations", distinct=True))
        .order_by("name")
    )


def agency_can_mint(agency: Connection) -> bool:
    return agency.auth_kind == AuthKind.OAUTH2
