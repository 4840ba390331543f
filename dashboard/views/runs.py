"""Run history (filters, pagination), run detail (timeline, counts, items, API calls), retry and cancel."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.decorators.http import require_POST

from contacts_sync.models import ItemAction, Run, RunStatus, RunTrigger
from contacts_sync.selectors import runs as runs_selectors
from contacts_sync.services import runs as run_services
from contacts_sync.services.runs import REAP_AFTER_SECONDS
from dashboard.access import editor_required, viewer_required
from dashboard.views.charts import sync_charts
from dashboard.views.overview import ACTIVE_POLL_SECONDS, IDLE_POLL_SECONDS, URLS, prime_user

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


def _page(params: QueryDict, qs: Any, per_page: int, param: str = "page") -> Any:
    # get_page() never raises: a bad or out-of-range page number shows the nearest valid page.
    return Paginator(qs, per_page).get_page(params.get(param))


def _run_list_context(params: QueryDict, request: HttpRequest) -> dict[str, Any]:
    filters = runs_selectors.run_filters_parse(params)
    page = CappedPaginator(runs_selectors.run_list(filters=filters), runs_selectors.RUNS_PER_PAGE).get_page(
        params.get("page")
    )
    token, any_active = runs_selectors.run_list_token()
    return {
        "page": page,
        "filters": filters,
        "query": filters.as_query(),
        "syncs": runs_selectors.sync_choices(),
        "statuses": RunStatus.choices,
        "triggers": RunTrigger.choices,
        "nav_active": "runs",
        "charts": sync_charts(filters.sync_id) if filters.sync_id else None,
        # per-row links without a {% url %} / query loop per row (50 rows: ~20% of the page's CPU)
        "urls": URLS,
        "sync_link_query": "".join(f"{urlencode({k: v})}&" for k, v in filters.as_query().items() if k != "sync"),
        "chart_sync_id": filters.sync_id,
        "token": token,
        "now": timezone.now(),
        "poll_query": urlencode({**filters.as_query(), "page": page.number}),
        "poll_seconds": ACTIVE_POLL_SECONDS if any_active else IDLE_POLL_SECONDS,
    }


@viewer_required
def run_list(request: HttpRequest) -> HttpResponse:
    prime_user(request)
    ctx = _run_list_context(request.GET, request)
    for problem in ctx["filters"].problems:
        messages.warning(request, problem)
    return render(request, "runs/list.html#results" if request.htmx else "runs/list.html", ctx)


@viewer_required
def run_list_poll(request: HttpRequest) -> HttpResponse:
    """The run history's table, live: 204 while no run started, moved, stalled or ended; else the fresh table."""
    prime_user(request)
    if request.GET.get("token") == runs_selectors.run_list_token()[0]:
        return HttpResponse(status=204)
    return render(request, "runs/list.html#table", _run_list_context(request.GET, request))


def _get_run(run_id: int) -> Run:
    run = runs_selectors.run_get(run_id=run_id)
    if run is None:
        raise Http404("No such run.")
    return run


def _page_params(request: HttpRequest) -> QueryDict:
    """The filters and page numbers of the page a poll comes from (htmx sends its URL), so the refreshed items
    and calls are the ones the person is looking at."""
    current = request.htmx.current_url if request.htmx else None
    return QueryDict(urlsplit(current).query) if current else request.GET


def _detail_context(params: QueryDict, run: Run, token: str = "") -> dict[str, Any]:
    action = params.get("action", "")
    action = action if action in ItemAction.values else ""
    errors = runs_selectors.run_error_classes(run=run)
    error = params.get("error", "")
    error = error if error in {e for e, _ in errors} else ""
    active = run.status in (RunStatus.QUEUED, RunStatus.RUNNING)
    counts = runs_selectors.run_item_counts(run=run)
    items = _page(
        params,
        runs_selectors.run_items_counted(run=run, action=action, error=error, counts=counts, errors=errors),
        runs_selectors.ITEMS_PER_PAGE,
    )
    rows = list(items.object_list)
    runs_selectors.item_links(run=run, items=rows)
    for item in rows:
        item.problem = item.action in runs_selectors.PROBLEM_ACTIONS  # type: ignore[attr-defined]
        # still someone's to act on: not ignored, not fixed by a retry
        item.open = item.problem and not item.acknowledged_at and not item.resolved_by_id  # type: ignore[attr-defined]
    items.object_list = rows
    sync = run.sync
    return {
        "run": run,
        "counts": counts,
        "errors": errors,
        "count_labels": [(label, counts[value]) for value, label in ItemAction.choices if value in counts],
        "items": items,
        "problems_first": not action and not error and bool(run.failed_count or run.verify_failed_count),
        "selectable": bool(run.failed_count or run.verify_failed_count) and not run.dry_run,
        "source_app": sync.source_connection.get_provider_display(),
        "target_app": sync.target_connection.get_provider_display(),
        "item_filter": {"action": action, "error": error},
        "actions": ItemAction.choices,
        "call_groups": runs_selectors.run_call_groups(run=run),
        "calls_query": {"calls": "all"},
        "calls": _page(params, runs_selectors.run_calls(run=run), runs_selectors.CALLS_PER_PAGE, "calls_page")
        if params.get("calls") == "all"
        else None,
        "timeline": runs_selectors.run_timeline(run=run),
        "active": active,
        "token": (token or runs_selectors.run_token(run_id=run.pk)[0]) if active else "",  # type: ignore[index]
        "poll_seconds": RUN_DETAIL_POLL_SECONDS,
        "nav_active": "runs",
        "reap_after": REAP_AFTER_SECONDS,
    }


@viewer_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    prime_user(request)
    run = _get_run(run_id)
    template = "runs/detail.html"
    target = request.htmx.target if request.htmx else None
    if target in ("run-items", "run-calls"):
        template += f"#{target.removeprefix('run-')}"
    return render(request, template, _detail_context(request.GET, run))


@viewer_required
def run_poll(request: HttpRequest, run_id: int) -> HttpResponse:
    """The run detail, live: 204 while unchanged; else the status card with the buttons, items and API calls
    (out of band). Once the run finished the fresh card has no trigger: polling stops."""
    prime_user(request)
    current = runs_selectors.run_token(run_id=run_id)
    if current is None:
        raise Http404("No such run.")
    if request.GET.get("token") == current[0]:
        return HttpResponse(status=204)
    run = _get_run(run_id)
    return render(request, "runs/detail.html#poll_response", _detail_context(_page_params(request), run, current[0]))


@require_POST
@editor_required
def run_retry(request: HttpRequest, run_id: int) -> HttpResponse:
    prime_user(request)
    run = _get_run(run_id)
    new = run_services.run_retry_failed(run=run, user=request.user)
    if new is None:
        messages.warning(
            request,
            "Nothing was retried: this run has no failed items, or a run of this sync is already queued or running.",
        )
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
        messages.success(
            request,
            "Cancelled."
            if run.status == RunStatus.CANCELLED
            else "Cancel requested: the run stops after the record it is working on.",
        )
    return redirect("dashboard:run_detail", run_id=run.pk)
