"""The fleet (Viewer): every HighLevel location with its syncs, grouped by agency, health rolled up per location,
and the rate budget each location is spending now."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from contacts_sync.selectors import fleet as sel
from dashboard.access import viewer_required


@viewer_required
def fleet(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:200]
    health = request.GET.get("health", "")
    health = health if health in sel.HEALTH_LABELS else ""
    agency_raw = request.GET.get("agency", "")
    agency = int(agency_raw) if agency_raw.isdigit() else None
    page = request.GET.get("page", "1")[:7]  # Paginator.get_page: anything else is the first or the last page
    context = {
        "fleet": sel.fleet_get(q=q, health=health, agency=agency, page=page),
        # The filters, carried by the pager's links.
        "query": {k: v for k, v in (("q", q), ("health", health), ("agency", agency)) if v},
        "choices": sel.fleet_filter_choices(),
        "q": q,
        "health": health,
        "agency": agency,
        "nav_active": "fleet",
        # Reversed once, not per row: the page lists hundreds of locations.
        "sync_url": reverse("dashboard:sync_list"),
        "connection_url": reverse("dashboard:connection_list"),
    }
    return render(request, "fleet/fleet.html#fleet-body" if request.htmx else "fleet/fleet.html", context)
