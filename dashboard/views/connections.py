"""Connections pages: list (Viewer), connect / edit / test / rotate / disconnect (Admin only)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from contacts_sync.models import AuditEntry, Connection, PendingOAuthGrant, Provider
from contacts_sync.services import connection_lifecycle as lifecycle
from contacts_sync.services import connections as svc
from contacts_sync.services import ghl_oauth
from dashboard.access import admin_required, viewer_required
from dashboard.forms.connections import ConfirmForm, ConnectionForm, GHLConnectForm
from dashboard.htmx import go

LIST_TEMPLATE = "connections/list.html"
HISTORY_LIMIT = 30  # audit entries and status changes shown on a connection's page


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@viewer_required
def connection_list(request: HttpRequest) -> HttpResponse:
    archived = request.GET.get("archived") == "1"
    connections = Connection.objects.select_related("updated_by", "agency").filter(archived_at__isnull=not archived)
    return render(
        request,
        LIST_TEMPLATE,
        {
            "connections": connections.order_by("provider", "name"),
            "archived": archived,
            "archived_count": Connection.objects.filter(archived_at__isnull=False).count(),
            "nav_active": "connections",
            "oauth_configured": ghl_oauth.ghl_oauth_configured(),
        },
    )


@admin_required
def connection_add(request: HttpRequest) -> HttpResponse:
    kinds = [(key, spec) for key, spec in svc.connect_options().items()]
    return render(
        request,
        "connections/add.html",
        {"kinds": kinds, "nav_active": "connections", "oauth_configured": ghl_oauth.ghl_oauth_configured()},
    )


@viewer_required
def connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection.objects.select_related("agency"), pk=pk)
    if connection.is_agency:
        return redirect("dashboard:agency_detail", pk=pk)
    context = {
        "connection": connection,
        "nav_active": "connections",
        "spec": svc.spec_for_connection(connection),
        "scopes": ghl_oauth.scope_rows(connection.scopes) if connection.provider == Provider.GHL else [],
        "secret_keys": sorted(connection.secrets),
        "status_changes": connection.status_changes.all()[:HISTORY_LIMIT],
        "audit": AuditEntry.objects.filter(object_type="connection", object_id=str(pk)).select_related("actor")[
            :HISTORY_LIMIT
        ],
    }
    return render(request, "connections/detail.html", context)


def _clone_source(request: HttpRequest, kind: str) -> tuple[Connection | None, dict[str, object] | None]:
    """The connection being cloned (`?from=<pk>`) and the settings its copy starts from, when of this kind."""
    raw = request.GET.get("from", "")
    source = Connection.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    if source is None:
        return None, None
    start = lifecycle.connection_clone_start(source)
    return (source, start.initial) if start.kind == kind else (None, None)


@sensitive_post_parameters()
@admin_required
@sensitive_variables()
def connection_create(request: HttpRequest, kind: str) -> HttpResponse:
    spec = svc.connect_options().get(kind)
    if spec is None:
        raise Http404("unknown connection kind")
    clone_of, initial = _clone_source(request, kind)
    form = ConnectionForm(request.POST or None, spec=spec, initial=initial)
    if request.method == "POST" and form.is_valid():
        secrets = form.secret_values()
        webhook_secret = svc.webhook_secret_generate() if spec.provider == Provider.CUSTOM else ""
        if webhook_secret:
            secrets["webhook_secret"] = webhook_secret
        try:
            connection = lifecycle.connection_connect(
                provider=spec.provider,
                auth_kind=spec.auth_kind,
                secrets=secrets,
                user=request.user,
                **form.settings_values(),
            )
        except svc.ConnectionActionError as exc:
            form.add_error(None, str(exc))
        else:
            if webhook_secret:
                return _secret_once(request, connection, webhook_secret)
            _status_message(request, connection)
            return go(request, reverse("dashboard:connection_detail", args=[connection.pk]))
    return render(
        request,
        "connections/form.html#connection-form" if request.htmx else "connections/form.html",
        {
            "form": form,
            "spec": spec,
            "kind": kind,
            "clone_of": clone_of,
            "nav_active": "connections",
            "pit_scopes": ghl_oauth.scope_rows(ghl_oauth.ghl_scopes_needed()),
        },
    )


@sensitive_post_parameters()
@admin_required
@sensitive_variables()
def connection_edit(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    spec = svc.spec_for_connection(connection)
    form = ConnectionForm(
        request.POST or None,
        spec=spec,
        secrets_set=set(connection.secrets),
        initial={
            "default_region": connection.config.get("default_region", ""),
            "name": connection.name,
            "base_url": connection.base_url,
            "external_account_id": connection.external_account_id,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            svc.connection_update(
                connection=connection, user=request.user, secrets=form.secret_values(), **form.settings_values()
            )
        except svc.ConnectionActionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Saved.")
            return go(request, reverse("dashboard:connection_detail", args=[connection.pk]))
    return render(
        request,
        "connections/form.html#connection-form" if request.htmx else "connections/form.html",
        {"form": form, "spec": spec, "connection": connection, "nav_active": "connections"},
    )


@require_POST
@admin_required
def connection_test(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    try:
        connection = svc.connection_test(connection=connection, user=request.user)
    except svc.ConnectionActionError as exc:
        if request.htmx:
            return render(
                request,
                "connections/list.html#status-cell",
                {"c": connection, "test_error": str(exc), "can_test": True},
            )
        messages.error(request, str(exc))
        return redirect("dashboard:connection_detail", pk=pk)
    if request.htmx:
        return render(request, "connections/list.html#status-cell", {"c": connection, "can_test": True})
    _status_message(request, connection)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("dashboard:connection_detail", args=[pk])
    return redirect(back)


@admin_required
def connection_disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    form = ConfirmForm(request.POST or None, expected=connection.name)
    if request.method == "POST" and form.is_valid():
        svc.connection_disconnect(connection=connection, user=request.user)
        messages.success(request, f"{connection.name} is disconnected; its secrets are deleted, its history kept.")
        return redirect("dashboard:connection_detail", pk=pk)
    return render(
        request,
        "connections/disconnect.html",
        {
            "connection": connection,
            "form": form,
            "nav_active": "connections",
            "sync_count": connection.syncs_in.count() + connection.syncs_out.count(),
        },
    )


@require_POST
@admin_required
def connection_webhook_secret(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    try:
        secret = svc.connection_webhook_secret_rotate(connection=connection, user=request.user)
    except svc.ConnectionActionError as exc:
        messages.error(request, str(exc))
        return redirect("dashboard:connection_detail", pk=pk)
    return _secret_once(request, connection, secret)


@sensitive_variables()
def _secret_once(request: HttpRequest, connection: Connection, secret: str) -> HttpResponse:
    """Rendered straight from the POST (no redirect, no session copy): the only time it is ever shown."""
    return _no_store(
        render(
            request,
            "connections/secret_once.html",
            {"connection": connection, "secret": secret, "nav_active": "connections"},
        )
    )


def _status_message(request: HttpRequest, connection: Connection) -> None:
    if connection.status == "connected":
        messages.success(request, f"{connection.name}: connected.")
    else:
        messages.error(request, f"{connection.name}: {connection.get_status_display()}: {connection.last_error}")


# --- HighLevel OAuth --------------------------------------------------------------------------------------


def _replacing(request: HttpRequest) -> Connection | None:
    """The HighLevel connection a Reconnect started from (`?connection=<pk>`): its consent replaces its token."""
    raw = request.POST.get("connection") or request.GET.get("connection") or ""
    return Connection.objects.filter(pk=int(raw), provider=Provider.GHL).first() if raw.isdigit() else None


@admin_required
def ghl_connect(request: HttpRequest) -> HttpResponse:
    initial = {
        "scopes": ghl_oauth.ghl_scopes_needed(),
        "name": request.GET.get("name") or "HighLevel",
        "base_url": request.GET.get("base_url", ghl_oauth.ghl_default_base_url()),
        "kind": "agency" if request.GET.get("kind") == "agency" else "location",
        "connect_all": True,
    }
    replacing = _replacing(request)
    form = GHLConnectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            start = ghl_oauth.ghl_oauth_start(
                session=request.session,
                user=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                base_url=form.cleaned_data["base_url"] or "",
                redirect_uri=request.build_absolute_uri(reverse("dashboard:ghl_oauth_callback")),
                replace_connection_id=replacing.pk if replacing else None,
                kind=form.cleaned_data["kind"],
                connect_all=form.cleaned_data["connect_all"],
            )
        except svc.ConnectionActionError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(start.url)
    return render(
        request,
        "connections/ghl_connect.html",
        {
            "form": form,
            "scopes": ghl_oauth.GHL_SCOPES,
            "needed": ghl_oauth.ghl_scopes_needed(),
            "oauth_configured": ghl_oauth.ghl_oauth_configured(),
            "replacing": replacing,
            "nav_active": "connections",
        },
    )


@admin_required
@sensitive_variables()
def ghl_oauth_callback(request: HttpRequest) -> HttpResponse:
    params = request.GET
    try:
        connection = ghl_oauth.ghl_oauth_finish(
            session=request.session,
            user=request.user,
            state=params.get("state", ""),
            code=params.get("code", ""),
            error=params.get("error", ""),
            error_description=params.get("error_description", ""),
        )
    except svc.ConnectionActionError as exc:
        return render(
            request,
            "connections/oauth_error.html",
            {"error": str(exc), "nav_active": "connections"},
            status=400,
        )
    if isinstance(connection, PendingOAuthGrant):  # a location that is already connected: ask first
        return redirect("dashboard:ghl_oauth_pending", grant_id=connection.pk)
    _status_message(request, connection)
    if connection.is_agency:
        return redirect("dashboard:agency_detail", pk=connection.pk)
    return redirect("dashboard:connection_detail", pk=connection.pk)
