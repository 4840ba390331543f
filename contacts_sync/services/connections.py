"""Connections: create, test, refresh, rotate and disconnect the accounts the syncs use.

Secrets live only in `Connection.secrets` (encrypted at rest). Nothing in this module logs them, puts them in an
audit entry or in an exception message. Every status change goes through `status.connection_status_set`, which
records the flip for alerting and moves the syncs that use the connection.

GHL OAuth: HighLevel refresh tokens rotate (each refresh returns a new one and the old one stops working), so
refreshes are single-flight per connection across every process: `ConnectionTokenStore.lock()` is a Redis lease
with a TTL (not a row lock held across the HTTP call), the caller re-reads after taking it and refreshes only if
still needed, and the new pair is persisted before it is used.
"""

from __future__ import annotations

import logging
import secrets as pysecrets
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from contacts_sync.exceptions import ContactsSyncError
from contacts_sync.models import AuthKind, Connection, ConnectionStatus, Provider, Sync
from contacts_sync.services.audit import audit_record

log = logging.getLogger(__name__)

# Refresh a GHL access token this long before it expires: covers clock skew and one long sync page.
GHL_REFRESH_SKEW_SECONDS = 300
# The periodic check refreshes tokens that expire within this window, so a sync never starts on a dying token.
PERIODIC_REFRESH_AHEAD_SECONDS = 2 * 3600
# Redis lease on a connection's refresh: longer than one token call (the HTTP timeout is 30 s), short enough
# that a crashed holder blocks the others for under a minute.
REFRESH_LOCK_TTL_SECONDS = 60
# How long a second worker waits for the holder of the lease before giving up on this call.
REFRESH_LOCK_WAIT_SECONDS = 75
# GHL's documented limits per app per location: 100 requests / 10 s burst, 200,000 / day.
GHL_RATE_LIMITS: list[tuple[int, float]] = [(100, 10.0), (200_000, 86_400.0)]
# An OAuth `state` older than this is refused: the consent screen takes a minute, not an hour.
OAUTH_STATE_MAX_AGE_SECONDS = 900
OAUTH_SESSION_KEY = "ghl_oauth_pending"
OAUTH_STATE_SALT = "contacts_sync.ghl_oauth_state"
# The longest provider message kept in Connection.last_error (the badge's tooltip and the list).
LAST_ERROR_MAX = 1000


class ConnectionActionError(ContactsSyncError):
    """A connection action failed in a way the user must see (never contains a secret)."""


# --- what each provider needs --------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretSpec:
    key: str  # key in Connection.secrets
    label: str
    help: str = ""


@dataclass(frozen=True)
class ProviderSpec:
    provider: str
    auth_kind: str
    title: str
    secrets: tuple[SecretSpec, ...]
    account_label: str = ""  # label of external_account_id; "" = not asked
    account_required: bool = False
    base_url_required: bool = False
    emulator_path: str = ""  # the sandbox mount, used as a hint for the base URL field
    help: str = ""


PROVIDER_SPECS: dict[str, ProviderSpec] = {
    "ghl_pit": ProviderSpec(
        Provider.GHL,
        AuthKind.PRIVATE_TOKEN,
        "HighLevel (private integration token)",
        (
            SecretSpec(
                "access_token", "Private integration token", "Sub-account level token, starts with pit-."
            ),
        ),
        account_label="Location ID",
        account_required=True,
        emulator_path="/ghl",
        help="Settings → Private Integrations in the HighLevel sub-account. Grant the scopes listed below.",
    ),
    Provider.HUBSTAFF: ProviderSpec(
        Provider.HUBSTAFF,
        AuthKind.OAUTH2,
        "Hubstaff",
        (
            SecretSpec(
                "refresh_token",
                "Personal access token",
                "From developer.hubstaff.com/personal_access_tokens. It is exchanged for access tokens and "
                "rotates on every exchange; we store each new one.",
            ),
        ),
        account_label="Organization ID",
        account_required=True,
        emulator_path="/hubstaff",
    ),
    Provider.HOTSPOTSYSTEM: ProviderSpec(
        Provider.HOTSPOTSYSTEM,
        AuthKind.API_KEY,
        "HotspotSystem",
        (SecretSpec("api_key", "API key", "Control Center → Tools & Settings → API Keys."),),
        account_label="Account ID (optional)",
        emulator_path="/hotspotsystem",
    ),
    Provider.UPGUARD: ProviderSpec(
        Provider.UPGUARD,
        AuthKind.API_KEY,
        "UpGuard",
        (SecretSpec("api_key", "API key", "CyberRisk → Account Settings → API. Give it VendorRisk access."),),
        account_label="Account name (optional)",
        emulator_path="/upguard",
    ),
    Provider.STARBUERO: ProviderSpec(
        Provider.STARBUERO,
        AuthKind.API_KEY,
        "starbuero.de",
        (SecretSpec("api_token", "API token", "Issued by starbuero on request."),),
        account_label="Customer number (optional)",
        emulator_path="/starbuero",
    ),
    Provider.CUSTOM: ProviderSpec(
        Provider.CUSTOM,
        AuthKind.WEBHOOK_SECRET,
        "Custom app",
        (SecretSpec("api_token", "API token", "Sent as a Bearer token when we call your app's REST API."),),
        account_label="Account ID (optional)",
        base_url_required=True,
        emulator_path="/custom",
        help="We generate the webhook signing secret (Standard Webhooks) and show it once.",
    ),
}


