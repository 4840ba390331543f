"""The webhook inbox: verify, store (deduplicated), and turn stored events into runs.

Views in contacts_sync/webhooks.py call `ghl_webhook_receive` / `connection_webhook_receive`; both raise
`WebhookRejected` with the HTTP status and a clear message for anything that must not be accepted, and
return a `Received` for everything that was stored (or recognised as a duplicate). Processing happens later,
in `inbound_event_process`, called by the Celery task `inbound_event_process_task`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import importlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from celery import current_app
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from contacts_sync.models import (
    Connection,
    EventStatus,
    InboundEvent,
    Provider,
    Run,
    RunStatus,
    RunTrigger,
    Sync,
)
from contacts_sync.sync.recipes import recipe_for, record_passes_filter

log = logging.getLogger(__name__)

# GHL's guide suggests rejecting webhooks whose `timestamp` is more than 5 minutes away from now (replays).
MAX_TIMESTAMP_SKEW = timedelta(minutes=5)
# A webhook that arrives while the sync's run is already reading waits for that run to end, then triggers
# its own; a long run can last up to the task time limit, so wait about as long before giving up.
ACTIVE_RUN_RETRY_SECONDS = 60
ACTIVE_RUN_MAX_RETRIES = 60
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
KEYS_DIR = Path(__file__).resolve().parent.parent / "keys"
PROCESS_TASK = "contacts_sync.tasks.inbound_event_process_task"

# GHL event type -> the object kind a sync reads (docs/webhook-events). Others (INSTALL, LocationUpdate...)
# are stored and marked ignored. GHL has no TaskUpdate event and sends businesses as Record* events.
GHL_EVENT_OBJECTS = {
    "ContactCreate": "contact",
    "ContactUpdate": "contact",
    "ContactDelete": "contact",
    "ContactTagUpdate": "contact",
    "ContactDndUpdate": "contact",
    "TaskCreate": "task",
    "TaskComplete": "task",
    "TaskDelete": "task",
    "NoteCreate": "note",
    "NoteUpdate": "note",
    "NoteDelete": "note",
    "AppointmentCreate": "appointment",
    "AppointmentUpdate": "appointment",
    "AppointmentDelete": "appointment",
    "RecordCreate": "business",
    "RecordUpdate": "business",
    "RecordDelete": "business",
}


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


# --- signatures ---------------------------------------------------------------------------------------


def _pem(text: str) -> bytes:
    """PEM text from an env var: accepts real PEM, PEM with literal \\n, or the bare base64 body."""
    text = text.strip().replace("\\n", "\n")
    if not text.startswith("-----BEGIN"):
        body = "".join(text.split())
        text = "-----BEGIN PUBLIC KEY-----\n" + body + "\n-----END PUBLIC KEY-----"
    return text.encode()


@functools.lru_cache(maxsize=8)
def _load_key(text: str) -> Any:
    return serialization.load_pem_public_key(_pem(text))


def ghl_public_key() -> Ed25519PublicKey:
    text = settings.GHL_WEBHOOK_PUBLIC_KEY or (KEYS_DIR / "ghl-webhook-ed25519.pem").read_text()
    key = _load_key(text)
    if not isinstance(key, Ed25519PublicKey):
        raise WebhookRejected(500, "misconfigured", "GHL_WEBHOOK_PUBLIC_KEY is not an Ed25519 public key")
    return key


def ghl_legacy_public_key() -> RSAPublicKey:
    text = (
        getattr(settings, "GHL_WEBHOOK_LEGACY_PUBLIC_KEY", "")
        or (KEYS_DIR / "ghl-webhook-rsa.pem").read_text()
    )
    key = _load_key(text)
    if not isinstance(key, RSAPublicKey):
        raise WebhookRejected(500, "misconfigured", "GHL_WEBHOOK_LEGACY_PUBLIC_KEY is not an RSA public key")
    return key


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRejected(401, "bad_signature", "the signature header is not valid base64") from None


def ghl_signature_verify(*, body: bytes, headers: Mapping[str, str]) -> str:
    """Verify a GHL webhook over the RAW body; returns the scheme used ("ed25519" or "rsa").

    GHL's SDK checks x-ghl-signature (Ed25519) first and falls back to the legacy x-wh-signature
    (RSA-SHA256, PKCS#1 v1.5) only when x-ghl-signature is absent; we do the same. Never re-serialise the JSON.
    """
    current = headers.get("x-ghl-signature")
    legacy = headers.get("x-wh-signature")
    try:
        if current:
            ghl_public_key().verify(_b64(current), body)
            return "ed25519"
        if legacy:
            ghl_legacy_public_key().verify(_b64(legacy), body, padding.PKCS1v15(), hashes.SHA256())
            return "rsa"
    except InvalidSignature:
        raise WebhookRejected(401, "bad_signature", "the webhook signature does not match the body") from None
    raise WebhookRejected(401, "missing_signature", "no x-ghl-signature (or legacy x-wh-signature) header")


def hmac_sha256_hex_matches(*, secret: str, body: bytes, signature: str) -> bool:
    """Hex HMAC-SHA256 of the raw body, compared in constant time (Hubstaff, custom apps)."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = signature.strip().lower()
    if given.startswith("sha256="):
        given = given[len("sha256=") :]
    return hmac.compare_digest(expected, given)


# --- storing ---------------------------------------------------------------------------------------------


def _pg_text(value: Any, limit: int) -> str:
    """PostgreSQL text cannot hold NUL (a signed body may carry one in any field): keep it visible as \\x00."""
    return str(value).replace("\x00", "\\x00")[:limit]


def _safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        _pg_text(k.lower(), 100): _pg_text(v, 500)
        for k, v in headers.items()
        if k.lower() not in SECRET_HEADERS
    }


