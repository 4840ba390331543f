"""The overview: a tile per sync, the connection-health strip and open alerts, live through htmx polling.

The live part polls only while the tab is visible; the poll answers 204 when the status token did not
change, and the 5 s trigger is dropped when nothing runs (an idle page checks every IDLE_POLL_SECONDS).
"""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from contacts_sync import health
from contacts_sync.models import SyncHealth
from contacts_sync.selectors import overview as overview_selectors
from dashboard.access import viewer_required
from dashboard.views.charts import sparkline_svg

# While a run is going the progress bars move: refresh every 5 s. Idle: a cheap check every 30 s still
# notices a run started by the scheduler or a webhook without anyone reloading the page.
ACTIVE_POLL_SECONDS = 5
IDLE_POLL_SECONDS = 30


class _LazyUrls(dict):  # type: ignore[type-arg]
    """URL (prefix, suffix) pairs reversed once, not 3 x 40 `{% url %}` tags per overview render."""

    def __missing__(self, key: str) -> Any:
        names = {"sync": "dashboard:sync_detail", "run": "dashboard:run_detail"}
        if key == "runs":
            value: Any = reverse("dashboard:run_list")
        else:
            value = tuple(reverse(names[key], args=[987654321]).split("987654321"))
        self[key] = value
        return value


URLS = _LazyUrls()


def prime_user(request: HttpRequest) -> None:
    """Load the user's groups once: the nav's role checks then read them from memory, not 8 queries a page."""
    if request.user.is_authenticated:
        prefetch_related_objects([request.user], "groups")


def _background_token(problems: dict[str, str]) -> str:
    """Part of the poll token: the live part re-renders when workers or beat stop or come back."""
    return "bg-" + ("".join(sorted(problems)) or "ok")


def poll_token(status_token: str | None = None, background: dict[str, str] | None = None) -> str:
    """What the overview's poll compares: the syncs' status token and the background's (workers, beat)."""
    status = overview_selectors.status_token() if status_token is None else status_token
    problems = health.background_problems() if background is None else background
    return f"{status}.{_background_token(problems)}"


def _context() -> dict[str, Any]:
    ov = overview_selectors.overview_get()
    background = health.background_problems()
    for tile in ov.tiles:
        tile.spark = sparkline_svg(tile.buckets)  # type: ignore[attr-defined]
    counts: dict[str, int] = {}
    labels = {**dict(SyncHealth.choices), "running": "Running", "not_live": "Not live yet"}
    for tile in ov.tiles:
        label = labels.get(tile.status, tile.status).lower()
        counts[label] = counts.get(label, 0) + 1
    return {
        "ov": ov,
        "background": background,
        "token": poll_token(ov.token, background),
        "urls": URLS,
        "status_counts": sorted(counts.items()),
        "poll_seconds": ACTIVE_POLL_SECONDS if ov.any_active else IDLE_POLL_SECONDS,
        "nav_active": "overview",
    }


@viewer_required
def overview(request: HttpRequest) -> HttpResponse:
    prime_user(request)
    template = "dashboard/overview.html#live" if request.htmx else "dashboard/overview.html"
    return render(request, template, _context())


@viewer_required
def overview_poll(request: HttpRequest) -> HttpResponse:
    """204 when nothing changed since the token the page holds (one query), else the fresh live part."""
    if request.GET.get("token") == poll_token():
        return HttpResponse(status=204)
    prime_user(request)
    return render(request, "dashboard/overview.html#live", _context())
