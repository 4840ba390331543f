"""The alert list with acknowledge and resolve (Editors and Admins)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from contacts_sync.models import Alert, AlertState
from contacts_sync.selectors import alerts as alerts_selectors
from contacts_sync.services import alerts as alert_services
from dashboard.access import editor_required, viewer_required
from dashboard.views.overview import prime_user

ALERTS_PER_PAGE = 50
STATE_FILTERS = [("unresolved", "Open + acknowledged"), *AlertState.choices, ("", "All")]


@viewer_required
def alert_list(request: HttpRequest) -> HttpResponse:
    prime_user(request)
    state = request.GET.get("state", "unresolved")
    if state not in {v for v, _ in STATE_FILTERS}:
        messages.warning(request, f"Ignored the state filter {state[:40]!r}.")
        state = ""
    page = Paginator(alerts_selectors.alert_list(state=state), ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    ctx = {
        "page": page,
        "state": state,
        "state_filters": STATE_FILTERS,
        "query": {"state": state},
        "nav_active": "alerts",
    }
    return render(request, "alerts/list.html#table" if request.htmx else "alerts/list.html", ctx)


def _act(request: HttpRequest, alert_id: int, action: str) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=alert_id)
    try:
        if action == "ack":
            alert_services.alert_acknowledge(alert=alert, user=request.user)
            messages.success(request, f"Acknowledged: {alert.title[:80]}")
        else:
            alert_services.alert_resolve(alert=alert, user=request.user)
            messages.success(request, f"Resolved: {alert.title[:80]}")
    except alert_services.AlertStateError as exc:
        messages.warning(request, str(exc))
    next_state = request.POST.get("state", "unresolved")
    if next_state not in {v for v, _ in STATE_FILTERS}:
        next_state = "unresolved"
    return redirect(f"{reverse('dashboard:alert_list')}?{urlencode({'state': next_state})}")


@require_POST
@editor_required
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    prime_user(request)
    return _act(request, alert_id, "ack")


@require_POST
@editor_required
def alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    prime_user(request)
    return _act(request, alert_id, "resolve")
