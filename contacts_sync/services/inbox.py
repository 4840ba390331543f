"""The webhook inbox: verify, store (deduplicated), hand over for processing (services/event_runs.py).

Views in contacts_sync/webhooks.py call `ghl_webhook_receive` / `connection_webhook_receive`; both raise
`WebhookRejected` with the HTTP status and a clear message for anything that must not be accepted, and
return a `Received` for everything that was stored (or recognised as a duplicate). Each app's signature check
and event parsing is its package's (connectors/<app>/webhooks.py, through its SPEC.webhook).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets as pysecrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts_sync.apiclient.signatures import hmac_sha256_hex_matches
from contacts_sync.connectors import registry
from contacts_sync.connectors.ghl import webhooks as ghl_webhooks
from contacts_sync.connectors.spec import WebhookSpec
from contacts_sync.models import Connection, EventStatus, InboundEvent, Provider
from contacts_sync.services.inbox_kick import DRAIN_TASK, drain_kick_soon
from contacts_sync.services.inbox_sql import insert_returning

__all__ = ["DRAIN_TASK"]  # the drain task's name, for callers that route it (bench/webhooks.py)

log = logging.getLogger(__name__)

# Headers never stored with an event: signatures, credentials, cookies.
SECRET_HEADERS = {
    "x-ghl-signature",
    "x-wh-signature",
    "x-hook-signature",
    "x-hook-secret",
    "authorization",
    "cookie",
    "webhook-signature",
    "x-signature",
    "x-webhook-signature",
    "proxy-authorization",
}
PROCESS_TASK = "contacts_sync.tasks.inbound_event_process_task"
# Webhook payloads are a few levels deep (GHL's deepest, RecordCreate, about 4); deeper bodies are refused before
# any code walks them recursively (a signed body nested 100,000 deep used to end in a RecursionError and a 500).
MAX_JSON_DEPTH = 32


class WebhookRejected(Exception):
    """A webhook that is not accepted: the view answers `status` with {"error": code, "detail": message}."""

    def __init__(self, status: int, code: str, message: str, *, event: InboundEvent | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.event = event  # set when the body was stored anyway (signed but malformed)


@dataclass
class Received:
    event: InboundEvent | None
    duplicate: bool = False
    reply_headers: dict[str, str] = field(default_factory=dict)  # e.g. the Hubstaff X-Hook-Secret echo
    handshake: bool = False


# --- storing ---------------------------------------------------------------------------------------------


def _pg_text(value: Any, limit: int) -> str:
    """PostgreSQL text cannot hold NUL (a signed body may carry one in any field): keep it visible as \\x00."""
    return str(value).replace("\x00", "\\x00")[:limit]


def _safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {_pg_text(k.lower(), 100): _pg_text(v, 500) for k, v in headers.items() if k.lower() not in SECRET_HEADERS}


def _body_text(body: bytes) -> str:
    # PostgreSQL text cannot hold NUL; undecodable bytes are kept as \xNN escapes so nothing is lost.
    return body.decode("utf-8", errors="backslashreplace").replace("\x00", "\\x00")


def _body_hash_id(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def inbound_event_store(
    *,
    provider: str,
    event_id: str,
    body: bytes,
    headers: Mapping[str, str],
    event_type: str = "",
    account_id: str = "",
    connection: Connection | None = None,
    status: str = EventStatus.PENDING,
    error: str = "",
) -> tuple[InboundEvent, bool]:
    """Store a webhook as received; (event, created). A second delivery of the same event id changes nothing.

    Once the transaction commits, a pending event kicks the drain (services/event_runs.py) unless a kick is due.
    """
    event_id = _pg_text(event_id, 200)
    # One INSERT; the unique (provider, event_id) constraint decides races between two deliveries.
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                provider=provider,
                event_id=event_id,
                event_type=_pg_text(event_type, 100),
                account_id=_pg_text(account_id, 200),
                connection=connection,
                headers=_safe_headers(headers),
                body=_body_text(body),
                status=status,
                error=_pg_text(error, 2000),
                processed_at=timezone.now() if status != EventStatus.PENDING else None,
            )
            if status == EventStatus.PENDING:
                transaction.on_commit(drain_kick_soon)
    except IntegrityError:
        return InboundEvent.objects.get(provider=provider, event_id=event_id), False
    return event, True


def _deeper_than(data: Any, limit: int) -> bool:
    """True when containers nest more than `limit` levels (walked with a stack: no recursion to exhaust)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_json(body: bytes) -> dict[str, Any] | str:
    """The JSON object, or a one-line reason why the body is not one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"the body is not valid JSON: {exc}"[:300]
    except RecursionError:  # the parser itself gives up on a few thousand nested brackets
        return f"the JSON nests deeper than {MAX_JSON_DEPTH} levels"
    if not isinstance(data, dict):
        return "the body must be a JSON object"
    if _deeper_than(data, MAX_JSON_DEPTH):
        return f"the JSON nests deeper than {MAX_JSON_DEPTH} levels"
    return data


def _check_fresh(payload: dict[str, Any], now: datetime) -> None:
    if "timestamp" not in payload:
        # GHL signs "the timestamp, webhook ID, and data" of every webhook (specs/ghl/docs/oauth/
        # WebhookAuthentication.md). Skipping the check would let a captured delivery be replayed once its first
        # copy has been pruned from the inbox (the webhookId dedupe only remembers what is stored).
        raise WebhookRejected(400, "missing_timestamp", "the webhook has no timestamp; GHL signs one into every event")
    at = ghl_webhooks.parse_timestamp(payload["timestamp"])
    if at is None:
        raise WebhookRejected(400, "bad_timestamp", f"timestamp {str(payload['timestamp'])[:40]!r} is not a date")
    if abs(now - at) > ghl_webhooks.MAX_TIMESTAMP_SKEW:
        raise WebhookRejected(
            400,
            "stale_timestamp",
            f"timestamp {at.isoformat()} is more than 5 minutes away from the server time",
        )


def ghl_webhook_receive(*, body: bytes, headers: Mapping[str, str], now: datetime | None = None) -> Received:
    """Verify, check freshness, store and dedupe one GHL webhook. Raises WebhookRejected."""
    headers = {k.lower(): v for k, v in headers.items()}
    try:
        scheme = ghl_webhooks.verify(
            headers, body, ed25519_pem=settings.GHL_WEBHOOK_PUBLIC_KEY, rsa_pem=settings.GHL_WEBHOOK_LEGACY_PUBLIC_KEY
        )
    except ghl_webhooks.SignatureProblem as exc:
        raise WebhookRejected(500 if exc.code == "misconfigured" else 401, exc.code, exc.message) from None
    parsed = parse_json(body)
    if isinstance(parsed, str):
        # Signed by GHL but unreadable: keep it as a failed event so it can be inspected, then say 400.
        event, _ = inbound_event_store(
            provider=Provider.GHL,
            event_id=_body_hash_id(body),
            body=body,
            headers=headers,
            status=EventStatus.FAILED,
            error=parsed,
        )
        raise WebhookRejected(400, "malformed_json", parsed, event=event)
    location_id = _pg_text(parsed.get("locationId") or "", 200)
    company_id = _pg_text(parsed.get("companyId") or "", 200)  # agency-level events carry only this
    # LocationCreate goes to the agency and names the new location `id`: kept as the account, linked to the agency.
    created_id = _pg_text(parsed.get("id") or "", 200) if parsed.get("type") == "LocationCreate" else ""
    webhook_id = _pg_text(parsed.get("webhookId") or "", 200) or _body_hash_id(body)
    try:
        _check_fresh(parsed, now or timezone.now())
    except WebhookRejected:
        known = InboundEvent.objects.filter(provider=Provider.GHL, event_id=webhook_id).first()
        if known is not None:
            return Received(event=known, duplicate=True)  # a replay, even a stale one, changes nothing
        raise
    fields: dict[str, Any] = {
        "event_id": webhook_id,
        "body": body,
        "headers": {**headers, "x-signature-scheme": scheme},
        "event_type": str(parsed.get("type") or ""),
    }
    if location_id:  # the hot path: every contact, task, note... event
        stored = _ghl_event_insert(location_id=location_id, **fields)
        if stored is None:
            return Received(
                event=InboundEvent.objects.filter(provider=Provider.GHL, event_id=webhook_id).first(), duplicate=True
            )
        return Received(event=stored)
    # agency-level events (INSTALL, UNINSTALL, LocationCreate): linked to the agency's connection
    connection = Connection.objects.only("pk").agencies().filter(company_id=company_id).first() if company_id else None
    event, created = inbound_event_store(
        provider=Provider.GHL, account_id=created_id or company_id, connection=connection, **fields
    )
    return Received(event=event, duplicate=not created)


# The tables of InboundEvent and Connection (tests/webhooks check the names against the models).
GHL_EVENT_INSERT = (
    "INSERT INTO contacts_sync_inboundevent (provider, connection_id, event_id, event_type, account_id, headers, "
    "body, status, error, received_at) VALUES (%s, (SELECT id FROM contacts_sync_connection WHERE provider = %s AND "
    "external_account_id = %s ORDER BY id LIMIT 1), %s, %s, %s, %s::jsonb, %s, %s, '', %s) "
    "ON CONFLICT (provider, event_id) DO NOTHING RETURNING id, connection_id"
)


def _ghl_event_insert(
    *, location_id: str, event_id: str, body: bytes, headers: Mapping[str, str], event_type: str
) -> InboundEvent | None:
    """Store a pending GHL event of a location in ONE statement: the link to the location's connection is a
    subquery and the dedupe is ON CONFLICT; None when the event id is stored already (a replay). The ORM path
    (inbound_event_store) took a dedupe SELECT, a connection SELECT and a transaction around the INSERT: a
    burst of thousands of webhooks a minute pays per statement (docs/benchmarks.md, webhooks)."""
    now = timezone.now()
    event = InboundEvent(
        provider=Provider.GHL,
        event_id=event_id,
        event_type=_pg_text(event_type, 100),
        account_id=location_id,
        body=_body_text(body),
        status=EventStatus.PENDING,
        received_at=now,
    )
    row = insert_returning(
        GHL_EVENT_INSERT,
        [
            Provider.GHL,
            Provider.GHL,
            location_id,
            event.event_id,
            event.event_type,
            location_id,
            json.dumps(_safe_headers(headers)),
            event.body,
            event.status,
            now,
        ],
    )
    if row is None:
        return None
    event.pk, event.connection_id = row
    transaction.on_commit(drain_kick_soon)  # autocommit: at once
    return event


# --- per-connection webhooks (Hubstaff, custom apps) ----------------------------------------------------

# A connection's webhook URL is /webhooks/<Connection.webhook_token>/. Whatever is wrong with a request there
# (unknown token, an old /webhooks/<id>/ URL, no secret yet, a missing or wrong signature, a handshake nobody
# asked for), the answer is this one 404: a caller without the secret learns nothing, not even whether the URL
# exists. The real reason goes to the log (never a header value or the body).
NOT_FOUND_DETAIL = "no webhook endpoint at this URL accepts this request (unknown URL, or not signed with its secret)"
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
# Per webhook URL and minute: far above what one Hubstaff organization or custom app sends (one POST per event),
# low enough that a flood at one URL cannot keep the web workers busy with lookups and signature checks.
WEBHOOK_RATE_PER_MINUTE = 1200
RATE_WINDOW_SECONDS = 60
# A registration's single-use handshake nonce expires after this long (Hubstaff answers within seconds).
HANDSHAKE_NONCE_TTL_SECONDS = 300
HANDSHAKE_CONFIG_KEY = "webhook_handshake"  # {"nonce_sha256", "expires_at"} in Connection.config
HANDSHAKE_QUERY = "handshake"  # the nonce travels in the target URL: ?handshake=<nonce>


def _not_found(connection: Connection | None, reason: str) -> WebhookRejected:
    log.warning("connection webhook refused connection=%s reason=%s", connection.pk if connection else "-", reason)
    return WebhookRejected(404, "not_found", NOT_FOUND_DETAIL)


def webhook_rate_exceeded(*, token: str) -> int:
    """Count one request to this webhook URL; the seconds to wait when it is over the limit, else 0.

    The window opens with the first request and lasts RATE_WINDOW_SECONDS (Redis INCR keeps the key's expiry).
    Fails open: when the cache (Redis) is unreachable the request goes on (a lost webhook is worse)."""
    key = f"webhook-rate:{hashlib.sha256(token.encode()).hexdigest()[:32]}"
    try:
        count = 1 if cache.add(key, 1, timeout=RATE_WINDOW_SECONDS) else cache.incr(key)
    except ValueError:  # the key expired between add and incr: a new window
        count = 1
    except Exception as exc:  # noqa: BLE001 - any cache failure: do not refuse webhooks for it
        log.warning("webhook rate limit not checked: %s", type(exc).__name__)
        return 0
    return RATE_WINDOW_SECONDS if count > WEBHOOK_RATE_PER_MINUTE else 0


def webhook_secret(connection: Connection) -> str:
    return str(connection.secrets.get("webhook_secret") or "")


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def handshake_nonce_issue(*, connection_id: int, now: datetime | None = None) -> str:
    """Open a handshake window for a registration this service starts: a single-use nonce for the target URL
    (only its hash is stored), valid HANDSHAKE_NONCE_TTL_SECONDS. Committed before the app is asked."""
    nonce = pysecrets.token_urlsafe(24)
    expires = (now or timezone.now()) + timedelta(seconds=HANDSHAKE_NONCE_TTL_SECONDS)
    with transaction.atomic():
        conn = Connection.objects.select_for_update().get(pk=connection_id)
        pending = {"nonce_sha256": _nonce_hash(nonce), "expires_at": expires.isoformat()}
        conn.config = {**conn.config, HANDSHAKE_CONFIG_KEY: pending}
        conn.save(update_fields=["config", "updated_at"])
    return nonce


def handshake_nonce_drop(*, connection_id: int) -> None:
    """Close the handshake window (the registration is over, whatever its outcome)."""
    with transaction.atomic():
        conn = Connection.objects.select_for_update().get(pk=connection_id)
        if HANDSHAKE_CONFIG_KEY in conn.config:
            conn.config = {k: v for k, v in conn.config.items() if k != HANDSHAKE_CONFIG_KEY}
            conn.save(update_fields=["config", "updated_at"])


def _nonce_valid(pending: Any, nonce: str) -> bool:
    if not isinstance(pending, dict) or not nonce:
        return False
    try:
        expires = datetime.fromisoformat(str(pending.get("expires_at")))
    except ValueError:
        return False
    return timezone.now() < expires and hmac.compare_digest(str(pending.get("nonce_sha256")), _nonce_hash(nonce))


def _handshake(connection: Connection, offered: str, nonce: str, reply: dict[str, str]) -> Received:
    """REST-hook verification (Hubstaff): answer 200 echoing X-Hook-Secret and keep the secret for signatures.

    Taken only while this service is registering the hook: the target URL it gave the app carries a single-use
    nonce (`handshake_nonce_issue`), consumed here. Anyone else who knows the URL gets the same 404 as for an
    unknown URL. The app repeating the handshake with the secret already stored is answered again, unchanged.
    """
    if not offered or len(offered) > 500:
        raise _not_found(connection, "handshake without a usable X-Hook-Secret")
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        current = webhook_secret(locked)
        if current and hmac.compare_digest(current.encode(), offered.encode()):
            return Received(event=None, handshake=True, reply_headers=reply)
        if not _nonce_valid(locked.config.get(HANDSHAKE_CONFIG_KEY), nonce):
            raise _not_found(connection, "handshake without a pending registration (no, a used or an expired nonce)")
        locked.secrets = {**locked.secrets, "webhook_secret": offered}
        locked.config = {k: v for k, v in locked.config.items() if k != HANDSHAKE_CONFIG_KEY}
        locked.save(update_fields=["secrets", "config", "updated_at"])
    log.info("webhook handshake accepted connection=%s", connection.pk)
    return Received(event=None, handshake=True, reply_headers=reply)


# Headers that carry an app's signature (Hubstaff, our custom-app convention, Standard Webhooks).
SIGNATURE_HEADERS = ("x-hook-signature", "x-webhook-signature", "x-signature", "webhook-signature")


def _verify_connection_signature(
    hooks: WebhookSpec, connection: Connection, body: bytes, headers: dict[str, str]
) -> None:
    secret = webhook_secret(connection)
    if not secret:
        raise _not_found(connection, "no webhook secret yet")
    if not any(headers.get(name) for name in SIGNATURE_HEADERS):
        raise _not_found(connection, "no signature header")
    try:
        ok = bool(hooks.verify(headers, body, secret)) if hooks.verify else _hex_hmac_ok(secret, body, headers)
    except Exception as exc:  # noqa: BLE001 - a verifier that cannot decide means "not verified"
        log.warning("verify_webhook failed connection=%s error=%s", connection.pk, type(exc).__name__)
        ok = False
    if not ok:
        raise _not_found(connection, "bad signature")


def _hex_hmac_ok(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    signature = next((headers[n] for n in SIGNATURE_HEADERS[:3] if headers.get(n)), "")
    return hmac_sha256_hex_matches(secret=secret, body=body, signature=signature)


def _event_fields(
    hooks: WebhookSpec, provider: str, payload: dict[str, Any], headers: dict[str, str]
) -> dict[str, str] | str:
    """event id and type via the app's parse_webhook; a one-line reason when the body is not its event."""
    fields: dict[str, Any] = {}
    if hooks.parse is not None:
        try:
            fields = dict(hooks.parse(payload))
        except (ValueError, TypeError, KeyError) as exc:
            return f"not a {provider} event: {exc}"[:300]
    # Standard Webhooks: webhook-id is the idempotency key, stable across the sender's retries.
    event_id = headers.get("webhook-id") or fields.get("event_id") or payload.get("id") or ""
    event_type = fields.get("event_type") or payload.get("event") or payload.get("type") or ""
    return {"event_id": str(event_id), "event_type": str(event_type)}


def connection_webhook_receive(
    *, token: str, body: bytes, headers: Mapping[str, str], handshake_nonce: str = ""
) -> Received:
    """An app's webhook to /webhooks/<token>/: handshake, signature check, store, dedupe."""
    headers = {k.lower(): v for k, v in headers.items()}
    connection = Connection.objects.filter(webhook_token=token).first() if TOKEN_RE.fullmatch(token) else None
    if connection is None:
        raise _not_found(None, "unknown webhook token")
    hooks = registry.spec(connection.provider).webhook
    if hooks is None or connection.provider == Provider.GHL:
        raise _not_found(connection, f"{connection.provider} sends no webhooks to a connection URL")
    reply = hooks.handshake(headers) if hooks.handshake is not None else None
    if reply:
        return _handshake(connection, headers.get("x-hook-secret", ""), handshake_nonce, dict(reply))
    _verify_connection_signature(hooks, connection, body, headers)
    parsed = parse_json(body)
    fields = parsed if isinstance(parsed, str) else _event_fields(hooks, connection.provider, parsed, headers)
    if isinstance(fields, str):
        event, _ = inbound_event_store(
            provider=connection.provider,
            event_id=_body_hash_id(body),
            body=body,
            headers=headers,
            connection=connection,
            account_id=connection.external_account_id,
            status=EventStatus.FAILED,
            error=fields,
        )
        raise WebhookRejected(400, "malformed_json" if isinstance(parsed, str) else "not_an_event", fields, event=event)
    event, created = inbound_event_store(
        provider=connection.provider,
        event_id=f"{connection.pk}:{fields['event_id'] or _body_hash_id(body)}",
        body=body,
        headers=headers,
        event_type=fields["event_type"],
        account_id=connection.external_account_id,
        connection=connection,
    )
    return Received(event=event, duplicate=not created)
