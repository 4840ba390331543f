"""The audit log (Admin only): every change by whom and when, filterable, and the same rows as CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from contacts_sync.selectors import audit as audit_selectors
from dashboard.access import admin_required
from dashboard.forms.audit import AuditFilterForm

ENTRIES_PER_PAGE = 50


def _form(request: HttpRequest) -> AuditFilterForm:
    form = AuditFilterForm(request.GET, options=audit_selectors.audit_filter_options())
    form.is_valid()
    return form


@admin_required
def audit_list(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    filters = form.filters()
    page = Paginator(audit_selectors.audit_entries(filters), ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"entry": e, "changes": audit_selectors.change_lines(e.changes)} for e in page.object_list]
    ctx = {"form": form, "page": page, "rows": rows, "query": filters.query(), "nav_active": "audit"}
    return render(request, "audit/list.html#results" if request.htmx else "audit/list.html", ctx)


class _Echo:
    """csv.writer wants a file; this one hands each written line back (Django's streaming CSV recipe)."""

    def write(self, value: str) -> str:
        return value


@admin_required
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    filters = _form(request).filters()
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # a BOM, so spreadsheet programs read the UTF-8 names right
        for row in audit_selectors.audit_csv_rows(filters):
            yield writer.writerow(row)

    name = f"audit-{timezone.localdate():%Y%m%d}.csv"
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
