"""The operations catalogue: every flow of every app, grouped by app and direction, searchable (GET ?q=)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from contacts_sync.selectors import catalog as catalog_selectors
from dashboard.access import viewer_required


@viewer_required
def catalog(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[: catalog_selectors.QUERY_MAX]
    groups = catalog_selectors.catalog_groups(query=query)
    ctx = {"groups": groups, "query": query, "count": sum(len(g.flows) for g in groups), "nav_active": "catalog"}
    template = "catalog/list.html#results" if request.htmx else "catalog/list.html"
    return render(request, template, ctx)
