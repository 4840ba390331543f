"""GHL's app lifecycle webhooks, applied to agencies and their sub-accounts (called for stored events by
services/event_runs.py, outside any transaction: connecting a sub-account mints a token over HTTP, and a rotated
agency token must never be rolled back).

- LocationCreate (agency-level: `id`, `companyId`, `name`, `email`): the sub-account appears in the directory.
- INSTALL on a location (`locationId`, `companyId`): listed as installed; a connection that was disabled by an
  uninstall is reconnected (and the syncs the uninstall paused resume); a new one is connected when the agency
  connects new sub-accounts by itself (`connect_new`).
- UNINSTALL on a location (`locationId` only): HighLevel revoked the app's tokens there. A connection holding a
  minted token is disabled and its syncs paused (a person did not do it, so the ids are kept to resume them); a
  location OAuth connection needs re-auth; a private integration token is not the app's and keeps working.
- INSTALL / UNINSTALL on an agency (`companyId` only): an uninstall revokes the agency's tokens and every token
  minted from them: the agency and those sub-accounts need re-auth until the agency is connected again.

Every step is idempotent: GHL may deliver an event twice and the sweeper may hand a slow one over again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from contacts_sync.models import (
    AgencyLocation,
    AuthKind,
    Connection,
    ConnectionStatus,
    EventStatus,
    InboundEvent,
    Provider,
    Sync,
)
from contacts_sync.services import status as status_service
from contacts_sync.services.agencies import agency_location_connect, agency_of_company
from contacts_sync.services.credentials import status_set

log = logging.getLogger(__name__)

LIFECYCLE_EVENTS = frozenset({"INSTALL", "UNINSTALL", "LocationCreate"})
UNINSTALLED = "the app was uninstalled from this sub-account in HighLevel (UNINSTALL webhook); install it again"
AGENCY_UNINSTALLED = (
    "the app was uninstalled from the agency in HighLevel (UNINSTALL webhook); its tokens are revoked: "
    "connect the agency again"
)


@dataclass
class Outcome:
    status: str  # an EventStatus value
    reason: str


def is_lifecycle(event: InboundEvent) -> bool:
    return event.provider == Provider.GHL and event.event_type in LIFECYCLE_EVENTS


def _payload(event: InboundEvent) -> dict[str, Any]:
    try:
        data = json.loads(event.body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _text(payload: dict[str, Any], key: str, limit: int = 200) -> str:
    value = payload.get(key)
    return str(value)[:limit] if isinstance(value, (str, int)) and not isinstance(value, bool) else ""


def agency_event_process(*, event_id: int) -> Outcome | None:
    """Apply one stored lifecycle event and mark it processed or ignored (with why); None when it is not
    pending any more (another worker finished it)."""
    event = InboundEvent.objects.filter(pk=event_id, status=EventStatus.PENDING).first()
    if event is None:
        return None
    payload = _payload(event)
    handlers = {"LocationCreate": _location_created, "INSTALL": _installed, "UNINSTALL": _uninstalled}
    outcome = handlers[event.event_type](payload)
    InboundEvent.objects.filter(pk=event.pk, status=EventStatus.PENDING).update(
        status=outcome.status, error=outcome.reason[:2000], processed_at=timezone.now()
    )
    log.info("lifecycle event %s %s: %s %s", event.pk, event.event_type, outcome.status, outcome.reason)
    return outcome


def _entry(agency: Connection, location_id: str) -> AgencyLocation:
    entry, _ = AgencyLocation.objects.get_or_create(agency=agency, location_id=location_id)
    return entry


def _location_created(payload: dict[str, Any]) -> Outcome:
    location_id, company_id = _text(payload, "id"), _text(payload, "companyId")
    agency = agency_of_company(company_id)
    if not location_id or agency is None:
        return Outcome(EventStatus.IGNORED, f"no agency connection for company {company_id or '?'}")
    entry = _entry(agency, location_id)
    AgencyLocation.objects.filter(pk=entry.pk).update(
        name=_text(payload, "name", 300) or entry.name,
        email=_text(payload, "email", 300) or entry.email,
        source=entry.source or "LocationCreate",
        updated_at=timezone.now(),
    )
    return Outcome(EventStatus.PROCESSED, f"sub-account {location_id} listed in agency {agency.pk}")


def _installed(payload: dict[str, Any]) -> Outcome:
    location_id, company_id = _text(payload, "locationId"), _text(payload, "companyId")
    agency = agency_of_company(company_id)
    if agency is None:
        return Outcome(EventStatus.IGNORED, f"no agency connection for company {company_id or '?'}")
    if not location_id:
        return Outcome(EventStatus.PROCESSED, f"agency-level install noted for agency {agency.pk}")
    entry = _entry(agency, location_id)
    AgencyLocation.objects.filter(pk=entry.pk).update(
        installed=True, source=entry.source or "INSTALL", updated_at=timezone.now()
    )
    existing = Connection.objects.filter(agency=agency, external_account_id=location_id).first()
    reconnect = (
        existing is not None
        and existing.auth_kind == AuthKind.LOCATION_TOKEN
        and existing.status != ConnectionStatus.CONNECTED
    )
    if existing is None and not (agency.config.get("connect_new") and agency.auth_kind == AuthKind.OAUTH2):
        return Outcome(
            EventStatus.PROCESSED, f"sub-account {location_id} listed as installed; connect it on the agency page"
        )
    if existing is not None and not reconnect:
        return Outcome(EventStatus.PROCESSED, f"sub-account {location_id} already connected ({existing.pk})")
    connection = agency_location_connect(agency_id=agency.pk, location_id=location_id)
    if connection is None or connection.status != ConnectionStatus.CONNECTED:
        error = AgencyLocation.objects.filter(pk=entry.pk).values_list("connect_error", flat=True).first()
        return Outcome(EventStatus.FAILED, f"sub-account {location_id} not connected: {error or '?'}")
    resumed = _resume_syncs(connection)
    verb = "reconnected" if reconnect else "connected"
    return Outcome(
        EventStatus.PROCESSED,
        f"sub-account {location_id} {verb} as connection {connection.pk}"
        + (f"; resumed syncs {resumed}" if resumed else ""),
    )


def _uninstalled(payload: dict[str, Any]) -> Outcome:
    location_id, company_id = _text(payload, "locationId"), _text(payload, "companyId")
    if not location_id:
        return _agency_uninstalled(company_id)
    AgencyLocation.objects.filter(location_id=location_id).update(installed=False, updated_at=timezone.now())
    notes = []
    for connection in Connection.objects.filter(provider=Provider.GHL, external_account_id=location_id):
        if connection.auth_kind == AuthKind.LOCATION_TOKEN:
            paused = _disable(connection)
            notes.append(f"connection {connection.pk} disabled" + (f", syncs {paused} paused" if paused else ""))
        elif connection.auth_kind == AuthKind.OAUTH2 and connection.status != ConnectionStatus.NEEDS_REAUTH:
            status_set(connection, ConnectionStatus.NEEDS_REAUTH, UNINSTALLED)
            notes.append(f"connection {connection.pk} needs re-auth")
    if not notes:
        return Outcome(EventStatus.IGNORED, f"no connection of sub-account {location_id} uses the app's tokens")
    return Outcome(EventStatus.PROCESSED, "; ".join(notes))


def _agency_uninstalled(company_id: str) -> Outcome:
    agency = agency_of_company(company_id)
    if agency is None:
        return Outcome(EventStatus.IGNORED, f"no agency connection for company {company_id or '?'}")
    notes = []
    if agency.auth_kind == AuthKind.OAUTH2 and agency.status != ConnectionStatus.NEEDS_REAUTH:
        status_set(agency, ConnectionStatus.NEEDS_REAUTH, AGENCY_UNINSTALLED)
        notes.append(f"agency {agency.pk} needs re-auth")
    minted = agency.locations.filter(auth_kind=AuthKind.LOCATION_TOKEN).exclude(
        status__in=[ConnectionStatus.NEEDS_REAUTH, ConnectionStatus.DISABLED]
    )
    for connection in minted:
        status_set(connection, ConnectionStatus.NEEDS_REAUTH, AGENCY_UNINSTALLED)
        notes.append(f"connection {connection.pk} needs re-auth")
    if not notes:
        return Outcome(EventStatus.IGNORED, f"agency {agency.pk} holds no OAuth token of the app")
    return Outcome(EventStatus.PROCESSED, "; ".join(notes))


def _disable(connection: Connection) -> list[int]:
    """The minted token is revoked: forget it, disable the connection, pause its running syncs (kept to resume)."""
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        locked.secrets, locked.token_expires_at = {}, None
        locked.save(update_fields=["secrets", "token_expires_at", "updated_at"])
    syncs = Sync.objects.filter(enabled=True).filter(source_connection=connection) | Sync.objects.filter(
        enabled=True, target_connection=connection
    )
    paused = []
    for sync in syncs.order_by("pk"):
        status_service.sync_paused_set(sync=sync, paused=True, user=None)
        paused.append(sync.pk)
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        earlier = [int(i) for i in locked.config.get("paused_by_uninstall", [])]
        locked.config = {**locked.config, "paused_by_uninstall": sorted({*earlier, *paused})}
        locked.save(update_fields=["config", "updated_at"])
    connection.refresh_from_db()
    if connection.status != ConnectionStatus.DISABLED:
        status_set(connection, ConnectionStatus.DISABLED, UNINSTALLED)
    return paused


def _resume_syncs(connection: Connection) -> list[int]:
    """Resume the syncs the uninstall paused (a sync a person had paused before it was not touched then)."""
    ids = [int(i) for i in connection.config.get("paused_by_uninstall", [])]
    resumed = []
    for sync in Sync.objects.filter(pk__in=ids, enabled=False).order_by("pk"):
        status_service.sync_paused_set(sync=sync, paused=False, user=None)
        resumed.append(sync.pk)
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        locked.config = {k: v for k, v in locked.config.items() if k != "paused_by_uninstall"}
        locked.save(update_fields=["config", "updated_at"])
    return resumed
