"""config/wsgi.py: what gunicorn serves. Webhook URLs skip the browser middleware; every other URL keeps it."""

from __future__ import annotations

import io
import json
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from config import wsgi
from contacts_sync.models import Connection, EventStatus, InboundEvent
from contacts_sync.services import inbox
from tests.factories import ConnectionFactory
from tests.webhooks.signing import ghl_body, sign_ed25519

pytestmark = [pytest.mark.usefixtures("ghl_keys", "transactional_db")]


def call(path: str, method: str = "GET", body: bytes = b"", **headers: str) -> tuple[int, dict[str, str], bytes]:
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    environ.update(
        PATH_INFO=path,
        REQUEST_METHOD=method,
        HTTP_HOST="localhost",
        CONTENT_TYPE="application/json",
        CONTENT_LENGTH=str(len(body)),
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
    )
    environ["wsgi.input"] = io.BytesIO(body)
    started: list[Any] = []
    chunks = wsgi.application(environ, lambda status, hdrs, *_: started.append((status, hdrs)))
    content = b"".join(chunks)
    status, hdrs = started[0]
    return int(status.split()[0]), {k.lower(): v for k, v in hdrs}, content


def test_a_signed_webhook_through_the_lean_handler_is_stored_without_sessions_or_cookies() -> None:
    conn = ConnectionFactory(external_account_id="loc-lean")
    body = ghl_body(location_id="loc-lean")
    status, headers, content = call("/webhooks/ghl/", "POST", body, **{"x-ghl-signature": sign_ed25519(body)})
    assert (status, json.loads(content)["status"]) == (200, "accepted")
    assert "set-cookie" not in headers and "vary" not in headers  # no session, no CSRF, no messages
    assert headers["x-content-type-options"] == "nosniff"  # SecurityMiddleware stays
    event = InboundEvent.objects.get()
    assert (event.connection_id, event.status, event.account_id) == (conn.pk, EventStatus.PENDING, "loc-lean")
    again = call("/webhooks/ghl/", "POST", body, **{"x-ghl-signature": sign_ed25519(body)})
    assert (again[0], json.loads(again[2])) == (200, {"status": "duplicate", "event": event.pk})


def test_the_lean_handler_still_refuses_what_the_views_refuse() -> None:
    body = ghl_body()
    assert call("/webhooks/ghl/", "POST", body, **{"x-ghl-signature": sign_ed25519(body + b" ")})[0] == 401
    assert call("/webhooks/ghl/")[0] == 405
    assert call("/webhooks/not-a-token/", "POST", body)[0] == 404
    assert not InboundEvent.objects.exists()


def test_pages_keep_the_full_middleware() -> None:
    status, headers, _ = call("/")
    assert status == 302 and "/accounts/login/" in headers["location"]
    assert "content-security-policy" in headers


def test_the_one_statement_insert_names_the_models_tables() -> None:
    assert f"INSERT INTO {InboundEvent._meta.db_table} " in inbox.GHL_EVENT_INSERT
    assert f"FROM {Connection._meta.db_table} WHERE" in inbox.GHL_EVENT_INSERT
