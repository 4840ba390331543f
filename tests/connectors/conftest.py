"""Fixtures for connector tests: the real sandbox process (tests/sandbox_fixture.py) and per-app helpers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from contacts_sync.connectors.base import ConnectionInfo
from contacts_sync.connectors.registry import get_connector

HUBSTAFF_ORG = "1001"
HUBSTAFF_PROJECT = 3001


class LockedStore:
    """A TokenStore shared by several clients in this process, counting saves (stands in for the DB store)."""

    def __init__(self, secrets: dict[str, Any]) -> None:
        self.secrets = dict(secrets)
        self.saves = 0
        self._lock = threading.Lock()

    def lock(self) -> Any:
        return self._lock

    def load(self) -> dict[str, Any]:
        return dict(self.secrets)

    def save(self, secrets: dict[str, Any], *, expires_at: Any = None, scopes: Any = None) -> None:
        self.secrets = {**self.secrets, **secrets, "expires_at": expires_at}
        self.saves += 1


class HubstaffBox:
    """The Hubstaff emulator inside the session sandbox, reset for one test."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.url = f"{sandbox.url}/hubstaff"
        self.http = requests.Session()

    def admin(self, method: str, action: str, **kw: Any) -> Any:
        r = self.http.request(method, f"{self.url}/_admin/{action}", timeout=10, **kw)
        r.raise_for_status()
        return r.json()

    def new_pat(self) -> str:
        return str(self.admin("POST", "pats", json={})["refresh_token"])

    def stats(self) -> dict[str, Any]:
        return self.admin("GET", "stats")

    def access_token(self) -> str:
        r = self.http.post(
            f"{self.url}/access_tokens",
            data={"grant_type": "refresh_token", "refresh_token": self.new_pat()},
            timeout=10,
        )
        r.raise_for_status()
        return str(r.json()["access_token"])

    def info(
        self, *, secrets: dict[str, Any] | None = None, account_id: str = HUBSTAFF_ORG, **kw: Any
    ) -> ConnectionInfo:
        return ConnectionInfo(
            provider="hubstaff",
            connection_id=None,
            account_id=account_id,
            base_url=self.url,
            secrets=secrets or {"refresh_token": self.new_pat()},
            **kw,
        )

    def connector(self, **kw: Any) -> Any:
        return get_connector(self.info(**kw))


@pytest.fixture
def hubstaff(sandbox: Any) -> Iterator[HubstaffBox]:
    sandbox.reset("hubstaff")
    box = HubstaffBox(sandbox)
    yield box
    box.http.close()
    sandbox.reset("hubstaff")
