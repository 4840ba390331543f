"""The delivery log of a "GHL changes -> your app" sync: its endpoint (set up, secrets shown once, re-enable) and
every delivery with its attempts, live while visible; an admin replays one delivery."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from contacts_sync.models import Sync
from contacts_sync.selectors import deliveries as selectors
from contacts_sync.services import outbox
from dashboard.access import admin_required, editor_required, viewer_required
from dashboard.views.overview import prime_user

POLL_SECONDS = 5


def _sync(sync_id: int) -> Sync:
    sync = get_object_or_404(Sync.objects.select_related("source_connection", "target_connection"), pk=sync_id)
    if sync.recipe != outbox.OUTBOX_RECIPE:
        raise Http404("This sync sends no webhooks.")
    return sync


def _page(request: HttpRequest, sync: Sync, **extra: Any) -> HttpResponse:
    log = selectors.delivery_log(sync=sync)
    ctx = {"log": log, "sync": sync, "poll_seconds": POLL_SECONDS, "nav_active": "syncs", **extra}
    return render(request, "syncs/deliveries.html#live" if request.htmx else "syncs/deliveries.html", ctx)


@viewer_required
def delivery_log(request: HttpRequest, sync_id: int) -> HttpResponse:
    """The page; its live part polls with ?token= and gets 204 while nothing changed."""
    prime_user(request)
    sync = _sync(sync_id)
    if request.htmx and request.GET.get("token") == selectors.delivery_token(sync_id=sync.pk):
        return HttpResponse(status=204)
    return _page(request, sync)


@require_POST
@admin_required
def endpoint_setup(request: HttpRequest, sync_id: int) -> HttpResponse:
    """Create the endpoint (or rotate its secrets): the new secret and token are in this answer only."""
    prime_user(request)
    sync = _sync(sync_id)
    endpoint = getattr(sync, "webhook_endpoint", None)
    try:
        if endpoint is None:
            _, made = outbox.endpoint_create(sync=sync, url=request.POST.get("url", ""), user=request.user)
        else:
            made = outbox.endpoint_secrets_rotate(endpoint=endpoint, user=request.user)
    except outbox.EndpointURLError as exc:
        return _page(request, sync, url_error=str(exc), url_value=request.POST.get("url", "")[:500])
    response = _page(request, sync, shown=made)
    response["Cache-Control"] = "no-store"  # the secrets must not stay in a cache
    return response


@require_POST
@editor_required
def endpoint_enable(request: HttpRequest, sync_id: int) -> HttpResponse:
    prime_user(request)
    sync = _sync(sync_id)
    endpoint = getattr(sync, "webhook_endpoint", None)
    if endpoint is None:
        raise Http404("No endpoint yet.")
    resumed = outbox.endpoint_enable(endpoint=endpoint, user=request.user)
    messages.success(request, f"Webhooks re-enabled; {resumed} held event(s) are being sent.")
    return redirect("dashboard:sync_deliveries", sync_id=sync.pk)


@require_POST
@admin_required
def delivery_replay(request: HttpRequest, sync_id: int, delivery_id: int) -> HttpResponse:
    prime_user(request)
    delivery = selectors.delivery_get(sync_id=_sync(sync_id).pk, delivery_id=delivery_id)
    if delivery is None:
        raise Http404("No such delivery.")
    outbox.delivery_replay_request(delivery=delivery, user=request.user)
    messages.success(request, f"Replay of {delivery.event_type} ({delivery.msg_id}) queued.")
    return redirect("dashboard:sync_deliveries", sync_id=sync_id)
