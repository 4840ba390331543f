"""GHL changes pushed to your app as Standard Webhooks (../shared/reference/source-apps.md section 5): the event
types, the body, the signed POST and what its answer means, and the retry schedule. No ORM, no Celery: the outbox
(services/outbox.py) stores and schedules, this module speaks HTTP.

Body: {"id": "msg_...", "type": "contact.updated", "timestamp": "<ISO-8601>", "data": {...}, "ghl": {"event":
"ContactUpdate", "location_id": "..."}}; `data` is the GHL record through the sync's mapping. Headers:
webhook-id (= body id, stable across retries), webhook-timestamp (unix seconds of this attempt), webhook-signature
"v1,<base64 HMAC-SHA256 of id.timestamp.body>" under the endpoint's whsec_ secret.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from contacts_sync.apiclient.client import retry_after_seconds
from contacts_sync.apiclient.outbound import UnsafeURLError
from contacts_sync.apiclient.signatures import standard_headers

# GHL event type -> the type your app receives (dot-delimited, [a-zA-Z0-9_], as the standard asks).
EVENT_TYPES = {
    "ContactCreate": "contact.created",
    "ContactUpdate": "contact.updated",
    "ContactDelete": "contact.deleted",
    "ContactTagUpdate": "contact.tags_updated",
    "ContactDndUpdate": "contact.dnd_updated",
    "TaskCreate": "task.created",
    "TaskComplete": "task.completed",
    "TaskDelete": "task.deleted",
    "NoteCreate": "note.created",
    "NoteUpdate": "note.updated",
    "NoteDelete": "note.deleted",
    "AppointmentCreate": "appointment.created",
    "AppointmentUpdate": "appointment.updated",
    "AppointmentDelete": "appointment.deleted",
}
KINDS = ("contact", "task", "note", "appointment")
# Standard Webhooks' schedule after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h
# (about three days in all); each wait is spread by JITTER so that many endpoints do not retry in step.
RETRY_SCHEDULE_SECONDS = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
JITTER = 0.2
# A Retry-After longer than the longest scheduled wait is capped to it.
RETRY_AFTER_CAP_SECONDS = 86400
# The standard asks for 15-30 s; the app answers 2xx first and works later.
TIMEOUT_SECONDS = 15
# Transient answers: retried on the schedule (408 and 429 are the only 4xx that are).
TRANSIENT_4XX = (408, 429)
ERROR_MAX = 500
# Errors that no retry can fix: the URL itself is unusable or points at a private address.
BAD_URL_ERRORS = (
    UnsafeURLError,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
)


@dataclass(frozen=True)
class Sent:
    """One attempt: the answer (None = none came), how long it took, and what it means."""

    status_code: int | None
    latency_ms: int
    outcome: str  # "delivered" | "retry" | "permanent" | "gone" (410: disable the endpoint)
    error: str = ""
    retry_after: float | None = None


def event_type(ghl_type: str) -> str:
    return EVENT_TYPES.get(ghl_type, "")


def body_of(*, msg_id: str, ghl_type: str, timestamp: str, data: dict[str, Any], location_id: str) -> str:
    """The exact JSON text signed, sent and served by the changes feed (compact, keys in a fixed order)."""
    return json.dumps(
        {
            "id": msg_id,
            "type": event_type(ghl_type),
            "timestamp": timestamp,
            "data": data,
            "ghl": {"event": ghl_type, "location_id": location_id},
        },
        separators=(",", ":"),
        default=str,
    )  # ASCII: what any receiver (and PostgreSQL) can take


def outcome_of(status: int) -> str:
    """2xx delivered; 410 gone (disable); 408, 429 and 5xx retried; any other status (3xx too: redirects are not
    followed, 4xx: the app refuses this event) is permanent."""
    if 200 <= status < 300:
        return "delivered"
    if status == 410:
        return "gone"
    if status >= 500 or status in TRANSIENT_4XX:
        return "retry"
    return "permanent"


def send(
    session: requests.Session, *, url: str, secret: str, msg_id: str, body: str, clock: Callable[[], float] = time.time
) -> Sent:
    """POST one signed delivery; never raises for what the network or the app does."""
    data = body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "contacts-sync-webhooks/1",
        **standard_headers(secret=secret, msg_id=msg_id, timestamp=int(clock()), body=data),
    }
    start = time.monotonic()
    try:
        response = session.post(url, data=data, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False)
    except BAD_URL_ERRORS as exc:
        took = int((time.monotonic() - start) * 1000)
        return Sent(None, took, "permanent", f"{type(exc).__name__}: {exc}"[:ERROR_MAX])
    except (requests.RequestException, ValueError) as exc:  # timeouts, refused connections, resets
        took = int((time.monotonic() - start) * 1000)
        return Sent(None, took, "retry", f"{type(exc).__name__}: {exc}"[:ERROR_MAX])
    took = int((time.monotonic() - start) * 1000)
    outcome = outcome_of(response.status_code)
    error = "" if outcome == "delivered" else f"HTTP {response.status_code}: {response.text[:200]}".strip()
    return Sent(response.status_code, took, outcome, error[:ERROR_MAX], retry_after_seconds(response))


def retry_delay(attempts: int, retry_after: float | None = None, *, rng: random.Random | None = None) -> float | None:
    """Seconds before the next try after `attempts` failed ones; None when the schedule is used up. A
    Retry-After from the app wins when it asks for longer than the schedule."""
    if attempts > len(RETRY_SCHEDULE_SECONDS):
        return None
    base = RETRY_SCHEDULE_SECONDS[attempts - 1]
    wait = base * (1 + (rng or random).uniform(-JITTER, JITTER))
    if retry_after is not None:
        wait = max(wait, min(retry_after, RETRY_AFTER_CAP_SECONDS))
    return wait
