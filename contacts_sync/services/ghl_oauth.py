"""HighLevel OAuth (authorization code flow) and the scopes the configured syncs need.

The state is signed and carries a single-use nonce kept in the user's session; the code is exchanged with the
client secret at the token URL; one connection per location. A consent for a location that is already connected
replaces that connection's credentials only when the admin said so: either by starting from that connection
(Reconnect, `replace_connection_id`), or by confirming afterwards; until then the new pair waits, encrypted, in
a PendingOAuthGrant for PENDING_GRANT_MINUTES. An agency install
(`user_type=Company`: a company id and no location) becomes the company's agency connection
(services/agencies.py), through which its sub-accounts are connected.
"""

from __future__ import annotations

import secrets as pysecrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.debug import sensitive_variables

from contacts_sync.connectors.ghl import oauth
from contacts_sync.connectors.ghl import scopes as ghl_scopes
from contacts_sync.models import AuthKind, Connection, PendingOAuthGrant, Provider, Sync
from contacts_sync.services.agencies import agency_store_oauth
from contacts_sync.services.audit import audit_record
from contacts_sync.services.base_urls import base_url_clean, ghl_authorize_base, ghl_token_url, is_emulator
from contacts_sync.services.connections import (
    ConnectionActionError,
    _provider_message,
    connection_create,
    connection_test,
)

OAUTH_STATE_MAX_AGE_SECONDS = 900
# How long a consent for an already connected location waits for the admin's decision before it is dropped.
PENDING_GRANT_MINUTES = 15
OAUTH_SESSION_KEY = "ghl_oauth_pending"
OAUTH_STATE_SALT = "contacts_sync.ghl_oauth_state"
GHL_SCOPES = ghl_scopes.SCOPES
LOCATION, AGENCY = "location", "agency"  # what the admin connects: one sub-account, or an agency


def ghl_scopes_needed() -> list[str]:
    """The fewest scopes the configured syncs need (a GHL target writes; businesses/appointments add theirs)."""
    syncs = Sync.objects.filter(source_connection__provider=Provider.GHL) | Sync.objects.filter(
        target_connection__provider=Provider.GHL
    )
    rows = list(
        syncs.values_list(
            "source_connection__provider", "source_object", "target_connection__provider", "target_object"
        )
    )
    uses = [
        (obj, writes)
        for src_provider, src_object, dst_provider, dst_object in rows
        for provider, obj, writes in ((src_provider, src_object, False), (dst_provider, dst_object, True))
        if provider == Provider.GHL
    ]
    return ghl_scopes.needed(uses, any_sync=bool(rows))


def scope_rows(scopes: list[str]) -> list[ghl_scopes.ScopeInfo]:
    return ghl_scopes.rows(scopes)


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


def _oauth_start_checked(*, base_url: str, scopes: list[str], kind: str) -> tuple[str, list[str]]:
    """The base URL and scopes an OAuth start may use (an agency's scopes added), or why not."""
    if not ghl_oauth_configured():
        raise ConnectionActionError(
            "GHL_CLIENT_ID and GHL_CLIENT_SECRET are not set; use a private integration "
            "token, or set them (see docs/connections.md)"
        )
    base_url = base_url_clean(base_url)
    if base_url and not is_emulator(base_url):
        # The code, and then the client secret, would be exchanged with HighLevel anyway (the token URL is
        # pinned to settings); a connection pointed elsewhere would only hand the new token to that host.
        raise ConnectionActionError(
            "a HighLevel OAuth connection talks to HighLevel itself: leave the base URL empty "
            "(a base URL is for a local emulator listed in PRIVATE_URL_ALLOWLIST)"
        )
    unknown = [s for s in scopes if s not in ghl_scopes.INDEX]
    if unknown or not scopes:
        raise ConnectionActionError("choose at least one known scope")
    if kind not in (LOCATION, AGENCY):
        raise ConnectionActionError("choose one sub-account or an agency")
    if kind == AGENCY:
        scopes = [*scopes, *(s for s in ghl_scopes.AGENCY_SCOPES if s not in scopes)]
    return base_url, scopes


