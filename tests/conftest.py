from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import missing, start_worker

pytest_plugins = ["tests.sandbox_fixture"]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
# The emulators and receivers of the tests listen on 127.0.0.1 (any port): the documented allowlist of local
# hosts that user-entered URLs may name (apiclient/outbound.py). Set for the processes the tests start (worker,
# sandbox); `local_hosts_allowed` below sets it for this one, whose settings pytest-django has already read.
TEST_PRIVATE_URL_ALLOWLIST = ["127.0.0.1"]
os.environ.setdefault("PRIVATE_URL_ALLOWLIST", ",".join(TEST_PRIVATE_URL_ALLOWLIST))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session", autouse=True)
def local_hosts_allowed() -> Iterator[None]:
    from django.test import override_settings

    with override_settings(PRIVATE_URL_ALLOWLIST=TEST_PRIVATE_URL_ALLOWLIST):
        yield


@pytest.fixture(scope="session")
def redis_client() -> Any:
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        missing(f"Redis at {settings.REDIS_URL} is not reachable: {exc}")
    return client


@pytest.fixture
def celery_worker(transactional_db: None, redis_client: Any, tmp_path: Path) -> Iterator[Any]:
    """A real `celery worker` process consuming from the configured Redis, using the test database."""
    from django.db import connection

    proc = start_worker(connection.settings_dict["NAME"], tmp_path)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


# Reports every Content-Security-Policy violation to the console, where the page fixture collects it.
CSP_WATCH = """document.addEventListener('securitypolicyviolation', (e) => console.error(
  'CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber));"""


def csp_violations(messages: list[str]) -> list[str]:
    return [m for m in messages if "CSP violation" in m or "Content Security Policy" in m]


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A browser page; any Content-Security-Policy violation during the test fails it at teardown."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(CSP_WATCH)
    pg = context.new_page()
    pg.set_default_timeout(15000)
    console: list[str] = []
    pg.on("console", lambda msg: console.append(msg.text))
    pg.console_messages = console  # type: ignore[attr-defined]
    yield pg
    context.close()
    assert not csp_violations(console), "Content-Security-Policy violations:\n" + "\n".join(csp_violations(console))


@pytest.fixture
def make_user(db: None) -> Any:
    from contacts_sync.services.users import user_create

    def make(role: str = "Viewer", email: str | None = None, password: str = "correct-horse-battery-9") -> Any:
        email = email or f"{role.lower()}-{os.urandom(3).hex()}@example.com"
        user = user_create(email=email, role=role, password=password)
        user.raw_password = password
        return user

    return make


@pytest.fixture
def viewer(make_user: Any) -> Any:
    return make_user("Viewer")


@pytest.fixture
def editor(make_user: Any) -> Any:
    return make_user("Editor")


@pytest.fixture
def admin_user(make_user: Any) -> Any:
    return make_user("Admin")
