"""GET /metrics for Prometheus, behind the METRICS_TOKEN bearer token (required when DEBUG is off)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from contacts_sync.metrics import registry


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = getattr(settings, "METRICS_TOKEN", "")
    if not token and not getattr(settings, "METRICS_PUBLIC", False):  # production refuses to start so anyway
        return HttpResponse("metrics need METRICS_TOKEN when DEBUG is off\n", status=403, content_type="text/plain")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponse(
                "metrics need the bearer token (METRICS_TOKEN)\n", status=401, content_type="text/plain"
            )
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
