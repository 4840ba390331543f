"""Browser: 403, 404 and 500 pages in the site's layout, with the navigation and a way back, on a phone too."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.monitoring_seed import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _shot(page: Any, name: str, tmp_path: Path) -> None:
    page.screenshot(path=str(Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path) / name), full_page=True)


def _fits(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_viewer_opening_an_editor_page_gets_a_403_with_the_navigation_and_a_way_back(
    page: Any, live_server: Any, viewer: Any, tmp_path: Path
):
    browser_login(page, live_server, viewer)
    response = page.goto(f"{live_server.url}/syncs/new/", referer=f"{live_server.url}/syncs/")
    assert response is not None and response.status == 403
    assert page.locator("h1").inner_text() == "You are not allowed to do that"
    assert "This needs the Editor role." in page.locator(".error-page").inner_text()
    assert page.locator("nav.nav a", has_text="Runs").is_visible()
    assert page.locator(".user").inner_text().count(viewer.email) == 1
    page.set_viewport_size({"width": 1440, "height": 900})
    _shot(page, "error-403-desktop.png", tmp_path)
    page.locator('[data-action="back"]').click()
    page.wait_for_url(f"{live_server.url}/syncs/")
    assert page.locator("h1").first.inner_text() == "Syncs"


def test_a_missing_url_gets_a_404_with_the_navigation_and_a_link_home(
    page: Any, live_server: Any, viewer: Any, tmp_path: Path
):
    browser_login(page, live_server, viewer)
    response = page.goto(f"{live_server.url}/runs/but-not-this/")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "There is no page here"
    assert page.locator("nav.nav a", has_text="Alerts").is_visible()
    page.set_viewport_size({"width": 1440, "height": 900})
    _shot(page, "error-404-desktop.png", tmp_path)
    page.locator('[data-action="home"]').click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").first.inner_text() == "Overview"


@pytest.mark.urls("tests.error_urls")
def test_a_server_error_gets_a_500_page_with_the_navigation(page: Any, live_server: Any, viewer: Any, tmp_path: Path):
    browser_login(page, live_server, viewer)
    response = page.goto(f"{live_server.url}/test-errors/database-down/")
    assert response is not None and response.status == 500
    assert page.locator("h1").inner_text() == "Something went wrong on our side"
    assert page.locator("nav.nav a", has_text="Connections").is_visible()
    assert "Connection refused" not in page.content()
    page.set_viewport_size({"width": 1440, "height": 900})
    _shot(page, "error-500-desktop.png", tmp_path)
    page.locator('[data-action="home"]').click()
    page.wait_for_url(f"{live_server.url}/")


@pytest.mark.urls("tests.error_urls")
def test_the_error_pages_fit_a_phone_and_keep_the_menu(browser: Any, live_server: Any, viewer: Any, tmp_path: Path):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        browser_login(page, live_server, viewer)
        for code, path in (("403", "/syncs/new/"), ("404", "/nothing-here/"), ("500", "/test-errors/database-down/")):
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == int(code)
            assert _fits(page), f"the {code} page scrolls sideways at 390 px"
            assert page.locator('[data-action="home"]').is_visible()
            _shot(page, f"error-{code}-phone.png", tmp_path)
            page.locator(".menu-button").click()
            assert page.locator("nav.nav a", has_text="Runs").is_visible()
    finally:
        context.close()
