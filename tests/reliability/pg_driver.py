"""The PostgreSQL scenario's hands inside its private database: `python -m tests.reliability.pg_driver COMMAND ...`
with DATABASE_URL pointing at the test's own server. Prints one JSON document on stdout.

    setup SANDBOX_URL LOCATION TOKEN PAGE_LIMIT   -> {"sync": id}   the sync and alert channel (world.fault_sync)
    dispatch SYNC_ID                              -> {"run": id}    the next scheduled run (world.scheduled_run)
    facts SYNC_ID                                 -> world.db_facts

Why subprocesses: pytest-django owns this process's database connection for the whole session (the test database
on the machine's server); the services take no database alias, so the scenario's setup and inspection run where
DATABASE_URL is the private server, through the same code the in-process scenarios use.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import requests


class SandboxRef:
    """The running emulator server, as much of the `sandbox` fixture as world.fault_sync uses."""

    def __init__(self, url: str, location_id: str, token: str) -> None:
        self.url = url
        self.ghl_url = f"{url}/ghl"
        self.location_id = location_id
        self.token = token

    def set_faults(self, app: str, account: str = "*", **settings: Any) -> None:
        r = requests.post(f"{self.url}/_admin/faults", json={"app": app, "account": account, **settings}, timeout=10)
        r.raise_for_status()


def main(argv: list[str]) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from tests.reliability import world

    command, args = argv[0], argv[1:]
    if command == "setup":
        url, location, token, page_limit = args
        sync = world.fault_sync(SandboxRef(url, location, token), page_limit=int(page_limit))
        return {"sync": sync.pk}
    if command == "dispatch":
        return {"run": world.scheduled_run(int(args[0]))}
    if command == "facts":
        return world.db_facts(int(args[0]))
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
