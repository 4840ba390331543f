"""End to end with real parts: an agency connected through OAuth; "connect all" runs in a real Celery worker; the
GHL emulator signs and delivers LocationCreate / INSTALL / UNINSTALL to the running service; the worker connects
the new sub-account and later disables it."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from contacts_sync import models as m
from tests.agency_world import agency_settings, oauth_agency, stats
from tests.support import wait_until

__all__ = ["agency_settings"]  # fixtures used by this module

pytestmark = [pytest.mark.timeout(240), pytest.mark.django_db(transaction=True)]


def connection_of(location_id: str) -> m.Connection | None:
    return m.Connection.objects.filter(external_account_id=location_id).first()


def test_connect_all_then_new_and_removed_sub_accounts_follow_the_webhooks(
    clean_sandbox: Any, live_server: Any, celery_worker: Any, admin_user: Any, agency_settings: Any
) -> None:
    agency_settings.GHL_WEBHOOK_PUBLIC_KEY = requests.get(f"{clean_sandbox.ghl_url}/_admin/public-key", timeout=10).text
    hook = f"{live_server.url}/webhooks/ghl/"
    minted = stats(clean_sandbox)["location_tokens"]
    emu, agency = oauth_agency(
        clean_sandbox,
        admin_user,
        locations=[{"seed": 2}, {"seed": 1}, {"installed": False}],
        webhookUrl=hook,
        installToFutureLocations=True,
        connect_all=True,
    )
    first, second, uninstalled = emu.location_ids
    # "connect all": one task per installed sub-account, run by the worker
    wait_until(
        lambda: all(connection_of(i) and connection_of(i).status == "connected" for i in (first, second)),
        timeout=60,
        what="both installed sub-accounts connected by the worker",
    )
    assert connection_of(uninstalled) is None
    assert stats(clean_sandbox)["location_tokens"] - minted == 2

    # a user adds a sub-account in HighLevel: LocationCreate, then INSTALL (the app installs itself there)
    clean_sandbox.admin(
        "POST",
        f"/ghl/_admin/agencies/{emu.id}/locations",
        json={"id": "loc-new-e2e", "name": "Neu eröffnet", "seed": 3},
    )

    def events() -> dict[str, str]:
        return dict(m.InboundEvent.objects.filter(account_id="loc-new-e2e").values_list("event_type", "status"))

    wait_until(
        lambda: events() == {"LocationCreate": "processed", "INSTALL": "processed"},
        timeout=60,
        what="LocationCreate and INSTALL processed by the worker",
    )
    new = connection_of("loc-new-e2e")
    assert new is not None and new.status == "connected" and new.agency_id == agency.pk
    assert new.name == "Neu eröffnet" and new.auth_kind == "location_token"
    hub = m.Connection.objects.create(
        name="Hub", provider="hubstaff", auth_kind="api_key", external_account_id="org", secrets={"api_key": "x"}
    )
    sync = m.Sync.objects.create(
        name="to new",
        recipe="hubstaff_client_to_ghl_contact",
        source_connection=hub,
        source_object="contact",
        target_connection=new,
        target_object="contact",
    )

    # the app is uninstalled from it: its token is revoked, the connection disabled, its sync paused
    clean_sandbox.admin("DELETE", "/ghl/_admin/installs", params={"locationId": "loc-new-e2e"})
    wait_until(
        lambda: events().get("UNINSTALL") == "processed",
        timeout=60,
        what="the UNINSTALL webhook processed by the worker",
    )
    assert connection_of("loc-new-e2e").status == "disabled"
    sync.refresh_from_db()
    assert sync.enabled is False and sync.health == "paused"
    entry = m.AgencyLocation.objects.get(agency=agency, location_id="loc-new-e2e")
    assert entry.installed is False and entry.name == "Neu eröffnet"
