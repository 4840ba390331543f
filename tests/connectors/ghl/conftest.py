"""GHL client tests run over real HTTP against the emulator process (fixture `sandbox`).

Each test gets its own location + private integration token (no shared state, no resets), with the emulator's
100 / 10 s limit lifted unless the test is about rate limiting. Every exchange a test causes is checked against
the official spec after the test (tests/contracts).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from contacts_sync.apiclient.calls import CallRecord
from contacts_sync.apiclient.tokens import StaticTokenProvider
from contacts_sync.connectors.ghl.client import GHLClient
from tests.sandbox_fixture import Sandbox

# High enough that functional tests never meet the emulator's rate limit.
UNLIMITED = 1_000_000


@dataclass
class Account:
    id: str
    token: str
    sandbox: Sandbox
    calls: list[CallRecord] = field(default_factory=list)

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        return self.sandbox.admin(method, f"/ghl/_admin/{path}", **kw)

    def token_with(self, scopes: list[str], **kw: Any) -> str:
        return self.admin("POST", "tokens", json={"locationId": self.id, "scopes": scopes, **kw})["token"]


@pytest.fixture(autouse=True)
def spec_conformance(sandbox: Sandbox) -> Iterator[None]:
    """After each test: every GHL exchange it caused matches the official spec (or a recorded exception)."""
    sandbox.defer_contracts()  # what earlier tests left is reported at session end, not blamed here
    yield
    _n, problems = sandbox.check_contracts()
    assert not problems, "exchanges that do not match the official GHL spec:\n" + "\n".join(problems)


@pytest.fixture
def account(sandbox: Sandbox) -> Iterator[Account]:
    acct = Account(id=f"loc-{uuid.uuid4().hex[:12]}", token=f"pit-{uuid.uuid4().hex}", sandbox=sandbox)
    sandbox.admin("POST", "/ghl/_admin/locations", json={"id": acct.id, "token": acct.token, "name": "Test"})
    sandbox.set_faults("ghl", acct.id, rate_limit=UNLIMITED)
    yield acct
    sandbox.admin("DELETE", "/_admin/faults", params={"app": "ghl", "account": acct.id})


@pytest.fixture
def make_ghl(sandbox: Sandbox, account: Account) -> Callable[..., GHLClient]:
    def make(token: str | None = None, **kw: Any) -> GHLClient:
        kw.setdefault("sleep", lambda _s: None)
        kw.setdefault("on_call", account.calls.append)
        kw.setdefault("token_provider", StaticTokenProvider(token or account.token))
        return GHLClient(location_id=account.id, base_url=sandbox.ghl_url, **kw)

    return make


@pytest.fixture
def ghl(make_ghl: Callable[..., GHLClient]) -> GHLClient:
    return make_ghl()
