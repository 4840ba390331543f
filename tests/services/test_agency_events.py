"""INSTALL / UNINSTALL / LocationCreate as the GHL emulator signs and sends them, through the real inbox, applied by
services.event_runs (which hands them to services.agency_events)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from contacts_sync.models import AgencyLocation, AuthKind, Connection, EventStatus, InboundEvent, StatusChange
from contacts_sync.services import agencies, event_runs, inbox
from tests.agency_world import agency_settings, oauth_agency
from tests.factories import ConnectionFactory, SyncFactory
from tests.sandbox.ghl_support import Receiver, receiver, spec_conformance

__all__ = ["agency_settings", "receiver", "spec_conformance"]  # fixtures used by this module

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_by_sandbox(settings: Any, sandbox: Any) -> None:
    settings.GHL_WEBHOOK_PUBLIC_KEY = requests.get(f"{sandbox.ghl_url}/_admin/public-key", timeout=10).text


def deliver(receiver: Receiver, count: int, capture: Any) -> list[InboundEvent]:
    """Hand the emulator's deliveries (signed bodies as received) to our inbox, then process each event."""
    received = receiver.payloads(count) and receiver.received[:count]
    events = []
    for headers, body in received:
        with capture(execute=False):  # the processing task is run here, in order, instead of by a worker
            stored = inbox.ghl_webhook_receive(body=body, headers=headers)
        assert stored.event is not None and not stored.duplicate
        event_runs.inbound_event_process(event_id=stored.event.pk)
        stored.event.refresh_from_db()
        events.append(stored.event)
    receiver.received.clear()
    return events


