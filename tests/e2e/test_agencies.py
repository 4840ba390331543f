"""Browser: connect a HighLevel agency through the OAuth Company flow against the emulator (its sub-accounts
connected by a real worker while the page follows them), and by its agency private token; a sync template
applied to the connected sub-accounts and its mapping edited once for all of them; the fleet shows them."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from contacts_sync import models as m
from tests.agency_world import agency_settings, stats
from tests.e2e.test_connections import login
from tests.sandbox.ghl_support import Agency

__all__ = ["agency_settings"]  # fixtures used by this module

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


def test_an_admin_connects_an_agency_through_oauth_and_its_sub_accounts_connect_in_the_background(
    page: Any, live_server: Any, clean_sandbox: Any, celery_worker: Any, admin_user: Any, agency_settings: Any
) -> None:
    emu = Agency(
        clean_sandbox,
        name="Acme Agency",
        locations=[
            {"name": "Berlin Mitte", "seed": 2},
            {"name": "Köln", "seed": 1},
            {"name": "Bonn", "installed": False},
        ],
    )
    minted = stats(clean_sandbox)["location_tokens"]
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/connections/")
    page.click("text=Connect an agency")
    assert page.locator("input[name=kind][value=agency]").is_checked()
    page.fill("input[name=name]", "Acme Agency")
    page.uncheck("input[name=connect_all]")  # choose them on the agency's page instead
    page.click("summary:has-text('Advanced')")
    page.fill("input[name=base_url]", clean_sandbox.ghl_url)
    page.click("button:has-text('Continue to HighLevel')")
    page.wait_for_url(f"{clean_sandbox.ghl_url}/oauth/chooselocation*")
    assert "oauth.write" in page.content()  # the agency scopes were asked for
    page.click(f"a.choose:has-text('{emu.id}')")
    page.wait_for_url(f"{live_server.url}/connections/agencies/*/")
    agency = m.Connection.objects.agencies().get()
    assert page.locator("h1").inner_text() == "Acme Agency"
    rows = page.locator("#directory tbody tr")
    assert rows.count() == 3
    assert page.locator("tr[data-location] [data-label=State]").all_inner_texts() == [
        "Not connected yet",
        "App not installed",
        "Not connected yet",
    ]  # Berlin Mitte, Bonn, Köln by name

    berlin, koeln, bonn = emu.location_ids
    page.check(f"tr[data-location='{berlin}'] input[name=location]")
    page.click("button:has-text('Connect chosen')")
    assert "Connecting 1 sub-account in the background" in page.locator(".messages").inner_text()
    page.wait_for_selector(f"tr[data-location='{berlin}'][data-state=connected]", timeout=30000)  # htmx polls
    page.click("button:has-text('Connect all installed')")
    page.wait_for_selector(f"tr[data-location='{koeln}'][data-state=connected]", timeout=30000)
    assert page.locator(f"tr[data-location='{bonn}']").get_attribute("data-state") == "not_installed"
    locations = m.Connection.objects.filter(agency=agency).order_by("name")
    assert [(c.name, c.status, c.auth_kind) for c in locations] == [
        ("Berlin Mitte", "connected", "location_token"),
        ("Köln", "connected", "location_token"),
    ]
    assert stats(clean_sandbox)["location_tokens"] - minted == 2
    html = page.content()
    for secret in [*agency.secrets.values(), *(s for c in locations for s in c.secrets.values())]:
        assert secret not in html

    page.goto(f"{live_server.url}/fleet/")
    group = page.locator(f"section.fleet-group[data-agency='{agency.pk}']")
    assert group.locator("tr[data-location]").count() == 2
    # connecting spent two of each location's own requests (the test read and the location's country)
    for lid in (berlin, koeln):
        assert group.locator(f"tr[data-location='{lid}'] [data-label=Today]").inner_text() == "2 / 200,000"
        assert "/ 100" in group.locator(f"tr[data-location='{lid}'] [data-label='Budget now']").inner_text()


def test_an_admin_connects_an_agency_by_its_private_token_and_a_sub_account_by_its_own(
    page: Any, live_server: Any, clean_sandbox: Any, admin_user: Any
) -> None:
    sub_pit = "pit-hamburg-" + "c" * 16
    emu = Agency(
        clean_sandbox, name="PIT Agency", locations=[{"name": "Hamburg", "token": sub_pit, "seed": 1}, {"name": "Kiel"}]
    )
    agency_pit = clean_sandbox.admin("POST", "/ghl/_admin/tokens", json={"companyId": emu.id})["token"]
    login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/connections/highlevel/connect/")
    page.click("text=Connect an agency by its private token")
    page.fill("input[name=name]", "PIT Agency")
    page.fill("input[name=company_id]", emu.id)
    page.fill("input[name=token]", "pit-not-the-agencys")
    page.fill("input[name=base_url]", clean_sandbox.ghl_url)
    page.click("button:has-text('Connect and list sub-accounts')")
    page.wait_for_selector("#agency-pit-form .message-error")
    assert "refused the agency token" in page.locator("#agency-pit-form").inner_text()
    assert not m.Connection.objects.exists()
    page.fill("input[name=token]", agency_pit)
    page.click("button:has-text('Connect and list sub-accounts')")
    page.wait_for_url(f"{live_server.url}/connections/agencies/*/")
    assert "Connect chosen" not in page.content()  # an agency private token cannot get sub-account tokens
    hamburg = page.locator(f"tr[data-location='{emu.location_ids[0]}']")
    hamburg.locator("input[name=token]").fill(sub_pit)
    hamburg.get_by_role("button", name="Connect").click()
    page.wait_for_selector(f"tr[data-location='{emu.location_ids[0]}'][data-state=connected]")
    connection = m.Connection.objects.get(external_account_id=emu.location_ids[0])
    assert connection.auth_kind == "private_token" and connection.agency.name == "PIT Agency"
    assert sub_pit not in page.content() and agency_pit not in page.content()


def _hubstaff(sandbox: Any) -> m.Connection:
    pat = requests.post(f"{sandbox.url}/hubstaff/_admin/pats", json={}, timeout=10).json()["refresh_token"]
    return m.Connection.objects.create(
        name="Acme Hubstaff",
        provider="hubstaff",
        auth_kind="api_key",
        external_account_id="1001",
        base_url=f"{sandbox.url}/hubstaff",
        secrets={"refresh_token": pat},
    )


def test_an_editor_applies_a_template_to_sub_accounts_and_one_mapping_edit_reaches_each_sync(
    page: Any, live_server: Any, sandbox: Any, editor: Any
) -> None:
    from tests.services.test_sync_templates import location

    hub = _hubstaff(sandbox)
    berlin, koeln = location(sandbox, "Berlin Mitte"), location(sandbox, "Köln")
    login(page, live_server, editor)
    page.goto(f"{live_server.url}/fleet/")
    page.click("text=Sync templates")
    page.click("text=+ New template")
    page.click("[data-recipe=hubstaff_client_to_ghl_contact]")
    page.fill("input[name=name]", "Clients")
    page.select_option("select[name=counterpart]", str(hub.pk))
    page.click("button:has-text('Tick all')")
    page.click("button:has-text('Create template and its syncs')")
    page.wait_for_url(f"{live_server.url}/templates/*/")
    template = m.SyncTemplate.objects.get()
    assert page.locator("table.template-members tbody tr").count() == 2
    assert "applied to 2 location(s)" in page.locator(".messages").inner_text()

    page.click("text=Edit the mapping")
    page.wait_for_selector("#mapping-form .map-row")
    source_row = page.locator(".map-row", has=page.locator("select.map-target option[selected][value=source]"))
    source_row.locator("input[name$='-value']").fill("Agency import")
    page.fill("input[name=note]", "source says agency")
    page.click("button:has-text('Save as new version')")
    page.wait_for_url(f"{live_server.url}/templates/{template.pk}/")
    assert "2 location sync(s) got a new mapping version" in page.locator(".messages").inner_text()
    for loc in (berlin, koeln):
        sync = m.Sync.objects.select_related("mapping_version").get(target_connection=loc)
        rule = next(r for r in sync.mapping_version.rules if r["target"] == "source")
        assert (sync.mapping_version.number, rule["constant"]) == (2, "Agency import")
    page.goto(f"{live_server.url}/fleet/")
    assert page.locator("tr[data-location] .fleet-syncs li").count() == 2
