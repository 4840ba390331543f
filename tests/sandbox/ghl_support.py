"""What the GHL emulator tests share: a location with its PIT, an agency with an OAuth company token, a webhook
receiver that verifies GHL's Ed25519 signature, and the per-test check of every exchange against the spec.

Import the fixtures into a test module (`from tests.sandbox.ghl_support import receiver, spec_conformance`)."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from tests.sandbox_fixture import Sandbox
from tests.support import free_port, wait_until

KEYS = Path(__file__).resolve().parents[2] / "contacts_sync" / "sandbox" / "keys"
V2 = "2021-07-28"
CALENDARS = "2021-04-15"  # the Calendars API's Version header
CLIENT = {"client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"}
REDIRECT = "http://127.0.0.1:9/oauth/callback"
APP_ID = "sandbox-app"
FORM = "application/x-www-form-urlencoded"
# GHL's 401 for a token of the wrong class (an OAuth Company token on a sub-account operation and vice versa)
AUTH_CLASS_REFUSED = (
    "This authClass type is not allowed to access this scope. "
    "Please verify your IAM configuration if this is not the case."
)


def call(
    sandbox: Sandbox, method: str, path: str, token: str, *, version: str | None = V2, **kw: Any
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
    if version:
        headers["Version"] = version
    return requests.request(method, f"{sandbox.ghl_url}{path}", headers=headers, timeout=10, **kw)


class Loc:
    def __init__(self, sandbox: Sandbox, **settings: Any) -> None:
        self.sandbox = sandbox
        self.id = f"loc-{uuid.uuid4().hex[:10]}"
        self.token = f"pit-{uuid.uuid4().hex}"
        sandbox.admin("POST", "/ghl/_admin/locations", json={"id": self.id, "token": self.token, **settings})

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        version: str | None = V2,
        **kw: Any,
    ) -> requests.Response:
        return call(self.sandbox, method, path, token or self.token, version=version, **kw)

    def contact(self, **fields: Any) -> dict[str, Any]:
        r = self.call("POST", "/contacts/", json={"locationId": self.id, **fields})
        assert r.status_code == 201, r.text
        return dict(r.json()["contact"])


def code_for(sandbox: Sandbox, **choice: str) -> str:
    """Consent on the choose-location page for `location_id=` or `company_id=`; the code from the redirect."""
    params = {**choice, "client_id": CLIENT["client_id"], "redirect_uri": REDIRECT, "response_type": "code"}
    r = requests.get(f"{sandbox.ghl_url}/oauth/chooselocation", params=params, allow_redirects=False, timeout=5)
    assert r.status_code == 302, r.text
    return parse_qs(urlsplit(r.headers["location"]).query)["code"][0]


def token_request(sandbox: Sandbox, **form: str) -> requests.Response:
    return requests.post(f"{sandbox.ghl_url}/oauth/token", data={**CLIENT, **form}, timeout=10)


class Agency:
    """An agency (GHL Company) with locations, and the app installed at agency level (a company token)."""

    def __init__(self, sandbox: Sandbox, **settings: Any) -> None:
        self.sandbox = sandbox
        self.id = f"co-{uuid.uuid4().hex[:10]}"
        self.body = sandbox.admin("POST", "/ghl/_admin/agencies", json={"id": self.id, **settings})
        self.location_ids = [loc["id"] for loc in self.body["locations"]]
        self._pair: dict[str, Any] | None = None

    @property
    def pair(self) -> dict[str, Any]:
        if self._pair is None:
            code = code_for(self.sandbox, company_id=self.id)
            r = token_request(self.sandbox, grant_type="authorization_code", code=code, user_type="Company")
            assert r.status_code == 200, r.text
            self._pair = r.json()
        return self._pair

    @property
    def token(self) -> str:
        return str(self.pair["access_token"])

    def mint(self, location_id: str, path: str = "/oauth/locationToken", token: str | None = None) -> requests.Response:
        return call(
            self.sandbox,
            "POST",
            path,
            token or self.token,
            data={"companyId": self.id, "locationId": location_id},
        )

    def location_token(self, location_id: str) -> str:
        r = self.mint(location_id)
        assert r.status_code == 201, r.text
        return str(r.json()["access_token"])


class Receiver:
    """A tiny webhook receiver (a thread in the test process) keeping every body and header it gets."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/ghl/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def types(self) -> list[str]:
        return [json.loads(body)["type"] for _h, body in self.received]

    def payloads(self, count: int) -> list[dict[str, Any]]:
        """The first `count` payloads, each checked against GHL's Ed25519 signature."""
        wait_until(lambda: len(self.received) >= count, timeout=10, what=f"{count} webhooks")
        public_key = load_pem_public_key((KEYS / "ghl-webhook-ed25519-public.pem").read_bytes())
        assert isinstance(public_key, Ed25519PublicKey)
        out = []
        for headers, body in self.received[:count]:
            public_key.verify(base64.b64decode(headers["x-ghl-signature"]), body)
            out.append(json.loads(body))
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def spec_conformance(sandbox: Sandbox) -> Iterator[None]:
    sandbox.defer_contracts()  # what earlier tests left is reported at session end, not blamed here
    yield
    _n, problems = sandbox.check_contracts()
    assert not problems, "\n".join(problems)
