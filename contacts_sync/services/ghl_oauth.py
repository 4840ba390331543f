"""HighLevel OAuth (authorization code flow) and the scopes the configured syncs need.

The state is signed and carries a single-use nonce kept in the user's session; the code is exchanged with the
client secret at the token URL; one connection per location (reconnecting updates it). An agency install
(`user_type=Company`: a company id and no location) becomes the company's agency connection
(services/agencies.py), through which its sub-accounts are connected.
"""

from __future__ import annotations

import secrets as pysecrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from contacts_sync.connectors.ghl import oauth
from contacts_sync.connectors.ghl import scopes as ghl_scopes
from contacts_sync.models import AuthKind, Connection, Provider, Sync
from contacts_sync.services.agencies import agency_store_oauth
from contacts_sync.services.audit import audit_record
from contacts_sync.services.connections import (
    ConnectionActionError,
    _provider_message,
    _validate_base_url,
    connection_create,
    connection_test,
)

OAUTH_STATE_MAX_AGE_SECONDS = 900
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
        syncs.values_list("source_connection__provider", "source_object", "target_connection__provider",
                          "target_object")
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


def ghl_token_url(base_url: str = "") -> str:
    """The emulator serves /oauth/token under its base URL; the public API's is GHL_OAUTH_TOKEN_URL."""
    if base_url:
        return base_url.rstrip("/") + "/oauth/token"
    return getattr(settings, "GHL_OAUTH_TOKEN_URL", "") or settings.GHL_BASE_URL.rstrip("/") + "/oauth/token"


def ghl_authorize_base(base_url: str = "") -> str:
    if base_url:
        return base_url.rstrip("/") + "/oauth/chooselocation"
    return settings.GHL_OAUTH_AUTHORIZE_URL


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
    kind: str = LOCATION,
    connect_all: bool = False,
) -> OAuthStart:
    """Remember a single-use nonce in the user's session and return the authorize URL with a signed state.

    `kind=AGENCY` asks for the agency scopes too (list the sub-accounts, mint their tokens) and exchanges the
    code with user_type=Company; `connect_all` connects every sub-account where the app is installed."""
    if not ghl_oauth_configured():
        raise ConnectionActionError(
            "GHL_CLIENT_ID and GHL_CLIENT_SECRET are not set; use a private integration "
            "token, or set them (see docs/connections.md)"
        )
    base_url = _validate_base_url(base_url)
    unknown = [s for s in scopes if s not in ghl_scopes.INDEX]
    if unknown or not scopes:
        raise ConnectionActionError("choose at least one known scope")
    if kind not in (LOCATION, AGENCY):
        raise ConnectionActionError("choose one sub-account or an agency")
    if kind == AGENCY:
        scopes = [*scopes, *(s for s in ghl_scopes.AGENCY_SCOPES if s not in scopes)]
    nonce = pysecrets.token_urlsafe(24)
    pending = dict(session.get(OAUTH_SESSION_KEY) or {})
    pending[nonce] = {"name": name, "scopes": scopes, "base_url": base_url, "redirect_uri": redirect_uri,
                      "kind": kind, "connect_all": bool(connect_all)}
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
            user_type="Company" if entry.get("kind") == AGENCY else "Location",
        )
    except Exception as exc:  # noqa: BLE001 - OAuthError or transport: shown, nothing stored
        raise ConnectionActionError(
            f"HighLevel refused the authorization code: {_provider_message(exc)}; nothing was stored"
        ) from None
    if pair.location_id:
        return _ghl_oauth_store(user=user, entry=entry, pair=pair, token_url=token_url)
    if not pair.company_id:
        raise ConnectionActionError("HighLevel's token names neither a sub-account nor an agency; nothing was stored")
    # A Company token: the agency itself (its sub-accounts are connected through it).
    return agency_store_oauth(user=user, name=entry["name"], base_url=entry["base_url"], pair=pair,
                              token_url=token_url, scopes=list(entry["scopes"]),
                              connect_all=bool(entry.get("connect_all")))


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
