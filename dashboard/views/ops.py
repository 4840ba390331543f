from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from contacts_sync import health


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = health.check_all()
    failing = [name for name, error in checks.items() if error]
    body: dict[str, Any] = {
        "status": "ok" if not failing else "error",
        "checks": {name: ("ok" if error is None else error) for name, error in checks.items()},
    }
    if failing:
        body["failing"] = failing
    try:
        body["workers_alive"] = health.workers_alive()
    except Exception:  # noqa: BLE001 - the "workers" check already says what is wrong
        body["workers_alive"] = []
    return JsonResponse(body, status=503 if failing else 200)