def test_a_new_sub_account_appears_and_is_connected_when_the_agency_connects_new_ones(
    clean_sandbox: Any,
    admin_user: Any,
    agency_settings: Any,
    signed_by_sandbox: None,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    emu, agency = oauth_agency(
        clean_sandbox, admin_user, locations=1, webhookUrl=receiver.url, installToFutureLocations=True, connect_all=True
    )
    assert agency.config["connect_new"] is True
    clean_sandbox.admin(
        "POST",
        f"/ghl/_admin/agencies/{emu.id}/locations",
        json={"id": "loc-neu-1", "name": "Neu", "email": "neu@acme.example", "seed": 2},
    )
    created, installed = deliver(receiver, 2, django_capture_on_commit_callbacks)
    assert (created.event_type, created.status, created.connection_id) == ("LocationCreate", "processed", agency.pk)
    entry = AgencyLocation.objects.get(agency=agency, location_id="loc-neu-1")
    assert (entry.name, entry.email) == ("Neu", "neu@acme.example")
    assert (installed.event_type, installed.status) == ("INSTALL", "processed"), installed.error
    connection = Connection.objects.get(agency=agency, external_account_id="loc-neu-1")
    assert connection.status == "connected" and connection.auth_kind == AuthKind.LOCATION_TOKEN
    assert f"connected as connection {connection.pk}" in installed.error
    entry.refresh_from_db()
    assert entry.installed is True and entry.connection_id == connection.pk


def test_without_connect_new_an_install_only_lists_the_sub_account(
    clean_sandbox: Any,
    admin_user: Any,
    agency_settings: Any,
    signed_by_sandbox: None,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    emu, agency = oauth_agency(clean_sandbox, admin_user, locations=[{"installed": False}], webhookUrl=receiver.url)
    clean_sandbox.admin("POST", "/ghl/_admin/installs", json={"locationId": emu.location_ids[0]})
    (installed,) = deliver(receiver, 1, django_capture_on_commit_callbacks)
    assert installed.status == "processed" and "connect it on the agency page" in installed.error
    assert AgencyLocation.objects.get(agency=agency, location_id=emu.location_ids[0]).installed is True
    assert not Connection.objects.filter(external_account_id=emu.location_ids[0]).exists()


def test_uninstall_disables_the_sub_account_and_pauses_its_syncs_and_a_reinstall_brings_both_back(
    clean_sandbox: Any,
    admin_user: Any,
    agency_settings: Any,
    signed_by_sandbox: None,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    emu, agency = oauth_agency(clean_sandbox, admin_user, locations=[{"seed": 1}], webhookUrl=receiver.url)
    lid = emu.location_ids[0]
    location = agencies.agency_location_connect(agency_id=agency.pk, location_id=lid)
    assert location is not None and location.status == "connected"
    hub = ConnectionFactory(provider="hubstaff", auth_kind="api_key", external_account_id="org-1")
    running = SyncFactory(source_connection=hub, target_connection=location)
    paused_by_hand = SyncFactory(source_connection=hub, target_connection=location, enabled=False)

    clean_sandbox.admin("DELETE", "/ghl/_admin/installs", params={"locationId": lid})
    (gone,) = deliver(receiver, 1, django_capture_on_commit_callbacks)
    location.refresh_from_db()
    running.refresh_from_db()
    assert gone.status == "processed" and gone.connection_id == location.pk
    assert location.status == "disabled" and location.secrets == {} and "uninstalled" in location.last_error
    assert running.enabled is False and running.health == "paused"
    assert StatusChange.objects.filter(connection=location, new_status="disabled").count() == 1
    assert AgencyLocation.objects.get(agency=agency, location_id=lid).installed is False

    clean_sandbox.admin("POST", "/ghl/_admin/installs", json={"locationId": lid})
    (back,) = deliver(receiver, 1, django_capture_on_commit_callbacks)
    location.refresh_from_db()
    running.refresh_from_db()
    paused_by_hand.refresh_from_db()
    assert back.status == "processed" and "reconnected" in back.error and f"resumed syncs [{running.pk}]" in back.error
    assert location.status == "connected" and location.secrets["access_token"]
    assert running.enabled is True and paused_by_hand.enabled is False  # a person's pause is left alone


def test_an_agency_uninstall_puts_the_agency_and_its_minted_sub_accounts_in_needs_reauth(
    clean_sandbox: Any,
    admin_user: Any,
    agency_settings: Any,
    signed_by_sandbox: None,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    emu, agency = oauth_agency(clean_sandbox, admin_user, locations=1, webhookUrl=receiver.url)
    location = agencies.agency_location_connect(agency_id=agency.pk, location_id=emu.location_ids[0])
    assert location is not None
    clean_sandbox.admin("DELETE", "/ghl/_admin/installs", params={"companyId": emu.id})
    (gone,) = deliver(receiver, 1, django_capture_on_commit_callbacks)
    agency.refresh_from_db()
    location.refresh_from_db()
    assert gone.status == "processed" and gone.account_id == emu.id and gone.connection_id == agency.pk
    assert agency.status == "needs_reauth" and location.status == "needs_reauth"
    assert "connect the agency again" in location.last_error


def test_lifecycle_events_of_strangers_are_ignored_with_the_reason_and_processed_once(
    clean_sandbox: Any,
    agency_settings: Any,
    signed_by_sandbox: None,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from tests.sandbox.ghl_support import Agency

    emu = Agency(clean_sandbox, locations=[{"installed": False}], webhookUrl=receiver.url)  # not connected to us
    clean_sandbox.admin("POST", f"/ghl/_admin/agencies/{emu.id}/locations", json={"id": "loc-x-1"})
    clean_sandbox.admin("POST", "/ghl/_admin/installs", json={"locationId": emu.location_ids[0]})
    clean_sandbox.admin("DELETE", "/ghl/_admin/installs", params={"locationId": emu.location_ids[0]})
    events = deliver(receiver, 3, django_capture_on_commit_callbacks)
    assert [(e.event_type, e.status) for e in events] == [
        ("LocationCreate", EventStatus.IGNORED),
        ("INSTALL", EventStatus.IGNORED),
        ("UNINSTALL", EventStatus.IGNORED),
    ]
    assert f"no agency connection for company {emu.id}" in events[0].error
    again = event_runs.inbound_event_process(event_id=events[1].pk)
    assert again.status == "not pending"  # a second delivery of the processing message changes nothing
    assert not AgencyLocation.objects.exists() and not Connection.objects.exists()
