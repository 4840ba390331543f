"""Browser: the agency, fleet and sync template pages at 1440 px and at 390 px (a phone), with data as agencies have
it (long names, a sub-account that failed to connect, budgets being spent, a location with overrides).

No page may scroll sideways and every table cell carries its label. With SCREENSHOTS_DIR set
(SCREENSHOTS_DIR=docs/screenshots) the test also refreshes the screenshots listed in docs/screens.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from contacts_sync import models as m
from contacts_sync.connectors.ghl.auth import budget_for
from contacts_sync.services import sync_templates
from tests.e2e.monitoring_seed import browser_login
from tests.e2e.test_screens import DESKTOP, PHONE, _overflow, _shot, _unlabelled_cells
from tests.factories import ConnectionFactory, RunFactory
from tests.services.test_sync_templates import location

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_LOCATION = "Zahnarztpraxis Dr. Bernadette Oyelaran-Fitzgerald und Partner, Standort Charlottenburg-Wilmersdorf"


def _agency_data(sandbox: Any, editor: Any) -> dict[str, Any]:
    import requests

    agency = ConnectionFactory(
        name="Acme Marketing Agency",
        external_account_id="",
        company_id="ve9EPM428h8vShlRW1KT",
        auth_kind=m.AuthKind.OAUTH2,
        base_url=sandbox.ghl_url,
        secrets={"access_token": "at-shot", "refresh_token": "rt-shot"},
        config={"connect_new": True, "listed_at": "2026-05-04T09:12:00+00:00", "listed_count": 6},
    )
    names = ["Berlin Mitte", "Köln Ehrenfeld", LONG_LOCATION]
    locations = []
    for i, name in enumerate(names):
        loc = location(sandbox, name)
        m.Connection.objects.filter(pk=loc.pk).update(agency=agency, company_id=agency.company_id)
        loc.refresh_from_db()
        locations.append(loc)
        m.AgencyLocation.objects.create(
            agency=agency,
            location_id=loc.external_account_id,
            name=name,
            email=f"office{i}@acme-clients.example",
            installed=True,
            connection=loc,
        )
    m.Connection.objects.filter(pk=locations[1].pk).update(
        status=m.ConnectionStatus.NEEDS_REAUTH,
        last_error="the agency's HighLevel authorization failed: invalid_grant; reconnect the agency",
    )
    m.AgencyLocation.objects.create(
        agency=agency,
        location_id="otg8dTQqGLh3Q6iQI55w",
        name="Bonn (neu)",
        installed=True,
        connect_error="HighLevel refused a token for location "
        "otg8dTQqGLh3Q6iQI55w: ghl location_token HTTP 400: The app is not installed",
    )
    m.AgencyLocation.objects.create(agency=agency, location_id="Q6iQI55wotg8dTQqGLh3", name="Hamm", installed=False)
    from django.utils import timezone

    m.AgencyLocation.objects.create(
        agency=agency,
        location_id="Hh3Q6iQI55wotg8dTQqGL",
        name="Düsseldorf",
        installed=True,
        connect_requested_at=timezone.now(),
    )
    pat = requests.post(f"{sandbox.url}/hubstaff/_admin/pats", json={}, timeout=10).json()["refresh_token"]
    hub = m.Connection.objects.create(
        name="Acme Hubstaff",
        provider="hubstaff",
        auth_kind="api_key",
        external_account_id="1001",
        base_url=f"{sandbox.url}/hubstaff",
        secrets={"refresh_token": pat},
    )
    template = sync_templates.sync_template_create(
        name="Hubstaff clients",
        recipe="hubstaff_client_to_ghl_contact",
        counterpart=hub,
        locations=locations,
        user=editor,
        agency=agency,
    )
    member = template.members.get(location=locations[2])
    own = [
        {**r, "default": "Praxis"} if r.get("target") == "companyName" else r
        for r in template.rules
        if r.get("target") != "phone"
    ]
    sync_templates.sync_template_location_rules_set(member=member, rules=own, user=editor)
    first = template.members.get(location=locations[0]).sync
    m.Sync.objects.filter(pk=first.pk).update(
        health=m.SyncHealth.FAILING, health_reason="ServerError: HighLevel answered 503 on POST /contacts/upsert"
    )
    RunFactory(sync=first, status=m.RunStatus.FAILED)
    solo = ConnectionFactory(name="Standalone shop", external_account_id="loc-solo-shot")
    m.Sync.objects.create(
        name="Shop vendors",
        recipe="hubstaff_client_to_ghl_contact",
        source_connection=hub,
        source_object="contact",
        target_connection=solo,
        target_object="contact",
        health=m.SyncHealth.HEALTHY,
    )
    for loc, spent in ((locations[0], 87), (locations[2], 12)):
        budget = budget_for(settings.REDIS_URL, loc.external_account_id, {})
        for _ in range(spent):
            budget.try_acquire()
    return {"agency": agency, "template": template, "member": member}


def _pages(d: dict[str, Any]) -> list[tuple[str, str]]:
    t = d["template"].pk
    return [
        ("agency-detail", f"/connections/agencies/{d['agency'].pk}/"),
        ("agency-private-token", "/connections/agencies/private-token/"),
        ("ghl-connect-agency", "/connections/highlevel/connect/?kind=agency"),
        ("fleet", "/fleet/"),
        ("templates", "/templates/"),
        ("template-new", "/templates/new/"),
        ("template-new-step2", f"/templates/new/?recipe=hubstaff_client_to_ghl_contact&agency={d['agency'].pk}"),
        ("template-detail", f"/templates/{t}/"),
        ("template-mapping", f"/templates/{t}/mapping/"),
        ("template-location", f"/templates/{t}/locations/{d['member'].pk}/"),
    ]


def test_the_agency_fleet_and_template_pages_fit_a_phone_and_a_desktop(
    browser: Any, live_server: Any, sandbox: Any, admin_user: Any, tmp_path: Path
) -> None:
    screens = _pages(_agency_data(sandbox, admin_user))
    problems = []
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.set_default_timeout(15000)
        browser_login(page, live_server, admin_user)
        for name, path in screens:
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == 200, (name, path)
            page.wait_for_load_state("networkidle")
            if (excess := _overflow(page)) > 0:
                problems.append(f"{name} ({label}): {excess} px too wide")
            problems += [f"{name}: unlabelled cell {cell}" for cell in _unlabelled_cells(page)]
            _shot(page, f"{name}-{label}", tmp_path)
        context.close()
    assert problems == []
