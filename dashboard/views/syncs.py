"""Sync pages: the list, create from a recipe, detail with settings and "Run now"."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from contacts_sync.exceptions import ConfigurationError
from contacts_sync.models import Connection, RunTrigger
from contacts_sync.selectors import syncs as syncs_selectors
from contacts_sync.services import app_webhooks, event_runs, scheduling
from contacts_sync.services import runs as run_services
from contacts_sync.services import status as status_services
from contacts_sync.services import syncs as sync_services
from dashboard.access import can_edit, editor_required, viewer_required
from dashboard.forms.syncs import SyncCreateForm, SyncSettingsForm
from dashboard.htmx import go
from dashboard.views.overview import prime_user

# Settings the form edits through sync_update; "enabled" goes through the status service (pause/resume).
SETTINGS_FIELDS = (
    "name",
    "webhook_trigger",
    "poll_interval_seconds",
    "mode",
    "backfill_from",
    "options",
)
# The sync detail's live part refreshes this often while a run is active, and checks this often when idle.
ACTIVE_POLL_SECONDS = 5
IDLE_POLL_SECONDS = 30


@viewer_required
def sync_list(request: HttpRequest) -> HttpResponse:
    prime_user(request)
    archived = request.GET.get("archived") == "1"
    ctx = {
        "rows": syncs_selectors.sync_list_rows(archived=archived),
        "archived": archived,
        "archived_count": syncs_selectors.archived_count(),
        "nav_active": "syncs",
    }
    return render(request, "syncs/list.html", ctx)


def _create_form(request: HttpRequest, recipe: Any) -> SyncCreateForm:
    sources = syncs_selectors.connections_for(provider=recipe.source_provider)
    targets = syncs_selectors.connections_for(provider=recipe.target_provider)
    initial = {
        "name": recipe.title.replace("->", "→"),
        "webhook_trigger": "webhook" in recipe.triggers,
        "poll_interval_seconds": sync_services.DEFAULT_POLL_INTERVAL_SECONDS,
    }
    data = request.POST if request.method == "POST" else None
    return SyncCreateForm(data, initial=initial, recipe=recipe, sources=sources, targets=targets)


@editor_required
def sync_create(request: HttpRequest) -> HttpResponse:
    recipe = syncs_selectors.recipe_get(key=request.POST.get("recipe") or request.GET.get("recipe") or "")
    if recipe is None:
        ctx = {"recipes": syncs_selectors.recipe_list(), "nav_active": "syncs"}
        return render(request, "syncs/create.html", ctx)
    form = _create_form(request, recipe)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sync = sync_services.sync_create_from_recipe(
                recipe=recipe.key,
                name=data["name"],
                source_connection=data["source_connection"],
                target_connection=data["target_connection"],
                options=data["options"],
                user=request.user,
                poll_interval_seconds=data.get("poll_interval_seconds"),
                webhook_trigger=data.get("webhook_trigger"),
            )
        except ConfigurationError as exc:
            form.add_error(None, str(exc))
        else:
            run_services.run_preview(sync=sync, user=request.user)
            messages.success(
                request,
                f"Sync “{sync.name}” created with the recipe's default mapping. It is paused: "
                "below is a preview of what its first run would do; nothing is written until you press "
                "Go live.",
            )
            return go(request, reverse("dashboard:sync_detail", args=[sync.pk]))
    ctx: dict[str, Any] = {"recipe": recipe, "form": form, "nav_active": "syncs"}
    return render(request, "syncs/create.html#form" if request.htmx else "syncs/create.html", ctx)


def _detail(sync_id: int) -> syncs_selectors.SyncDetail:
    detail = syncs_selectors.sync_detail_get(sync_id=sync_id)
    if detail is None:
        raise Http404("No such sync.")
    return detail


def _save_settings(request: HttpRequest, detail: syncs_selectors.SyncDetail, form: SyncSettingsForm) -> None:
    sync, data = detail.sync, form.cleaned_data
    fields = {k: data[k] for k in SETTINGS_FIELDS}
    fields.update(scheduling.sync_schedule_after_change(sync=sync, poll_interval_seconds=data["poll_interval_seconds"]))
    sync_services.sync_update(sync=sync, user=request.user, **fields)
    if "enabled" in data and data["enabled"] != sync.enabled:
        status_services.sync_paused_set(sync=sync, paused=not data["enabled"], user=request.user)


def live_context(detail: syncs_selectors.SyncDetail, token: str | None = None) -> dict[str, Any]:
    """What the sync detail's live part shows (status, facts, run now, preview, recent runs) and its poll."""
    if token is None:
        current = syncs_selectors.sync_token(sync_id=detail.sync.pk)
        token, active = current if current else ("", False)
    else:
        active = detail.active_run is not None
    return {
        "d": detail,
        "sync": detail.sync,
        "active_run": detail.active_run,
        "token": token,
        "poll_seconds": ACTIVE_POLL_SECONDS if active else IDLE_POLL_SECONDS,
        "nav_active": "syncs",
        "last_run": next((r for r in detail.recent_runs if r.status not in ("queued", "running")), None),
        "now": timezone.now(),
    }


