"""The `sandbox` fixture: the real emulator server (`manage.py sandbox`) as a process on a free port.

Session-scoped: one process for the whole run; tests that need a clean state call `sandbox.reset()`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support import ROOT, Process, free_port, wait_until

SANDBOX_LOCATION = "sandbox-location"
SANDBOX_TOKEN = "pit-sandbox-token"


class Sandbox:
    def __init__(
        self, tmp_dir: Path, *extra_args: str, location_id: str = SANDBOX_LOCATION, token: str = SANDBOX_TOKEN
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ghl_url = f"{self.url}/ghl"
        self.location_id = location_id
        self.token = token
        self.record_path = tmp_dir / f"exchanges-{self.port}.jsonl"
        self.checked_upto = 0  # bytes of the record file already checked against the spec
        self.deferred: list[str] = []  # problems found outside a per-test check, reported at session end
        args = [
            sys.executable,
            str(ROOT / "manage.py"),
            "sandbox",
            "--port",
            str(self.port),
            "--ghl-location",
            self.location_id,
            "--ghl-token",
            self.token,
            "--record",
            str(self.record_path),
            *extra_args,
        ]
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
        self.process = Process(args, env, tmp_dir / f"sandbox-{self.port}.log")
        self.http = requests.Session()
        try:
            wait_until(self._ready, timeout=30, what="sandbox /_admin/health")
        except AssertionError:
            self.stop()
            raise AssertionError("sandbox did not start:\n" + self.process.output()[-3000:]) from None

    def _ready(self) -> bool:
        if not self.process.alive():
            raise AssertionError("sandbox died at start:\n" + self.process.output()[-3000:])
        try:
            return self.http.get(f"{self.url}/_admin/health", timeout=1).ok
        except requests.RequestException:
            return False

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        r = self.http.request(method, f"{self.url}{path}", timeout=10, **kw)
        r.raise_for_status()
        return r.json()

    def set_faults(self, app: str, account: str = "*", **settings: Any) -> dict[str, Any]:
        return self.admin("POST", "/_admin/faults", json={"app": app, "account": account, **settings})

    def clear_faults(self) -> None:
        self.admin("DELETE", "/_admin/faults")

    def reset(self, app: str | None = None) -> None:
        self.admin("POST", "/_admin/reset", params={"app": app} if app else None)

    def health(self) -> dict[str, Any]:
        return self.admin("GET", "/_admin/health")

    def unchecked_records(self) -> list[str]:
        """GHL exchanges/webhooks recorded since the last call (JSON lines), marking them checked."""
        if not self.record_path.exists():
            return []
        with open(self.record_path, "rb") as fh:
            fh.seek(self.checked_upto)
            data = fh.read()
        end = data.rfind(b"\n") + 1  # only whole lines; a line being written stays for the next call
        self.checked_upto += end
        return data[:end].decode("utf-8").splitlines()

    def check_contracts(self) -> tuple[int, list[str]]:
        """Validate every not yet checked exchange against the official spec (tests/contracts)."""
        from tests.contracts.validator import specs_available, validate_records

        lines = self.unchecked_records()
        if not lines or not specs_available():
            return len(lines), []
        return validate_records(lines)

    def defer_contracts(self) -> None:
        """Check what earlier tests left now, but report it at session end (not against the next test)."""
        self.deferred += self.check_contracts()[1]

    def stop(self) -> None:
        self.http.close()
        self.process.stop()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The emulator server for the whole session (GHL at `.ghl_url`, location `.location_id`, PIT `.token`)."""
    box = Sandbox(tmp_path_factory.mktemp("sandbox"))
    try:
        yield box
    finally:
        box.stop()
    # Every GHL exchange of the session conforms to the official spec (or to a recorded spec exception).
    problems = box.deferred + box.check_contracts()[1]
    if problems:
        raise AssertionError(
            f"{len(problems)} GHL exchanges do not match the official spec (see tests/contracts/):\n"
            + "\n".join(problems[:30])
        )


@pytest.fixture
def clean_sandbox(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The session sandbox reset to its start state (and its faults cleared) before and after the test."""
    sandbox.reset()
    yield sandbox
    sandbox.reset()