def ghl_oauth_start(
    *,
    session: MutableMapping[str, Any],
    user: Any,
    name: str,
    scopes: list[str],
    redirect_uri: str,
    base_url: str = "",
    replace_connection_id: int | None = None,
    kind: str = LOCATION,
    connect_all: bool = False,
) -> OAuthStart:
    """Remember a single-use nonce in the user's session and return the authorize URL with a signed state.

    `replace_connection_id`: the admin started from that connection (Reconnect), so a consent for its location
    replaces its credentials without asking again. `kind=AGENCY` asks for the agency scopes too (list the
    sub-accounts, mint their tokens) and exchanges the code with user_type=Company; `connect_all` connects every
    sub-account where the app is installed."""
    base_url, scopes = _oauth_start_checked(base_url=base_url, scopes=scopes, kind=kind)
    nonce = pysecrets.token_urlsafe(24)
    pending = dict(session.get(OAUTH_SESSION_KEY) or {})
    pending[nonce] = {
        "name": name,
        "scopes": scopes,
        "base_url": base_url,
        "redirect_uri": redirect_uri,
        "replace": int(replace_connection_id) if replace_connection_id else None,
        "kind": kind,
        "connect_all": bool(connect_all),
    }
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
        changes={"provider": "ghl", "scopes": scopes, "base_url": base_url, "kind": kind},
    )
    return OAuthStart(url=url, state=state)


def _oauth_pending(session: MutableMapping[str, Any], user: Any, state: str) -> dict[str, Any]:
    """Check the state's signature, age, user and that its nonce is still unused in this session; consume it."""
    if not state:
        raise ConnectionActionError("the sign-in answer carried no state; start again from Connect HighLevel")
    try:
        data = signing.loads(state, salt=OAUTH_STATE_SALT, max_age=OAUTH_STATE_MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        raise ConnectionActionError("the HighLevel sign-in took too long (state expired); start again") from None
    except signing.BadSignature:
        raise ConnectionActionError(
            "the state parameter was altered or is not ours; nothing was stored. Start again from Connect HighLevel."
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
) -> Connection | PendingOAuthGrant:
    """Exchange the code and store the pair: a new connection, the connection the admin started from, or (for
    another location that is already connected) a PendingOAuthGrant that waits for the admin's decision."""
    entry = _oauth_pending(session, user, state)
    if error:
        text = "access was denied in HighLevel" if error == "access_denied" else f"HighLevel answered {error}"
        detail = f": {error_description}" if error_description else ""
        audit_record(actor=user, action="connection.oauth_denied", object_type="connection", changes={"error": error})
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
            user_type="Company" if entry.get("kind") == AGENCY else "Location",
        )
    except Exception as exc:  # noqa: BLE001 - OAuthError or transport: shown, nothing stored
        raise ConnectionActionError(
            f"HighLevel refused the authorization code: {_provider_message(exc)}; nothing was stored"
        ) from None
    if pair.location_id:
        return _ghl_oauth_store(user=user, entry=entry, pair=pair)
    if not pair.company_id:
        raise ConnectionActionError("HighLevel's token names neither a sub-account nor an agency; nothing was stored")
    # A Company token: the agency itself (its sub-accounts are connected through it).
    return agency_store_oauth(
        user=user,
        name=entry["name"],
        base_url=entry["base_url"],
        pair=pair,
        scopes=list(entry["scopes"]),
        connect_all=bool(entry.get("connect_all")),
    )


def _grant_details(entry: dict[str, Any], pair: Any) -> dict[str, Any]:
    # The token URL is never stored: settings decide it (a stored one could send the client secret elsewhere).
    return {
        "scopes": list(pair.scopes or entry["scopes"]),
        "company_id": pair.company_id or "",
        "base_url": entry["base_url"],
        "user_type": pair.user_type or "Location",
        "location_id": pair.location_id,
        "expires_at": pair.expires_at.isoformat() if pair.expires_at else None,
    }


