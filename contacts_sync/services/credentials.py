"""Where Connection rows meet the connectors: the persistent token store and the connector factory.

Rotating credentials (GHL OAuth, Hubstaff PATs) are refreshed single-flight per connection across every process
(apiclient.tokens.RotatingTokenProvider): `ConnectionTokenStore.lock()` is a Redis lease with a TTL (not a row
lock held across the HTTP call), the caller re-reads after taking it and refreshes only if still needed, and the
new pair is persisted before it is used. A refusal no retry can fix marks the connection "needs re-auth".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from contacts_sync.apiclient.tokens import MemoryTokenStore, TokenStore
from contacts_sync.connectors import registry
from contacts_sync.connectors.base import ConnectionInfo
from contacts_sync.exceptions import ContactsSyncError
from contacts_sync.models import Connection, ConnectionStatus, Provider
from contacts_sync.services import status as status_service
from contacts_sync.services.audit import audit_record

log = logging.getLogger(__name__)

# A refresh lease expires on its own after this long (a crashed holder must not block refreshes for ever).
REFRESH_LOCK_TTL_SECONDS = 60
# Waiting for another holder longer than this means something is wrong; the caller gets an error.
REFRESH_LOCK_WAIT_SECONDS = 75
LAST_ERROR_MAX = 1000


class ConnectionActionError(ContactsSyncError):
    """A connection action failed in a way the user must see (never contains a secret)."""


_REDIS: dict[str, Any] = {}


def _shared_redis() -> Any:
    import redis

    client = _REDIS.get(settings.REDIS_URL)
    if client is None:
        client = _REDIS[settings.REDIS_URL] = redis.Redis.from_url(settings.REDIS_URL)
    return client


def status_set(connection: Connection, status: str, reason: str = "") -> None:
    """The status service flips the connection (and its syncs), stamps the check and records the change."""
    status_service.connection_status_set(connection=connection, status=status, reason=reason[:LAST_ERROR_MAX])
    connection.refresh_from_db(fields=["status", "last_checked_at", "last_error"])


class ConnectionTokenStore:
    """Rotating credentials of one connection, shared by every process (apiclient.tokens.TokenStore).

    - `lock()`: a Redis lease (`SET NX PX`) per connection, released on exit; raises ConnectionActionError when
      another holder keeps it longer than REFRESH_LOCK_WAIT_SECONDS.
    - `load()`: re-reads the secrets from the database (never a cached copy), plus `expires_at` (an aware
      datetime or None) so a caller can decide whether the refresh is still needed.
    - `save()`: one UPDATE writes the new secrets (merged over the old ones), the expiry and granted scopes.
    - `refused()`: the provider refused the refresh for good: the connection needs re-authorisation.

    Call API clients outside `transaction.atomic()`: a refresh saved inside an outer transaction that then rolls
    back would lose the rotated refresh token (the old one is already dead at the provider).
    """

    def __init__(self, connection_id: int, *, redis_client: Any = None) -> None:
        self.connection_id = connection_id
        self._redis = redis_client

    @property
    def lock_key(self) -> str:
        return f"connection:{self.connection_id}:refresh-lock"

    @contextmanager
    def lock(self) -> Iterator[None]:
        import redis.exceptions

        client = self._redis or _shared_redis()
        lease = client.lock(
            self.lock_key,
            timeout=REFRESH_LOCK_TTL_SECONDS,
            blocking_timeout=REFRESH_LOCK_WAIT_SECONDS,
            thread_local=False,
        )
        if not lease.acquire():
            raise ConnectionActionError(
                f"another worker has held the token refresh of connection {self.connection_id} for over "
                f"{REFRESH_LOCK_WAIT_SECONDS}s"
            )
        try:
            yield
        finally:
            try:
                lease.release()
            except redis.exceptions.LockError:
                # The lease expired while we held it (a very slow token call); the next holder owns it now.
                log.warning("refresh lease of connection %s expired before release", self.connection_id)

    @sensitive_variables()
    def load(self) -> dict[str, Any]:
        row = Connection.objects.filter(pk=self.connection_id).values_list("secrets", "token_expires_at").first()
        if row is None:
            raise ConnectionActionError(f"connection {self.connection_id} no longer exists")
        data, expires_at = row
        return {**(data or {}), "expires_at": expires_at}

    @sensitive_variables()
    def save(self, secrets: dict[str, Any], *, expires_at: Any = None, scopes: list[str] | None = None) -> None:
        new = {k: v for k, v in secrets.items() if k != "expires_at"}
        if isinstance(expires_at, (int, float)):
            expires_at = timezone.now() + timedelta(seconds=expires_at)
        with transaction.atomic():
            conn = Connection.objects.select_for_update().get(pk=self.connection_id)
            fields: dict[str, Any] = {
                "secrets": {**conn.secrets, **new},
                "token_expires_at": expires_at,
                "updated_at": timezone.now(),
            }
            if scopes:
                fields["scopes"] = list(scopes)
            Connection.objects.filter(pk=conn.pk).update(**fields)
            audit_record(
                actor=None,
                action="connection.token_refresh",
                obj=conn,
                changes={"token_expires_at": expires_at.isoformat() if expires_at else None},
            )
        log.info("connection %s: stored refreshed credentials (expires %s)", self.connection_id, expires_at)

    def refused(self, reason: str) -> None:
        conn = Connection.objects.filter(pk=self.connection_id).first()
        if conn is not None and conn.status != ConnectionStatus.NEEDS_REAUTH:
            status_set(conn, ConnectionStatus.NEEDS_REAUTH, reason)


def app_settings(provider: str, base_url: str = "") -> dict[str, Any]:
    """The deployment-wide settings a connector needs (connectors never read Django settings themselves).

    GHL's token URL, where the client secret goes, is pinned to settings (an allowlisted emulator has its own)."""
    from contacts_sync.services.base_urls import ghl_token_url  # base_urls raises this module's error class

    if provider != Provider.GHL:
        return {}
    return {
        "client_id": settings.GHL_CLIENT_ID,
        "client_secret": settings.GHL_CLIENT_SECRET,
        "token_url": ghl_token_url(base_url),
        "api_version": settings.GHL_API_VERSION,
        "base_url": settings.GHL_BASE_URL,
        "app_id": settings.GHL_APP_ID,
    }


