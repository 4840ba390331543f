"""Sync templates: list and detail (Viewer); create, edit the mapping, settings, more locations, per-location
overrides, pause and resume (Editor)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from contacts_sync.exceptions import ConfigurationError
from contacts_sync.models import SyncTemplate
from contacts_sync.selectors import sync_templates as sel
from contacts_sync.services import mappings as mapping_svc
from contacts_sync.services import sync_templates as svc
from contacts_sync.services.syncs import DEFAULT_POLL_INTERVAL_SECONDS
from dashboard.access import editor_required, viewer_required
from dashboard.forms.mappings import SaveForm, apply_action, rules_from_post
from dashboard.forms.sync_templates import TemplateApplyForm, TemplateCreateForm, TemplateSettingsForm
from dashboard.htmx import go
from dashboard.views.mappings import editor_context

EDITOR_PARTIAL = "mappings/edit.html#editor"


def _template(pk: int) -> SyncTemplate:
    template = sel.template_get(pk=pk)
    if template is None:
        raise Http404("no such template")
    return template


def _back(template: SyncTemplate) -> str:
    return reverse("dashboard:template_detail", args=[template.pk])


def _leave(request: HttpRequest, url: str) -> HttpResponse:
    if request.htmx:
        return HttpResponse(status=204, headers={"HX-Redirect": url})
    return HttpResponseRedirect(url)


def _agency_param(request: HttpRequest) -> int | None:
    raw = request.GET.get("agency") or request.POST.get("agency") or ""
    return int(raw) if raw.isdigit() else None


@viewer_required
def template_list(request: HttpRequest) -> HttpResponse:
    return render(request, "sync_templates/list.html", {"rows": sel.template_list(), "nav_active": "fleet"})


def _create_form(request: HttpRequest, recipe: Any, agency: int | None) -> TemplateCreateForm:
    initial = {
        "name": recipe.title.replace("->", "→"),
        "webhook_trigger": "webhook" in recipe.triggers,
        "poll_interval_seconds": DEFAULT_POLL_INTERVAL_SECONDS,
    }
    return TemplateCreateForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        recipe=recipe,
        counterparts=sel.counterpart_choices(recipe=recipe),
        locations=sel.location_choices(agency=agency),
        counterpart_label=sel.counterpart_title(recipe=recipe),
    )


@editor_required
def template_create(request: HttpRequest) -> HttpResponse:
    recipe = sel.recipe_get(key=request.POST.get("recipe") or request.GET.get("recipe") or "")
    agency = _agency_param(request)
    context: dict[str, Any] = {
        "recipes": sel.template_recipes(),
        "agencies": sel.agency_choices(),
        "agency": agency,
        "recipe": recipe,
        "nav_active": "fleet",
    }
    if recipe is None:
        return render(request, "sync_templates/create.html", context)
    form = _create_form(request, recipe, agency)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            template = svc.sync_template_create(
                name=data["name"],
                recipe=recipe.key,
                counterpart=data["counterpart"],
                locations=list(data["locations"]),
                user=request.user,
                options=data["options"],
                agency=sel.agency_get(pk=agency) if agency else None,
                webhook_trigger=data.get("webhook_trigger"),
                poll_interval_seconds=data.get("poll_interval_seconds"),
            )
        except ConfigurationError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, f"Template “{template.name}” applied to {template.members.count()} location(s), one sync each."
            )
            return go(request, _back(template))
    return render(request, "sync_templates/create.html", {**context, "form": form})


@viewer_required
def template_detail(request: HttpRequest, pk: int) -> HttpResponse:
    template = _template(pk)
    spec = sel.recipe_get(key=template.recipe)
    settings_form = (
        TemplateSettingsForm(
            recipe=spec,
            initial={
                "webhook_trigger": template.webhook_trigger,
                "poll_interval_seconds": template.poll_interval_seconds,
                "options": json.dumps(template.options) if template.options else "",
            },
        )
        if spec
        else None
    )
    context = {
        "template": template,
        "recipe": spec,
        "members": sel.template_members(template=template),
        "settings_form": settings_form,
        "apply_form": TemplateApplyForm(
            locations=sel.location_choices(agency=template.agency_id, exclude_template=template)
        ),
        "nav_active": "fleet",
    }
    return render(request, "sync_templates/detail.html", context)


@require_POST
@editor_required
def template_settings(request: HttpRequest, pk: int) -> HttpResponse:
    template = _template(pk)
    recipe = sel.recipe_get(key=template.recipe)
    if recipe is None:
        raise Http404("the template's recipe no longer exists")
    form = TemplateSettingsForm(request.POST, recipe=recipe)
    if not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        messages.error(request, f"Nothing was saved: {errors}")
        return redirect(_back(template))
    data = form.cleaned_data
    svc.sync_template_settings_set(
        template=template,
        user=request.user,
        webhook_trigger=bool(data.get("webhook_trigger")),
        poll_interval_seconds=data.get("poll_interval_seconds"),
        options=data["options"],
    )
    messages.success(request, "Saved; every location's sync has the new settings.")
    return redirect(_back(template))


@require_POST
@editor_required
def template_apply(request: HttpRequest, pk: int) -> HttpResponse:
    template = _template(pk)
    form = TemplateApplyForm(request.POST, locations=sel.location_choices(exclude_template=template))
    if not form.is_valid():
        messages.error(request, "Tick the locations to add.")
        return redirect(_back(template))
    try:
        added = svc.sync_template_apply(
            template=template, locations=list(form.cleaned_data["locations"]), user=request.user
        )
    except ConfigurationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Added {len(added)} location(s), one sync each.")
    return redirect(_back(template))


@require_POST
@editor_required
def template_pause(request: HttpRequest, pk: int) -> HttpResponse:
    template = _template(pk)
    paused = request.POST.get("paused") == "1"
    member = None
    if request.POST.get("member"):
        member = (
            sel.member_get(template=template, member_id=int(request.POST["member"] or 0))
            if request.POST["member"].isdigit()
            else None
        )
        if member is None:
            raise Http404("no such location in this template")
    changed = svc.sync_template_paused_set(template=template, paused=paused, user=request.user, member=member)
    messages.success(request, f"{'Paused' if paused else 'Resumed'} {changed} sync{'s' if changed != 1 else ''}.")
    return redirect(_back(template))


def _editor(
    request: HttpRequest,
    *,
    sync: Any,
    rules: list[dict[str, Any]],
    url: str,
    page: str,
    extra: dict[str, Any],
    saving: bool = False,
    errors: list[str] | None = None,
    save_form: SaveForm | None = None,
) -> HttpResponse:
    context = {
        **editor_context(sync, rules, saving=saving, errors=errors, save_form=save_form, editor_url=url),
        **extra,
        "nav_active": "fleet",
    }
    return render(request, EDITOR_PARTIAL if request.htmx else page, context)


def _edit(
    request: HttpRequest,
    *,
    sync: Any,
    current: list[dict[str, Any]],
    url: str,
    page: str,
    extra: dict[str, Any],
    save: Any,
) -> HttpResponse:
    """The mapping editor's round trip for a template or one of its locations; `save(rules, note)` stores."""
    if request.method != "POST":
        return _editor(request, sync=sync, rules=current, url=url, page=page, extra=extra)
    rules, errors = rules_from_post(request.POST)
    action, save_form = request.POST.get("action", "refresh"), SaveForm(request.POST)
    if action != "save" or errors:
        response = _editor(
            request,
            sync=sync,
            rules=apply_action(rules, action),
            url=url,
            page=page,
            extra=extra,
            errors=errors,
            save_form=save_form,
        )
        response["HX-Trigger"] = "mapping-changed"
        return response
    try:
        note = save_form.cleaned_data["note"] if save_form.is_valid() else None
        if note is None:
            raise mapping_svc.MappingRulesInvalid([])
        message = save(rules, note)
    except mapping_svc.MappingRulesInvalid:
        return _editor(
            request,
            sync=sync,
            rules=rules,
            url=url,
            page=page,
            extra=extra,
            saving=True,
            save_form=save_form,
            errors=["Nothing was saved: fix the problems marked below."],
        )
    messages.success(request, message)
    return _leave(request, extra["back_url"])


