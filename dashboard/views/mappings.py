"""Mapping editor, preview panel, version history, restore, and the read-only page of one version."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from contacts_sync.models import MappingVersion, Sync
from contacts_sync.services import mappings as svc
from dashboard.access import editor_required, viewer_required
from dashboard.forms.mappings import SaveForm, apply_action, row_views, rules_from_post, strip_editor_keys

EDIT_TEMPLATE = "mappings/edit.html"


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _sync(sync_id: int) -> Sync:
    related = ("source_connection", "target_connection", "mapping_version")
    return get_object_or_404(Sync.objects.select_related(*related), pk=sync_id)


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if request.htmx:
        return HttpResponse(status=204, headers={"HX-Redirect": url})
    return HttpResponseRedirect(url)


def _problems_by_row(problems: list[Any], rules: list[dict[str, Any]], *, quiet_blank: bool) -> dict[int, list]:
    by_row: dict[int, list] = {}
    for p in problems:
        rule = rules[p.rule_index] if 0 <= p.rule_index < len(rules) else None
        blank = rule is not None and not rule.get("target") and not (rule.get("source") or rule.get("template"))
        if not (quiet_blank and blank):  # a row just added: no red until something is typed or it is saved
            by_row.setdefault(p.rule_index, []).append(p)
    return by_row


def editor_context(
    sync: Sync,
    rules: list[dict[str, Any]],
    *,
    saving: bool = False,
    errors: list[str] | None = None,
    save_form: SaveForm | None = None,
    editor_url: str = "",
) -> dict[str, Any]:
    """What the editor partial (mappings/edit.html#editor) renders for `rules` checked against `sync`'s target;
    `editor_url` is where its controls post (a sync template's editor posts to its own page)."""
    problems = svc.mapping_rules_check(sync=sync, rules=strip_editor_keys(rules))
    by_row = _problems_by_row(problems, rules, quiet_blank=not saving)
    target_fields = svc.target_fields_for(sync)
    known = {f.path for f in target_fields}
    rows = row_views(rules)
    for row in rows:
        row["problems"] = by_row.get(row["index"], [])
        row["target_known"] = not row["target"] or row["target"] in known
    return {
        "sync": sync,
        "rows": rows,
        "rules_count": len(rules),
        "form_errors": errors or [],
        "mapping_problems": by_row.get(-1, []),
        "source_fields": svc.source_fields_for(sync),
        "target_fields": target_fields,
        "transforms": svc.transform_choices(),
        "save_form": save_form or SaveForm(),
        "version": sync.mapping_version,
        "editor_url": editor_url or reverse("dashboard:mapping_edit", args=[sync.pk]),
        "nav_active": "syncs",
    }


def _render_editor(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    return render(request, f"{EDIT_TEMPLATE}#editor" if request.htmx else EDIT_TEMPLATE, context)


@editor_required
def mapping_edit(request: HttpRequest, sync_id: int) -> HttpResponse:
    sync = _sync(sync_id)
    if request.method != "POST":
        return render(request, EDIT_TEMPLATE, editor_context(sync, svc.mapping_rules_current(sync=sync)))
    rules, errors = rules_from_post(request.POST)
    action = request.POST.get("action", "refresh")
    save_form = SaveForm(request.POST)
    if action != "save" or errors:
        response = _render_editor(
            request, editor_context(sync, apply_action(rules, action), errors=errors, save_form=save_form)
        )
        response["HX-Trigger"] = "mapping-changed"  # the preview panel refreshes after a structural change
        return response
    previous_id = sync.mapping_version_id
    try:
        note = save_form.cleaned_data["note"] if save_form.is_valid() else None
        if note is None:
            raise svc.MappingRulesInvalid([])
        version = svc.mapping_version_create(sync=sync, rules=strip_editor_keys(rules), note=note, user=request.user)
    except svc.MappingRulesInvalid:
        context = editor_context(
            sync,
            rules,
            saving=True,
            save_form=save_form,
            errors=["Nothing was saved: fix the problems marked below."],
        )
        return _render_editor(request, context)  # status 200: htmx swaps it in place
    if previous_id == version.pk:
        messages.info(request, f"Nothing changed: version {version.number} stays current.")
    else:
        messages.success(request, f"Saved mapping version {version.number}; the next run uses it.")
    return _redirect(request, reverse("dashboard:mapping_edit", args=[sync.pk]))


@editor_required
@require_POST
def mapping_preview(request: HttpRequest, sync_id: int) -> HttpResponse:
    rules, errors = rules_from_post(request.POST)
    return render(request, f"{EDIT_TEMPLATE}#preview", preview_context(_sync(sync_id), rules, errors))


def preview_context(sync: Sync, rules: list[dict[str, Any]], errors: list[str]) -> dict[str, Any]:
    """The preview partial's context: `rules` applied to the sync's source samples (a template uses its first
    location's sync)."""
    rules = strip_editor_keys(rules)
    preview = svc.mapping_preview(sync=sync, rules=rules)
    by_rule: dict[int, list] = {}
    rows = []
    for r in preview.rows:
        for p in r.problems:
            by_rule.setdefault(p.rule_index, []).append((r.source_id, p, False))
        for p in r.warnings:
            by_rule.setdefault(p.rule_index, []).append((r.source_id, p, True))
        rows.append(
            {
                "source_id": r.source_id,
                "problems": r.problems,
                "warnings": r.warnings,
                "phones": r.phones,
                "source_json": _json(r.source),
                "payload_json": _json(r.payload),
            }
        )
    return {
        "sync": sync,
        "preview": preview,
        "rows": rows,
        "form_errors": errors,
        "sample_problems": [{"index": i, "items": by_rule.get(i, [])} for i in range(len(rules))],
    }


@viewer_required
def mapping_history(request: HttpRequest, sync_id: int) -> HttpResponse:
    sync = _sync(sync_id)
    context = {"sync": sync, "versions": svc.mapping_history(sync=sync), "nav_active": "syncs"}
    return render(request, "mappings/history.html", context)


@editor_required
@require_POST
def mapping_restore(request: HttpRequest, sync_id: int, version_id: int) -> HttpResponse:
    version = get_object_or_404(MappingVersion.objects.select_related("sync"), pk=version_id, sync_id=sync_id)
    new = svc.mapping_version_restore(version=version, user=request.user)
    messages.success(request, f"Version {version.number} restored as version {new.number}; the next run uses it.")
    return _redirect(request, reverse("dashboard:mapping_history", args=[sync_id]))


@viewer_required
def mapping_version(request: HttpRequest, version_id: int) -> HttpResponse:
    related = ("sync", "author", "restored_from")
    version = get_object_or_404(MappingVersion.objects.select_related(*related), pk=version_id)
    context = {
        "sync": version.sync,
        "version": version,
        "rows": svc.rule_rows(version.rules),
        "changes": svc.mapping_version_diff(version=version),
        "run_count": version.runs.count(),
        "runs": version.runs.order_by("-created_at")[:10],
        "is_current": version.sync.mapping_version_id == version.pk,
        "nav_active": "syncs",
    }
    return render(request, "mappings/version.html", context)
