"""Agency installs against the GHL emulator: the OAuth Company flow and the agency private token, the directory of
sub-accounts, connecting them with location tokens minted from the agency's, and minting again single-flight."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection as db
from django.utils import timezone

from contacts_sync.models import AgencyLocation, AuditEntry, AuthKind, Connection
from contacts_sync.services import agencies, credentials
from contacts_sync.services.connections import ConnectionActionError, connection_test
from tests.agency_world import agency_settings, oauth_agency, pit_agency, stats
from tests.sandbox.ghl_support import spec_conformance

__all__ = ["agency_settings", "spec_conformance"]  # fixtures used by this module

pytestmark = pytest.mark.django_db
WORKERS = 8


def connect(agency: Connection, location_id: str) -> Connection:
    connection = agencies.agency_location_connect(agency_id=agency.pk, location_id=location_id)
    assert connection is not None, AgencyLocation.objects.get(agency=agency, location_id=location_id).connect_error
    return connection


def test_an_agency_oauth_install_is_one_agency_connection_listing_its_sub_accounts(
    clean_sandbox: Any, admin_user: Any, agency_settings: Any
) -> None:
    emu, agency = oauth_agency(
        clean_sandbox,
        admin_user,
        locations=[{"name": "Berlin Mitte"}, {"name": "Köln"}, {"name": "Bonn", "installed": False}],
    )
    assert agency.is_agency and agency.auth_kind == AuthKind.OAUTH2 and agency.status == "connected"
    assert (agency.company_id, agency.external_account_id, agency.config["user_type"]) == (emu.id, "", "Company")
    assert {"oauth.write", "oauth.readonly", "locations.readonly"} <= set(agency.scopes)
    rows = {e.name: e.installed for e in AgencyLocation.objects.filter(agency=agency)}
    assert rows == {"Berlin Mitte": True, "Köln": True, "Bonn": False}
    assert agency.config["listed_count"] == 3
    for secret in agency.secrets.values():
        assert secret not in str(AuditEntry.objects.filter(object_id=str(agency.pk)).values_list("changes"))
    # consenting again for the same agency updates the one connection (its syncs' locations keep it)
    _emu_again, again = oauth_agency_again(clean_sandbox, admin_user, emu)
    assert again.pk == agency.pk and Connection.objects.agencies().count() == 1


def oauth_agency_again(sandbox: Any, user: Any, emu: Any) -> tuple[Any, Connection]:
    from contacts_sync.services import ghl_oauth
    from tests.agency_world import REDIRECT_URI, SCOPES, consent

    session: dict[str, Any] = {}
    start = ghl_oauth.ghl_oauth_start(
        session=session,
        user=user,
        name="Again",
        scopes=list(SCOPES),
        redirect_uri=REDIRECT_URI,
        base_url=sandbox.ghl_url,
        kind="agency",
    )
    scopes = next(iter(session[ghl_oauth.OAUTH_SESSION_KEY].values()))["scopes"]
    code = consent(sandbox, state=start.state, scopes=scopes, company_id=emu.id)
    return emu, ghl_oauth.ghl_oauth_finish(session=session, user=user, state=start.state, code=code)


def test_a_sub_account_gets_a_minted_token_and_reads_its_own_contacts(
    clean_sandbox: Any, admin_user: Any, agency_settings: Any
) -> None:
    emu, agency = oauth_agency(
        clean_sandbox,
        admin_user,
        locations=[
            {"name": "Wien", "country": "AT", "contacts": [{"email": "Kim@Example.com", "firstName": "Kim"}]},
            {"contacts": [{"email": "other@example.com"}]},
        ],
    )
    minted = stats(clean_sandbox)["location_tokens"]
    connection = connect(agency, emu.location_ids[0])
    assert connection.status == "connected", connection.last_error
    assert (connection.auth_kind, connection.agency_id, connection.external_account_id) == (
        AuthKind.LOCATION_TOKEN,
        agency.pk,
        emu.location_ids[0],
    )
    assert connection.name == "Wien" and connection.config["default_region"] == "AT"
    assert "refresh_token" not in connection.secrets and connection.token_expires_at > timezone.now()
    assert stats(clean_sandbox)["location_tokens"] == minted + 1
    emails = [c["email"] for c in credentials.connector_for(connection).sample("contact")]
    assert emails == ["Kim@Example.com"]  # its own location's contacts, not the sibling's
    entry = AgencyLocation.objects.get(agency=agency, location_id=emu.location_ids[0])
    assert entry.connection_id == connection.pk and entry.connect_error == ""
    assert connect(agency, emu.location_ids[0]).pk == connection.pk  # a second connect reuses the row
    assert Connection.objects.get(pk=agency.pk).config["app_id"] == "sandbox-app"  # learnt from the mint


def test_connect_all_asks_for_every_installed_unconnected_sub_account_once(
    clean_sandbox: Any, admin_user: Any, agency_settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    emu, agency = oauth_agency(clean_sandbox, admin_user, locations=[{}, {}, {"installed": False}])
    connect(agency, emu.location_ids[0])
    with django_capture_on_commit_callbacks(execute=False) as sent:
        asked = agencies.agency_locations_connect_request(agency=agency, location_ids=None, user=admin_user)
    assert asked == [emu.location_ids[1]] and len(sent) == 1  # connected and uninstalled ones are left out
    with django_capture_on_commit_callbacks(execute=False) as again:
        assert agencies.agency_locations_connect_request(agency=agency, location_ids=None, user=admin_user) == []
    assert again == []  # still in flight: a double click sends nothing twice
    entry = AgencyLocation.objects.get(agency=agency, location_id=emu.location_ids[1])
    assert entry.connect_requested_at is not None
    assert AuditEntry.objects.filter(action="agency.connect_locations", object_id=str(agency.pk)).count() == 1


def test_a_sub_account_without_the_app_is_not_connected_and_says_why(
    clean_sandbox: Any, admin_user: Any, agency_settings: Any
) -> None:
    emu, agency = oauth_agency(clean_sandbox, admin_user, locations=[{}, {"installed": False}])
    result = agencies.agency_location_connect(agency_id=agency.pk, location_id=emu.location_ids[1])
    assert result is None
    entry = AgencyLocation.objects.get(agency=agency, location_id=emu.location_ids[1])
    assert "not installed" in entry.connect_error and entry.connect_requested_at is None
    assert not Connection.objects.filter(external_account_id=emu.location_ids[1]).exists()


def _hammer(connection_id: int) -> list[Any]:
    """WORKERS threads, each with its own connector (its own token provider), released together."""
    barrier, results = threading.Barrier(WORKERS), []

    def worker() -> None:
        try:
            client = credentials.connector_for(Connection.objects.get(pk=connection_id)).client
            barrier.wait(timeout=30)
            results.append(len(list(client.search_contacts(page_limit=5))))
        except Exception as exc:  # noqa: BLE001 - collected and asserted by the caller
            results.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.django_db(transaction=True)
def test_an_expired_location_token_is_minted_again_once_by_eight_concurrent_workers(
    clean_sandbox: Any, admin_user: Any, agency_settings: Any
) -> None:
    emu, agency = oauth_agency(clean_sandbox, admin_user, locations=[{"seed": 3}])
    clean_sandbox.admin("POST", "/ghl/_admin/oauth", json={"locationTokenTtl": 2})
    try:
        connection = connect(agency, emu.location_ids[0])
    finally:
        clean_sandbox.admin("POST", "/ghl/_admin/oauth", json={"locationTokenTtl": 86_399})
    old_token = Connection.objects.get(pk=connection.pk).secrets["access_token"]
    time.sleep(2.2)  # expired at the emulator, and by the stored expiry
    before, audits = stats(clean_sandbox), AuditEntry.objects.count()
    results = _hammer(connection.pk)
    assert results == [3] * WORKERS
    after = stats(clean_sandbox)
    assert after["location_tokens"] - before["location_tokens"] == 1  # single-flight across eight providers
    assert after["token_refreshes"] == before["token_refreshes"]  # the agency's own token was still good
    connection.refresh_from_db()
    assert connection.secrets["access_token"] != old_token and connection.token_expires_at > timezone.now()
    new_audits = AuditEntry.objects.order_by("pk")[audits:]
    assert [(a.action, a.object_id) for a in new_audits] == [("connection.token_refresh", str(connection.pk))]


@pytest.mark.django_db(transaction=True)
def test_a_location_token_refused_with_401_before_its_stored_expiry_is_minted_again_once(
    clean_sandbox: Any, admin_user: Any, agency_settings: Any
) -> None:
    emu, agency = oauth_agency(clean_sandbox, admin_user, locations=[{"seed": 2}])
    clean_sandbox.admin("POST", "/ghl/_admin/oauth", json={"locationTokenTtl": 1})
    try:
        connection = connect(agency, emu.location_ids[0])
    finally:
        clean_sandbox.admin("POST", "/ghl/_admin/oauth", json={"locationTokenTtl": 86_399})
    # we believe it lives a day; HighLevel answers 401 "Invalid JWT" already
    Connection.objects.filter(pk=connection.pk).update(token_expires_at=timezone.now() + timedelta(hours=20))
    time.sleep(1.2)
    before = stats(clean_sandbox)["location_tokens"]
    assert _hammer(connection.pk) == [2] * WORKERS
    assert stats(clean_sandbox)["location_tokens"] - before == 1


@pytest.mark.django_db(transaction=True)
def test_with_the_agency_token_expired_too_there_is_one_agency_refresh_and_one_mint(
    clean_sandbox: Any, admin_user: Any, agency_settings: Any
) -> None:
    emu, agency = oauth_agency(clean_sandbox, admin_user, locations=[{"seed": 1}])
    connection = connect(agency, emu.location_ids[0])
    past = timezone.now() - timedelta(minutes=1)
    Connection.objects.filter(pk__in=[agency.pk, connection.pk]).update(token_expires_at=past)
    before = stats(clean_sandbox)
    assert _hammer(connection.pk) == [1] * WORKERS
    after = stats(clean_sandbox)
    assert (
        after["location_tokens"] - before["location_tokens"],
        after["token_refreshes"] - before["token_refreshes"],
        after["refresh_reuse"],
    ) == (1, 1, before["refresh_reuse"])
    agency.refresh_from_db()
    assert agency.status == "connected" and agency.token_expires_at > timezone.now() + timedelta(hours=20)


def test_a_refused_agency_token_puts_the_agency_and_then_its_sub_account_in_needs_reauth(
    clean_sandbox: Any, admin_user: Any, agency_settings: Any
) -> None:
    emu, agency = oauth_agency(clean_sandbox, admin_user, locations=1)
    connection = connect(agency, emu.location_ids[0])
    clean_sandbox.admin("DELETE", "/ghl/_admin/installs", params={"companyId": emu.id})  # revokes every token
    connection = connection_test(connection=connection)
    agency.refresh_from_db()
    assert agency.status == "needs_reauth" and connection.status == "needs_reauth"
    assert "reconnect the agency" in connection.last_error


def test_an_agency_private_token_lists_sub_accounts_but_cannot_mint_their_tokens(
    clean_sandbox: Any, admin_user: Any
) -> None:
    pit = "pit-" + "b" * 20
    emu, agency, _token = pit_agency(clean_sandbox, admin_user, locations=[{"name": "Hamburg", "token": pit}, {}])
    assert agency.is_agency and agency.auth_kind == AuthKind.PRIVATE_TOKEN and agency.status == "connected"
    entries = AgencyLocation.objects.filter(agency=agency).order_by("name")
    assert [e.location_id for e in entries if e.name == "Hamburg"] == [emu.location_ids[0]]
    assert {e.installed for e in entries} == {None}  # locations/search does not say where the app is installed
    with pytest.raises(ConnectionActionError, match="does not let it get their tokens"):
        agencies.agency_locations_connect_request(agency=agency, location_ids=None, user=admin_user)
    with pytest.raises(ConnectionActionError, match="refused the token"):
        agencies.agency_location_connect_private_token(
            agency=agency, location_id=emu.location_ids[0], token="pit-wrong", user=admin_user
        )
    assert not Connection.objects.filter(external_account_id=emu.location_ids[0]).exists()
    connection = agencies.agency_location_connect_private_token(
        agency=agency, location_id=emu.location_ids[0], token=pit, user=admin_user
    )
    assert (connection.status, connection.auth_kind, connection.agency_id) == ("connected", "private_token", agency.pk)
    assert AgencyLocation.objects.get(agency=agency, location_id=emu.location_ids[0]).connection_id == connection.pk


def test_a_refused_agency_private_token_stores_nothing(clean_sandbox: Any, admin_user: Any) -> None:
    from tests.sandbox.ghl_support import Agency

    emu = Agency(clean_sandbox, locations=1)
    with pytest.raises(ConnectionActionError, match="refused the agency token"):
        agencies.agency_connect_private_token(
            name="X", company_id=emu.id, token="pit-nope", user=admin_user, base_url=clean_sandbox.ghl_url
        )
    assert not Connection.objects.exists()


def test_the_periodic_check_renews_the_agency_token_ahead_of_expiry_and_mints_an_expired_location_token(
    clean_sandbox: Any, admin_user: Any, agency_settings: Any
) -> None:
    from contacts_sync.services.connections import connection_check

    emu, agency = oauth_agency(clean_sandbox, admin_user, locations=1)
    location = connect(agency, emu.location_ids[0])
    Connection.objects.filter(pk=agency.pk).update(token_expires_at=timezone.now() + timedelta(hours=1))
    Connection.objects.filter(pk=location.pk).update(token_expires_at=timezone.now() - timedelta(minutes=1))
    before = stats(clean_sandbox)
    assert connection_check(connection=agency).status == "connected"
    assert connection_check(connection=location).status == "connected"
    after = stats(clean_sandbox)
    assert after["token_refreshes"] - before["token_refreshes"] == 1  # the agency's Company pair, rotated
    assert after["location_tokens"] - before["location_tokens"] == 1  # the location's, minted again
    for c in (agency, location):
        c.refresh_from_db()
        assert c.token_expires_at > timezone.now() + timedelta(hours=20)


def test_a_posted_id_the_directory_does_not_list_is_not_connected(
    clean_sandbox: Any, admin_user: Any, agency_settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    emu, agency = oauth_agency(clean_sandbox, admin_user, locations=1)
    other = oauth_agency(clean_sandbox, admin_user, name="Other Agency", locations=1)[0]
    with django_capture_on_commit_callbacks(execute=False) as sent:
        asked = agencies.agency_locations_connect_request(
            agency=agency, location_ids=[other.location_ids[0], "x" * 300, emu.location_ids[0]], user=admin_user
        )
    assert asked == [emu.location_ids[0]] and len(sent) == 1
    assert set(AgencyLocation.objects.filter(agency=agency).values_list("location_id", flat=True)) == {
        emu.location_ids[0]
    }
