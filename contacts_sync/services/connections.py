"""Connections: create, test, refresh, rotate and disconnect the accounts the syncs use.

Secrets live only in `Connection.secrets` (encrypted at rest). Nothing in this module logs them, puts them in an
audit entry or in an exception message. Every status change goes through `status.connection_status_set`, which
records the flip for alerting and moves the syncs that use the connection. Tokens and connectors:
services/credentials.py; GHL's OAuth flow: services/ghl_oauth.py.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from contacts_sync.apiclient.errors import AuthError, ScopeError
from contacts_sync.apiclient.signatures import standard_secret_generate
from contacts_sync.apiclient.tokens import TokenRefused
from contacts_sync.connectors import registry
from contacts_sync.connectors.ghl import auth as ghl_auth
from contacts_sync.connectors.spec import AppSpec, ConnectOption
from contacts_sync.mapping.phones import region_for_country
from contacts_sync.models import AuthKind, Connection, ConnectionStatus, Provider
from contacts_sync.services.audit import audit_record
from contacts_sync.services.base_urls import base_url_clean, host_changed
from contacts_sync.services.credentials import (
    LAST_ERROR_MAX,
    ConnectionActionError,
    connection_info,
    connector_for,
    connector_trial,
    status_set,
)

__all__ = ["ConnectionActionError"]

log = logging.getLogger(__name__)

# The periodic check refreshes a GHL token that expires within this window (the check runs every 15 minutes,
# so a token is renewed hours before it would lapse, never by a sync in the middle of a page).
PERIODIC_REFRESH_AHEAD_SECONDS = 2 * 3600


def connect_options() -> dict[str, ConnectOption]:
    """The Connect page's forms, by kind."""
    return registry.connect_options()


def spec_for_connection(connection: Connection) -> ConnectOption:
    """The form a connection was made with; a GHL OAuth connection's settings are its name and base URL (its
    credentials come from a new consent)."""
    option = next((o for o in registry.spec(connection.provider).connect if o.auth_kind == connection.auth_kind), None)
    return option or ConnectOption(
        "ghl_oauth", Provider.GHL, AuthKind.OAUTH2, "HighLevel (OAuth)", (), emulator_path="/ghl"
    )


def app_spec(provider: str) -> AppSpec:
    return registry.spec(provider)


def _provider_message(exc: BaseException) -> str:
    """The provider's own words, without our stack; never a secret (error bodies carry none)."""
    text = str(exc) or exc.__class__.__name__
    return text[:LAST_ERROR_MAX]


def _classify_failure(connection: Connection, exc: BaseException) -> str:
    if isinstance(exc, TokenRefused):
        return ConnectionStatus.NEEDS_REAUTH if exc.permanent else ConnectionStatus.ERROR
    if isinstance(exc, AuthError) and not isinstance(exc, ScopeError) and connection.auth_kind == AuthKind.OAUTH2:
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
        connector = connector_for(connection)
        description = str(connector.test())
    except Exception as exc:  # noqa: BLE001 - every failure becomes a visible status, never a 500
        new_status = _classify_failure(connection, exc)
        message = _provider_message(exc)
        log.info("connection %s test failed: %s", connection.pk, message)
        connection.refresh_from_db()
        if connection.status == ConnectionStatus.NEEDS_REAUTH:
            new_status = ConnectionStatus.NEEDS_REAUTH  # a transient error does not hide a lost consent
        status_set(connection, new_status, message)
    else:
        connection.refresh_from_db()
        record_success(connection, connector, description)
    if user is not None:
        audit_record(
            actor=user,
            action="connection.test",
            obj=connection,
            changes={"status": connection.status, "error": connection.last_error[:300]},
        )
    return connection


def record_success(connection: Connection, connector: Any, description: str) -> None:
    """A test passed: connected, checked now, and what the account says about itself kept in the config."""
    status_set(connection, ConnectionStatus.CONNECTED)
    connection.config = {
        **_account_defaults(connection, connector),
        **connection.config,
        "account_description": description[:200],
    }
    Connection.objects.filter(pk=connection.pk).update(config=connection.config)


def _account_defaults(connection: Connection, connector: Any) -> dict[str, Any]:
    """Mapping defaults the account itself states (a GHL location's country and timezone), taken once when it
    is first connected; an admin's own setting always wins (it stays in the config)."""
    read = getattr(connector, "account_defaults", None)
    if read is None or "default_region" in connection.config:
        return {}
    try:
        return dict(read())
    except Exception as exc:  # noqa: BLE001 - a nicety: the connection works without it
        log.info("connection %s: no account defaults: %s", connection.pk, _provider_message(exc))
        return {}