@sensitive_variables()
def _ghl_oauth_store(*, user: Any, entry: dict[str, Any], pair: Any) -> Connection | PendingOAuthGrant:
    secrets = {"access_token": pair.access_token, "refresh_token": pair.refresh_token}
    details = _grant_details(entry, pair)
    with transaction.atomic():
        existing = (
            Connection.objects.select_for_update()
            .filter(provider=Provider.GHL, external_account_id=pair.location_id)
            .order_by("archived_at", "pk")  # one in use before an archived one
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
                config={"user_type": details["user_type"]},
                scopes=details["scopes"],
                token_expires_at=pair.expires_at,
            )
        elif entry.get("replace") == existing.pk:
            connection = _replace(existing, user=user, secrets=secrets, details=details, name=entry["name"])
        else:
            PendingOAuthGrant.objects.filter(user=user, expires_at__lt=timezone.now()).delete()
            grant = PendingOAuthGrant.objects.create(
                user=user,
                connection=existing,
                name=(entry["name"] or "")[:200],
                secrets=secrets,
                details=details,
                expires_at=timezone.now() + timedelta(minutes=PENDING_GRANT_MINUTES),
            )
            audit_record(
                actor=user,
                action="connection.oauth_pending",
                obj=existing,
                changes={"location_id": pair.location_id, "typed_name": grant.name},
            )
            return grant
    return connection_test(connection=connection)


@sensitive_variables()
def _replace(
    existing: Connection, *, user: Any, secrets: dict[str, str], details: dict[str, Any], name: str = ""
) -> Connection:
    """Put a new consent's pair on an existing connection (its syncs keep working); audited with what changed."""
    changes: dict[str, Any] = {"scopes": details["scopes"], "secrets_replaced": sorted(secrets)}
    if existing.auth_kind != AuthKind.OAUTH2:
        changes["auth_kind"] = {"from": existing.auth_kind, "to": AuthKind.OAUTH2}
    new_name = (name or "").strip()
    if new_name and new_name != existing.name:
        changes["name"] = {"from": existing.name, "to": new_name}
        existing.name = new_name
    existing.auth_kind = AuthKind.OAUTH2
    existing.secrets = secrets
    existing.company_id = details["company_id"] or existing.company_id
    existing.base_url = details["base_url"]
    old_config = {k: v for k, v in existing.config.items() if k != "oauth_token_url"}  # stored before pinning
    existing.config = {**old_config, "user_type": details["user_type"]}
    existing.scopes = details["scopes"]
    existing.token_expires_at = parse_datetime(details["expires_at"]) if details.get("expires_at") else None
    existing.archived_at = None
    existing.updated_by = user
    existing.save()
    audit_record(actor=user, action="connection.reauthorize", obj=existing, changes=changes)
    return existing


def ghl_oauth_grant_get(*, grant_id: int, user: Any) -> PendingOAuthGrant:
    """The user's own pending consent; another user's, an expired or an unknown one is an error (nothing
    is revealed about it)."""
    grant = (
        PendingOAuthGrant.objects.select_related("connection")
        .filter(pk=grant_id, user=user, expires_at__gt=timezone.now())
        .first()
    )
    if grant is None:
        raise ConnectionActionError(
            "this HighLevel sign-in is no longer waiting (it expired after "
            f"{PENDING_GRANT_MINUTES} minutes or was already decided); start again from Connect HighLevel"
        )
    return grant


@sensitive_variables()
def ghl_oauth_grant_apply(*, grant: PendingOAuthGrant, user: Any, rename: bool) -> Connection:
    """The admin confirmed: the pending pair replaces the connection's credentials (renamed if asked)."""
    with transaction.atomic():
        locked = PendingOAuthGrant.objects.select_for_update().filter(pk=grant.pk, user=user).first()
        if locked is None:
            raise ConnectionActionError("this HighLevel sign-in was already decided")
        connection = Connection.objects.select_for_update().get(pk=locked.connection_id)
        connection = _replace(
            connection,
            user=user,
            secrets=dict(locked.secrets),
            details=locked.details,
            name=locked.name if rename else "",
        )
        locked.delete()
    return connection_test(connection=connection)


def ghl_oauth_grant_discard(*, grant: PendingOAuthGrant, user: Any) -> None:
    """The admin kept the connection as it was: the pending pair is deleted unused."""
    deleted, _ = PendingOAuthGrant.objects.filter(pk=grant.pk, user=user).delete()
    if deleted:
        audit_record(
            actor=user, action="connection.oauth_discarded", obj=grant.connection, changes={"typed_name": grant.name}
        )
