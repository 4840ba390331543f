"""The agency page, the fleet and the sync template pages: who may read and who may change what, and what they
show (health rolled up per location, the rate budget spent now, search and filters)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from contacts_sync import models as m
from contacts_sync.connectors.ghl.auth import budget_for
from contacts_sync.services.sync_templates import sync_template_create
from tests.factories import ConnectionFactory, SyncFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet_data(admin_user: Any) -> dict[str, Any]:
    agency = ConnectionFactory(
        name="Acme Agency",
        external_account_id="",
        company_id="co-acme",
        auth_kind=m.AuthKind.OAUTH2,
        secrets={"access_token": "at-x", "refresh_token": "rt"},
    )
    berlin = ConnectionFactory(
        name="Berlin Mitte",
        external_account_id="loc-berlin",
        agency=agency,
        auth_kind=m.AuthKind.LOCATION_TOKEN,
        company_id="co-acme",
    )
    koeln = ConnectionFactory(
        name="Köln",
        external_account_id="loc-koeln",
        agency=agency,
        auth_kind=m.AuthKind.LOCATION_TOKEN,
        company_id="co-acme",
        status=m.ConnectionStatus.NEEDS_REAUTH,
        last_error="invalid_grant",
    )
    solo = ConnectionFactory(name="Standalone shop", external_account_id="loc-solo")
    for loc in (berlin, koeln):
        m.AgencyLocation.objects.create(
            agency=agency, location_id=loc.external_account_id, name=loc.name, installed=True, connection=loc
        )
    m.AgencyLocation.objects.create(agency=agency, location_id="loc-bonn", name="Bonn", installed=False)
    m.AgencyLocation.objects.create(
        agency=agency,
        location_id="loc-hamm",
        name="Hamm",
        installed=True,
        connect_error="HighLevel refused a token for location loc-hamm: 403",
    )
    hub = ConnectionFactory(
        name="Acme Hubstaff", provider=m.Provider.HUBSTAFF, auth_kind=m.AuthKind.API_KEY, external_account_id="org-1"
    )
    template = sync_template_create(
        name="Clients",
        recipe="hubstaff_client_to_ghl_contact",
        counterpart=hub,
        locations=[berlin, koeln],
        user=admin_user,
        agency=agency,
    )
    m.Sync.objects.filter(template_member__template=template).update(enabled=True)  # as if gone live
    m.Sync.objects.filter(template_member__location=berlin).update(
        health=m.SyncHealth.FAILING, health_reason="GHL answered 503"
    )
    SyncFactory(name="Solo clients", source_connection=hub, target_connection=solo, health=m.SyncHealth.HEALTHY)
    return {"agency": agency, "berlin": berlin, "koeln": koeln, "solo": solo, "hub": hub, "template": template}


def test_a_viewer_reads_the_agency_the_fleet_and_the_templates_but_changes_nothing(
    login: Any, viewer: Any, fleet_data: dict[str, Any]
) -> None:
    c = login(viewer)
    agency, template = fleet_data["agency"], fleet_data["template"]
    member = template.members.first()
    for url in (f"/connections/agencies/{agency.pk}/", "/fleet/", "/templates/", f"/templates/{template.pk}/"):
        response = c.get(url)
        assert response.status_code == 200, url
        assert b"Connect chosen" not in response.content and b"Pause all" not in response.content
    for url in (
        f"/templates/{template.pk}/mapping/",
        "/templates/new/",
        f"/templates/{template.pk}/locations/{member.pk}/",
    ):
        assert c.get(url).status_code == 403, url
    posts = [f"/connections/agencies/{agency.pk}/{p}/" for p in ("refresh", "connect", "settings", "location-token")]
    posts += [f"/templates/{template.pk}/{p}/" for p in ("pause", "settings", "apply", "mapping")]
    for url in posts:
        assert c.post(url, {"paused": "1", "all": "1"}).status_code == 403, url
    assert m.Sync.objects.filter(enabled=False).count() == 0
    assert not m.AuditEntry.objects.filter(actor=viewer).exclude(action="user.login").exists()


def test_an_editor_pauses_a_templates_locations_but_may_not_connect_an_agencys(
    login: Any, editor: Any, fleet_data: dict[str, Any]
) -> None:
    c = login(editor)
    agency, template = fleet_data["agency"], fleet_data["template"]
    assert c.post(f"/connections/agencies/{agency.pk}/connect/", {"all": "1"}).status_code == 403
    assert c.get("/connections/agencies/private-token/").status_code == 403
    response = c.post(f"/templates/{template.pk}/pause/", {"paused": "1"}, follow=True)
    assert "Paused 2 syncs." in response.content.decode()
    assert set(template.members.values_list("sync__enabled", flat=True)) == {False}
    one = template.members.order_by("pk").first()
    c.post(f"/templates/{template.pk}/pause/", {"paused": "0", "member": str(one.pk)})
    assert list(template.members.order_by("pk").values_list("sync__enabled", flat=True)) == [True, False]
    assert m.AuditEntry.objects.filter(actor=editor, action="sync.pause").count() == 2


def test_the_agency_page_shows_each_sub_accounts_state_and_the_connection_page_leads_there(
    login: Any, admin_user: Any, fleet_data: dict[str, Any]
) -> None:
    c = login(admin_user)
    agency = fleet_data["agency"]
    assert c.get(f"/connections/{agency.pk}/")["Location"] == f"/connections/agencies/{agency.pk}/"
    page = c.get(f"/connections/agencies/{agency.pk}/").content.decode()
    for name, state in (
        ("Berlin Mitte", "Connected"),
        ("Köln", "Connected, with a problem"),
        ("Bonn", "App not installed"),
        ("Hamm", "Not connected"),
    ):
        assert name in page and state in page
    assert "refused a token for location loc-hamm" in page and "Connect chosen" in page
    filtered = c.get(f"/connections/agencies/{agency.pk}/", {"state": "failed"}).content.decode()
    assert "Hamm" in filtered and "Berlin Mitte" not in filtered
    listing = c.get("/connections/").content.decode()
    assert "via Acme Agency" in listing and f"/connections/agencies/{agency.pk}/" in listing


def test_the_fleet_rolls_health_up_per_location_and_shows_the_budget_spent_now(
    login: Any, viewer: Any, fleet_data: dict[str, Any], redis_client: Any
) -> None:
    budget = budget_for(settings.REDIS_URL, "loc-berlin", {})
    budget.reset()
    for _ in range(37):
        assert budget.try_acquire() == 0
    try:
        page = login(viewer).get("/fleet/")
    finally:
        budget.reset()
    html = page.content.decode()
    assert page.status_code == 200
    berlin = html.split('data-location="loc-berlin"')[1].split("</tr>")[0]
    assert 'data-health="failing"' in berlin and "GHL answered 503" in berlin and "37 / 100" in berlin
    koeln = html.split('data-location="loc-koeln"')[1].split("</tr>")[0]
    assert 'data-health="needs_reauth"' in koeln and "0 / 100" in koeln
    solo = html.split('data-location="loc-solo"')[1].split("</tr>")[0]
    assert 'data-health="healthy"' in solo
    assert html.index("Acme Agency") < html.index("Sub-accounts connected on their own")


def test_the_fleet_searches_and_filters(login: Any, viewer: Any, fleet_data: dict[str, Any]) -> None:
    c = login(viewer)
    by_name = c.get("/fleet/", {"q": "köln"}).content.decode()
    assert 'data-location="loc-koeln"' in by_name and 'data-location="loc-berlin"' not in by_name
    by_sync = c.get("/fleet/", {"q": "solo clients"}).content.decode()
    assert 'data-location="loc-solo"' in by_sync and 'data-location="loc-koeln"' not in by_sync
    failing = c.get("/fleet/", {"health": "failing"}).content.decode()
    assert 'data-location="loc-berlin"' in failing and 'data-location="loc-solo"' not in failing
    agency = c.get("/fleet/", {"agency": str(fleet_data["agency"].pk)}).content.decode()
    assert 'data-location="loc-solo"' not in agency and "1 of" not in agency
    nothing = c.get("/fleet/", {"q": "no such place"}).content.decode()
    assert "No location matches" in nothing


def test_an_agency_is_not_offered_as_a_syncs_connection(login: Any, editor: Any, fleet_data: dict[str, Any]) -> None:
    page = login(editor).get("/syncs/new/", {"recipe": "hubstaff_client_to_ghl_contact"}).content.decode()
    assert "Berlin Mitte" in page and "Acme Agency" not in page


def test_the_fleet_pages_a_large_agency_keeping_the_filters_and_the_whole_groups_tally(login: Any, viewer: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from contacts_sync.selectors.fleet import FLEET_PAGE_SIZE

    agency = ConnectionFactory(
        name="Big Agency",
        external_account_id="",
        company_id="co-big",
        auth_kind=m.AuthKind.OAUTH2,
        secrets={"access_token": "at", "refresh_token": "rt"},
    )
    n = FLEET_PAGE_SIZE + 30
    for i in range(n):
        ConnectionFactory(
            name=f"Shop {i:03d}",
            external_account_id=f"loc-{i:03d}",
            agency=agency,
            auth_kind=m.AuthKind.LOCATION_TOKEN,
            company_id="co-big",
            status=m.ConnectionStatus.NEEDS_REAUTH if i % 10 == 0 else m.ConnectionStatus.CONNECTED,
        )
    c = login(viewer)
    first = c.get("/fleet/", {"q": "shop"}).content.decode()
    assert f"1–{FLEET_PAGE_SIZE} of {n}" in first
    assert first.count('data-location="loc-') == FLEET_PAGE_SIZE and 'data-location="loc-000"' in first
    assert "?q=shop&amp;page=2" in first  # the next page keeps the search
    # The agency's tally counts every location, not only this page's: 13 need re-auth, 117 have no syncs.
    assert "13 needs re-auth" in first and "117 no syncs" in first
    with CaptureQueriesContext(connection) as queries:
        second = c.get("/fleet/", {"q": "shop", "page": "2"}).content.decode()
    assert f"{FLEET_PAGE_SIZE + 1}–{n} of {n}" in second
    assert second.count('data-location="loc-') == 30 and 'data-location="loc-129"' in second
    assert "13 needs re-auth" in second
    small = len(queries)
    assert c.get("/fleet/", {"q": "shop", "page": "999"}).content.decode().count('data-location="loc-') == 30
    with CaptureQueriesContext(connection) as again:
        c.get("/fleet/", {"q": "shop", "page": "1"})
    assert len(again) == small  # the queries do not grow with the rows shown