def provider_spec(kind: str) -> ProviderSpec:
    try:
        return PROVIDER_SPECS[kind]
    except KeyError:
        raise ConnectionActionError(f"unknown connection kind {kind!r}") from None


def spec_for_connection(connection: Connection) -> ProviderSpec | None:
    if connection.provider == Provider.GHL:
        return PROVIDER_SPECS["ghl_pit"] if connection.auth_kind == AuthKind.PRIVATE_TOKEN else None
    return PROVIDER_SPECS.get(connection.provider)


# --- GHL scopes --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeInfo:
    scope: str
    purpose: str
    write: bool


GHL_SCOPES: tuple[ScopeInfo, ...] = (
    ScopeInfo("contacts.readonly", "Read contacts and their tasks, notes, tags and appointments", False),
    ScopeInfo("contacts.write", "Create and update contacts, tasks, notes and tags", True),
    ScopeInfo(
        "locations/customFields.readonly", "Read custom field definitions for the mapping editor", False
    ),
    ScopeInfo("businesses.readonly", "Read businesses", False),
    ScopeInfo("businesses.write", "Link contacts to businesses", True),
    ScopeInfo("calendars/events.readonly", "Read appointments", False),
    ScopeInfo("locations/tasks.readonly", "Search tasks across the location (reconcile polls)", False),
    ScopeInfo("users.readonly", "Look up users to assign tasks to", False),
)
GHL_SCOPE_INDEX = {s.scope: s for s in GHL_SCOPES}
# What every GHL connection needs: the test reads one contact; the mapping editor reads custom fields.
GHL_BASE_SCOPES = ("contacts.readonly", "locations/customFields.readonly")


def ghl_scopes_needed() -> list[str]:
    """The fewest scopes the configured syncs need (a GHL target writes; businesses/appointments add theirs).

    With no syncs yet, the contact read/write pair every recipe that touches GHL needs.
    """
    wanted = set(GHL_BASE_SCOPES)
    syncs = Sync.objects.filter(source_connection__provider=Provider.GHL) | Sync.objects.filter(
        target_connection__provider=Provider.GHL
    )
    rows = list(
        syncs.values_list(
            "source_connection__provider", "source_object", "target_connection__provider", "target_object"
        )
    )
    if not rows:
        wanted.add("contacts.write")
    for src_provider, src_object, dst_provider, dst_object in rows:
        for provider, obj, writes in ((src_provider, src_object, False), (dst_provider, dst_object, True)):
            if provider != Provider.GHL:
                continue
            if obj == "business":
                wanted.add("businesses.write" if writes else "businesses.readonly")
                if writes:
                    wanted.add("contacts.write")
            elif obj == "appointment":
                wanted.add("calendars/events.readonly")
            elif writes:
                wanted.add("contacts.write")
            if obj == "task" and not writes:
                wanted.add("locations/tasks.readonly")
    return [s.scope for s in GHL_SCOPES if s.scope in wanted]


