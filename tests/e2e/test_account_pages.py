"""The account pages allauth serves (two-factor set-up, recovery codes, the invitation's "Set your password") in
the project's look, at 1440 px and 390 px, driven end to end in a real browser. Screenshots go to tmp_path (and to
$SCREENSHOTS_DIR when set)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from tests.e2e.monitoring_seed import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": 1440, "phone": 390}


def _shots(page: Any, name: str, tmp_path: Path) -> None:
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"{name}-{label}.png", tmp_path)
    page.set_viewport_size({"width": 1280, "height": 900})


def _no_horizontal_scroll(page: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "page wider than a phone"
    page.set_viewport_size({"width": 1280, "height": 900})


def _totp_code(secret: str) -> str:
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    counter = next(iter(yield_hotp_counters_from_time()))
    return format_hotp_value(hotp_value(secret, counter))


def _sign_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")


def test_a_user_turns_on_two_factor_on_the_styled_security_pages(
    page: Any, live_server: Any, make_user: Any, tmp_path: Path
) -> None:
    user = make_user("Admin")
    _sign_in(page, live_server.url, user.email, user.raw_password)
    page.wait_for_url(f"{live_server.url}/")
    page.click("text=Security")
    page.wait_for_url("**/accounts/2fa/")
    assert page.locator("h1").inner_text() == "Two-Factor Authentication"
    assert page.locator(".topbar").is_visible()  # the project's layout, with its navigation
    panel = page.locator("section.card").first
    assert "Authenticator App" in panel.inner_text()
    _no_horizontal_scroll(page)
    _shots(page, "account-2fa-off", tmp_path)

    panel.get_by_role("link", name="Activate").click()
    page.wait_for_load_state("load")
    if "/accounts/reauthenticate/" in page.url:  # allauth asks for the password again before a security change
        assert page.locator("h1").inner_text() == "Confirm Access"
        _shots(page, "account-reauthenticate", tmp_path)
        page.fill("input[name=password]", user.raw_password)
        page.click("form button[type=submit]")
    page.wait_for_url("**/accounts/2fa/totp/activate/")
    qr = page.locator("img.qr")
    assert qr.is_visible() and qr.evaluate("img => img.naturalWidth") > 0
    secret = page.locator("input[name=secret], #authenticator_secret").first.input_value()
    _no_horizontal_scroll(page)
    _shots(page, "account-totp-activate", tmp_path)

    page.fill("input[name=code]", _totp_code(secret))
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/2fa/recovery-codes/.*"))
    codes = page.locator("#recovery_codes").input_value()
    assert len(re.findall(r"\b[0-9a-f]{8}\b", codes)) >= 10
    _no_horizontal_scroll(page)
    _shots(page, "account-recovery-codes", tmp_path)

    page.goto(f"{live_server.url}/accounts/2fa/")
    assert "Authentication using an authenticator app is active." in page.locator("section.card").first.inner_text()
    _shots(page, "account-2fa-on", tmp_path)


def test_an_invited_user_sets_a_password_and_is_shown_where_to_sign_in(
    page: Any, live_server: Any, make_user: Any, tmp_path: Path
) -> None:
    admin = make_user("Admin")
    _sign_in(page, live_server.url, admin.email, admin.raw_password)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/users/")
    page.fill("#invite-form input[name=email]", "new.colleague@example.com")
    page.select_option("#invite-form select[name=role]", "Editor")
    page.click("#invite-form button[type=submit]")
    page.wait_for_selector("text=Invited new.colleague@example.com as Editor")
    link = re.search(r"http://\S+/accounts/password/reset/key/\S+", mail.outbox[-1].body).group(0)
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/")

    page.goto(link)
    assert page.locator("h1").inner_text() == "Set your password"
    assert "new.colleague@example.com" in page.locator("main").inner_text()
    _no_horizontal_scroll(page)
    _shots(page, "account-invite-set-password", tmp_path)

    page.fill("input[name=password1]", "short")
    page.fill("input[name=password2]", "short")
    page.click("form button[type=submit]")
    assert "too short" in page.locator("main").inner_text()  # the validators, shown in place

    page.fill("input[name=password1]", "lantern-orchard-ribbon-58")
    page.fill("input[name=password2]", "lantern-orchard-ribbon-58")
    page.click("form button[type=submit]")
    page.wait_for_url("**/accounts/password/reset/key/done/")
    assert page.locator("h1").inner_text() == "Your password is set"
    _shots(page, "account-invite-done", tmp_path)

    page.get_by_role("link", name="Sign in").click()
    page.wait_for_url("**/accounts/login/")
    page.fill("input[name=login]", "new.colleague@example.com")
    page.fill("input[name=password]", "lantern-orchard-ribbon-58")
    page.click("form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").first.inner_text() == "Overview"
