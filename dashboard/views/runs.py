"""Run history (filters, pagination), run detail (timeline, counts, items, API calls), retry and cancel."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import cached_property
from django.views.decorators.http import require_POST

from contacts_sync.models import ItemAction, Run, RunStatus, RunTrigger
from contacts_sync.selectors import runs as runs_selectors
from contacts_sync.services import runs as run_services
from dashboard.access import editor_required, viewer_required
from dashboard.views.charts import sync_charts
from dashboard.views.overview import URLS, prime_user

# COUNT(*) over 100k runs costs more than the page itself; past this many matches the list says "10,000+"
# and a date filter narrows it (page 200 is as deep as anyone pages).
RUN_COUNT_CAP = 10_000
RUN_DETAIL_POLL_SECONDS = 5  # a running run's counts move; a finished one's never do (no trigger at all)


class CappedPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        return self.object_list[: RUN_COUNT_CAP + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > RUN_COUNT_CAP


def _page(request: HttpRequest, qs: Any, per_page: int, param: str = "page") -> Any:
    # get_page() never raises: a bad or out-of-range page number shows the nearest valid page.
    return Paginator(qs, per_page).get_page(request.GET.get(param))


@viewer_required
def run_list(request: HttpRequest) -> HttpResponse:
    prime_user(request)
    filters = runs_selectors.run_filters_parse(request.GET)
    for problem in filters.problems:
        messages.warning(request, problem)
    page = CappedPaginator(runs_selectors.run_list(filters=filters), runs_selectors.RUNS_PER_PAGE).get_page(
        request.GET.get("page"))
    ctx = {
        "page": page, "filters": filters, "query": filters.as_query(), "syncs": runs_selectors.sync_choices(),
        "statuses": RunStatus.choices, "triggers": RunTrigger.choices, "nav_active": "runs",
        "charts": sync_charts(filters.sync_id) if filters.sync_id else None,
        # per-row links without a {% url %} / query loop per row (50 rows: ~20% of the page's CPU)
        "urls": URLS, "sync_link_query": "".join(f"{urlencode({k: v})}&" for k, v in filters.as_query().items()
                                                 if k != "sync"),
        "chart_sync_id": filters.sync_id,
    }
    return render(request, "runs/list.html#results" if request.htmx else "runs/list.html", ctx)


def _get_run(run_id: int) -> Run:
    run = runs_selectors.run_get(run_id=run_id)
    if run is None:
        raise Http404("No such run.")
    return run


def _detail_context(request: HttpRequest, run: Run) -> dict[str, Any]:
    action = request.GET.get("action", "")
    action = action if action in ItemAction.values else ""
    errors = runs_selectors.run_error_classes(run=run)
    error = request.GET.get("error", "")
    error = error if error in {e for e, _ in errors} else ""
    show_calls = request.GET.get("calls") == "all"
    active = run.status in (RunStatus.QUEUED, RunStatus.RUNNING)
    counts = runs_selectors.run_item_counts(run=run)
    items = runs_selectors.run_items_counted(run=run, action=action, error=error, counts=counts, errors=errors)
    return {
        "run": run, "counts": counts, "errors": errors,
        "count_labels": [(label, counts[value]) for value, label in ItemAction.choices if value in counts],
        "items": _page(request, items, runs_selectors.ITEMS_PER_PAGE),
        "item_filter": {"action": action, "error": error}, "actions": ItemAction.choices,
        "call_groups": runs_selectors.run_call_groups(run=run),
        "calls_query": {"calls": "all"},
        "calls": _page(request, runs_selectors.run_calls(run=run), runs_selectors.CALLS_PER_PAGE, "calls_page")
        if show_calls else None,
        "timeline": runs_selectors.run_timeline(run=run), "active": active,
        "token": runs_selectors.run_token(run_id=run.pk)[0] if active else "",  # type: ignore[index]
        "poll_seconds": RUN_DETAIL_POLL_SECONDS, "nav_active": "runs",
    }


@viewer_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    prime_user(request)
    run = _get_run(run_id)
    partial = request.GET.get("partial")
    template = "runs/detail.html"
    if request.htmx and partial in ("items", "calls"):
        template += f"#{partial}"
    return render(request, template, _detail_context(request, run))


@viewer_required
def run_poll(request: HttpRequest, run_id: int) -> HttpResponse:
    """The run detail's live header: 204 while unchanged; once finished the fresh header has no trigger."""
    prime_user(request)
    current = runs_selectors.run_token(run_id=run_id)
    if current is None:
        raise Http404("No such run.")
    if request.GET.get("token") == current[0]:
        return HttpResponse(status=204)
    run = _get_run(run_id)
    ctx = {"run": run, "counts": runs_selectors.run_item_counts(run=run), "active": current[1], "token": current[0],
           "timeline": runs_selectors.run_timeline(run=run), "poll_seconds": RUN_DETAIL_POLL_SECONDS}
    return render(request, "runs/detail.html#live", ctx)


@require_POST
@editor_required
def run_retry(request: HttpRequest, run_id: int) -> HttpResponse:
    prime_user(request)
    run = _get_run(run_id)
    new = run_services.run_retry_failed(run=run, user=request.user)
    if new is None:
        messages.warning(request, "Nothing was retried: this run has no failed items, or a run of this sync "
                                  "is already queued or running.")
        return redirect("dashboard:run_detail", run_id=run.pk)
    messages.success(request, f"Retrying {run.failed_count or 'the'} failed item(s) in run #{new.pk}.")
    return redirect("dashboard:run_detail", run_id=new.pk)


@require_POST
@editor_required
def run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    prime_user(request)
    run = _get_run(run_id)
    if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        messages.warning(request, f"Run #{run.pk} is already {run.get_status_display().lower()}.")
    else:
        run = run_services.run_cancel(run=run, user=request.user)
        messages.success(request, "Cancelled." if run.status == RunStatus.CANCELLED
                         else "Cancel requested: the run stops after the record it is working on.")
    return redirect("dashboard:run_detail", run_id=run.pk)
