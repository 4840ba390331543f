"""htmx idioms shared by the views."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect


def go(request: HttpRequest, url: str) -> HttpResponse:
    """After a successful form post, navigate the whole page (htmx: HX-Redirect; plain: 302)."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
