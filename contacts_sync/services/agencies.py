"""GHL agencies (Company installs): connect an agency once, keep the directory of its sub-accounts, and connect all
or chosen sub-accounts, each as a Connection linked to the agency.

- An agency OAuth install (user_type=Company): a sub-account's connection holds a location token minted from the
  agency's token (POST /oauth/locationToken) and minted again, single-flight, when it expires (connectors/ghl/
  auth.LocationTokenProvider). Connecting many sub-accounts runs in the workers, one task per sub-account.
- An agency private integration token lists the sub-accounts but HighLevel does not let it mint their tokens
  (the spec marks locationToken "Agency-Access-Only"): each sub-account is connected with its own private token.

INSTALL / UNINSTALL / LocationCreate webhooks: services/agency_events.py. OAuth: services/ghl_oauth.py.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from contacts_sync.apiclient.errors import ApiError
from contacts_sync.connectors.ghl import auth as ghl_auth
from contacts_sync.exceptions import ConfigurationError
from contacts_sync.models import AgencyLocation, AuthKind, Connection, ConnectionStatus, Provider
from contacts_sync.models.agencies import CONNECT_STALE_AFTER
from contacts_sync.services.audit import audit_record
from contacts_sync.services.base_urls import base_url_clean
from contacts_sync.services.connections import (
    ConnectionActionError,
    _provider_message,
    connection_create,
    connection_rotate_secret,
    connection_test,
)
from contacts_sync.services.credentials import connection_info, connector_for, connector_trial

log = logging.getLogger(__name__)

CONNECT_TASK = "contacts_sync.tasks.agency_location_connect_task"
# Settings an agency hands down to the sub-accounts connected through it (timeouts, the emulator's budget).
INHERITED_CONFIG = ("http_timeout_s", "rate_limit_per_10s")
PIT_CANNOT_MINT = (
    "an agency private integration token can list the sub-accounts but HighLevel does not let it get their "
    "tokens; connect each sub-account with its own private integration token, or connect the agency through "
    "OAuth"
)


def agency_of_company(company_id: str) -> Connection | None:
    return Connection.objects.agencies().filter(company_id=company_id).first() if company_id else None


def _app_id(agency: Connection) -> str:
    return str(settings.GHL_APP_ID or agency.config.get("app_id") or "")


def _message(exc: BaseException) -> str:
    return _provider_message(exc)


# --- connecting the agency ------------------------------------------------------------------------------------


@sensitive_variables()
def agency_connect_private_token(
    *, name: str, company_id: str, token: str, user: Any, base_url: str = ""
) -> Connection:
    """An agency by its private integration token: tried first (one listing call), stored only if HighLevel
    accepts it; reconnecting the same company replaces the token. Then its sub-accounts are listed."""
    company_id, token = company_id.strip(), token.strip()
    if not company_id or not token:
        raise ConnectionActionError("enter the agency's company id and its private integration token")
    base_url = base_url_clean(base_url)
    secrets = {"access_token": token}
    trial = Connection(
        provider=Provider.GHL,
        auth_kind=AuthKind.PRIVATE_TOKEN,
        name=name,
        company_id=company_id,
        base_url=base_url,
        secrets=secrets,
    )
    try:
        connector, _store = connector_trial(trial, secrets)
        connector.test()
    except Exception as exc:  # noqa: BLE001 - HighLevel's words for the admin; nothing is stored
        raise ConnectionActionError(
            f"HighLevel refused the agency token: {_message(exc)}; nothing was stored"
        ) from None
    existing = agency_of_company(company_id)
    if existing is None:
        agency = connection_create(
            provider=Provider.GHL,
            auth_kind=AuthKind.PRIVATE_TOKEN,
            name=name or company_id,
            secrets=secrets,
            user=user,
            test=True,
            company_id=company_id,
            base_url=base_url,
        )
    else:
        with transaction.atomic():
            agency = Connection.objects.select_for_update().get(pk=existing.pk)
            agency.auth_kind, agency.secrets, agency.base_url = AuthKind.PRIVATE_TOKEN, secrets, base_url
            agency.token_expires_at, agency.updated_by = None, user
            agency.save()
            audit_record(
                actor=user,
                action="connection.rotate",
                obj=agency,
                changes={"secrets_replaced": sorted(secrets), "auth_kind": agency.auth_kind},
            )
        agency = connection_test(connection=agency)
    _refresh_quietly(agency)
    return agency


@sensitive_variables()
def agency_store_oauth(
    *, user: Any, name: str, base_url: str, pair: Any, scopes: list[str], connect_all: bool
) -> Connection:
    """Store a Company OAuth pair as the company's agency connection (reconnecting updates it), list its
    sub-accounts, connect them all if asked, and reconnect the sub-accounts that waited for the agency."""
    secrets = {"access_token": pair.access_token, "refresh_token": pair.refresh_token}
    config = {"user_type": "Company"}  # the token URL is never stored: settings decide it
    with transaction.atomic():
        existing = Connection.objects.select_for_update().agencies().filter(company_id=pair.company_id).first()
        if existing is None:
            agency = connection_create(
                provider=Provider.GHL,
                auth_kind=AuthKind.OAUTH2,
                name=name or pair.company_id,
                secrets=secrets,
                user=user,
                test=False,
                company_id=pair.company_id,
                base_url=base_url,
                config={**config, "connect_new": connect_all},
                scopes=list(pair.scopes or scopes),
                token_expires_at=pair.expires_at,
            )
        else:
            agency = existing
            agency.auth_kind, agency.secrets, agency.base_url = AuthKind.OAUTH2, secrets, base_url
            agency.config = {**{k: v for k, v in agency.config.items() if k != "oauth_token_url"}, **config}
            agency.scopes = list(pair.scopes or scopes)
            agency.token_expires_at, agency.updated_by = pair.expires_at, user
            agency.save()
            audit_record(
                actor=user,
                action="connection.reauthorize",
                obj=agency,
                changes={"scopes": agency.scopes, "secrets_replaced": sorted(secrets)},
            )
    agency = connection_test(connection=agency)
    _refresh_quietly(agency)
    waiting = list(
        agency.locations.filter(auth_kind=AuthKind.LOCATION_TOKEN)
        .exclude(status=ConnectionStatus.CONNECTED)
        .exclude(status=ConnectionStatus.DISABLED)
        .values_list("external_account_id", flat=True)
    )
    if waiting:
        agency_locations_connect_request(agency=agency, location_ids=waiting, user=user)
    if connect_all:
        agency_locations_connect_request(agency=agency, location_ids=None, user=user)
    return agency


def agency_settings_set(*, agency: Connection, user: Any, connect_new: bool) -> Connection:
    """Whether a sub-account the app gets installed on later (INSTALL webhook) is connected by itself."""
    if connect_new and agency.auth_kind != AuthKind.OAUTH2:
        raise ConnectionActionError(PIT_CANNOT_MINT)
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=agency.pk)
        if bool(locked.config.get("connect_new")) != connect_new:
            locked.config = {**locked.config, "connect_new": connect_new}
            locked.save(update_fields=["config", "updated_at"])
            audit_record(actor=user, action="agency.settings", obj=locked, changes={"connect_new": connect_new})
    agency.refresh_from_db()
    return agency


# --- the directory of sub-accounts ------------------------------------------------------------------------------


def agency_locations_refresh(*, agency: Connection) -> int:
    """List the agency's sub-accounts now and update its directory; returns how many HighLevel listed.

    Entries the listing no longer has are dropped unless a connection was made for them (its own status tells
    what is wrong with it then). Raises ConnectionActionError with HighLevel's words when the listing fails.
    """
    if not agency.is_agency:
        raise ConnectionActionError("this connection is not an agency")
    try:
        rows = connector_for(agency).locations(app_id=_app_id(agency))
    except Exception as exc:  # noqa: BLE001 - shown on the agency page, nothing changes
        raise ConnectionActionError(f"HighLevel did not list the sub-accounts: {_message(exc)}") from None
    now = timezone.now()
    entries = [
        AgencyLocation(
            agency=agency,
            location_id=r["id"][:200],
            name=r["name"][:300],
            email=r["email"][:300],
            address=r["address"][:500],
            installed=r["installed"],
            source="listing",
            updated_at=now,
        )
        for r in rows
    ]
    with transaction.atomic():
        AgencyLocation.objects.bulk_create(
            entries,
            update_conflicts=True,
            unique_fields=["agency", "location_id"],
            update_fields=["name", "email", "address", "installed", "source", "updated_at"],
        )
        AgencyLocation.objects.filter(
            agency=agency, connection__isnull=True, connect_requested_at__isnull=True
        ).exclude(location_id__in=[e.location_id for e in entries]).delete()
        locked = Connection.objects.select_for_update().get(pk=agency.pk)
        locked.config = {**locked.config, "listed_at": now.isoformat(), "listed_count": len(entries)}
        locked.save(update_fields=["config", "updated_at"])
    agency.refresh_from_db()
    return len(entries)


def _refresh_quietly(agency: Connection) -> None:
    try:
        agency_locations_refresh(agency=agency)
    except ConnectionActionError as exc:  # the agency page shows the status and offers "List again"
        log.info("agency %s: listing failed after connecting: %s", agency.pk, exc)


def agency_locations_connect_request(*, agency: Connection, location_ids: list[str] | None, user: Any) -> list[str]:
    """Ask the workers to connect sub-accounts: the chosen ones, or (None) every one not connected yet where the
    app is installed (or may be). Returns the ids asked for; each becomes one task (a sub-account's mint and
    test do not wait for the others)."""
    if agency.auth_kind != AuthKind.OAUTH2:
        raise ConnectionActionError(PIT_CANNOT_MINT)
    entries = AgencyLocation.objects.filter(agency=agency)
    if location_ids is None:
        entries = entries.filter(connection__isnull=True).exclude(installed=False)
    else:  # only sub-accounts the agency's directory lists (a posted id it does not know is ignored)
        entries = entries.filter(location_id__in={str(i) for i in location_ids})
    # A request still in flight is not sent twice (a double click, "connect all" right after "connect chosen").
    in_flight = Q(connect_requested_at__gte=timezone.now() - CONNECT_STALE_AFTER)
    ids = sorted(entries.exclude(in_flight).values_list("location_id", flat=True))
    if not ids:
        return []
    with transaction.atomic():
        AgencyLocation.objects.filter(agency=agency, location_id__in=ids).update(
            connect_requested_at=timezone.now(), connect_error=""
        )
        audit_record(
            actor=user,
            action="agency.connect_locations",
            obj=agency,
            changes={"locations": ids[:100], "count": len(ids)},
        )
        for location_id in ids:
            transaction.on_commit(partial(_connect_enqueue, agency.pk, location_id))
    return ids


def _connect_enqueue(agency_id: int, location_id: str) -> None:
    current_app.send_task(CONNECT_TASK, args=[agency_id, location_id])


# --- connecting one sub-account ---------------------------------------------------------------------------------


def _inherited_config(agency: Connection) -> dict[str, Any]:
    return {k: agency.config[k] for k in INHERITED_CONFIG if k in agency.config}


def _learn_app_id(agency: Connection, facts: dict[str, Any]) -> None:
    app_id = str(facts.get("appId") or "")
    if app_id and not agency.config.get("app_id"):
        with transaction.atomic():
            locked = Connection.objects.select_for_update().get(pk=agency.pk)
            locked.config = {**locked.config, "app_id": app_id[:200]}
            locked.save(update_fields=["config", "updated_at"])


def _location_name(connector: Any, entry: AgencyLocation) -> str:
    if entry.name:
        return entry.name
    try:
        name = str(connector.location(entry.location_id).get("name") or "")
    except ApiError as exc:  # a nicety: the id is a name too
        log.info("no name for location %s: %s", entry.location_id, exc)
        name = ""
    if name:
        AgencyLocation.objects.filter(pk=entry.pk).update(name=name[:300])
    return name or entry.location_id


def _create_location(agency: Connection, entry: AgencyLocation) -> Connection:
    """Mint first, store after: a sub-account HighLevel refuses a token for leaves no broken connection."""
    connector = connector_for(agency)
    name = _location_name(connector, entry)
    grant, facts = connector.mint(entry.location_id)
    _learn_app_id(agency, facts)
    try:
        connection = connection_create(
            provider=Provider.GHL,
            auth_kind=AuthKind.LOCATION_TOKEN,
            name=name,
            user=None,
            test=False,
            secrets={"access_token": grant.access_token},
            external_account_id=entry.location_id,
            company_id=agency.company_id,
            base_url=agency.base_url,
            config=_inherited_config(agency),
            scopes=list(grant.scopes),
            token_expires_at=grant.expires_at,
            agency=agency,
        )
    except IntegrityError:  # an INSTALL webhook and a click connected it at the same moment: keep the first
        return Connection.objects.get(agency=agency, external_account_id=entry.location_id)
    return connection_test(connection=connection)


def _reconnect_location(connection: Connection) -> Connection:
    """A new token for an existing sub-account connection (after a re-install, or the agency's re-consent)."""
    provider = ghl_auth.token_provider(connection_info(connection))
    provider.refresh(str(connection.secrets.get("access_token") or ""))  # single-flight, saved before use
    return connection_test(connection=connection)


def agency_location_connect(*, agency_id: int, location_id: str) -> Connection | None:
    """Worker: connect one sub-account (or reconnect it): a minted token, stored, then tested. Every failure is
    kept on the directory entry with HighLevel's words; None when the agency is gone."""
    agency = Connection.objects.filter(pk=agency_id).first()
    if agency is None or not agency.is_agency:
        return None
    entry, _ = AgencyLocation.objects.get_or_create(agency=agency, location_id=location_id)
    existing = Connection.objects.filter(agency=agency, external_account_id=location_id).first()
    try:
        if agency.auth_kind != AuthKind.OAUTH2:
            raise ConnectionActionError(PIT_CANNOT_MINT)
        if existing is not None and existing.auth_kind != AuthKind.LOCATION_TOKEN:
            connection = connection_test(connection=existing)  # its own private token: just test it
        else:
            connection = _create_location(agency, entry) if existing is None else _reconnect_location(existing)
    except (ConnectionActionError, ConfigurationError, ApiError) as exc:  # TokenRefused is an ApiError
        AgencyLocation.objects.filter(pk=entry.pk).update(connect_requested_at=None, connect_error=_message(exc))
        log.info("agency %s: location %s not connected: %s", agency.pk, location_id, _message(exc))
        return existing
    problem = "" if connection.status == ConnectionStatus.CONNECTED else connection.last_error or connection.status
    AgencyLocation.objects.filter(pk=entry.pk).update(
        connection=connection, connect_requested_at=None, connect_error=problem[:2000]
    )
    return connection


@sensitive_variables()
def agency_location_connect_private_token(*, agency: Connection, location_id: str, token: str, user: Any) -> Connection:
    """A sub-account of an agency connected with its own private integration token (tried before it is kept)."""
    token = token.strip()
    if not token:
        raise ConnectionActionError("enter the sub-account's private integration token")
    entry = AgencyLocation.objects.filter(agency=agency, location_id=location_id).first()
    if entry is None:
        raise ConnectionActionError(f"{location_id} is not a sub-account of {agency.name}; list them again")
    secrets = {"access_token": token}
    existing = Connection.objects.filter(agency=agency, external_account_id=location_id).first()
    if existing is not None:
        connection = connection_rotate_secret(connection=existing, secrets=secrets, user=user)
    else:
        trial = Connection(
            provider=Provider.GHL,
            auth_kind=AuthKind.PRIVATE_TOKEN,
            name=entry.name,
            external_account_id=location_id,
            company_id=agency.company_id,
            base_url=agency.base_url,
            secrets=secrets,
        )
        try:
            connector, _store = connector_trial(trial, secrets)
            connector.test()
        except Exception as exc:  # noqa: BLE001 - HighLevel's words for the admin; nothing is stored
            raise ConnectionActionError(
                f"HighLevel refused the token for {entry.name or location_id}: {_message(exc)}; nothing was stored"
            ) from None
        connection = connection_create(
            provider=Provider.GHL,
            auth_kind=AuthKind.PRIVATE_TOKEN,
            name=entry.name or location_id,
            secrets=secrets,
            user=user,
            test=True,
            external_account_id=location_id,
            company_id=agency.company_id,
            base_url=agency.base_url,
            config=_inherited_config(agency),
            agency=agency,
        )
    AgencyLocation.objects.filter(pk=entry.pk).update(
        connection=connection, connect_error="", connect_requested_at=None
    )
    return connection