def _body_text(body: bytes) -> str:
    # PostgreSQL text cannot hold NUL; undecodable bytes are kept as \xNN escapes so nothing is lost.
    return body.decode("utf-8", errors="backslashreplace").replace("\x00", "\\x00")


def _body_hash_id(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _enqueue_processing(event_id: int) -> None:
    # By task name: webhooks and tasks are sibling layers, services sit below tasks (import-linter).
    transaction.on_commit(lambda: current_app.send_task(PROCESS_TASK, args=[event_id]))


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

    A pending event is handed to `inbound_event_process_task` once the transaction commits.
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
                _enqueue_processing(event.pk)
    except IntegrityError:
        return InboundEvent.objects.get(provider=provider, event_id=event_id), False
    return event, True


def _parse_json(body: bytes) -> dict[str, Any] | str:
    """The JSON object, or a one-line reason why the body is not one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"the body is not valid JSON: {exc}"[:300]
    if not isinstance(data, dict):
        return "the body must be a JSON object"
    return data


def _parse_timestamp(value: Any) -> datetime | None:
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if value > 10**11 else value  # epoch milliseconds or seconds
            return datetime.fromtimestamp(seconds, tz=UTC)
        if isinstance(value, str):
            parsed = parse_datetime(value.strip())
            if parsed is not None and timezone.is_naive(parsed):
                parsed = timezone.make_aware(parsed, UTC)
            return parsed
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _check_fresh(payload: dict[str, Any], now: datetime) -> None:
    if "timestamp" not in payload:
        return  # not every GHL event carries one; the webhookId dedupe still stops replays
    at = _parse_timestamp(payload["timestamp"])
    if at is None:
        raise WebhookRejected(
            400, "bad_timestamp", f"timestamp {str(payload['timestamp'])[:40]!r} is not a date"
        )
    if abs(now - at) > MAX_TIMESTAMP_SKEW:
        raise WebhookRejected(
            400,
            "stale_timestamp",
            f"timestamp {at.isoformat()} is more than 5 minutes away from the server time",
        )


def ghl_webhook_receive(*, body: bytes, headers: Mapping[str, str], now: datetime | None = None) -> Received:
    """Verify, check freshness, store and dedupe one GHL webhook. Raises WebhookRejected."""
    headers = {k.lower(): v for k, v in headers.items()}
    scheme = ghl_signature_verify(body=body, headers=headers)
    parsed = _parse_json(body)
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
    webhook_id = _pg_text(parsed.get("webhookId") or "", 200) or _body_hash_id(body)
    known = InboundEvent.objects.filter(provider=Provider.GHL, event_id=webhook_id).first()
    if known is not None:
        return Received(event=known, duplicate=True)  # a replay, even a stale one, changes nothing
    _check_fresh(parsed, now or timezone.now())
    connection = (
        Connection.objects.only("pk")  # never load (decrypt) the secrets just to link the event
        .filter(provider=Provider.GHL, external_account_id=location_id)
        .order_by("pk")
        .first()
        if location_id
        else None
    )
    event, created = inbound_event_store(
        provider=Provider.GHL,
        event_id=webhook_id,
        body=body,
        headers={**headers, "x-signature-scheme": scheme},
        event_type=str(parsed.get("type") or ""),
        account_id=location_id,
        connection=connection,
    )
    return Received(event=event, duplicate=not created)


# --- per-connection webhooks (Hubstaff, custom apps) ----------------------------------------------------


def webhook_module(provider: str) -> Any:
    """The connector package of an app that pushes webhooks, for its module-level `verify_webhook`,
    `parse_webhook` and `handshake_response` (no credentials are needed to check a signature)."""
    if provider not in Provider.values or provider == Provider.GHL:
        return None
    try:
        return importlib.import_module(f"contacts_sync.connectors.{provider}")
    except ImportError:
        return None


def _webhook_secret(connection: Connection) -> str:
    return str(connection.secrets.get("webhook_secret") or "")


def _handshake(connection: Connection, offered: str, reply: dict[str, str]) -> Received:
    """REST-hook verification (Hubstaff): answer 200 echoing X-Hook-Secret and keep the secret for signatures.

    A secret is only taken while none is stored (or when it is the same one): otherwise anyone who knows the
    URL could replace it. To re-register, clear the webhook secret of the connection first.
    """
    current = _webhook_secret(connection)
    if current and not hmac.compare_digest(current, offered):
        raise WebhookRejected(
            409,
            "secret_already_set",
            "this connection already has a webhook secret; clear it before re-registering",
        )
    if not current:
        with transaction.atomic():
            locked = Connection.objects.select_for_update().get(pk=connection.pk)
            locked.secrets = {**locked.secrets, "webhook_secret": offered}
            locked.save(update_fields=["secrets", "updated_at"])
        log.info("webhook handshake accepted connection=%s", connection.pk)
    return Received(event=None, handshake=True, reply_headers=reply)


# Headers that carry an app's signature (Hubstaff, our custom-app convention, Standard Webhooks).
SIGNATURE_HEADERS = ("x-hook-signature", "x-webhook-signature", "x-signature", "webhook-signature")


def _verify_connection_signature(
    module: Any, connection: Connection, body: bytes, headers: dict[str, str]
) -> None:
    secret = _webhook_secret(connection)
    if not secret:
        raise WebhookRejected(401, "no_secret", "this connection has no webhook secret yet")
    if not any(headers.get(name) for name in SIGNATURE_HEADERS):
        raise WebhookRejected(401, "missing_signature", "no signature header (X-Hook-Signature or similar)")
    verify = getattr(module, "verify_webhook", None)
    try:
        ok = bool(verify(headers, body, secret)) if verify else _hex_hmac_ok(secret, body, headers)
    except Exception as exc:  # noqa: BLE001 - a verifier that cannot decide means "not verified"
        log.warning("verify_webhook failed connection=%s error=%s", connection.pk, type(exc).__name__)
        ok = False
    if not ok:
        raise WebhookRejected(401, "bad_signature", "the webhook signature does not match the body")


def _hex_hmac_ok(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    signature = next((headers[n] for n in SIGNATURE_HEADERS[:3] if headers.get(n)), "")
    return bool(signature) and hmac_sha256_hex_matches(secret=secret, body=body, signature=signature)


def _event_fields(module: Any, payload: dict[str, Any], headers: dict[str, str]) -> dict[str, str] | str:
    """event id and type via the app's parse_webhook; a one-line reason when the body is not its event."""
    parse = getattr(module, "parse_webhook", None)
    fields: dict[str, Any] = {}
    if parse is not None:
        try:
            fields = dict(parse(payload))
        except (ValueError, TypeError, KeyError) as exc:
            return f"not a {getattr(module, '__name__', 'app').rsplit('.', 1)[-1]} event: {exc}"[:300]
    # Standard Webhooks: webhook-id is the idempotency key, stable across the sender's retries.
    event_id = headers.get("webhook-id") or fields.get("event_id") or payload.get("id") or ""
    event_type = fields.get("event_type") or payload.get("event") or payload.get("type") or ""
    return {"event_id": str(event_id), "event_type": str(event_type)}


def connection_webhook_receive(
    *, connection: Connection, body: bytes, headers: Mapping[str, str]
) -> Received:
    """An app's webhook to /webhooks/<connection id>/: handshake, signature check, store, dedupe."""
    headers = {k.lower(): v for k, v in headers.items()}
    module = webhook_module(connection.provider)
    handshake = getattr(module, "handshake_response", None)
    reply = handshake(headers) if handshake is not None else None
    if reply:
        return _handshake(connection, headers.get("x-hook-secret", ""), dict(reply))
    _verify_connection_signature(module, connection, body, headers)
    parsed = _parse_json(body)
    fields = parsed if isinstance(parsed, str) else _event_fields(module, parsed, headers)
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
        raise WebhookRejected(
            400, "malformed_json" if isinstance(parsed, str) else "not_an_event", fields, event=event
        )
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


# --- processing -----------------------------------------------------------------------------------------


# Hubstaff event names -> object kind (source-apps.md: client.create, task.create/assign/unassign).
APP_EVENT_OBJECTS = {
    "client": "contact",
    "member": "contact",
    "task": "task",
    "note": "note",
    "activity": "note",
    "contact": "contact",
    "appointment": "appointment",
}


def event_object_kind(event: InboundEvent) -> str:
    if event.provider == Provider.GHL:
        return GHL_EVENT_OBJECTS.get(event.event_type, "")
    prefix = event.event_type.split(".", 1)[0].lower()
    return APP_EVENT_OBJECTS.get(prefix, "")


def event_syncs(event: InboundEvent, object_kind: str) -> list[Sync]:
    """The enabled syncs with a webhook trigger that read this event's account and object."""
    qs = Sync.objects.filter(enabled=True, webhook_trigger=True, source_object=object_kind)
    if event.provider == Provider.GHL:
        qs = qs.filter(
            source_connection__provider=Provider.GHL, source_connection__external_account_id=event.account_id
        )
    else:
        qs = qs.filter(source_connection_id=event.connection_id)
    return list(qs.select_related("source_connection").order_by("pk"))


@dataclass
class ProcessOutcome:
    status: str  # an EventStatus value, or "retry" when a sync's run is still reading
    reason: str = ""
    runs: list[int] = field(default_factory=list)


def _tagged_record(event: InboundEvent) -> dict[str, Any] | None:
    """The GHL event's own record when it carries tags (what a recipe filter needs), else None."""
    if event.provider != Provider.GHL:
        return None
    payload = _parse_json(event.body.encode())
    return payload if isinstance(payload, dict) and "tags" in payload else None


def _concerns(sync: Sync, record: dict[str, Any] | None) -> bool:
    """False when the event's record cannot pass the sync's recipe filter (an untagged contact for the
    critical-contact recipe): no run is needed. Events that carry no tags let the run decide."""
    return record is None or record_passes_filter(recipe_for(sync.recipe), sync.options or {}, record)


def _finish(event: InboundEvent, status: str, reason: str) -> None:
    InboundEvent.objects.filter(pk=event.pk).update(
        status=status, error=reason[:2000], processed_at=timezone.now()
    )


def _reads_event_only(sync: Sync, run: Run) -> bool:
    """The engine turns a run made for a GHL event into a one-record run (the event's own record);
    any other run reads the source incrementally from its checkpoint."""
    return run.event_id is not None and sync.source_connection.provider == Provider.GHL


def _covers(sync: Sync, run: Run, event: InboundEvent) -> bool:
    if run.event_id == event.pk:
        return True
    if _reads_event_only(sync, run):
        return False
    # An incremental run covers the change if it had not started reading when the event arrived.
    return run.status == RunStatus.QUEUED or run.created_at >= event.received_at


def _covering_run(sync: Sync, event: InboundEvent) -> Run | None:
    candidates = Run.objects.filter(sync=sync).filter(
        Q(event=event) | Q(created_at__gte=event.received_at) | Q(status=RunStatus.QUEUED)
    )
    return next((run for run in candidates.order_by("created_at") if _covers(sync, run, event)), None)


def _process_sync(sync: Sync, event: InboundEvent, attempt: int) -> tuple[str, str, int | None]:
    """("started" | "covered" | "busy", note, run id) for one sync the event concerns."""
    from contacts_sync.services.runs import run_enqueue

    covering = _covering_run(sync, event)
    if covering is not None:
        return "covered", f"sync {sync.pk}: covered by run {covering.pk}", None
    # First attempt: a run for this event (a GHL source syncs just the event's record). Later attempts, after
    # waiting for a busy sync, ask for one incremental run that catches up every event that waited.
    run = run_enqueue(sync=sync, trigger=RunTrigger.WEBHOOK, event=event if attempt == 0 else None)
    if run is not None:
        return "started", f"sync {sync.pk}: run {run.pk}", run.pk
    active = Run.objects.filter(sync=sync, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()
    if active is not None and _covers(sync, active, event):
        return "covered", f"sync {sync.pk}: coalesced into run {active.pk}", None
    return "busy", f"sync {sync.pk}: run {getattr(active, 'pk', '?')} is active", None


def inbound_event_process(*, event_id: int, attempt: int = 0, give_up: bool = False) -> ProcessOutcome:
    """Turn a stored event into runs of the syncs it concerns; mark it processed / ignored / failed.

    When a sync's active run does not cover the change (it is already reading, or it syncs another event's
    record), the outcome is "retry" and the task tries again later. With give_up=True (retries exhausted) the
    event is failed with the reason; the reconcile poll still catches the change.
    """
    with transaction.atomic():
        event = InboundEvent.objects.select_for_update(skip_locked=True).filter(pk=event_id).first()
        if event is None or event.status != EventStatus.PENDING:
            return ProcessOutcome(status=getattr(event, "status", "missing"), reason="not pending")
        kind = event_object_kind(event)
        if not kind:
            reason = f"event type {event.event_type or '(none)'!r} does not feed syncs"
            _finish(event, EventStatus.IGNORED, reason)
            return ProcessOutcome(status=EventStatus.IGNORED, reason=reason)
        candidates = event_syncs(event, kind)
        record = _tagged_record(event) if candidates else None
        syncs = [sync for sync in candidates if _concerns(sync, record)]
        if not syncs:
            reason = (
                f"no enabled sync with a webhook trigger reads {kind} from account {event.account_id or '?'}"
                if not candidates
                else f"the record does not match the filter of sync(s) {', '.join(str(s.pk) for s in candidates)}"
            )
            _finish(event, EventStatus.IGNORED, reason)
            return ProcessOutcome(status=EventStatus.IGNORED, reason=reason)
        results = [_process_sync(sync, event, attempt) for sync in syncs]
        notes = "; ".join(note for _, note, _ in results)
        runs = [run_id for _, _, run_id in results if run_id is not None]
        if any(kind == "busy" for kind, _, _ in results):
            if not give_up:
                InboundEvent.objects.filter(pk=event.pk).update(error=f"waiting: {notes}"[:2000])
                return ProcessOutcome(status="retry", reason=notes, runs=runs)
            reason = f"{notes} (gave up waiting; the reconcile poll will pick the change up)"
            _finish(event, EventStatus.FAILED, reason)
            return ProcessOutcome(status=EventStatus.FAILED, reason=reason, runs=runs)
        _finish(event, EventStatus.PROCESSED, notes)
        return ProcessOutcome(status=EventStatus.PROCESSED, reason=notes, runs=runs)


def inbound_event_fail(*, event_id: int, reason: str) -> None:
    """Mark an event failed (the task's last resort on an unexpected error): never left pending silently."""
    InboundEvent.objects.filter(pk=event_id, status=EventStatus.PENDING).update(
        status=EventStatus.FAILED, error=reason[:2000], processed_at=timezone.now()
    )


# Stored webhooks are kept long enough to answer replays as duplicates and to debug a missed change; GHL's
# replay window (timestamp) is 5 minutes and its retries stop after about 70 minutes.
EVENT_RETENTION = timedelta(days=30)
# Failed events are the ones someone may still need to look at.
FAILED_EVENT_RETENTION = timedelta(days=90)


def inbound_events_prune(*, now: datetime | None = None) -> int:
    """Delete old processed/ignored events (and older failed ones); pending events are never deleted."""
    now = now or timezone.now()
    done = InboundEvent.objects.filter(
        status__in=[EventStatus.PROCESSED, EventStatus.IGNORED], received_at__lt=now - EVENT_RETENTION
    )
    failed = InboundEvent.objects.filter(
        status=EventStatus.FAILED, received_at__lt=now - FAILED_EVENT_RETENTION
    )
    return done.delete()[0] + failed.delete()[0]


# --- registering our webhook URL with an app (Hubstaff) ----------------------------------------------------

# Apps whose connector can create a webhook through their API (REST hooks with a handshake).
WEBHOOK_REGISTRATION_PROVIDERS = (Provider.HUBSTAFF,)
# Hubstaff verifies the target right after the webhook is created; wait this long for its X-Hook-Secret.
HANDSHAKE_WAIT_SECONDS = 30
REGISTER_TASK = "contacts_sync.tasks.connection_webhook_register_task"
# Activation right after the handshake may find the hook not yet marked verified (see _activate).
ACTIVATE_ATTEMPTS = 10


def _webhook_state_set(connection_id: int, **state: Any) -> None:
    with transaction.atomic():
        conn = Connection.objects.select_for_update().get(pk=connection_id)
        conn.config = {**conn.config, "webhook": {**state, "at": timezone.now().isoformat()}}
        conn.save(update_fields=["config", "updated_at"])


def app_webhook_register_enqueue(*, connection: Connection, target_url: str, user: Any = None) -> None:
    """Ask a worker to register `target_url` with the app (the handshake needs this server to answer)."""
    from contacts_sync.services.audit import audit_record

    if connection.provider not in WEBHOOK_REGISTRATION_PROVIDERS:
        raise WebhookRejected(
            400, "not_supported", f"{connection.get_provider_display()} webhooks are set up in the app"
        )
    _webhook_state_set(connection.pk, status="registering", url=target_url)
    audit_record(
        actor=user, action="connection.webhook_register", obj=connection, changes={"url": target_url}
    )
    transaction.on_commit(lambda: current_app.send_task(REGISTER_TASK, args=[connection.pk, target_url]))


def _activate(connector: Any, hook_id: str, secret: str, sleep: Any) -> None:
    """Hubstaff marks the hook verified only once it has read our echo, which can land just after we stored
    the secret: a 422 "not verified yet" is retried for a few seconds."""
    from contacts_sync.apiclient.errors import ValidationError

    for attempt in range(ACTIVATE_ATTEMPTS):
        try:
            connector.activate_webhook(hook_id, secret)
            return
        except ValidationError:
            if attempt == ACTIVATE_ATTEMPTS - 1:
                raise
            sleep(0.5)


def app_webhook_register(*, connection_id: int, target_url: str, sleep: Any = time.sleep) -> dict[str, Any]:
    """Create the webhook in the app, wait for its handshake to store the secret, then activate it.

    A registration starts with no stored secret, so the handshake of the new webhook is accepted.
    The outcome is kept in Connection.config["webhook"] (status active / unverified / error) for the pages.
    """
    from contacts_sync.apiclient.errors import ApiError
    from contacts_sync.services.connectors import connector_for

    with transaction.atomic():
        conn = Connection.objects.select_for_update().get(pk=connection_id)
        conn.secrets = {k: v for k, v in conn.secrets.items() if k != "webhook_secret"}
        conn.save(update_fields=["secrets", "updated_at"])
    try:
        connector = connector_for(conn)
        hook_id = str(connector.create_webhook(target_url=target_url).get("id") or "")
        secret = ""
        for _ in range(int(HANDSHAKE_WAIT_SECONDS / 0.5)):
            conn.refresh_from_db(fields=["secrets"])
            secret = _webhook_secret(conn)
            if secret:
                break
            sleep(0.5)
        if not secret:
            state = {
                "status": "unverified",
                "id": hook_id,
                "url": target_url,
                "error": f"the app did not reach {target_url} within {HANDSHAKE_WAIT_SECONDS} s",
            }
        else:
            _activate(connector, hook_id, secret, sleep)
            state = {"status": "active", "id": hook_id, "url": target_url}
    except ApiError as exc:
        state = {"status": "error", "url": target_url, "error": f"{type(exc).__name__}: {exc}"[:500]}
    _webhook_state_set(connection_id, **state)
    log.info("webhook registration connection=%s status=%s", connection_id, state["status"])
    return state