def connection_info(
    connection: Connection, *, on_call: Callable[[Any], None] | None = None, token_store: TokenStore | None = None
) -> ConnectionInfo:
    """Plain data for the connector; an unsaved connection (a trial) keeps its rotated secrets in memory.

    A sub-account connected through an agency carries the agency's info: its token is minted from the agency's.
    """
    store = token_store or (ConnectionTokenStore(connection.pk) if connection.pk else None)
    agency = connection_info(connection.agency, on_call=on_call) if connection.agency is not None else None
    return ConnectionInfo(
        provider=connection.provider,
        connection_id=connection.pk,
        account_id=connection.external_account_id,
        base_url=connection.base_url,
        secrets=dict(connection.secrets),
        config=dict(connection.config),
        token_store=store,
        on_call=on_call,
        redis_url=settings.REDIS_URL,
        auth_kind=connection.auth_kind,
        company_id=connection.company_id,
        app_settings=app_settings(connection.provider, connection.base_url),
        agency=agency,
    )


def connector_for(connection: Connection, *, on_call: Callable[[Any], None] | None = None) -> Any:
    """The app's connector over this connection's credentials and shared rate budget (GHL included)."""
    return registry.get_connector(connection_info(connection, on_call=on_call))


@sensitive_variables()
def connector_trial(connection: Connection, secrets: dict[str, Any]) -> tuple[Any, MemoryTokenStore]:
    """A connector over candidate secrets on an unsaved copy of the row: a provider that rotates on exchange
    (Hubstaff) has invalidated the typed token by the time a test succeeds, so the store keeps what to save."""
    trial = Connection(
        pk=None,
        provider=connection.provider,
        auth_kind=connection.auth_kind,
        name=connection.name,
        external_account_id=connection.external_account_id,
        company_id=connection.company_id,
        base_url=connection.base_url,
        config=dict(connection.config),
        secrets=secrets,
        agency=connection.agency,
    )
    store = MemoryTokenStore(secrets)
    return registry.get_connector(connection_info(trial, token_store=store)), store
