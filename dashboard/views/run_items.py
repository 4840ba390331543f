"""A run's failed records, one by one or in bulk: ignore (acknowledge, with who and why), replay now, export.

The actions are plain form posts that come back to the run page with a message; the export streams a CSV.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from defusedcsv import csv
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from contacts_sync.models import ItemAction, RunItem
from contacts_sync.selectors import runs as runs_selectors
from contacts_sync.services import runs as run_services
from dashboard.access import editor_required, viewer_required
from dashboard.views.runs import _get_run

# One post acts on at most this many items (a page shows 50; a crafted form cannot lock a whole 100k-item run).
MAX_ITEMS_PER_ACTION = 500


def _selected(request: HttpRequest, run: Any) -> list[RunItem]:
    ids = []
    for raw in request.POST.getlist("item")[:MAX_ITEMS_PER_ACTION]:
        if raw.strip().isdigit():
            ids.append(int(raw))
    return runs_selectors.run_items_get(run=run, ids=ids) if ids else []


@require_POST
@editor_required
def run_items_acknowledge(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _get_run(run_id)
    items = _selected(request, run)
    note = request.POST.get("note", "").strip()
    if not items:
        messages.warning(
            request,
            "Select the failed items to ignore first; none of the selected items are open "
            "failures of this run, nothing was changed.",
        )
    else:
        done = run_services.run_items_acknowledge(items=items, user=request.user, note=note)
        skipped = len(items) - done
        if done:
            messages.success(
                request,
                f"Ignored {done} failed item(s){f': “{note}”' if note else ''}. They no "
                "longer count against the sync's health and return only if the record changes.",
            )
        if skipped:
            messages.warning(
                request,
                f"{skipped} selected item(s) were not open failures (already ignored, or "
                "verification mismatches, which are replayed rather than ignored).",
            )
    return redirect("dashboard:run_detail", run_id=run.pk)


@require_POST
@editor_required
def run_items_replay(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _get_run(run_id)
    items = _selected(request, run)
    new = run_services.run_items_replay(run=run, items=items, user=request.user) if items else None
    if new is None:
        messages.warning(
            request,
            "Nothing was replayed: select failed items, and wait until no run of this sync is queued or running.",
        )
        return redirect("dashboard:run_detail", run_id=run.pk)
    ids = new.checkpoint.get("only_ids", [])
    messages.success(
        request, f"Replaying {len(ids)} record(s) ({', '.join(ids[:5])}{'…' if len(ids) > 5 else ''}) in run #{new.pk}."
    )
    return redirect("dashboard:run_detail", run_id=new.pk)


class _Echo:
    """A file-like object whose write() hands the line back: csv.writer into a streaming response."""

    def write(self, value: str) -> str:
        return value


@viewer_required
def run_items_csv(request: HttpRequest, run_id: int) -> StreamingHttpResponse:
    """Every item of the run (or those matching the page's filter) as CSV, streamed; cells are defused so a
    value such as =HYPERLINK(...) from a source record never runs as a spreadsheet formula."""
    run = _get_run(run_id)
    action = request.GET.get("action", "")
    action = action if action in ItemAction.values else ""
    error = request.GET.get("error", "")[:200]
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        for row in runs_selectors.run_items_export_rows(run=run, action=action, error=error):
            yield writer.writerow(row)

    suffix = f"-{action}" if action else ""
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-items{suffix}.csv"'
    return response