def scope_rows(scopes: list[str]) -> list[ScopeInfo]:
    """Granted scopes with their purpose and read/write marker (unknown scopes shown as they are)."""
    out = []
    for scope in scopes:
        info = GHL_SCOPE_INDEX.get(scope)
        out.append(info or ScopeInfo(scope, "", not scope.endswith(".readonly")))
    return out


# --- the token store (connectors.base.TokenStore) ------------------------------------------------------------


def _redis() -> Any:
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


_REDIS: dict[str, Any] = {}


def _shared_redis() -> Any:
    client = _REDIS.get(settings.REDIS_URL)
    if client is None:
        client = _REDIS[settings.REDIS_URL] = _redis()
    return client


class ConnectionTokenStore:
    """Rotating credentials of one connection, shared by every process.

    - `lock()`: a Redis lease (`SET NX PX`) per connection, released on exit; raises ConnectionActionError when
      another holder keeps it longer than REFRESH_LOCK_WAIT_SECONDS.
    - `load()`: re-reads the secrets from the database (never a cached copy), plus `expires_at` (an aware
      datetime or None) so a caller can decide whether the refresh is still needed.
    - `save()`: one UPDATE writes the new secrets (merged over the old ones) and the expiry together.

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
        row = (
            Connection.objects.filter(pk=self.connection_id)
            .values_list("secrets", "token_expires_at")
            .first()
        )
        if row is None:
            raise ConnectionActionError(f"connection {self.connection_id} no longer exists")
        data, expires_at = row
        return {**(data or {}), "expires_at": expires_at}

    @sensitive_variables()
    def save(self, secrets: dict[str, Any], *, expires_at: Any = None) -> None:
        new = {k: v for k, v in secrets.items() if k != "expires_at"}
        if isinstance(expires_at, (int, float)):
            expires_at = timezone.now() + timedelta(seconds=expires_at)
        with transaction.atomic():
            conn = Connection.objects.select_for_update().get(pk=self.connection_id)
            merged = {**conn.secrets, **new}
            Connection.objects.filter(pk=conn.pk).update(
                secrets=merged, token_expires_at=expires_at, updated_at=timezone.now()
            )
            audit_record(
                actor=None,
                action="connection.token_refresh",
                obj=conn,
                changes={"token_expires_at": expires_at.isoformat() if expires_at else None},
            )
        log.info("connection %s: stored refreshed credentials (expires %s)", self.connection_id, expires_at)


# --- status ------------------------------------------------------------------------------------------------


def _status_set(connection: Connection, status: str, reason: str = "") -> None:
    """The status service flips the connection (and its syncs), stamps the check and records the change."""
    from contacts_sync.services import status as status_service

    status_service.connection_status_set(connection=connection, status=status, reason=reason[:LAST_ERROR_MAX])
    connection.refresh_from_db(fields=["status", "last_checked_at", "last_error"])


# --- GHL ---------------------------------------------------------------------------------------------------


def _ghl_base_url(connection_or_base: Connection | str) -> str:
    base = connection_or_base if isinstance(connection_or_base, str) else connection_or_base.base_url
    return (base or settings.GHL_BASE_URL).rstrip("/")


def ghl_token_url(base_url: str = "") -> str:
    """The emulator serves /oauth/token under its base URL; the public API's is GHL_OAUTH_TOKEN_URL."""
    if base_url:
        return base_url.rstrip("/") + "/oauth/token"
    return getattr(settings, "GHL_OAUTH_TOKEN_URL", "") or settings.GHL_BASE_URL.rstrip("/") + "/oauth/token"


def ghl_authorize_base(base_url: str = "") -> str:
    if base_url:
        return base_url.rstrip("/") + "/oauth/chooselocation"
    return settings.GHL_OAUTH_AUTHORIZE_URL


def _ghl_refresher(connection: Connection) -> Callable[[str], Any]:
    """The callable RefreshingTokenProvider calls (under the lease) with the current refresh token.

    A permanent failure (invalid_grant, a used refresh token, "Location is not active") marks the connection
    "needs re-auth" once and re-raises: no retry loop.
    """
    from contacts_sync.ghl import oauth

    token_url = connection.config.get("oauth_token_url") or ghl_token_url(connection.base_url)
    user_type = connection.config.get("user_type") or "Location"

    @sensitive_variables()
    def refresh(refresh_token: str) -> Any:
        try:
            pair = oauth.refresh_token(
                token_url=token_url,
                client_id=settings.GHL_CLIENT_ID,
                client_secret=settings.GHL_CLIENT_SECRET,
                refresh_token=refresh_token,
                user_type=user_type,
            )
        except oauth.OAuthError as exc:
            if exc.permanent:
                conn = Connection.objects.get(pk=connection.pk)
                _status_set(conn, ConnectionStatus.NEEDS_REAUTH, f"token refresh refused: {exc}")
            raise
        if pair.scopes:
            Connection.objects.filter(pk=connection.pk).update(scopes=list(pair.scopes))
        return pair

    return refresh


