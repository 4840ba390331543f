"""Alert rules: every sync's thresholds, routing, mute and reminders (list: Viewer; edit, mute: Editor)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from contacts_sync.alerts import rules
from contacts_sync.models import Sync
from contacts_sync.selectors import alerts as alerts_selectors
from contacts_sync.services import alert_rules as svc
from dashboard.access import editor_required, viewer_required
from dashboard.forms.alerts import AlertRuleForm, MuteForm
from dashboard.htmx import go


@viewer_required
def alert_rule_list(request: HttpRequest) -> HttpResponse:
    ctx = {
        "syncs": alerts_selectors.alert_rule_rows(),
        "defaults": rules.DEFAULT_THRESHOLDS,
        "now": timezone.now(),
        "mute_form": MuteForm(),
        "nav_active": "alerts",
    }
    return render(request, "alerts/rules.html", ctx)


def _initial(sync: Sync) -> dict[str, object]:
    rule = svc.rule_for(sync)
    if rule is None:
        return {
            "failed_share_percent": round(rules.DEGRADED_FAILED_RATIO * 100),
            "failing_after_runs": rules.FAILING_AFTER_CONSECUTIVE,
        }
    return {
        "failed_share_percent": rule.failed_share_percent,
        "failing_after_runs": rule.failing_after_runs,
        "stale_after_hours": rule.stale_after_hours,
        "slow_run_minutes": rule.slow_run_minutes,
        "renotify_hours": rule.renotify_hours,
        "channels": list(rule.channels.all()),
    }


@editor_required
def alert_rule_edit(request: HttpRequest, sync_id: int) -> HttpResponse:
    sync = get_object_or_404(Sync.objects.select_related("source_connection", "target_connection"), pk=sync_id)
    form = AlertRuleForm(request.POST or None, initial=_initial(sync))
    if request.method == "POST" and form.is_valid():
        try:
            svc.alert_rule_update(sync=sync, user=request.user, **form.cleaned_data)
        except svc.AlertRuleError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Alert rule of {sync.name} saved.")
            return go(request, reverse("dashboard:alert_rule_list"))
    rule = svc.rule_for(sync)
    stale_default = rules.stale_after(poll_interval_seconds=sync.poll_interval_seconds)
    ctx = {
        "sync": sync,
        "form": form,
        "rule": rule,
        "mute_form": MuteForm(),
        "now": timezone.now(),
        "stale_default": stale_default,
        "nav_active": "alerts",
    }
    return render(request, "alerts/rule_edit.html#rule_form" if request.htmx else "alerts/rule_edit.html", ctx)


def _back(request: HttpRequest, sync: Sync) -> HttpResponse:
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("dashboard:alert_rule_edit", args=[sync.pk])
    return redirect(back)


@require_POST
@editor_required
def alert_rule_mute(request: HttpRequest, sync_id: int) -> HttpResponse:
    sync = get_object_or_404(Sync, pk=sync_id)
    form = MuteForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Not muted: {errors}")
        return _back(request, sync)
    try:
        rule = svc.alert_rule_mute(sync=sync, until=form.moment(), user=request.user)
    except svc.AlertRuleError as exc:
        messages.error(request, f"Not muted: {exc}")
    else:
        until = timezone.localtime(rule.muted_until)
        messages.success(request, f"{sync.name}: nothing is sent until {until:%Y-%m-%d %H:%M}.")
    return _back(request, sync)


@require_POST
@editor_required
def alert_rule_unmute(request: HttpRequest, sync_id: int) -> HttpResponse:
    sync = get_object_or_404(Sync, pk=sync_id)
    svc.alert_rule_unmute(sync=sync, user=request.user)
    messages.success(request, f"{sync.name}: alerts are sent again; a held one goes out within a minute.")
    return _back(request, sync)
