"""What the app-flow tests share: connections to the emulators, a sync from a recipe, a real run, what the GHL
emulator received (its recorded exchanges, request bodies included), and the per-test spec check.

Import the fixture into a test module: `from tests.connectors.flows import spec_checked`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from contacts_sync import models as m
from contacts_sync.services import runs
from contacts_sync.services.syncs import sync_create_from_recipe
from tests.factories import ConnectionFactory
from tests.sandbox_fixture import Sandbox
from tests.sync.world import GhlApi, limits_off, wait_finished

APPS = {
    # provider: (auth kind, secrets, config)
    "hotspotsystem": ("api_key", {"api_key": "hotspot-sandbox-key"}, {}),
    "upguard": ("api_key", {"api_key": "upguard-sandbox-key"}, {"rate_limit_per_minute": 0}),
    "starbuero": ("api_key", {"api_token": "starbuero-sandbox-token"}, {}),
    "custom": ("webhook_secret", {"api_token": "custom-sandbox-token"}, {}),
}


@pytest.fixture(autouse=True)
def spec_checked(sandbox: Sandbox) -> Iterator[None]:
    """After each test: every GHL exchange it caused matches the official spec (or a recorded exception)."""
    sandbox.defer_contracts()  # what earlier tests left is reported at session end, not blamed here
    yield
    _n, problems = sandbox.check_contracts()
    assert not problems, "exchanges that do not match the official GHL spec:\n" + "\n".join(problems)


def app_connection(sandbox: Sandbox, provider: str, **config: Any) -> m.Connection:
    auth, secrets, base_config = APPS[provider]
    return ConnectionFactory(
        provider=provider,
        auth_kind=auth,
        secrets=secrets,
        config={**base_config, **config},
        external_account_id="",
        base_url=f"{sandbox.url}/{provider}",
    )


def ghl_connection(sandbox: Sandbox) -> m.Connection:
    return ConnectionFactory(
        provider="ghl",
        external_account_id=sandbox.location_id,
        base_url=sandbox.ghl_url,
        secrets={"access_token": sandbox.token},
        config={"rate_limit_per_10s": 0},
    )


def make_sync(recipe: str, source: m.Connection, target: m.Connection, **options: Any) -> m.Sync:
    """A live sync (webhooks and polls start its runs): these tests are about the flow, not the first-run preview."""
    return sync_create_from_recipe(
        recipe=recipe, name=recipe, source_connection=source, target_connection=target, options=options, live=True
    )


def run(sync: m.Sync, timeout: float = 240) -> m.Run:
    started = runs.run_enqueue(sync=sync, trigger=m.RunTrigger.MANUAL)
    assert started is not None, "a run of this sync is already active"
    return wait_finished(started, timeout=timeout)


def calls(run_: m.Run, method: str, suffix: str, provider: str = "ghl") -> int:
    """How many calls the run reports making (its ApiCall rows) to a path template ending with `suffix`."""
    return run_.calls.filter(provider=provider, method=method, path_template__endswith=suffix).count()


def items(run_: m.Run, action: str) -> list[m.RunItem]:
    return list(run_.items.filter(action=action).order_by("pk"))


class Received:
    """The GHL exchanges the emulator recorded from now on (its --record file), read without moving the
    contract checker's position."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.path = sandbox.record_path
        self.start = self.path.stat().st_size if self.path.exists() else 0

    def exchanges(self, method: str | None = None, path_contains: str = "") -> list[dict[str, Any]]:
        with open(self.path, "rb") as fh:
            fh.seek(self.start)
            lines = fh.read().decode("utf-8").splitlines()
        out = []
        for line in lines:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line being written
            if row.get("kind") != "http" or (method and row["method"] != method):
                continue
            if path_contains in row["path"]:
                row["json"] = json.loads(row["body"]) if row["body"] else None
                out.append(row)
        return out


__all__ = [
    "GhlApi",
    "Received",
    "app_connection",
    "calls",
    "ghl_connection",
    "items",
    "limits_off",
    "make_sync",
    "run",
    "spec_checked",
]
