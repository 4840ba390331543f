"""The WSGI application (the README serves it with granian: config.wsgi:application).

Machines post to /webhooks/: those requests skip the browser middleware (sessions, CSRF, auth, messages, CSP,
htmx, the admin MFA gate, whitenoise). Their views need none of it: they are CSRF-exempt, verify a signature,
answer JSON and never look at a user. Under a burst of webhooks that stack was a large share of each request's
CPU (docs/benchmarks.md, "webhooks"). SecurityMiddleware stays (nosniff, referrer and opener policies).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application
from django.middleware.security import SecurityMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# URL prefixes served by the lean handler: only machine endpoints whose views are CSRF-exempt and user-free.
LEAN_PREFIXES = ("/webhooks/",)


class LeanHandler(WSGIHandler):
    """Django's WSGI handler with SecurityMiddleware as its only middleware (signals, URL routing, exception
    handling and database connection management are Django's own, unchanged)."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        inner = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]  # BaseHandler has it; the stubs do not declare it
        self._middleware_chain = convert_exception_to_response(SecurityMiddleware(inner))


full_application = get_wsgi_application()
lean_application = LeanHandler()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO", "").startswith(LEAN_PREFIXES):
        return lean_application(environ, start_response)
    return full_application(environ, start_response)
