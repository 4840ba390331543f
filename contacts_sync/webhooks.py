"""Inbound webhook views: verify, store, enqueue on commit, answer fast.

GHL retries a delivery only when we answer 429 and drops it on any other failure, so these views do the
minimum (signature, freshness, one INSERT) and leave the work to Celery. Errors are JSON, never a 500 page.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from contacts_sync.services import inbox

log = logging.getLogger(__name__)

# A webhook body larger than this is refused before it is read (GHL payloads are a few KB).
MAX_BODY_BYTES = 1_000_000
# When the database is down we answer 429 so the sender retries; GHL waits about 10 minutes anyway.
BUSY_RETRY_AFTER_SECONDS = 600


def _error(status: int, code: str, detail: str, **extra: object) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail, **extra}, status=status)


def _accepted(received: inbox.Received) -> JsonResponse:
    event = received.event
    body = {"status": "duplicate" if received.duplicate else "accepted", "event": event.pk if event else None}
    response = JsonResponse(body, status=200)
    for name, value in received.reply_headers.items():
        response[name] = value
    return response


def _rejected(exc: inbox.WebhookRejected, where: str) -> JsonResponse:
    # Never log the body or any header value: they may carry secrets.
    log.warning("webhook rejected where=%s status=%s code=%s", where, exc.status, exc.code)
    extra = {"event": exc.event.pk} if exc.event is not None else {}
    return _error(exc.status, exc.code, exc.message, **extra)


def _busy(exc: DatabaseError, where: str) -> JsonResponse:
    """The database is unreachable: 429 is the one status GHL retries (up to 6 times, ~10 min apart)."""
    log.error("webhook not stored where=%s error=%s", where, type(exc).__name__)
    response = _error(429, "busy", "the service cannot store webhooks right now; retry later")
    response["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
    return response


def _too_big(request: HttpRequest) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES
    except ValueError:
        return False


@csrf_exempt
@require_POST
def ghl_webhook(request: HttpRequest) -> JsonResponse:
    if _too_big(request):
        return _error(413, "too_large", f"webhook bodies are limited to {MAX_BODY_BYTES} bytes")
    try:
        received = inbox.ghl_webhook_receive(body=request.body, headers=request.headers)
    except inbox.WebhookRejected as exc:
        return _rejected(exc, "ghl")
    except DatabaseError as exc:
        return _busy(exc, "ghl")
    return _accepted(received)


@csrf_exempt
@require_POST
def connection_webhook(request: HttpRequest, token: str) -> JsonResponse:
    """/webhooks/<token>/: every refusal that could tell a known URL from an unknown one is the same 404."""
    if _too_big(request):
        return _error(413, "too_large", f"webhook bodies are limited to {MAX_BODY_BYTES} bytes")
    wait = inbox.webhook_rate_exceeded(token=token)
    if wait:
        response = _error(429, "rate_limited", "too many requests to this webhook URL; retry later")
        response["Retry-After"] = str(wait)
        return response
    try:
        received = inbox.connection_webhook_receive(
            token=token,
            body=request.body,
            headers=request.headers,
            handshake_nonce=request.GET.get(inbox.HANDSHAKE_QUERY, ""),
        )
    except inbox.WebhookRejected as exc:
        return _rejected(exc, "connection")
    except DatabaseError as exc:
        return _busy(exc, "connection")
    return _accepted(received)


urlpatterns = [
    path("ghl/", ghl_webhook, name="webhook_ghl"),
    # A random token per connection (Connection.webhook_token); an old /webhooks/<id>/ URL is an unknown token.
    path("<str:token>/", connection_webhook, name="webhook_connection"),
]
