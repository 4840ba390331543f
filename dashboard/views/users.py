"""Users page (Admin only): list with roles, invite, change role, deactivate / reactivate."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from contacts_sync.services import users as svc
from dashboard.access import admin_required, role_of
from dashboard.forms.users import InviteForm, RoleForm
from dashboard.htmx import go

LIST_TEMPLATE = "users/list.html"


def _users() -> list:
    User = get_user_model()
    rows = User.objects.prefetch_related(Prefetch("groups", queryset=Group.objects.only("name"))).order_by(
        "-is_active", "email"
    )
    return [{"user": u, "role": role_of(u) if u.is_active else _inactive_role(u)} for u in rows]


def _inactive_role(user: object) -> str:
    names = {g.name for g in user.groups.all()}  # type: ignore[attr-defined]
    return next((r for r in ("Admin", "Editor", "Viewer") if r in names), "—")


def _page(request: HttpRequest, form: InviteForm, status: int = 200) -> HttpResponse:
    template = f"{LIST_TEMPLATE}#invite-form" if request.htmx else LIST_TEMPLATE
    return render(
        request,
        template,
        {"rows": _users(), "form": form, "roles": svc.ROLES, "nav_active": "users"},
        status=status,
    )


@admin_required
def user_list(request: HttpRequest) -> HttpResponse:
    return _page(request, InviteForm())


@admin_required
def user_invite(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("dashboard:user_list")
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            user = svc.user_invite(
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
                request=request,
            )
        except svc.UserActionError as exc:
            form.add_error("email", str(exc))
        else:
            messages.success(
                request,
                f"Invited {user.email} as {form.cleaned_data['role']}: they got an email "
                "with a link to set their password.",
            )
            return go(request, reverse("dashboard:user_list"))
    return _page(request, form)


@require_POST
@admin_required
def user_role(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
        return redirect("dashboard:user_list")
    try:
        svc.user_role_set(user=user, role=form.cleaned_data["role"], actor=request.user)
    except svc.UserActionError as exc:
        messages.error(request, f"{user.email}: {exc}")
    else:
        messages.success(request, f"{user.email} is now {form.cleaned_data['role']}.")
    return redirect("dashboard:user_list")


@require_POST
@admin_required
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    active = request.POST.get("active") == "1"
    try:
        svc.user_active_set(user=user, active=active, actor=request.user)
    except svc.UserActionError as exc:
        messages.error(request, f"{user.email}: {exc}")
    else:
        messages.success(request, f"{user.email} is {'active again' if active else 'deactivated'}.")
    return redirect("dashboard:user_list")
