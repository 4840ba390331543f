"""Connect (tested before it is stored), duplicates, clone, archive, delete, and a HighLevel consent for a
location that is already connected: against the emulators over real HTTP, real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from contacts_sync.models import (
    Alert,
    AuditEntry,
    Connection,
    ConnectionStatus,
    InboundEvent,
    PendingOAuthGrant,
    StatusChange,
)
from contacts_sync.services import connection_lifecycle as lifecycle
from contacts_sync.services import connections as svc
from contacts_sync.services import ghl_oauth
from tests.factories import ConnectionFactory, SyncFactory
from tests.services.test_connections import oauth_connection, oauth_settings  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def hotspot(sandbox: Any, user: Any, key: str = "hotspot-sandbox-key", name: str = "Hotspots") -> Connection:
    return lifecycle.connection_connect(
        provider="hotspotsystem",
        auth_kind="api_key",
        name=name,
        user=user,
        secrets={"api_key": key},
        base_url=f"{sandbox.url}/hotspotsystem",
    )


# --- connect: tested first, stored only when accepted -------------------------------------------------------


def test_connect_and_test_stores_an_accepted_key_as_connected(clean_sandbox: Any, admin_user: Any):
    connection = hotspot(clean_sandbox, admin_user)
    assert connection.status == ConnectionStatus.CONNECTED and connection.last_checked_at is not None
    assert connection.secrets == {"api_key": "hotspot-sandbox-key"}
    assert connection.config.get("account_description")
    assert AuditEntry.objects.filter(action="connection.create", actor=admin_user).count() == 1
    assert not StatusChange.objects.exists()  # connected from the start: no flip, no alert


def test_a_refused_key_stores_nothing_and_says_what_the_app_answered(clean_sandbox: Any, admin_user: Any):
    with pytest.raises(svc.ConnectionActionError) as exc:
        hotspot(clean_sandbox, admin_user, key="not-the-key")
    assert "nothing was saved" in str(exc.value) and "401" in str(exc.value)
    assert "not-the-key" not in str(exc.value)
    assert not Connection.objects.exists() and not AuditEntry.objects.filter(action="connection.create").exists()
    assert not Alert.objects.exists()  # no error flip, so no alert about a connection nobody kept


def test_an_unreachable_app_stores_nothing(admin_user: Any):
    with pytest.raises(svc.ConnectionActionError, match="nothing was saved"):
        lifecycle.connection_connect(
            provider="hotspotsystem",
            auth_kind="api_key",
            name="HS",
            user=admin_user,
            secrets={"api_key": "k"},
            base_url="http://127.0.0.1:9/hotspotsystem",
        )
    assert not Connection.objects.exists()


def test_a_hubstaff_token_rotated_by_the_test_is_the_one_stored(clean_sandbox: Any, admin_user: Any):
    pat = clean_sandbox.admin("POST", "/hubstaff/_admin/pats", json={})["refresh_token"]
    connection = lifecycle.connection_connect(
        provider="hubstaff",
        auth_kind="oauth2",
        name="Hub",
        user=admin_user,
        secrets={"refresh_token": pat},
        external_account_id="1001",
        base_url=f"{clean_sandbox.url}/hubstaff",
    )
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.secrets["refresh_token"] != pat  # the trial's exchange used the PAT up
    assert svc.connection_test(connection=connection).status == ConnectionStatus.CONNECTED


def test_connecting_an_account_that_is_already_connected_is_refused(clean_sandbox: Any, admin_user: Any):
    first = lifecycle.connection_connect(
        provider="ghl",
        auth_kind="private_token",
        name="Acme",
        user=admin_user,
        secrets={"access_token": clean_sandbox.token},
        external_account_id=clean_sandbox.location_id,
        base_url=clean_sandbox.ghl_url,
    )
    with pytest.raises(svc.ConnectionActionError, match="already connected as “Acme”"):
        lifecycle.connection_connect(
            provider="ghl",
            auth_kind="private_token",
            name="Acme again",
            user=admin_user,
            secrets={"access_token": clean_sandbox.token},
            external_account_id=clean_sandbox.location_id,
            base_url=clean_sandbox.ghl_url,
        )
    assert list(Connection.objects.all()) == [first]


def test_a_duplicate_is_found_by_app_account_and_base_url_only():
    first = ConnectionFactory(provider="ghl", external_account_id="loc1", base_url="http://x/ghl")
    assert (
        lifecycle.connection_duplicate_of(provider="ghl", external_account_id="loc1", base_url="http://x/ghl/") == first
    )
    assert lifecycle.connection_duplicate_of(provider="ghl", external_account_id="loc1", base_url="") is None
    assert (
        lifecycle.connection_duplicate_of(provider="hubstaff", external_account_id="loc1", base_url="http://x/ghl")
        is None
    )
    assert lifecycle.connection_duplicate_of(provider="custom", external_account_id="", base_url="") is None
    Connection.objects.filter(pk=first.pk).update(archived_at=timezone.now())
    assert (
        lifecycle.connection_duplicate_of(provider="ghl", external_account_id="loc1", base_url="http://x/ghl") is None
    )


# --- delete and archive -----------------------------------------------------------------------------------


def test_delete_is_refused_while_a_sync_uses_the_connection(admin_user: Any):
    sync = SyncFactory(name="Clients → GHL")
    connection = sync.target_connection
    with pytest.raises(svc.ConnectionActionError, match="Clients → GHL"):
        lifecycle.connection_delete(connection=connection, user=admin_user, confirm=connection.name)
    assert Connection.objects.filter(pk=connection.pk).exists()
    assert lifecycle.connection_delete_preview(connection).blocking_syncs == [sync]


def test_delete_needs_the_exact_name(admin_user: Any):
    connection = ConnectionFactory(name="Acme")
    with pytest.raises(svc.ConnectionActionError, match="exactly"):
        lifecycle.connection_delete(connection=connection, user=admin_user, confirm="acme")
    assert Connection.objects.filter(pk=connection.pk).exists()


def test_delete_removes_the_row_its_status_changes_and_alerts_and_keeps_the_audit(admin_user: Any):
    from contacts_sync.services import alerts, status

    connection = ConnectionFactory(name="Acme")
    status.connection_status_set(connection=connection, status=ConnectionStatus.ERROR, reason="down")
    alerts.status_changes_send_pending()
    event = InboundEvent.objects.create(provider="ghl", connection=connection, event_id="e1", body="{}")
    preview = lifecycle.connection_delete_preview(connection)
    assert (preview.status_changes, preview.alerts, preview.webhook_events) == (1, 1, 1)
    lifecycle.connection_delete(connection=connection, user=admin_user, confirm="Acme")
    assert not Connection.objects.filter(pk=connection.pk).exists()
    assert not StatusChange.objects.exists() and not Alert.objects.exists()
    event.refresh_from_db()
    assert event.connection_id is None  # the webhook as received is kept, unlinked
    entry = AuditEntry.objects.get(action="connection.delete")
    assert entry.actor == admin_user and entry.object_repr.endswith("Acme")
    assert entry.changes["secrets_deleted"] == ["access_token"] and entry.changes["alerts_deleted"] == 1
    assert "pit-test-token" not in str(entry.changes)


def test_archive_deletes_the_secrets_hides_the_connection_and_unarchive_brings_it_back(admin_user: Any):
    connection = ConnectionFactory(name="Old Hubstaff", provider="hubstaff")
    lifecycle.connection_archive(connection=connection, user=admin_user)
    connection.refresh_from_db()
    assert connection.archived_at is not None and connection.secrets == {}
    assert connection.status == ConnectionStatus.DISABLED
    assert connection.pk not in svc.connection_check_all()  # the periodic check leaves it alone
    lifecycle.connection_unarchive(connection=connection, user=admin_user)
    connection.refresh_from_db()
    assert connection.archived_at is None and connection.status == ConnectionStatus.DISABLED
    assert [a.action for a in AuditEntry.objects.filter(object_id=str(connection.pk)).order_by("pk")] == [
        "connection.archive",
        "connection.unarchive",
    ]


def test_archive_is_refused_while_a_sync_uses_the_connection(admin_user: Any):
    sync = SyncFactory()
    with pytest.raises(svc.ConnectionActionError, match="cannot be archived"):
        lifecycle.connection_archive(connection=sync.source_connection, user=admin_user)
    sync.source_connection.refresh_from_db()
    assert sync.source_connection.archived_at is None and sync.source_connection.secrets


def test_a_clone_starts_from_the_settings_but_never_the_secret_or_the_account():
    connection = ConnectionFactory(
        name="Hub A",
        provider="hubstaff",
        auth_kind="oauth2",
        base_url="http://h/x",
        external_account_id="1001",
        config={"default_region": "DE"},
        secrets={"refresh_token": "secret"},
    )
    start = lifecycle.connection_clone_start(connection)
    assert start.kind == "hubstaff"
    assert start.initial == {"name": "Hub A (copy)", "base_url": "http://h/x", "default_region": "DE"}
    ghl = ConnectionFactory(provider="ghl", auth_kind="oauth2", name="Loc")
    assert lifecycle.connection_clone_start(ghl).kind == "ghl_oauth"


# --- HighLevel consent for a location that is already connected ---------------------------------------------


def pit_connection(sandbox: Any, user: Any) -> Connection:
    return svc.connection_create(
        provider="ghl",
        auth_kind="private_token",
        name="Acme (token)",
        user=user,
        secrets={"access_token": sandbox.token},
        external_account_id=sandbox.location_id,
        base_url=sandbox.ghl_url,
    )


def test_a_consent_for_a_connected_location_waits_for_the_admin_and_changes_nothing(
    clean_sandbox: Any,
    admin_user: Any,
    oauth_settings: Any,  # noqa: F811
):
    existing = pit_connection(clean_sandbox, admin_user)
    grant = oauth_connection(clean_sandbox, admin_user, name="Acme via OAuth")
    assert isinstance(grant, PendingOAuthGrant) and grant.connection == existing
    existing.refresh_from_db()
    assert existing.auth_kind == "private_token" and existing.name == "Acme (token)"
    assert existing.secrets == {"access_token": clean_sandbox.token}
    assert Connection.objects.count() == 1
    assert set(grant.secrets) == {"access_token", "refresh_token"}  # held encrypted, like every secret


def test_replacing_switches_the_token_connection_to_oauth_and_takes_the_new_name(
    clean_sandbox: Any,
    admin_user: Any,
    oauth_settings: Any,  # noqa: F811
):
    existing = pit_connection(clean_sandbox, admin_user)
    sync = SyncFactory(target_connection=existing)
    grant = oauth_connection(clean_sandbox, admin_user, name="Acme via OAuth")
    connection = ghl_oauth.ghl_oauth_grant_apply(grant=grant, user=admin_user, rename=True)
    assert connection.pk == existing.pk and connection.auth_kind == "oauth2" and connection.name == "Acme via OAuth"
    assert connection.status == ConnectionStatus.CONNECTED and set(connection.secrets) == {
        "access_token",
        "refresh_token",
    }
    sync.refresh_from_db()
    assert sync.target_connection_id == existing.pk
    assert not PendingOAuthGrant.objects.exists()
    entry = AuditEntry.objects.get(action="connection.reauthorize")
    assert entry.changes["auth_kind"] == {"from": "private_token", "to": "oauth2"}
    assert entry.changes["name"] == {"from": "Acme (token)", "to": "Acme via OAuth"}


def test_keeping_the_connection_discards_the_new_consent(clean_sandbox: Any, admin_user: Any, oauth_settings: Any):  # noqa: F811
    existing = pit_connection(clean_sandbox, admin_user)
    grant = oauth_connection(clean_sandbox, admin_user)
    ghl_oauth.ghl_oauth_grant_discard(grant=grant, user=admin_user)
    assert not PendingOAuthGrant.objects.exists()
    existing.refresh_from_db()
    assert existing.auth_kind == "private_token"
    assert AuditEntry.objects.filter(action="connection.oauth_discarded").exists()


def test_another_admin_or_a_late_answer_cannot_use_the_pending_consent(
    clean_sandbox: Any,
    admin_user: Any,
    make_user: Any,
    oauth_settings: Any,  # noqa: F811
):
    pit_connection(clean_sandbox, admin_user)
    grant = oauth_connection(clean_sandbox, admin_user)
    other = make_user("Admin")
    with pytest.raises(svc.ConnectionActionError, match="no longer waiting"):
        ghl_oauth.ghl_oauth_grant_get(grant_id=grant.pk, user=other)
    PendingOAuthGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(svc.ConnectionActionError, match="no longer waiting"):
        ghl_oauth.ghl_oauth_grant_get(grant_id=grant.pk, user=admin_user)
