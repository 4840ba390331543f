"""The Content-Security-Policy holds on every page: a browser crawls the whole dashboard and the account pages as
an admin, with htmx polling, and sees no violation (the `page` fixture fails a test on any)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import csp_violations
from tests.e2e.monitoring_seed import browser_login, seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_PAGES = 80  # the seeded dashboard has about 40 distinct pages; a bound keeps a link loop from running on
SKIP = ("/accounts/logout/", "/metrics", "/healthz", "/static/", "/webhooks/")
ACCOUNT_PAGES = [
    "/accounts/2fa/",
    "/accounts/2fa/totp/activate/",
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/reauthenticate/",
]


def _links(page: Any, origin: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    out = []
    for href in hrefs:
        parts = urlsplit(href)
        downloads = parts.path.endswith(".csv")  # a file, not a page (the run items' CSV export)
        if f"{parts.scheme}://{parts.netloc}" == origin and not parts.path.startswith(SKIP) and not downloads:
            out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out


def test_every_page_loads_without_a_csp_violation(page: Any, live_server: Any, make_user: Any) -> None:
    seeded = seed()
    admin = make_user("Admin")
    browser_login(page, live_server, admin)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "poll" in r.url else None)

    first = page.goto(f"{live_server.url}/")
    policy = first.headers.get("content-security-policy", "")
    assert (
        "script-src 'self'" in policy
        and "unsafe-eval" not in policy
        and "'unsafe-inline'" not in policy.split("style-src-attr")[0]
    )
    # htmx is loaded, runs without eval, and the overview's live part polls (a run is active in the seed)
    assert page.evaluate("window.htmx && htmx.config.allowEval") is False
    page.wait_for_timeout(6500)
    assert any("/status/poll" in url for url in polls), polls

    seen: set[str] = set()
    queue = ["/", f"/runs/{seeded['failed_run'].pk}/", *ACCOUNT_PAGES]
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status < 500, f"{path} answered {response and response.status}"
        page.wait_for_load_state("load")
        queue.extend(link for link in _links(page, live_server.url) if link not in seen)
    assert len(seen) >= 20, sorted(seen)
    assert not csp_violations(page.console_messages), sorted(seen)


def test_signing_in_through_the_form_keeps_to_the_policy(
    page: Any, live_server: Any, make_user: Any, tmp_path: Path
) -> None:
    user = make_user("Viewer")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", user.raw_password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    # htmx is loaded on the page the login lands on, and nothing on the way broke the policy
    assert page.evaluate("typeof htmx") == "object"
    assert not csp_violations(page.console_messages)
