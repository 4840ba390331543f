"""Error pages (403, 404, 500 and a failed CSRF check) in the site's layout: what happened, in words, and a way back.

Wired in config/urls.py (handler403, handler404, handler500) and settings.CSRF_FAILURE_VIEW. The 500 page is
rendered without the request's context processors: the database may be what failed, and the navigation's role
lookup (dashboard.context.nav) needs it. If even that template fails, a plain page with a link home goes out.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from contacts_sync.roles import VIEWER
from dashboard.context import NAV

log = logging.getLogger(__name__)

# The last resort when the 500 template cannot render (no template engine, a broken static manifest...).
PLAIN_500 = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Server error · contacts-sync</title>'
    '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
    '<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem">'
    "<h1>Something went wrong on our side</h1><p>The error has been logged. Please try again in a minute.</p>"
    '<p><a href="/">Back to the overview</a></p></body></html>'
)


def _back_url(request: HttpRequest) -> str:
    """The page the user came from, when it is on this site and is not this very page; else ""."""
    referer = request.META.get("HTTP_REFERER", "")
    try:
        host = request.get_host()
    except DisallowedHost:
        return ""
    if not referer or not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={host}, require_https=request.is_secure()
    ):
        return ""
    return "" if urlsplit(referer).path == request.path else referer


def _reason(exception: Exception | None) -> str:
    """The message a view raised with (`PermissionDenied("This needs the Editor role.")`), when it is a sentence.

    The URL resolver's 404 carries a dict of the patterns tried: never shown.
    """
    if exception is None or not exception.args or not isinstance(exception.args[0], str):
        return ""
    return exception.args[0].strip()


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    ctx = {"reason": _reason(exception), "back_url": _back_url(request)}
    return render(request, "errors/403.html", ctx, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    ctx = {"reason": _reason(exception), "back_url": _back_url(request), "path": request.path}
    return render(request, "errors/404.html", ctx, status=404)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    ctx = {"reason": reason, "back_url": _back_url(request)}
    return render(request, "errors/csrf.html", ctx, status=403)


def _nav_without_database() -> list[dict[str, Any]]:
    """The pages every role may open, without asking the database who the user is."""
    items = []
    for key, label, name, role in NAV:
        if role != VIEWER:
            continue
        try:
            items.append({"key": key, "label": label, "url": reverse(name)})
        except NoReverseMatch:
            continue
    return items


def server_error(request: HttpRequest) -> HttpResponse:
    try:
        html = loader.get_template("errors/500.html").render(
            {"nav_items": _nav_without_database(), "back_url": _back_url(request)}
        )
    except Exception:  # the error page must never fail in turn: answer with the plain one
        log.exception("the 500 page could not be rendered")
        html = PLAIN_500
    return HttpResponseServerError(html)