def connection_check(*, connection: Connection) -> Connection:
    """The periodic check: refresh a GHL token that expires soon (single-flight), then test.

    A connection in needs re-auth is left alone: only a new consent / key fixes it, and hammering the token
    endpoint with a dead refresh token is what "no retry loop" forbids.
    """
    connection.refresh_from_db()
    if connection.status in (ConnectionStatus.DISABLED, ConnectionStatus.NEEDS_REAUTH) or not connection.secrets:
        return connection
    if connection.provider == Provider.GHL and connection.auth_kind == AuthKind.OAUTH2:
        horizon = timezone.now() + timedelta(seconds=PERIODIC_REFRESH_AHEAD_SECONDS)
        if connection.token_expires_at is None or connection.token_expires_at <= horizon:
            try:
                connection_token_refresh(connection=connection, ahead_seconds=PERIODIC_REFRESH_AHEAD_SECONDS)
            except Exception as exc:  # noqa: BLE001 - the status below (or the refresher) records it
                log.info("connection %s: refresh ahead of expiry failed: %s", connection.pk, _provider_message(exc))
                connection.refresh_from_db()
                if connection.status == ConnectionStatus.NEEDS_REAUTH:
                    return connection
    return connection_test(connection=connection)


@sensitive_variables()
def connection_token_refresh(
    *, connection: Connection, ahead_seconds: int = ghl_auth.REFRESH_SKEW_SECONDS, force: bool = False
) -> bool:
    """Refresh a GHL OAuth token if it expires within `ahead_seconds` (single-flight). True if refreshed."""
    connection.refresh_from_db()
    if not connection.secrets.get("refresh_token"):
        raise ConnectionActionError("this connection has no refresh token; connect it again")
    provider = ghl_auth.token_provider(connection_info(connection), skew_seconds=ahead_seconds)
    before = provider.refreshes
    if force:
        provider.refresh(str(connection.secrets.get("access_token") or ""))
    else:
        provider.access_token()
    return bool(provider.refreshes > before)


def connection_check_all() -> list[int]:
    """Ids of the connections the periodic task should check (every one that has credentials)."""
    return list(
        Connection.objects.exclude(status=ConnectionStatus.DISABLED).exclude(secrets="").values_list("pk", flat=True)
    )


# --- create / update / rotate / disconnect ------------------------------------------------------------------


def webhook_secret_generate() -> str:
    """A Standard Webhooks secret (whsec_ + base64 of 32 random bytes) for a custom app's deliveries to us."""
    return standard_secret_generate()


