"""The changes feed: the pull side of the outgoing webhooks (services/outbox.py), for an app that missed some.

`GET /api/v1/changes/?cursor=<opaque>&limit=<1..500>` with `Authorization: Bearer <the endpoint's feed token>`
answers {"data": [<event>, ...], "next_cursor": "...", "has_more": bool}: the exact event bodies the webhooks carry,
oldest first. Keep `next_cursor` and ask again with it; an empty page keeps the cursor where it was. Without a
cursor the feed starts at the endpoint's first event.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Any

from contacts_sync.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

from .outbox import token_digest

PAGE_DEFAULT = 100
PAGE_MAX = 500
CURSOR_PREFIX = "c1:"


class FeedDenied(Exception):
    """No endpoint has this token (answered 401, whatever the reason)."""


class FeedBadRequest(ValueError):
    """A cursor or limit the feed cannot read (answered 400 with the message)."""


def cursor_encode(delivery_id: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{delivery_id}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(CURSOR_PREFIX):
            raise ValueError(text)
        return max(0, int(text[len(CURSOR_PREFIX) :]))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise FeedBadRequest("cursor is not one this feed returned") from None


def _limit(raw: str | None) -> int:
    if raw in (None, ""):
        return PAGE_DEFAULT
    try:
        value = int(str(raw))
    except ValueError:
        raise FeedBadRequest(f"limit must be a whole number from 1 to {PAGE_MAX}") from None
    if not 1 <= value <= PAGE_MAX:
        raise FeedBadRequest(f"limit must be a whole number from 1 to {PAGE_MAX}")
    return value


def endpoint_for_token(token: str) -> WebhookEndpoint:
    digest = token_digest(token) if token else ""
    endpoint = WebhookEndpoint.objects.filter(feed_token_sha256=digest).first() if digest else None
    if endpoint is None or not hmac.compare_digest(endpoint.feed_token_sha256, digest):
        raise FeedDenied()
    return endpoint


def changes_page(*, token: str, cursor: str = "", limit: str | None = None) -> dict[str, Any]:
    endpoint = endpoint_for_token(token)
    after, size = cursor_decode(cursor), _limit(limit)
    rows = list(
        WebhookDelivery.objects.filter(endpoint=endpoint, pk__gt=after)
        .exclude(status=DeliveryStatus.INVALID)
        .order_by("pk")
        .values_list("pk", "body")[: size + 1]
    )
    page = rows[:size]
    return {
        "data": [json.loads(body) for _, body in page],
        "next_cursor": cursor_encode(page[-1][0]) if page else (cursor or cursor_encode(0)),
        "has_more": len(rows) > size,
    }
