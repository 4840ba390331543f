"""Browser: an admin invites a user and changes a role on the Users page; an editor is refused the page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from dashboard.access import role_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", user.raw_password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_an_admin_invites_a_user_and_promotes_another_from_the_users_page(page, live_server, admin_user, make_user):
    reader = make_user("Viewer", email="reader@example.com")
    _login(page, live_server, admin_user)
    page.click("nav >> text=Users")
    page.wait_for_url(f"{live_server.url}/users/")
    page.fill("#invite-form input[name=email]", "new.colleague@example.com")
    page.select_option("#invite-form select[name=role]", "Editor")
    page.click("#invite-form button[type=submit]")
    page.wait_for_selector("text=Invited new.colleague@example.com as Editor")
    row = page.locator("tr", has_text="new.colleague@example.com")
    assert "invited, no password yet" in row.inner_text()
    assert [m.to for m in mail.outbox] == [["new.colleague@example.com"]]
    assert role_of(get_user_model().objects.get(email="new.colleague@example.com")) == "Editor"

    page.select_option(f"#role-{reader.pk}", "Admin")
    page.locator("tr", has_text="reader@example.com").get_by_role("button", name="Change").click()
    page.wait_for_selector("text=reader@example.com is now Admin.")
    assert role_of(get_user_model().objects.get(pk=reader.pk)) == "Admin"
    page.screenshot(path="/tmp/users-page.png", full_page=True)


def test_an_invalid_address_shows_the_error_in_place_and_creates_nobody(page, live_server, admin_user):
    _login(page, live_server, admin_user)
    page.goto(f"{live_server.url}/users/")
    count = get_user_model().objects.count()
    page.fill("#invite-form input[name=email]", "no-at-sign")
    page.click("#invite-form button[type=submit]")
    page.wait_for_selector("#invite-form .errorlist")
    assert "valid email" in page.locator("#invite-form .errorlist").inner_text()
    assert get_user_model().objects.count() == count


def test_an_editor_gets_403_on_the_users_page(page, live_server, editor):
    _login(page, live_server, editor)
    response = page.goto(f"{live_server.url}/users/")
    assert response.status == 403
    assert page.locator("nav >> text=Users").count() == 0