def create_fields(*, provider: str, auth_kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The non-secret fields of a new connection, checked (region, provider, base URL: an http(s) URL that does
    not point inside this network); ConnectionActionError names the first problem."""
    fields = dict(fields)
    allowed = {"external_account_id", "company_id", "base_url", "config", "scopes", "token_expires_at", "agency"}
    region = str(fields.pop("default_region", "") or "").strip().upper()
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
    if region_problem(region):
        raise ConnectionActionError(region_problem(region))
    if region:
        fields["config"] = {**fields.get("config", {}), "default_region": region_for_country(region)}
    if provider not in registry.APPS or auth_kind not in AuthKind.values:
        raise ConnectionActionError(f"unknown provider/auth kind {provider}/{auth_kind}")
    fields["base_url"] = base_url_clean(fields.get("base_url", ""))
    return fields


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
    """Store a new connection (secrets encrypted), audit it (key names only), then test it.

    The row is stored whatever the test says (the demo and the OAuth callback store first); the Connect form
    uses connection_lifecycle.connection_connect, which tries the credentials first and stores nothing they
    refuse."""
    fields = create_fields(provider=provider, auth_kind=auth_kind, fields=fields)
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


def region_problem(region: str) -> str:
    """ "" when `region` is empty or a phone region libphonenumber knows (DE, US, CH...), else why not."""
    if region and not region_for_country(region):
        return f"{region!r} is not a country code for phone numbers (two letters, e.g. DE, US, CH)"
    return ""


# Secrets that are never sent anywhere (they check what arrives): kept when a connection moves to another host.
INBOUND_SECRET_KEYS = ("webhook_secret",)


@sensitive_variables()
def connection_update(
    *, connection: Connection, user: Any, secrets: dict[str, Any] | None = None, **fields: Any
) -> Connection:
    """Change settings (name, account id, base URL, config, the default phone region) and, when given, the
    secrets (verified first, as `connection_rotate_secret`).

    Moving a connection to another host (scheme, host or port of the base URL) needs every secret of its form
    again, verified against the new host, saved together with the move: the stored ones are never sent to a
    host they were not entered for.
    """
    allowed = {"name", "external_account_id", "company_id", "base_url", "config", "default_region"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unexpected fields: {', '.join(sorted(unknown))}")
    if "default_region" in fields:
        region = str(fields.pop("default_region") or "").strip().upper()
        if region_problem(region):
            raise ConnectionActionError(region_problem(region))
        config = {k: v for k, v in fields.get("config", connection.config).items() if k != "default_region"}
        fields["config"] = {**config, **({"default_region": region_for_country(region)} if region else {})}
    if "base_url" in fields:
        fields["base_url"] = base_url_clean(fields["base_url"])
    new_secrets = {k: v for k, v in (secrets or {}).items() if v not in (None, "")}
    if (
        "base_url" in fields
        and host_changed(connection.base_url, fields["base_url"])
        and any(k not in INBOUND_SECRET_KEYS for k in connection.secrets)
    ):
        return _connection_move(connection=connection, user=user, secrets=new_secrets, fields=fields)
    changes = {}
    for key, value in fields.items():
        old = getattr(connection, key)
        if old != value:
            changes[key] = {"from": old, "to": value}
            setattr(connection, key, value)
    if changes:
        connection.updated_by = user
        connection.save(update_fields=[*changes, "updated_by", "updated_at"])
        audit_record(actor=user, action="connection.update", obj=connection, changes=changes)
    if new_secrets:
        return connection_rotate_secret(connection=connection, secrets=new_secrets, user=user)
    return connection


@sensitive_variables()
def _connection_move(
    *, connection: Connection, user: Any, secrets: dict[str, Any], fields: dict[str, Any]
) -> Connection:
    """The base URL names another host: new secrets for every field of the form, tried there, saved at once."""
    needed = [s for s in spec_for_connection(connection).secrets]
    if not needed:
        raise ConnectionActionError(
            "this connection's credentials come from a consent in the app: connect it again to use another host"
        )
    missing = [s.label for s in needed if s.key not in secrets]
    if missing:
        raise ConnectionActionError(
            f"moving this connection to another host needs its secrets again ({', '.join(missing)}): "
            "the stored ones are never sent to a host they were not entered for. Nothing was changed."
        )
    candidate = {**{k: v for k, v in connection.secrets.items() if k in INBOUND_SECRET_KEYS}, **secrets}
    moved = Connection(**{f.attname: getattr(connection, f.attname) for f in Connection._meta.concrete_fields})
    for key, value in fields.items():
        setattr(moved, key, value)
    try:
        trial, store = connector_trial(moved, candidate)
        trial.test()
    except ConnectionActionError:
        raise
    except Exception as exc:  # noqa: BLE001 - shown to the admin; the connection stays where it was
        raise ConnectionActionError(
            f"the new host or secret was refused, nothing changed: {_provider_message(exc)}"
        ) from None
    changes = {k: {"from": getattr(connection, k), "to": v} for k, v in fields.items() if getattr(connection, k) != v}
    with transaction.atomic():
        conn = Connection.objects.select_for_update().get(pk=connection.pk)
        for key, value in fields.items():
            setattr(conn, key, value)
        conn.secrets, conn.token_expires_at, conn.updated_by = store.secrets, store.expires_at, user
        conn.save()
        audit_record(
            actor=user,
            action="connection.move",
            obj=conn,
            changes={
                **changes,
                "secrets_replaced": sorted(secrets),
                "secrets_dropped": sorted(set(connection.secrets) - set(store.secrets)),
            },
        )
    connection.refresh_from_db()
    return connection_test(connection=connection)


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
        candidate = {k: v for k, v in candidate.items() if k not in ("access_token", "access_token_expires_at")}
    expires_at = None
    if verify:
        try:
            trial, store = connector_trial(connection, candidate)
            trial.test()
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
        audit_record(actor=user, action="connection.rotate", obj=conn, changes={"secrets_replaced": sorted(clean)})
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
    status_set(connection, ConnectionStatus.DISABLED, f"disconnected by {getattr(user, 'email', 'system')}")
    return connection