def ghl_token_provider(connection: Connection) -> Any:
    from contacts_sync.ghl import oauth

    if connection.auth_kind == AuthKind.OAUTH2:
        return oauth.RefreshingTokenProvider(
            ConnectionTokenStore(connection.pk),
            _ghl_refresher(connection),
            skew_seconds=GHL_REFRESH_SKEW_SECONDS,
        )
    token = connection.secrets.get("access_token")
    if not token:
        raise ConnectionActionError(f"connection {connection.pk} has no token (disconnected?)")
    return oauth.StaticTokenProvider(token)


def ghl_client_for(connection: Connection, *, on_call: Callable[[Any], None] | None = None) -> Any:
    """A GHLClient for the connection: the right token provider and the location's shared Redis rate budget."""
    from contacts_sync.apiclient.budget import RateBudget
    from contacts_sync.ghl.client import GHLClient

    if connection.provider != Provider.GHL:
        raise ConnectionActionError(f"connection {connection.pk} is not a HighLevel connection")
    budget = RateBudget.for_account(
        settings.REDIS_URL, "ghl", connection.external_account_id, GHL_RATE_LIMITS
    )
    return GHLClient(
        location_id=connection.external_account_id,
        token_provider=ghl_token_provider(connection),
        base_url=_ghl_base_url(connection),
        version=getattr(settings, "GHL_API_VERSION", "2021-07-28"),
        budget=budget,
        on_call=on_call,
    )


# --- testing a connection ---------------------------------------------------------------------------------


def _provider_message(exc: BaseException) -> str:
    """The provider's own words, without our stack; never a secret (error bodies carry none)."""
    text = str(exc) or exc.__class__.__name__
    return text[:LAST_ERROR_MAX]


def _probe(connection: Connection) -> str:
    """A cheap read; returns a one-line description or raises the client's error."""
    if connection.provider == Provider.GHL:
        client = ghl_client_for(connection)
        next(iter(client.search_contacts(page_limit=1)), None)
        return f"HighLevel location {connection.external_account_id}"
    from contacts_sync.services.connectors import connector_for

    return str(connector_for(connection).test())


def _classify_failure(connection: Connection, exc: BaseException) -> str:
    from contacts_sync.apiclient.errors import AuthError, ScopeError
    from contacts_sync.ghl.oauth import OAuthError

    if isinstance(exc, OAuthError):
        return ConnectionStatus.NEEDS_REAUTH if exc.permanent else ConnectionStatus.ERROR
    if (
        isinstance(exc, AuthError)
        and not isinstance(exc, ScopeError)
        and connection.auth_kind == AuthKind.OAUTH2
    ):
        # A rotating credential the provider refuses (Hubstaff's TokenRefreshError says if it is permanent):
        # only a new consent / PAT helps.
        return ConnectionStatus.NEEDS_REAUTH if getattr(exc, "permanent", True) else ConnectionStatus.ERROR
    return ConnectionStatus.ERROR


def connection_test(*, connection: Connection, user: Any = None) -> Connection:
    """Call a cheap read endpoint; status becomes connected, or error / needs re-auth with the provider's message.

    Nothing but the status fields changes (a wrong key does not touch the secrets or the syncs' settings).
    """
    connection.refresh_from_db()
    if not connection.secrets:
        raise ConnectionActionError("this connection is disconnected; connect it again to test it")
    try:
        description = _probe(connection)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a visible status, never a 500
        new_status = _classify_failure(connection, exc)
        message = _provider_message(exc)
        log.info("connection %s test failed: %s", connection.pk, message)
        connection.refresh_from_db()
        if connection.status == ConnectionStatus.NEEDS_REAUTH:
            new_status = ConnectionStatus.NEEDS_REAUTH  # a transient error does not hide a lost consent
        _status_set(connection, new_status, message)
    else:
        connection.refresh_from_db()
        _status_set(connection, ConnectionStatus.CONNECTED)
        connection.config = {**connection.config, "account_description": description[:200]}
        Connection.objects.filter(pk=connection.pk).update(config=connection.config)
    if user is not None:
        audit_record(
            actor=user,
            action="connection.test",
            obj=connection,
            changes={"status": connection.status, "error": connection.last_error[:300]},
        )
    return connection