@editor_required
def template_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    template = _template(pk)
    first = (
        template.members.select_related(
            "sync__source_connection", "sync__target_connection", "sync__mapping_version", "location"
        )
        .order_by("pk")
        .first()
    )
    if first is None:
        messages.error(request, "Apply the template to a location first: its fields and samples guide the editor.")
        return redirect(_back(template))

    def save(rules: list[dict[str, Any]], note: str) -> str:
        written = svc.sync_template_rules_set(template=template, rules=rules, note=note, user=request.user)
        if not written:
            return "Saved. No location's mapping changed (the same rules, or its overrides cover the change)."
        return f"Saved as revision {template.revision}: {written} location sync(s) got a new mapping version."

    extra = {"template": template, "reference": first, "back_url": _back(template)}
    return _edit(
        request,
        sync=first.sync,
        current=template.rules,
        url=reverse("dashboard:template_mapping", args=[pk]),
        page="sync_templates/mapping.html",
        extra=extra,
        save=save,
    )


@editor_required
def template_member(request: HttpRequest, pk: int, member_id: int) -> HttpResponse:
    template = _template(pk)
    member = sel.member_get(template=template, member_id=member_id)
    if member is None:
        raise Http404("no such location in this template")

    def save(rules: list[dict[str, Any]], note: str) -> str:
        svc.sync_template_location_rules_set(member=member, rules=rules, user=request.user)
        member.refresh_from_db()
        kept = member.overrides.get("rules") or []
        left = member.overrides.get("omit") or []
        return (
            f"Saved for {member.location.name}: {len(kept)} rule(s) of its own, {len(left)} template field(s) "
            "left out; the template's other rules still follow its changes."
        )

    if request.method == "POST" and request.POST.get("action") == "reset":
        svc.sync_template_overrides_set(member=member, rules=[], omit=[], user=request.user)
        messages.success(request, f"{member.location.name} follows the template again.")
        return _leave(request, _back(template))
    current = svc.effective_rules(template.rules, member.overrides)
    extra = {"template": template, "member": member, "back_url": _back(template)}
    return _edit(
        request,
        sync=member.sync,
        current=current,
        url=reverse("dashboard:template_member", args=[pk, member_id]),
        page="sync_templates/member.html",
        extra=extra,
        save=save,
    )
