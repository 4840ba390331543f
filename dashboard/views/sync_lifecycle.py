"""A sync's life: preview (a one-off dry run), go live, archive and restore, clone, delete (typed confirmation)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from contacts_sync.exceptions import ConfigurationError
from contacts_sync.selectors import syncs as syncs_selectors
from contacts_sync.services import runs as run_services
from contacts_sync.services import syncs as sync_services
from dashboard.access import editor_required
from dashboard.forms.syncs import SyncCloneForm, SyncDeleteForm
from dashboard.htmx import go
from dashboard.views.overview import prime_user
from dashboard.views.syncs import _detail, live_context


@editor_required
@require_POST
def sync_preview(request: HttpRequest, sync_id: int) -> HttpResponse:
    """Preview a run: a dry run, never a stored setting. A sync that never went live previews a sample of its
    source (its first run may be huge); a live one previews what its next run would do, in full."""
    sync = _detail(sync_id).sync
    prime_user(request)
    sample = run_services.PREVIEW_SAMPLE_RECORDS if not sync.is_live else None
    run = run_services.run_preview(sync=sync, user=request.user, sample=sample)
    if run is None:
        note = "A run of this sync is already active; preview again when it has finished."
    else:
        note = ""
    if request.htmx:
        ctx = {**live_context(_detail(sync_id)), "run": run, "pressed": True, "note": note}
        return render(request, "syncs/detail.html#poll_response", ctx)
    if run is None:
        messages.warning(request, note)
    else:
        messages.success(request, f"Preview #{run.pk} queued: it reads and maps, and writes nothing.")
    return redirect("dashboard:sync_detail", sync_id=sync_id)


@editor_required
@require_POST
def sync_go_live(request: HttpRequest, sync_id: int) -> HttpResponse:
    sync = _detail(sync_id).sync
    try:
        run = sync_services.sync_go_live(sync=sync, user=request.user)
    except sync_services.SyncActionError as exc:
        messages.error(request, str(exc))
        return redirect("dashboard:sync_detail", sync_id=sync_id)
    if run is not None:
        messages.success(request, f"“{sync.name}” is live: its first run #{run.pk} has started.")
    else:
        messages.success(
            request, f"“{sync.name}” is live. A run is still active; the first real run starts when it has finished."
        )
    return redirect("dashboard:sync_detail", sync_id=sync_id)


@editor_required
@require_POST
def sync_archive(request: HttpRequest, sync_id: int) -> HttpResponse:
    sync = _detail(sync_id).sync
    archived = request.POST.get("archived", "1") == "1"
    sync_services.sync_archive(sync=sync, user=request.user, archived=archived)
    if archived:
        messages.success(
            request,
            f"“{sync.name}” is archived: paused and hidden from the overview and the sync "
            "list. Its runs stay in the history.",
        )
    else:
        messages.success(request, f"“{sync.name}” is restored. It stays paused until you resume it.")
    return redirect("dashboard:sync_detail", sync_id=sync_id)


@editor_required
def sync_clone(request: HttpRequest, sync_id: int) -> HttpResponse:
    sync = _detail(sync_id).sync
    sources = syncs_selectors.connections_for(provider=sync.source_connection.provider)
    targets = syncs_selectors.connections_for(provider=sync.target_connection.provider)
    initial = {
        "name": syncs_selectors.clone_name(sync),
        "source_connection": sync.source_connection_id,
        "target_connection": sync.target_connection_id,
    }
    form = SyncCloneForm(
        request.POST if request.method == "POST" else None, initial=initial, sync=sync, sources=sources, targets=targets
    )
    if request.method == "POST" and form.is_valid():
        try:
            clone = sync_services.sync_clone(sync=sync, user=request.user, **form.cleaned_data)
        except ConfigurationError as exc:
            form.add_error(None, str(exc))
        else:
            run_services.run_preview(sync=clone, user=request.user)
            messages.success(
                request,
                f"“{clone.name}” created from “{sync.name}”. It is paused: look at its preview, then press Go live.",
            )
            return go(request, reverse("dashboard:sync_detail", args=[clone.pk]))
    ctx: dict[str, Any] = {"sync": sync, "form": form, "nav_active": "syncs"}
    return render(request, "syncs/clone.html", ctx)


@editor_required
def sync_delete(request: HttpRequest, sync_id: int) -> HttpResponse:
    sync = _detail(sync_id).sync
    form = SyncDeleteForm(request.POST if request.method == "POST" else None, sync=sync)
    if request.method == "POST" and form.is_valid():
        try:
            impact = sync_services.sync_delete(sync=sync, confirm=form.cleaned_data["confirm"], user=request.user)
        except sync_services.SyncActionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Deleted “{sync.name}” with {impact['runs']:,} runs, {impact['items']:,} "
                f"items and {impact['links']:,} record links.",
            )
            return go(request, reverse("dashboard:sync_list"))
    ctx = {
        "sync": sync,
        "form": form,
        "impact": sync_services.sync_delete_impact(sync=sync),
        "nav_active": "syncs",
        "active": _detail(sync_id).active_run,
    }
    return render(request, "syncs/delete.html", ctx)
