"""The changes feed API (services/changes_feed.py): JSON only, bearer-token auth per webhook endpoint, never a
500 page. Mounted at /api/v1/."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from contacts_sync.services import changes_feed

log = logging.getLogger(__name__)


def _error(status: int, code: str, detail: str) -> JsonResponse:
    response = JsonResponse({"error": code, "detail": detail}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="changes"'
    return response


@require_GET
def changes(request: HttpRequest) -> JsonResponse:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(401, "unauthorized", "send the endpoint's feed token as 'Authorization: Bearer <token>'")
    try:
        page = changes_feed.changes_page(
            token=token.strip(), cursor=request.GET.get("cursor", ""), limit=request.GET.get("limit")
        )
    except changes_feed.FeedDenied:
        log.warning("changes feed refused: unknown token")
        return _error(401, "unauthorized", "the token is not a changes-feed token of any endpoint")
    except changes_feed.FeedBadRequest as exc:
        return _error(400, "bad_request", str(exc))
    except DatabaseError as exc:
        log.error("changes feed unavailable: %s", type(exc).__name__)
        response = _error(503, "unavailable", "the feed cannot be read right now; retry later")
        response["Retry-After"] = "30"
        return response
    return JsonResponse(page)


urlpatterns = [path("changes/", changes, name="api_changes")]
