"""A connection's lifecycle pages (Admin only): delete (typed name), archive / unarchive, clone, and the
question asked when a HighLevel consent comes back for a location that is already connected."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from contacts_sync.models import Connection
from contacts_sync.services import connection_lifecycle as lifecycle
from contacts_sync.services import ghl_oauth
from contacts_sync.services.connections import ConnectionActionError
from dashboard.access import admin_required
from dashboard.forms.connections import ConfirmForm


@admin_required
def connection_delete(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    form = ConfirmForm(request.POST or None, expected=connection.name)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.connection_delete(connection=connection, user=request.user, confirm=form.cleaned_data["confirm"])
        except ConnectionActionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, f"Deleted {connection.name}, its secrets and its alerts. The audit log keeps what happened."
            )
            return redirect("dashboard:connection_list")
    ctx = {
        "connection": connection,
        "form": form,
        "preview": lifecycle.connection_delete_preview(connection),
        "nav_active": "connections",
    }
    return render(request, "connections/delete.html", ctx, status=200)


@require_POST
@admin_required
def connection_archive(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    try:
        lifecycle.connection_archive(connection=connection, user=request.user)
    except ConnectionActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"{connection.name} is archived: its secrets are deleted, it is hidden from the "
            "lists and the New sync picker, its history is kept.",
        )
    return redirect("dashboard:connection_detail", pk=pk)


@require_POST
@admin_required
def connection_unarchive(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    lifecycle.connection_unarchive(connection=connection, user=request.user)
    messages.success(request, f"{connection.name} is back in the list; connect it again to use it.")
    return redirect("dashboard:connection_detail", pk=pk)


@admin_required
def connection_clone(request: HttpRequest, pk: int) -> HttpResponse:
    """A copy starts on the Connect form with this connection's settings; nothing is stored before its own
    credentials pass the test."""
    connection = get_object_or_404(Connection, pk=pk)
    try:
        start = lifecycle.connection_clone_start(connection)
    except ConnectionActionError as exc:
        messages.error(request, str(exc))
        return redirect("dashboard:connection_detail", pk=pk)
    if start.kind == "ghl_oauth":
        query = urlencode({"name": start.initial["name"], "base_url": start.initial["base_url"]})
        return redirect(f"{reverse('dashboard:ghl_connect')}?{query}")
    return redirect(f"{reverse('dashboard:connection_create', args=[start.kind])}?from={connection.pk}")


@admin_required
def ghl_oauth_pending(request: HttpRequest, grant_id: int) -> HttpResponse:
    """The consent came back for a location that is already connected: replace its credentials, or not."""
    try:
        grant = ghl_oauth.ghl_oauth_grant_get(grant_id=grant_id, user=request.user)
    except ConnectionActionError as exc:
        return render(
            request, "connections/oauth_error.html", {"error": str(exc), "nav_active": "connections"}, status=404
        )
    if request.method == "POST":
        if request.POST.get("decision") == "replace":
            connection = ghl_oauth.ghl_oauth_grant_apply(
                grant=grant, user=request.user, rename=request.POST.get("rename") == "1"
            )
            messages.success(request, f"{connection.name}: credentials replaced with the new HighLevel consent.")
        else:
            ghl_oauth.ghl_oauth_grant_discard(grant=grant, user=request.user)
            messages.info(request, f"Nothing changed: {grant.connection.name} keeps its credentials.")
        return redirect("dashboard:connection_detail", pk=grant.connection_id)
    ctx = {
        "grant": grant,
        "connection": grant.connection,
        "nav_active": "connections",
        "renames": bool(grant.name) and grant.name != grant.connection.name,
    }
    return render(request, "connections/oauth_pending.html", ctx)