def connection_check(*, connection: Connection) -> Connection:
    """The periodic check: refresh a GHL token that expires soon (single-flight), then test.

    A connection in needs re-auth is left alone: only a new consent / key fixes it, and hammering the token
    endpoint with a dead refresh token is what "no retry loop" forbids.
    """
    connection.refresh_from_db()
    if (
        connection.status in (ConnectionStatus.DISABLED, ConnectionStatus.NEEDS_REAUTH)
        or not connection.secrets
    ):
        return connection
    if connection.provider == Provider.GHL and connection.auth_kind == AuthKind.OAUTH2:
        horizon = timezone.now() + timedelta(seconds=PERIODIC_REFRESH_AHEAD_SECONDS)
        if connection.token_expires_at is None or connection.token_expires_at <= horizon:
            try:
                connection_token_refresh(connection=connection, ahead_seconds=PERIODIC_REFRESH_AHEAD_SECONDS)
            except Exception as exc:  # noqa: BLE001 - the status below (or the refresher) records it
                log.info(
                    "connection %s: refresh ahead of expiry failed: %s", connection.pk, _provider_message(exc)
                )
                connection.refresh_from_db()
                if connection.status == ConnectionStatus.NEEDS_REAUTH:
                    return connection
    return connection_test(connection=connection)


@sensitive_variables()
def connection_token_refresh(
    *, connection: Connection, ahead_seconds: int = GHL_REFRESH_SKEW_SECONDS, force: bool = False
) -> bool:
    """Refresh a GHL OAuth token if it expires within `ahead_seconds` (single-flight). True if refreshed."""
    store = ConnectionTokenStore(connection.pk)
    refresher = _ghl_refresher(connection)
    with store.lock():
        current = store.load()
        expires_at = current.get("expires_at")
        due = expires_at is None or expires_at <= timezone.now() + timedelta(seconds=ahead_seconds)
        if not (force or due):
            return False
        if not current.get("refresh_token"):
            raise ConnectionActionError("this connection has no refresh token; connect it again")
        pair = refresher(current["refresh_token"])
        store.save(
            {"access_token": pair.access_token, "refresh_token": pair.refresh_token},
            expires_at=pair.expires_at,
        )
    return True


def connection_check_all() -> list[int]:
    """Ids of the connections the periodic task should check (every one that has credentials)."""
    return list(
        Connection.objects.exclude(status=ConnectionStatus.DISABLED)
        .exclude(secrets="")
        .values_list("pk", flat=True)
    )


# --- create / update / rotate / disconnect ------------------------------------------------------------------


def webhook_secret_generate() -> str:
    """Standard Webhooks secret: whsec_ + base64 of 32 random bytes."""
    import base64

    return "whsec_" + base64.b64encode(pysecrets.token_bytes(32)).decode()


def _validate_base_url(base_url: str) -> str:
    base_url = (base_url or "").strip().rstrip("/")
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConnectionActionError("base URL must be an http(s) URL such as https://api.example.com")
    return base_url


