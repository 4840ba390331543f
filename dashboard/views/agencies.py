"""An agency's page (Viewer): its sub-accounts and what became of each; connecting them (Admin only)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from contacts_sync.models import Connection
from contacts_sync.selectors import agencies as sel
from contacts_sync.services import agencies as svc
from contacts_sync.services.connections import ConnectionActionError
from contacts_sync.services.ghl_oauth import ghl_default_base_url
from dashboard.access import admin_required, viewer_required
from dashboard.forms.connections import AgencyPITForm, LocationPITForm
from dashboard.htmx import go

DETAIL = "agencies/detail.html"


def _agency(pk: int) -> Connection:
    agency = sel.agency_get(pk=pk)
    if agency is None:
        raise Http404("no such agency")
    return agency


def _back(pk: int) -> str:
    return reverse("dashboard:agency_detail", args=[pk])


@viewer_required
def agency_detail(request: HttpRequest, pk: int) -> HttpResponse:
    agency = _agency(pk)
    q, state = request.GET.get("q", "")[:200], request.GET.get("state", "")
    state = state if state in sel.STATES else ""
    every = sel.agency_directory(agency=agency)
    rows = sel.agency_directory(agency=agency, q=q, state=state) if q or state else every
    context = {
        "agency": agency,
        "c": agency,
        "rows": rows,
        "summary": sel.agency_summary(agency=agency, rows=every),
        "listed_at": sel.listed_at(agency),
        "can_mint": sel.agency_can_mint(agency),
        "states": sel.STATES,
        "q": q,
        "state": state,
        "polling": any(r.state == "connecting" for r in rows),
        "pit_form": LocationPITForm(),
        "nav_active": "connections",
    }
    return render(request, f"{DETAIL}#directory" if request.htmx else DETAIL, context)


@require_POST
@admin_required
def agency_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    agency = _agency(pk)
    try:
        count = svc.agency_locations_refresh(agency=agency)
    except ConnectionActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"HighLevel lists {count} sub-accounts.")
    return redirect(_back(pk))


@require_POST
@admin_required
def agency_connect(request: HttpRequest, pk: int) -> HttpResponse:
    agency = _agency(pk)
    chosen = None if request.POST.get("all") else [i[:200] for i in request.POST.getlist("location") if i][:1000]
    if chosen == []:
        messages.error(request, "Tick the sub-accounts to connect, or use Connect all.")
        return redirect(_back(pk))
    try:
        asked = svc.agency_locations_connect_request(agency=agency, location_ids=chosen, user=request.user)
    except ConnectionActionError as exc:
        messages.error(request, str(exc))
    else:
        if asked:
            messages.success(
                request,
                f"Connecting {len(asked)} sub-account{'s' if len(asked) != 1 else ''} in the "
                "background; this page follows them.",
            )
        else:
            messages.info(request, "Nothing to connect: every listed sub-account is connected or on its way.")
    return redirect(_back(pk))


@require_POST
@admin_required
def agency_settings(request: HttpRequest, pk: int) -> HttpResponse:
    agency = _agency(pk)
    try:
        svc.agency_settings_set(agency=agency, user=request.user, connect_new=bool(request.POST.get("connect_new")))
    except ConnectionActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Saved.")
    return redirect(_back(pk))


@sensitive_post_parameters()
@require_POST
@admin_required
@sensitive_variables()
def agency_location_pit(request: HttpRequest, pk: int) -> HttpResponse:
    agency = _agency(pk)
    form = LocationPITForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Paste the sub-account's private integration token.")
        return redirect(_back(pk))
    try:
        connection = svc.agency_location_connect_private_token(
            agency=agency,
            location_id=form.cleaned_data["location_id"],
            token=form.cleaned_data["token"],
            user=request.user,
        )
    except ConnectionActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{connection.name}: {connection.get_status_display().lower()}.")
    return redirect(_back(pk))


@sensitive_post_parameters()
@admin_required
@sensitive_variables()
def agency_connect_pit(request: HttpRequest) -> HttpResponse:
    form = AgencyPITForm(request.POST or None, initial={"base_url": ghl_default_base_url()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            agency = svc.agency_connect_private_token(
                name=data["name"],
                company_id=data["company_id"],
                token=data["token"],
                user=request.user,
                base_url=data["base_url"] or "",
            )
        except ConnectionActionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{agency.name}: {agency.get_status_display().lower()}.")
            return go(request, _back(agency.pk))
    return render(request, "agencies/connect_pit.html", {"form": form, "nav_active": "connections"})
