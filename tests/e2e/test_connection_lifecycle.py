"""Browser: delete (typed name, refused while a sync uses it), archive, clone, a failed Connect and test that
saves nothing, a HighLevel consent for a location already connected, and the New-sync picker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contacts_sync.models import AuditEntry, Connection, PendingOAuthGrant
from contacts_sync.services import connections as svc
from tests.e2e.shots import both_widths
from tests.e2e.test_connections import login, oauth_settings, start_oauth  # noqa: F401 (fixture)
from tests.factories import ConnectionFactory, SyncFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def hotspot(sandbox: Any, user: Any, name: str = "Hotspots") -> Connection:
    return svc.connection_create(
        provider="hotspotsystem",
        auth_kind="api_key",
        name=name,
        user=user,
        secrets={"api_key": "hotspot-sandbox-key"},
        base_url=f"{sandbox.url}/hotspotsystem",
    )


def test_an_admin_deletes_a_connection_after_typing_its_name(
    page: Any, live_server: Any, clean_sandbox: Any, admin_user: Any, tmp_path: Path
):
    connection = hotspot(clean_sandbox, admin_user)
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/connections/{connection.pk}/")
    page.get_by_role("link", name="Delete").click()
    page.wait_for_url(f"{live_server.url}/connections/{connection.pk}/delete/")
    removes = page.locator("#delete-removes").inner_text()
    assert "stored secrets (1 key)" in removes and "0 alerts" in removes
    page.fill("input[name=confirm]", "hotspots")  # not quite its name
    page.click("button:has-text('Delete for good')")
    assert "That is not the connection's name." in page.locator("#delete-card").inner_text()
    assert Connection.objects.filter(pk=connection.pk).exists()
    page.fill("input[name=confirm]", "Hotspots")
    page.click("button:has-text('Delete for good')")
    page.wait_for_url(f"{live_server.url}/connections/")
    assert "Deleted Hotspots" in page.locator(".messages").inner_text()
    assert "Hotspots" not in page.locator("main table, main .empty").first.inner_text()
    assert not Connection.objects.filter(pk=connection.pk).exists()
    assert AuditEntry.objects.filter(action="connection.delete", actor=admin_user).exists()


def test_a_connection_a_sync_uses_cannot_be_deleted_and_the_page_says_which_sync(
    page: Any, live_server: Any, admin_user: Any, tmp_path: Path
):
    sync = SyncFactory(name="Clients → GHL contacts")
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/connections/{sync.target_connection_id}/delete/")
    assert "cannot be deleted while 1 sync uses it" in page.locator("#delete-refused").inner_text()
    assert page.locator("#blocking-syncs").inner_text().startswith("Clients → GHL contacts")
    assert page.locator("button:has-text('Delete for good')").is_disabled()
    page.goto(f"{live_server.url}/connections/{sync.target_connection_id}/")  # archiving is refused too
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Archive')")
    page.wait_for_selector(".message-error")
    assert "cannot be archived" in page.locator(".messages").inner_text()
    assert Connection.objects.get(pk=sync.target_connection_id).archived_at is None


def test_an_archived_connection_leaves_the_list_and_the_picker_and_comes_back(
    page: Any, live_server: Any, admin_user: Any
):
    old = ConnectionFactory(name="Old Hubstaff org", provider="hubstaff", auth_kind="api_key")
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/connections/{old.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Archive')")
    page.wait_for_selector("#archived-note")
    page.goto(f"{live_server.url}/connections/")
    assert "Old Hubstaff org" not in page.locator("main").inner_text().split("archived")[-1]
    page.click("text=1 archived")
    assert "Old Hubstaff org" in page.locator("table").inner_text()
    page.goto(f"{live_server.url}/syncs/new/?recipe=hubstaff_client_to_ghl_contact")
    assert "Old Hubstaff org" not in page.locator("select[name=source_connection]").inner_text()
    page.goto(f"{live_server.url}/connections/{old.pk}/")
    page.click("button:has-text('Unarchive')")
    page.wait_for_selector(".message-success")
    assert Connection.objects.get(pk=old.pk).archived_at is None


def test_a_clone_starts_from_the_settings_and_needs_its_own_key(
    page: Any, live_server: Any, clean_sandbox: Any, admin_user: Any, tmp_path: Path
):
    original = hotspot(clean_sandbox, admin_user)
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/connections/{original.pk}/")
    page.get_by_role("link", name="Clone").click()
    page.wait_for_url(f"{live_server.url}/connections/add/hotspotsystem/?from={original.pk}")
    assert page.input_value("input[name=name]") == "Hotspots (copy)"
    assert page.input_value("input[name=base_url]") == f"{clean_sandbox.url}/hotspotsystem"
    assert page.input_value("input[name=secret_api_key]") == ""  # secrets are never copied
    assert "secrets are never copied" in page.locator("#clone-note").inner_text()
    page.fill("input[name=secret_api_key]", "hotspot-sandbox-key")
    page.click("button:has-text('Connect and test')")
    page.wait_for_url(f"{live_server.url}/connections/*/")
    copy = Connection.objects.get(name="Hotspots (copy)")
    assert copy.pk != original.pk and copy.status == "connected"
    assert Connection.objects.get(pk=original.pk).name == "Hotspots"


def test_connecting_oauth_to_a_location_with_a_token_connection_asks_before_replacing(
    page: Any,
    live_server: Any,
    clean_sandbox: Any,
    admin_user: Any,
    oauth_settings: Any,  # noqa: F811
    tmp_path: Path,
):
    existing = svc.connection_create(
        provider="ghl",
        auth_kind="private_token",
        name="Acme (token)",
        user=admin_user,
        secrets={"access_token": clean_sandbox.token},
        external_account_id=clean_sandbox.location_id,
        base_url=clean_sandbox.ghl_url,
    )
    login(page, live_server, admin_user)
    start_oauth(page, live_server, clean_sandbox, name="Acme via OAuth")
    page.click(f"a.choose:has-text('{clean_sandbox.location_id}')")
    page.wait_for_url(f"{live_server.url}/connections/highlevel/pending/*/")
    text = page.locator("main").inner_text()
    assert "already connected" in text and "Acme (token)" in text and "Nothing has changed yet" in text
    assert "switches “Acme (token)” from a private integration token to OAuth" in text
    both_widths(page, "ghl-oauth-pending", tmp_path)
    existing.refresh_from_db()
    assert existing.auth_kind == "private_token" and existing.name == "Acme (token)"
    page.click("button:has-text('Replace the credentials')")
    page.wait_for_url(f"{live_server.url}/connections/{existing.pk}/")
    assert page.locator("h1").inner_text() == "Acme via OAuth"
    existing.refresh_from_db()
    assert existing.auth_kind == "oauth2" and Connection.objects.count() == 1
    assert not PendingOAuthGrant.objects.exists()


def test_keeping_the_connection_as_it_is_discards_the_consent(
    page: Any,
    live_server: Any,
    clean_sandbox: Any,
    admin_user: Any,
    oauth_settings: Any,  # noqa: F811
):
    existing = svc.connection_create(
        provider="ghl",
        auth_kind="private_token",
        name="Acme (token)",
        user=admin_user,
        secrets={"access_token": clean_sandbox.token},
        external_account_id=clean_sandbox.location_id,
        base_url=clean_sandbox.ghl_url,
    )
    login(page, live_server, admin_user)
    start_oauth(page, live_server, clean_sandbox, name="Something else")
    page.click(f"a.choose:has-text('{clean_sandbox.location_id}')")
    page.wait_for_url(f"{live_server.url}/connections/highlevel/pending/*/")
    page.click("button:has-text('Keep it as it is')")
    page.wait_for_url(f"{live_server.url}/connections/{existing.pk}/")
    assert "Nothing changed" in page.locator(".messages").inner_text()
    existing.refresh_from_db()
    assert (existing.auth_kind, existing.name) == ("private_token", "Acme (token)")


def test_the_new_sync_picker_shows_status_and_marks_broken_and_duplicate_connections(
    page: Any, live_server: Any, admin_user: Any, tmp_path: Path
):
    ConnectionFactory(name="Hubstaff main", provider="hubstaff", external_account_id="1001")
    ConnectionFactory(name="Hubstaff main again", provider="hubstaff", external_account_id="1001")
    ConnectionFactory(name="Hubstaff broken", provider="hubstaff", external_account_id="1002", status="needs_reauth")
    off = ConnectionFactory(
        name="Hubstaff off", provider="hubstaff", external_account_id="1003", status="disabled", secrets={}
    )
    ConnectionFactory(name="GHL", provider="ghl")
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/syncs/new/?recipe=hubstaff_client_to_ghl_contact")
    options = page.locator("select[name=source_connection] option").all_inner_texts()
    assert options[0].startswith("Hubstaff main · 1001 · connected · duplicate")  # working ones first
    assert any(o.startswith("⚠ Hubstaff broken · 1002 · Needs re-auth") for o in options)
    assert not any("duplicate" in o for o in options if "broken" in o)
    page.select_option("select[name=source_connection]", str(off.pk))
    page.click("button:has-text('Create sync')")
    page.wait_for_selector("#sync-create-form .errorlist")
    assert "Hubstaff off is disconnected; connect it again first." in page.locator("#sync-create-form").inner_text()
    page.evaluate("document.querySelector('select[name=source_connection]').size = 5")  # show the options
    both_widths(page, "sync-new-picker", tmp_path)
