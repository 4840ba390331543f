"""Browser: every page reachable from the navigation, at 1440 px and at 390 px (a phone).

At 390 px no page may scroll sideways, tables become stacked cards with a label on every cell, and the
navigation hides behind a menu button. With SCREENSHOTS_DIR set (SCREENSHOTS_DIR=docs/screenshots) the tests also
refresh the screenshots listed in docs/screens.md.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from contacts_sync import models as m
from contacts_sync.services import alert_rules
from contacts_sync.services.mappings import mapping_version_create
from tests.e2e.monitoring_seed import browser_login, seed
from tests.factories import ConnectionFactory, RunFactory, SyncFactory
from tests.services.test_mappings import hubstaff_sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}  # the CSS viewport of an iPhone 12 to 15
SHOT_MAX_HEIGHT = 2600  # a phone screenshot shows the first three screens (50 stacked runs are 16,000 px tall)

RULES = [
    {"source": "name", "target": "firstName", "transforms": [{"name": "trim", "args": {}}], "required": True},
    {"source": "emails.0|email", "target": "email", "transforms": [{"name": "email", "args": {}}]},
    {"source": "phone", "target": "phone", "transforms": [{"name": "e164", "args": {}}], "on_invalid": "skip"},
]
# What real accounts look like, and what pushes a narrow layout sideways: long names, unbroken addresses.
LONG_EMAIL = "bernadette.oyelaran-fitzgerald@operations.example-holdings.com"
LONG_ERROR = (
    "invalid_grant: The refresh token is invalid, expired, revoked, does not match the redirection URI "
    "used in the authorization request, or was issued to another client: hsr_9c0f4e1a2b3c4d5e6f7a8b9c0d1e2f3a"
)


def _rich_data(sandbox: Any, admin: Any, make_user: Any) -> dict[str, Any]:
    data = seed()
    make_user("Viewer", email=LONG_EMAIL)
    faulty = ConnectionFactory(
        name="Demo Hubstaff second organization (faulty)",
        provider=m.Provider.HUBSTAFF,
        auth_kind=m.AuthKind.OAUTH2,
        external_account_id="1002",
        status=m.ConnectionStatus.NEEDS_REAUTH,
        last_error=LONG_ERROR,
    )
    big = SyncFactory(
        name="Hubstaff (second org) clients → GHL contacts",
        source_connection=faulty,
        target_connection=data["ghl"],
        poll_interval_seconds=5400,
    )
    RunFactory(
        sync=big,
        status=m.RunStatus.PARTIAL,
        read_count=128_450,
        created_count=12_034,
        updated_count=98_211,
        unchanged_count=18_003,
        failed_count=202,
        api_calls=110_517,
        http_429s=3,
    )
    spare = ConnectionFactory(
        name="starbuero.de test account",
        provider=m.Provider.STARBUERO,
        auth_kind=m.AuthKind.API_KEY,
        external_account_id="kd-2231",
    )
    archived = ConnectionFactory(
        name="Old HotspotSystem trial",
        provider=m.Provider.HOTSPOTSYSTEM,
        auth_kind=m.AuthKind.API_KEY,
        status=m.ConnectionStatus.DISABLED,
        secrets={},
    )
    m.Connection.objects.filter(pk=archived.pk).update(archived_at=timezone.now() - timedelta(days=3))
    alert_rules.alert_rule_update(
        sync=data["failing"],
        user=admin,
        failed_share_percent=10,
        failing_after_runs=2,
        stale_after_hours=6,
        slow_run_minutes=30,
        renotify_hours=4,
        channels=list(m.AlertChannel.objects.filter(kind=m.ChannelKind.EMAIL)),
    )
    alert_rules.alert_rule_mute(sync=data["degraded"], until=timezone.now() + timedelta(hours=4), user=admin)
    mapped = hubstaff_sync(sandbox, name="Hubstaff clients → GHL contacts (mapped)")
    mapping_version_create(sync=mapped, rules=RULES[:1], note="names only", user=admin)
    version = mapping_version_create(sync=mapped, rules=RULES, note="add email and phone", user=admin)
    return {
        **data,
        "mapped": mapped,
        "version": version,
        "spare": spare,
        "upguard": m.Connection.objects.get(name="UpGuard vendors"),
    }


def _pages(d: dict[str, Any]) -> list[tuple[str, str]]:
    """(screenshot name, path) of every page the navigation leads to, and of the pages one click further."""
    return [
        ("overview", "/"),
        ("syncs", "/syncs/"),
        ("sync-detail", f"/syncs/{d['failing'].pk}/"),
        ("sync-new", "/syncs/new/"),
        ("sync-new-step2", "/syncs/new/?recipe=hubstaff_client_to_ghl_contact"),
        ("mapping-edit", f"/syncs/{d['mapped'].pk}/mapping/"),
        ("mapping-history", f"/syncs/{d['mapped'].pk}/mapping/history/"),
        ("mapping-version", f"/mappings/versions/{d['version'].pk}/"),
        ("runs", "/runs/"),
        ("runs-of-a-sync", f"/runs/?sync={d['failing'].pk}"),
        ("run-detail", f"/runs/{d['failed_run'].pk}/"),
        ("alerts", "/alerts/?state="),
        ("alert-rules", "/alerts/rules/"),
        ("alert-rule-edit", f"/alerts/rules/{d['failing'].pk}/"),
        ("channels", "/alerts/channels/"),
        ("channels-slack", "/alerts/channels/?kind=slack"),
        ("channels-webhook", "/alerts/channels/?kind=webhook"),
        ("audit", "/audit/"),
        ("connections", "/connections/"),
        ("connection-detail", f"/connections/{d['upguard'].pk}/"),
        ("connections-archived", "/connections/?archived=1"),
        ("connection-delete", f"/connections/{d['spare'].pk}/delete/"),
        ("connection-delete-refused", f"/connections/{d['upguard'].pk}/delete/"),
        ("connection-clone", f"/connections/add/upguard/?from={d['upguard'].pk}"),
        ("connection-add", "/connections/add/"),
        ("connection-form", "/connections/add/hubstaff/"),
        ("ghl-connect", "/connections/highlevel/connect/"),
        ("catalog", "/catalog/"),
        ("users", "/users/"),
        ("security", "/accounts/2fa/"),
    ]


def _shot(page: Any, name: str, tmp_path: Path, *, full_page: bool = True) -> None:
    """Save the page in $SCREENSHOTS_DIR (how docs/screenshots is refreshed), else in tmp_path."""
    path = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path) / f"{name}.png"
    width = page.viewport_size["width"]
    clip = None
    if full_page and width < DESKTOP["width"]:
        height = page.evaluate("document.documentElement.scrollHeight")
        clip = {"x": 0, "y": 0, "width": width, "height": min(height, SHOT_MAX_HEIGHT)}
    page.screenshot(path=str(path), full_page=full_page, clip=clip)


def _overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the window (0 = no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def _unlabelled_cells(page: Any) -> list[str]:
    """Table cells with content but no data-label (their stacked card would show a value without its name)."""
    return page.evaluate("""[...document.querySelectorAll('tbody td:not([data-label])')]
        .filter(td => td.textContent.trim() && !td.hasAttribute('colspan') && !td.classList.contains('actions'))
        .map(td => td.closest('table').className + ': ' + td.textContent.trim().slice(0, 40))""")


def test_no_page_scrolls_sideways_on_a_phone_or_a_desktop(
    browser: Any, live_server: Any, sandbox: Any, admin_user: Any, make_user: Any, tmp_path: Path
):
    screens = _pages(_rich_data(sandbox, admin_user, make_user))
    problems = []
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.set_default_timeout(15000)
        browser_login(page, live_server, admin_user)
        for name, path in screens:
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == 200, (name, path)
            page.wait_for_load_state("networkidle")  # htmx-loaded parts (the mapping preview) are in
            if (excess := _overflow(page)) > 0:
                problems.append(f"{name} ({label}): {excess} px too wide")
            problems += [f"{name}: unlabelled cell {cell}" for cell in _unlabelled_cells(page)]
            _shot(page, f"{name}-{label}", tmp_path)
        context.close()
    assert problems == []


def test_on_a_phone_the_menu_button_opens_the_navigation(browser: Any, live_server: Any, editor: Any, tmp_path: Path):
    seed()
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        browser_login(page, live_server, editor)
        page.goto(f"{live_server.url}/")
        button = page.get_by_role("button", name="Menu")
        runs = page.locator("nav.nav a", has_text="Runs")
        assert button.is_visible() and button.get_attribute("aria-expanded") == "false"
        assert not runs.is_visible()
        top_bar = page.locator(".topbar").bounding_box()
        assert top_bar is not None and top_bar["height"] < 70  # one line, not four

        button.click()
        assert button.get_attribute("aria-expanded") == "true"
        assert runs.is_visible() and page.locator(".user", has_text="Log out").is_visible()
        _shot(page, "menu-open-phone", tmp_path, full_page=False)
        runs.click()
        page.wait_for_url(f"{live_server.url}/runs/")
        assert not page.locator("nav.nav a", has_text="Syncs").is_visible()  # a new page starts closed

        button.click()
        page.keyboard.press("Escape")
        assert button.get_attribute("aria-expanded") == "false"
        assert not page.locator("nav.nav a", has_text="Syncs").is_visible()

        page.set_viewport_size(DESKTOP)  # wide screens show the navigation itself, no button
        assert page.locator("nav.nav a", has_text="Syncs").is_visible()
        assert not button.is_visible()
    finally:
        context.close()


def test_the_login_page_fits_a_phone(browser: Any, live_server: Any, tmp_path: Path):
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        try:
            page.goto(f"{live_server.url}/accounts/login/")
            assert _overflow(page) <= 0
            assert page.locator("input[name=login]").is_visible()
            assert page.locator(".menu-button").count() == 0  # nothing to navigate to before logging in
            _shot(page, f"login-{label}", tmp_path)
        finally:
            context.close()
