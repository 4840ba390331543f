"""Registering our webhook URL with an app that creates hooks through its API: Hubstaff's REST hooks with a
handshake (create, wait for the handshake to store the secret, activate), or UpGuard's, whose create answer
carries the signing secret (stored at once)."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from celery import current_app
from django.db import transaction
from django.utils import timezone

from contacts_sync.apiclient.errors import ApiError, ValidationError
from contacts_sync.connectors import registry
from contacts_sync.models import Connection
from contacts_sync.services.audit import audit_record
from contacts_sync.services.credentials import connector_for
from contacts_sync.services.inbox import (
    HANDSHAKE_QUERY,
    WebhookRejected,
    handshake_nonce_drop,
    handshake_nonce_issue,
    webhook_secret,
)

__all__ = ["WebhookRejected", "app_webhook_register", "app_webhook_register_enqueue", "registrable"]

log = logging.getLogger(__name__)

# Hubstaff verifies the target right after the webhook is created; wait this long for its X-Hook-Secret.
HANDSHAKE_WAIT_SECONDS = 30
REGISTER_TASK = "contacts_sync.tasks.connection_webhook_register_task"
# Activation right after the handshake may find the hook not yet marked verified (see _activate).
ACTIVATE_ATTEMPTS = 10


def registrable(provider: str) -> bool:
    """True when our webhook URL can be registered with the app through its API."""
    hooks = registry.spec(provider).webhook
    return hooks is not None and hooks.registrable


def _webhook_state_set(connection_id: int, **state: Any) -> None:
    with transaction.atomic():
        conn = Connection.objects.select_for_update().get(pk=connection_id)
        conn.config = {**conn.config, "webhook": {**state, "at": timezone.now().isoformat()}}
        conn.save(update_fields=["config", "updated_at"])


def _secret_store(connection_id: int, secret: str) -> None:
    with transaction.atomic():
        conn = Connection.objects.select_for_update().get(pk=connection_id)
        conn.secrets = {**conn.secrets, "webhook_secret": secret}
        conn.save(update_fields=["secrets", "updated_at"])


def app_webhook_register_enqueue(*, connection: Connection, target_url: str, user: Any = None) -> None:
    """Ask a worker to register `target_url` with the app (the handshake needs this server to answer)."""
    if not registrable(connection.provider):
        raise WebhookRejected(
            400, "not_supported", f"{connection.get_provider_display()} webhooks are set up in the app"
        )
    _webhook_state_set(connection.pk, status="registering", url=target_url)
    audit_record(actor=user, action="connection.webhook_register", obj=connection, changes={"url": target_url})
    transaction.on_commit(lambda: current_app.send_task(REGISTER_TASK, args=[connection.pk, target_url]))


def _activate(connector: Any, hook_id: str, secret: str, sleep: Any) -> None:
    """Hubstaff marks the hook verified only once it has read our echo, which can land just after we stored
    the secret: a 422 "not verified yet" is retried for a few seconds."""
    for attempt in range(ACTIVATE_ATTEMPTS):
        try:
            connector.activate_webhook(hook_id, secret)
            return
        except ValidationError:
            if attempt == ACTIVATE_ATTEMPTS - 1:
                raise
            sleep(0.5)


def _with_nonce(target_url: str, nonce: str) -> str:
    parts = urlsplit(target_url)
    query = urlencode([*parse_qsl(parts.query), (HANDSHAKE_QUERY, nonce)])
    return urlunsplit(parts._replace(query=query))


def app_webhook_register(*, connection_id: int, target_url: str, sleep: Any = time.sleep) -> dict[str, Any]:
    """Create the webhook in the app, wait for its handshake to store the secret, then activate it.

    The app is given `target_url?handshake=<nonce>`: the inbox takes a handshake only with that single-use,
    short-lived nonce (services/inbox.py), so nobody else can plant a secret. The stored secret is cleared
    first; the outcome is kept in Connection.config["webhook"] (active / unverified / error) for the pages.
    """
    with transaction.atomic():
        conn = Connection.objects.select_for_update().get(pk=connection_id)
        conn.secrets = {k: v for k, v in conn.secrets.items() if k != "webhook_secret"}
        conn.save(update_fields=["secrets", "updated_at"])
    hooks = registry.spec(conn.provider).webhook
    # Only an app that verifies the URL with a handshake (Hubstaff) gets the nonce; one that answers the secret
    # itself (UpGuard) keeps the plain URL, without a nonce that is dropped right after.
    with_handshake = hooks is not None and hooks.handshake is not None
    nonce = handshake_nonce_issue(connection_id=connection_id) if with_handshake else ""  # committed first
    try:
        connector = connector_for(conn)
        created = connector.create_webhook(target_url=_with_nonce(target_url, nonce) if nonce else target_url)
        hook_id = str(created.get("id") or "")
        if created.get("secret"):  # the app answers the signing secret itself (UpGuard): no handshake
            _secret_store(connection_id, str(created["secret"]))
            _webhook_state_set(connection_id, status="active", id=hook_id, url=target_url)
            log.info("webhook registration connection=%s status=active", connection_id)
            return {"status": "active", "id": hook_id, "url": target_url}
        secret = ""
        for _ in range(int(HANDSHAKE_WAIT_SECONDS / 0.5)):
            conn.refresh_from_db(fields=["secrets"])
            secret = webhook_secret(conn)
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
    finally:
        if nonce:
            handshake_nonce_drop(connection_id=connection_id)
    _webhook_state_set(connection_id, **state)
    log.info("webhook registration connection=%s status=%s", connection_id, state["status"])
    return state
