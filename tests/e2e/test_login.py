from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_viewer_logs_in_through_the_allauth_form_and_sees_the_overview(page, live_server, make_user):
    user = make_user("Viewer", email="reader@example.com")
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", user.raw_password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").first.inner_text() == "Overview"
    assert page.locator(".user").inner_text().count("reader@example.com") == 1
    page.screenshot(path="/tmp/overview-login.png", full_page=True)


def test_a_wrong_password_keeps_the_user_on_the_login_form_with_a_message(page, live_server, make_user):
    user = make_user("Viewer")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", "not-the-password")
    page.click("form button[type=submit]")
    assert page.get_by_text("The email address and/or password you specified are not correct.").is_visible()
    assert "/accounts/login/" in page.url
    page.screenshot(path="/tmp/login-error.png", full_page=True)
