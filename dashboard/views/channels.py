"""Alert channels (Admin): list with last error and recent sends, create, test, enable/disable, delete.

The add form shows only the fields of the chosen kind (`?kind=email|slack|webhook`). A generated signing secret
is rendered once, straight from the POST, with Cache-Control: no-store: never in a message (the messages cookie
would carry it) and never again afterwards.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from contacts_sync.models import AlertChannel, ChannelKind
from contacts_sync.selectors import alerts as alerts_selectors
from contacts_sync.services import channels as channel_services
from dashboard.access import admin_required
from dashboard.forms.alerts import CHANNEL_FORMS
from dashboard.htmx import go
from dashboard.views.overview import prime_user


def _kind(request: HttpRequest) -> str:
    kind = request.POST.get("kind") or request.GET.get("kind") or ChannelKind.EMAIL
    return kind if kind in CHANNEL_FORMS else ChannelKind.EMAIL


@sensitive_variables()
def _secret_once(request: HttpRequest, channel: AlertChannel, secret: str) -> HttpResponse:
    response = render(
        request, "alerts/channel_secret.html", {"channel": channel, "secret": secret, "nav_active": "channels"}
    )
    response["Cache-Control"] = "no-store"
    if request.htmx:  # the whole page, not the form's place (the webhook form posts without htmx anyway)
        response["HX-Retarget"], response["HX-Reswap"] = "body", "innerHTML"
    return response


@sensitive_post_parameters("slack_url", "secret")
@admin_required
def channel_list(request: HttpRequest) -> HttpResponse:
    prime_user(request)
    kind = _kind(request)
    form = CHANNEL_FORMS[kind](request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            channel, shown = channel_services.channel_create(**form.create_args(), user=request.user)
        except channel_services.ChannelInputError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        except channel_services.ChannelURLError as exc:
            form.add_error("slack_url" if kind == ChannelKind.SLACK else "target", str(exc))
        else:
            if shown:
                return _secret_once(request, channel, shown)
            messages.success(request, f"Added the channel {channel.name}. Send a test to check it.")
            return go(request, reverse("dashboard:channel_list"))
    ctx = {
        "channels": alerts_selectors.channel_list(),
        "form": form,
        "kind": kind,
        "kinds": ChannelKind.choices,
        "nav_active": "channels",
    }
    if request.htmx and (request.method == "POST" or request.GET.get("kind")):
        return render(request, "alerts/channels.html#channel_form", ctx)  # the form alone, 200
    return render(request, "alerts/channels.html", ctx)


@require_POST
@admin_required
def channel_test(request: HttpRequest, channel_id: int) -> HttpResponse:
    prime_user(request)
    channel = get_object_or_404(AlertChannel, pk=channel_id)
    n = channel_services.channel_test(channel=channel, user=request.user)
    if n.ok:
        messages.success(request, f"Test sent through {channel.name}.")
    else:
        messages.error(
            request,
            f"Test through {channel.name} failed: {n.error}"
            + (" The channel was disabled." if not channel.enabled else ""),
        )
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