@viewer_required
def sync_detail(request: HttpRequest, sync_id: int) -> HttpResponse:
    prime_user(request)
    detail = _detail(sync_id)
    card = syncs_selectors.recipe_get(key=detail.sync.recipe)
    form = SyncSettingsForm.for_sync(
        detail.sync, request.POST if request.method == "POST" else None, settings=card.recipe.settings if card else ()
    )
    if request.method == "POST":
        if not can_edit(request.user):
            raise PermissionDenied("Changing a sync needs the Editor role.")
        if form.is_valid():
            _save_settings(request, detail, form)
            messages.success(request, "Settings saved.")
            return go(request, reverse("dashboard:sync_detail", args=[sync_id]))
    ctx = {
        **live_context(detail),
        "form": form,
        "webhook_registrable": app_webhooks.registrable(detail.sync.source_connection.provider),
    }
    return render(request, "syncs/detail.html#settings" if request.htmx else "syncs/detail.html", ctx)


@viewer_required
def sync_poll(request: HttpRequest, sync_id: int) -> HttpResponse:
    """The sync detail, live: 204 while nothing it shows changed; else the live column with the status badge,
    the preview and the recent runs out of band. The settings form is never replaced (someone may be typing)."""
    current = syncs_selectors.sync_token(sync_id=sync_id)
    if current is None:
        raise Http404("No such sync.")
    if request.GET.get("token") == current[0]:
        return HttpResponse(status=204)
    prime_user(request)
    return render(request, "syncs/detail.html#poll_response", live_context(_detail(sync_id), current[0]))


@editor_required
@require_POST
def sync_run_now(request: HttpRequest, sync_id: int) -> HttpResponse:
    prime_user(request)
    detail = _detail(sync_id)
    if not detail.sync.is_live:
        run = None
        note = "This sync is not live yet: look at its preview, then press Go live."
    else:
        run = run_services.run_enqueue(sync=detail.sync, trigger=RunTrigger.MANUAL, user=request.user)
        note = "" if run is not None else "A run of this sync is already active; it was not started twice."
    if request.htmx:
        ctx = {**live_context(_detail(sync_id)), "run": run, "pressed": True, "note": note}
        return render(request, "syncs/detail.html#poll_response", ctx)
    if run is None:
        messages.warning(request, note)
    else:
        messages.success(request, f"Run #{run.pk} queued.")
    return redirect("dashboard:sync_detail", sync_id=sync_id)


def _webhook_url(request: HttpRequest, connection: Connection) -> str:
    """Where the app must post: SITE_URL when set (behind a proxy), else the URL this request came to."""
    path = reverse("webhook_connection", args=[connection.webhook_token])
    base = str(getattr(settings, "SITE_URL", "") or "").rstrip("/")
    return f"{base}{path}" if base else request.build_absolute_uri(path)


@editor_required
@require_POST
def sync_webhook_register(request: HttpRequest, sync_id: int) -> HttpResponse:
    connection = _detail(sync_id).sync.source_connection
    url = _webhook_url(request, connection)
    try:
        app_webhooks.app_webhook_register_enqueue(connection=connection, target_url=url, user=request.user)
    except app_webhooks.WebhookRejected as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Registering {url} with {connection.get_provider_display()}; "
            "the status below updates when the app has verified it.",
        )
    return redirect("dashboard:sync_detail", sync_id=sync_id)


@editor_required
@require_POST
def sync_event_retry(request: HttpRequest, sync_id: int, event_id: int) -> HttpResponse:
    """Route one failed webhook of the sync's inbox again."""
    detail = _detail(sync_id)
    event = syncs_selectors.sync_event_get(sync=detail.sync, event_id=event_id)
    if event is None:
        raise Http404("No such webhook in this sync's inbox.")
    if event_runs.inbound_event_retry(event=event, user=request.user):
        messages.success(
            request, f"The {event.event_type or 'webhook'} event is routed again; its status updates below."
        )
    else:
        messages.info(request, "That webhook is not failed (anymore): nothing to retry.")
    return redirect("dashboard:sync_detail", sync_id=sync_id)