@sensitive_variables()
def connection_create(
    *,
    provider: str,
    auth_kind: str,
    name: str,
    secrets: dict[str, Any],
    user: Any,
    test: bool = True,
    **fields: Any,
) -> Connection:
    """Store a new connection (secrets encrypted), audit it (key names only), then test it."""
    allowed = {"external_account_id", "company_id", "base_url", "config", "scopes", "token_expires_at"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
    if provider not in Provider.values or auth_kind not in AuthKind.values:
        raise ConnectionActionError(f"unknown provider/auth kind {provider}/{auth_kind}")
    fields["base_url"] = _validate_base_url(fields.get("base_url", ""))
    clean = {k: v for k, v in secrets.items() if v not in (None, "")}
    with transaction.atomic():
        connection = Connection.objects.create(
            provider=provider,
            auth_kind=auth_kind,
            name=name.strip(),
            secrets=clean,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            updated_by=user if getattr(user, "is_authenticated", False) else None,
            **fields,
        )
        audit_record(
            actor=user,
            action="connection.create",
            obj=connection,
            changes={
                "provider": provider,
                "auth_kind": auth_kind,
                "name": connection.name,
                "external_account_id": connection.external_account_id,
                "base_url": connection.base_url,
                "secrets_set": sorted(clean),
            },
        )
    if test:
        connection_test(connection=connection)
    return connection


def connection_update(*, connection: Connection, user: Any, **fields: Any) -> Connection:
    """Change non-secret settings (name, account id, base URL, config); secrets go through rotate."""
    allowed = {"name", "external_account_id", "company_id", "base_url", "config"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
    if "base_url" in fields:
        fields["base_url"] = _validate_base_url(fields["base_url"])
    changes = {}
    for key, value in fields.items():
        old = getattr(connection, key)
        if old != value:
            changes[key] = {"from": old, "to": value}
            setattr(connection, key, value)
    if not changes:
        return connection
    connection.updated_by = user
    connection.save(update_fields=[*changes, "updated_by", "updated_at"])
    audit_record(actor=user, action="connection.update", obj=connection, changes=changes)
    return connection


class _TrialTokenStore:
    """Holds rotated credentials during a trial: a provider that rotates on exchange (Hubstaff) has already
    invalidated the typed token by the time the trial succeeds, so what gets stored is what this captured."""

    def __init__(self, secrets: dict[str, Any]) -> None:
        import threading

        self.secrets = dict(secrets)
        self.expires_at: Any = None
        self._lock = threading.Lock()

    def lock(self) -> Any:
        return self._lock

    def load(self) -> dict[str, Any]:
        return {**self.secrets, "expires_at": self.expires_at}

    def save(self, secrets: dict[str, Any], *, expires_at: Any = None) -> None:
        self.secrets = {**self.secrets, **{k: v for k, v in secrets.items() if k != "expires_at"}}
        self.expires_at = expires_at


@sensitive_variables()
def _trial(connection: Connection, secrets: dict[str, Any]) -> _TrialTokenStore:
    """Probe with candidate secrets without touching the row (an unsaved copy); returns the (rotated) secrets."""
    from contacts_sync.connectors.registry import get_connector
    from contacts_sync.services.connectors import connection_info

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
    )
    store = _TrialTokenStore(secrets)
    if connection.provider == Provider.GHL:
        _probe(trial)
        return store
    info = connection_info(trial)
    info.token_store = store
    get_connector(info).test()
    return store


@sensitive_variables()
def connection_rotate_secret(
    *, connection: Connection, secrets: dict[str, Any], user: Any, verify: bool = True
) -> Connection:
    """Replace the credentials, keeping the connection (and so every sync using it) untouched.

    With `verify`, the new secret is tried first; if the provider refuses it the old one stays and the
    provider's message is raised as ConnectionActionError.
    """
    clean = {k: v for k, v in secrets.items() if v not in (None, "")}
    if not clean:
        raise ConnectionActionError("enter the new secret")
    candidate = {**connection.secrets, **clean}
    if connection.provider == Provider.HUBSTAFF and "refresh_token" in clean:
        # a new PAT: the access token we hold belongs to the old one
        candidate = {
            k: v for k, v in candidate.items() if k not in ("access_token", "access_token_expires_at")
        }
    expires_at = None
    if verify:
        try:
            store = _trial(connection, candidate)
        except ConnectionActionError:
            raise
        except Exception as exc:  # noqa: BLE001 - shown to the admin, the old secret keeps working
            raise ConnectionActionError(
                f"the new secret was refused, nothing changed: {_provider_message(exc)}"
            ) from None
        candidate, expires_at = store.secrets, store.expires_at
    with transaction.atomic():
        conn = Connection.objects.select_for_update().get(pk=connection.pk)
        conn.secrets = candidate
        conn.token_expires_at = expires_at
        conn.updated_by = user
        conn.save(update_fields=["secrets", "token_expires_at", "updated_by", "updated_at"])
        audit_record(
            actor=user, action="connection.rotate", obj=conn, changes={"secrets_replaced": sorted(clean)}
        )
    connection.refresh_from_db()
    return connection_test(connection=connection)


def connection_webhook_secret_rotate(*, connection: Connection, user: Any) -> str:
    """A new webhook signing secret for a custom app; returned once for the admin to copy."""
    if connection.provider != Provider.CUSTOM:
        raise ConnectionActionError("only custom apps have a webhook secret we generate")
    secret = webhook_secret_generate()
    with transaction.atomic():
        conn = Connection.objects.select_for_update().get(pk=connection.pk)
        conn.secrets = {**conn.secrets, "webhook_secret": secret}
        conn.updated_by = user
        conn.save(update_fields=["secrets", "updated_by", "updated_at"])
        audit_record(
            actor=user,
            action="connection.webhook_secret_rotate",
            obj=conn,
            changes={"secrets_replaced": ["webhook_secret"]},
        )
    return secret


def connection_disconnect(*, connection: Connection, user: Any) -> Connection:
    """Delete the secrets and disable the connection; the row, its syncs and their history stay.

    None of the providers documents a token revocation endpoint (GHL: uninstall the app in HighLevel; Hubstaff:
    delete the PAT; the others: delete the key in the app), so the page says what to do there.
    """
    with transaction.atomic():
        conn = Connection.objects.select_for_update().get(pk=connection.pk)
        had = sorted(conn.secrets)
        conn.secrets = {}
        conn.token_expires_at = None
        conn.updated_by = user
        conn.save(update_fields=["secrets", "token_expires_at", "updated_by", "updated_at"])
        audit_record(actor=user, action="connection.disconnect", obj=conn, changes={"secrets_deleted": had})
    connection.refresh_from_db()
    _status_set(connection, ConnectionStatus.DISABLED, f"disconnected by {getattr(user, 'email', 'system')}")
    return connection


# --- GHL OAuth (authorization code flow) ---------------------------------------------------------------------


@dataclass
class OAuthStart:
    url: str
    state: str


def ghl_default_base_url() -> str:
    """The demo (SANDBOX_URL set) points new GHL connections at the emulator; production at HighLevel ("")."""
    sandbox = (getattr(settings, "SANDBOX_URL", "") or "").rstrip("/")
    return f"{sandbox}/ghl" if sandbox else ""


def ghl_oauth_configured() -> bool:
    return bool(settings.GHL_CLIENT_ID and settings.GHL_CLIENT_SECRET)


def ghl_oauth_start(
    *,
    session: MutableMapping[str, Any],
    user: Any,
    name: str,
    scopes: list[str],
    redirect_uri: str,
    base_url: str = "",
) -> OAuthStart:
    """Remember a single-use nonce in the user's session and return the authorize URL with a signed state."""
    from contacts_sync.ghl import oauth

    if not ghl_oauth_configured():
        raise ConnectionActionError(
            "GHL_CLIENT_ID and GHL_CLIENT_SECRET are not set; use a private integration "
            "token, or set them (see docs/connections.md)"
        )
    base_url = _validate_base_url(base_url)
    unknown = [s for s in scopes if s not in GHL_SCOPE_INDEX]
    if unknown or not scopes:
        raise ConnectionActionError("choose at least one known scope")
    nonce = pysecrets.token_urlsafe(24)
    pending = dict(session.get(OAUTH_SESSION_KEY) or {})
    pending[nonce] = {"name": name, "scopes": scopes, "base_url": base_url, "redirect_uri": redirect_uri}
    session[OAUTH_SESSION_KEY] = dict(list(pending.items())[-5:])  # a few tabs at once, not an unbounded list
    state = signing.dumps({"n": nonce, "u": user.pk}, salt=OAUTH_STATE_SALT, compress=True)
    url = oauth.authorize_url(
        client_id=settings.GHL_CLIENT_ID,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=state,
        base=ghl_authorize_base(base_url),
    )
    audit_record(
        actor=user,
        action="connection.oauth_start",
        object_type="connection",
        changes={"provider": "ghl", "scopes": scopes, "base_url": base_url},
    )
    return OAuthStart(url=url, state=state)


def _oauth_pending(session: MutableMapping[str, Any], user: Any, state: str) -> dict[str, Any]:
    """Check the state's signature, age, user and that its nonce is still unused in this session; consume it."""
    if not state:
        raise ConnectionActionError("the sign-in answer carried no state; start again from Connect HighLevel")
    try:
        data = signing.loads(state, salt=OAUTH_STATE_SALT, max_age=OAUTH_STATE_MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        raise ConnectionActionError(
            "the HighLevel sign-in took too long (state expired); start again"
        ) from None
    except signing.BadSignature:
        raise ConnectionActionError(
            "the state parameter was altered or is not ours; nothing was stored. "
            "Start again from Connect HighLevel."
        ) from None
    if data.get("u") != user.pk:
        raise ConnectionActionError("this sign-in was started by another user; nothing was stored")
    pending = dict(session.get(OAUTH_SESSION_KEY) or {})
    entry = pending.pop(data.get("n"), None)
    session[OAUTH_SESSION_KEY] = pending
    if entry is None:
        raise ConnectionActionError(
            "this sign-in answer was already used or belongs to another session; "
            "nothing was stored. Start again from Connect HighLevel."
        )
    return entry


@sensitive_variables()
def ghl_oauth_finish(
    *,
    session: MutableMapping[str, Any],
    user: Any,
    state: str,
    code: str = "",
    error: str = "",
    error_description: str = "",
) -> Connection:
    """Exchange the code and store the pair; one connection per location (reconnecting updates it)."""
    from contacts_sync.ghl import oauth

    entry = _oauth_pending(session, user, state)
    if error:
        text = "access was denied in HighLevel" if error == "access_denied" else f"HighLevel answered {error}"
        detail = f": {error_description}" if error_description else ""
        audit_record(
            actor=user, action="connection.oauth_denied", object_type="connection", changes={"error": error}
        )
        raise ConnectionActionError(f"{text}{detail}; nothing was stored")
    if not code:
        raise ConnectionActionError("HighLevel returned no authorization code; nothing was stored")
    token_url = ghl_token_url(entry["base_url"])
    try:
        pair = oauth.exchange_code(
            token_url=token_url,
            client_id=settings.GHL_CLIENT_ID,
            client_secret=settings.GHL_CLIENT_SECRET,
            code=code,
            redirect_uri=entry["redirect_uri"],
        )
    except Exception as exc:  # noqa: BLE001 - OAuthError or transport: shown, nothing stored
        raise ConnectionActionError(
            f"HighLevel refused the authorization code: {_provider_message(exc)}; nothing was stored"
        ) from None
    if not pair.location_id:
        raise ConnectionActionError(
            "HighLevel returned a company-level token; choose one sub-account (location) "
            "on the consent screen. Nothing was stored."
        )
    return _ghl_oauth_store(user=user, entry=entry, pair=pair, token_url=token_url)


@sensitive_variables()
def _ghl_oauth_store(*, user: Any, entry: dict[str, Any], pair: Any, token_url: str) -> Connection:
    secrets = {"access_token": pair.access_token, "refresh_token": pair.refresh_token}
    config = {"oauth_token_url": token_url, "user_type": pair.user_type or "Location"}
    with transaction.atomic():
        existing = (
            Connection.objects.select_for_update()
            .filter(provider=Provider.GHL, external_account_id=pair.location_id)
            .order_by("pk")
            .first()
        )
        if existing is None:
            connection = connection_create(
                provider=Provider.GHL,
                auth_kind=AuthKind.OAUTH2,
                name=entry["name"] or pair.location_id,
                secrets=secrets,
                user=user,
                test=False,
                external_account_id=pair.location_id,
                company_id=pair.company_id or "",
                base_url=entry["base_url"],
                config=config,
                scopes=list(pair.scopes or entry["scopes"]),
                token_expires_at=pair.expires_at,
            )
        else:
            connection = existing
            connection.auth_kind = AuthKind.OAUTH2
            connection.secrets = secrets
            connection.company_id = pair.company_id or connection.company_id
            connection.base_url = entry["base_url"]
            connection.config = {**connection.config, **config}
            connection.scopes = list(pair.scopes or entry["scopes"])
            connection.token_expires_at = pair.expires_at
            connection.updated_by = user
            connection.save()
            audit_record(
                actor=user,
                action="connection.reauthorize",
                obj=connection,
                changes={"scopes": connection.scopes, "secrets_replaced": sorted(secrets)},
            )
    return connection_test(connection=connection)
