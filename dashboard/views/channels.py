"""Alert channels (Admin): list with last error and recent sends, create, test, enable/disable, delete."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from contacts_sync.models import AlertChannel
from contacts_sync.selectors import alerts as alerts_selectors
from contacts_sync.services import channels as channel_services
from dashboard.access import admin_required
from dashboard.forms.alerts import ChannelForm
from dashboard.htmx import go
from dashboard.views.overview import prime_user


@sensitive_post_parameters("secret", "slack_url")
@admin_required
def channel_list(request: HttpRequest) -> HttpResponse:
    prime_user(request)
    form = ChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            channel, shown = channel_services.channel_create(
                name=d["name"], kind=d["kind"], target=d["target"], slack_url=d["slack_url"], secret=d["secret"],
                user=request.user)
        except channel_services.ChannelURLError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Added the channel {channel.name}. Send a test to check it.")
            if shown:
                return _secret_once(request, channel, shown)
            if request.htmx:
                return go(request, reverse("dashboard:channel_list"))
            return redirect("dashboard:channel_list")
    ctx = {"channels": alerts_selectors.channel_list(), "form": form, "nav_active": "channels"}
    if request.htmx and request.method == "POST":
        return render(request, "alerts/channels.html#channel_form", ctx)  # invalid htmx post: the form, 200
    return render(request, "alerts/channels.html", ctx)


@sensitive_variables()
def _secret_once(request: HttpRequest, channel: AlertChannel, secret: str) -> HttpResponse:
    """The generated signing secret, rendered straight from the POST in place of the form (never in the
    messages cookie or the session), not cached: the only time it is ever shown."""
    ctx = {"channels": alerts_selectors.channel_list(), "shown_secret": secret, "secret_channel": channel,
           "nav_active": "channels"}
    response = render(request, "alerts/channels.html#channel_secret" if request.htmx else "alerts/channels.html", ctx)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@admin_required
def channel_test(request: HttpRequest, channel_id: int) -> HttpResponse:
    prime_user(request)
    channel = get_object_or_404(AlertChannel, pk=channel_id)
    n = channel_services.channel_test(channel=channel, user=request.user)
    if n.ok:
        messages.success(request, f"Test sent through {channel.name}.")
    else:
        messages.error(request, f"Test through {channel.name} failed: {n.error}"
                       + (" The channel was disabled." if not channel.enabled else ""))
    return redirect("dashboard:channel_list")


@require_POST
@admin_required
def channel_toggle(request: HttpRequest, channel_id: int) -> HttpResponse:
    prime_user(request)
    channel = get_object_or_404(AlertChannel, pk=channel_id)
    channel_services.channel_enabled_set(channel=channel, enabled=not channel.enabled, user=request.user)
    messages.success(request, f"{channel.name} {'enabled' if channel.enabled else 'disabled'}.")
    return redirect("dashboard:channel_list")


@require_POST
@admin_required
def channel_delete(request: HttpRequest, channel_id: int) -> HttpResponse:
    prime_user(request)
    channel = get_object_or_404(AlertChannel, pk=channel_id)
    channel_services.channel_delete(channel=channel, user=request.user)
    messages.success(request, f"Deleted {channel.name}.")
    return redirect("dashboard:channel_list")
