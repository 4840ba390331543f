"""Browser: connect HighLevel through OAuth against the emulator, a tampered state, forms, htmx test, secrets."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest

from contacts_sync.models import Connection
from tests.factories import ConnectionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def oauth_settings(settings: Any) -> Any:
    settings.GHL_CLIENT_ID, settings.GHL_CLIENT_SECRET = "sandbox-client-id", "sandbox-client-secret"
    return settings


def login(page: Any, live_server: Any, user: Any) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", user.raw_password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def start_oauth(page: Any, live_server: Any, sandbox: Any, name: str = "Main location") -> None:
    page.goto(f"{live_server.url}/connections/")
    page.click("text=Connect HighLevel")
    page.fill("input[name=name]", name)
    page.click("summary:has-text('Advanced')")
    page.fill("input[name=base_url]", sandbox.ghl_url)
    page.click("button:has-text('Continue to HighLevel')")
    page.wait_for_url(f"{sandbox.ghl_url}/oauth/chooselocation*")


def test_an_admin_connects_highlevel_through_oauth_and_sees_connected(
    page, live_server, clean_sandbox, admin_user, oauth_settings
):
    login(page, live_server, admin_user)
    start_oauth(page, live_server, clean_sandbox)
    assert "contacts.readonly" in page.content()  # the emulator's consent page lists the scopes we asked for
    page.click(f"a.choose:has-text('{clean_sandbox.location_id}')")
    page.wait_for_url(f"{live_server.url}/connections/*/")
    assert page.locator("h1").inner_text() == "Main location"
    assert page.locator(".conn-status .badge").first.inner_text() == "Connected"
    assert "Main location: connected." in page.locator(".messages").inner_text()
    connection = Connection.objects.get()
    assert connection.external_account_id == clean_sandbox.location_id and connection.auth_kind == "oauth2"
    for secret in connection.secrets.values():
        assert secret not in page.content()
    page.goto(f"{live_server.url}/connections/")
    assert page.locator(f"#conn-status-{connection.pk} .badge").inner_text() == "Connected"
    page.screenshot(path="/tmp/connections-list.png", full_page=True)


def test_a_tampered_state_shows_the_error_and_stores_nothing(
    page, live_server, clean_sandbox, admin_user, oauth_settings
):
    login(page, live_server, admin_user)
    start_oauth(page, live_server, clean_sandbox)
    href = page.locator("a.choose").first.get_attribute("href")
    query = parse_qs(urlsplit(href).query)
    query["state"] = [query["state"][0][:-4] + "AAAA"]
    page.goto(urlunsplit(urlsplit(page.url)._replace(query=urlencode(query, doseq=True))))
    page.wait_for_url(f"{live_server.url}/connections/highlevel/callback/*")
    error = page.locator("#oauth-error").inner_text()
    assert "state parameter was altered" in error.lower() and "nothing was stored" in error
    assert Connection.objects.count() == 0
    page.screenshot(path="/tmp/connections-oauth-error.png", full_page=True)


def test_the_test_button_updates_the_badge_in_place_with_the_providers_message(
    page, live_server, clean_sandbox, admin_user
):
    connection = ConnectionFactory(
        name="Main",
        secrets={"access_token": clean_sandbox.token},
        external_account_id=clean_sandbox.location_id,
        base_url=clean_sandbox.ghl_url,
        status="connected",
    )
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/connections/")
    page.evaluate("window.__same_page = true")
    Connection.objects.filter(pk=connection.pk).update(secrets={"access_token": "pit-revoked"})
    cell = page.locator(f"#conn-status-{connection.pk}")
    cell.get_by_role("button", name="Test").click()
    page.wait_for_function(f"() => document.querySelector('#conn-status-{connection.pk} .badge').innerText === 'Error'")
    assert page.evaluate("window.__same_page") is True  # htmx swapped the cell; no page load
    assert "401" in page.locator(f"#conn-status-{connection.pk} .conn-error").inner_text()
    assert "pit-revoked" not in page.content()


def test_an_admin_adds_an_app_by_api_key_and_the_secret_is_never_shown_again(
    page, live_server, clean_sandbox, admin_user
):
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/connections/add/")
    page.click("text=Connect HotspotSystem")
    page.fill("input[name=name]", "Hotspots")
    page.fill("input[name=base_url]", f"{clean_sandbox.url}/hotspotsystem")
    page.fill("input[name=secret_api_key]", "hotspot-sandbox-key")
    page.screenshot(path="/tmp/connections-form.png", full_page=True)
    page.click("button:has-text('Connect and test')")
    page.wait_for_url(f"{live_server.url}/connections/*/")
    assert page.locator(".conn-status .badge").first.inner_text() == "Connected"
    connection = Connection.objects.get(name="Hotspots")
    page.goto(f"{live_server.url}/connections/{connection.pk}/edit/")
    field = page.locator("input[name=secret_api_key]")
    assert field.get_attribute("placeholder") == "•••• set, replace?"
    assert field.input_value() == ""
    assert "hotspot-sandbox-key" not in page.content()


def test_a_wrong_key_in_the_form_is_refused_with_the_apps_message_and_nothing_is_saved(
    page, live_server, clean_sandbox, admin_user
):
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/connections/add/upguard/")
    page.fill("input[name=name]", "UpGuard")
    page.fill("input[name=base_url]", f"{clean_sandbox.url}/upguard")
    page.fill("input[name=secret_api_key]", "not-the-key")
    page.click("button:has-text('Connect and test')")
    page.wait_for_selector("#connection-form .message-error")
    error = page.locator("#connection-form .message-error").inner_text()
    assert "nothing was saved" in error and "401" in error
    assert Connection.objects.count() == 0
    assert page.input_value("input[name=name]") == "UpGuard"  # what was typed stays, except the secret
    assert page.input_value("input[name=secret_api_key]") == ""
    page.fill("input[name=secret_api_key]", "upguard-sandbox-key")
    page.click("button:has-text('Connect and test')")
    page.wait_for_url(f"{live_server.url}/connections/*/")
    assert page.locator(".conn-status .badge").first.inner_text() == "Connected"
    assert Connection.objects.get().name == "UpGuard"


def test_an_invalid_form_post_re_renders_in_place_and_creates_nothing(page, live_server, admin_user):
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/connections/add/starbuero/")
    page.fill("input[name=name]", "Star")
    page.fill("input[name=base_url]", "not a url")
    page.click("button:has-text('Connect and test')")
    page.wait_for_selector("#connection-form .errorlist")
    text = page.locator("#connection-form").inner_text()
    assert "Enter a valid URL." in text and "This field is required." in text
    assert Connection.objects.count() == 0


def test_a_custom_app_gets_a_webhook_secret_shown_once(page, live_server, clean_sandbox, admin_user):
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/connections/add/custom/")
    page.fill("input[name=name]", "Our app")
    page.fill("input[name=base_url]", f"{clean_sandbox.url}/custom")
    page.fill("input[name=secret_api_token]", "custom-sandbox-token")
    page.click("button:has-text('Connect and test')")
    page.wait_for_selector("#webhook-secret")
    shown = page.locator("#webhook-secret").input_value()
    connection = Connection.objects.get(name="Our app")
    assert shown.startswith("whsec_") and connection.secrets["webhook_secret"] == shown
    page.click("text=I have copied it")
    assert shown not in page.content()


def test_a_connection_that_needs_reauth_is_reconnected_through_consent_and_keeps_its_syncs(
    page, live_server, clean_sandbox, admin_user, oauth_settings
):
    from datetime import timedelta

    from django.utils import timezone

    from contacts_sync.services import connections as svc
    from tests.factories import SyncFactory

    login(page, live_server, admin_user)
    start_oauth(page, live_server, clean_sandbox)
    page.click(f"a.choose:has-text('{clean_sandbox.location_id}')")
    page.wait_for_url(f"{live_server.url}/connections/*/")
    connection = Connection.objects.get()
    sync = SyncFactory(target_connection=connection)
    clean_sandbox.admin("POST", "/ghl/_admin/locations", json={"id": clean_sandbox.location_id, "active": False})
    Connection.objects.filter(pk=connection.pk).update(token_expires_at=timezone.now() - timedelta(minutes=1))
    svc.connection_check(connection=connection)
    clean_sandbox.admin("POST", "/ghl/_admin/locations", json={"id": clean_sandbox.location_id, "active": True})

    page.goto(f"{live_server.url}/connections/")
    cell = page.locator(f"#conn-status-{connection.pk}")
    assert cell.locator(".badge").inner_text() == "Needs re-auth"
    assert "Location is not active" in cell.inner_text()
    cell.get_by_role("link", name="Connect again →").click()
    assert page.input_value("input[name=name]") == "Main location"
    page.click("button:has-text('Continue to HighLevel')")
    page.click(f"a.choose:has-text('{clean_sandbox.location_id}')")
    page.wait_for_url(f"{live_server.url}/connections/{connection.pk}/")
    assert page.locator(".conn-status .badge").first.inner_text() == "Connected"
    assert Connection.objects.filter(provider="ghl").count() == 1
    sync.refresh_from_db()
    assert sync.target_connection_id == connection.pk and sync.health != "needs_reauth"
