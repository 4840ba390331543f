"""Real parts for the engine tests: a Hubstaff organization in the emulator with known clients, connections to
the emulators, a sync from a recipe, and readers of what the GHL emulator holds."""

from __future__ import annotations

import time
from typing import Any

import requests

from contacts_sync import models as m
from contacts_sync.services.syncs import sync_create_from_recipe
from tests.factories import ConnectionFactory
from tests.support import wait_until

_orgs = iter(range(5000, 9000))
# "Emulator limits off": far above anything a test sends (the GHL emulator enforces 100 / 10 s by default).
NO_LIMIT = 10**9


def limits_off(sandbox: Any) -> None:
    sandbox.set_faults("ghl", sandbox.location_id, rate_limit=NO_LIMIT)
    sandbox.set_faults("hubstaff", "*", rate_limit=NO_LIMIT)


def calm(sandbox: Any) -> None:
    """No faults any more, limits still off."""
    sandbox.clear_faults()
    limits_off(sandbox)


class HubstaffOrg:
    """A fresh organization (own id, own PAT) so tests never see each other's clients."""

    def __init__(
        self,
        sandbox: Any,
        clients: int = 0,
        *,
        seeded_clients: int = 0,
        seeded_notes: int = 0,
        seeded_tasks: int = 0,
        seeded_members: int = 0,
    ) -> None:
        self.sandbox = sandbox
        limits_off(sandbox)
        self.org_id = next(_orgs) + int(time.time()) % 1000 * 10
        sandbox.admin(
            "POST",
            "/hubstaff/_admin/seed",
            json={
                "organization_id": self.org_id,
                "clients": seeded_clients,
                "members": seeded_members,
                "tasks": seeded_tasks,
                "notes": seeded_notes,
                "projects": 1,
            },
        )
        seed_pat = sandbox.admin("POST", "/hubstaff/_admin/pats", json={})["refresh_token"]
        self.pat = sandbox.admin("POST", "/hubstaff/_admin/pats", json={})["refresh_token"]
        tok = requests.post(
            f"{sandbox.url}/hubstaff/access_tokens",
            data={"grant_type": "refresh_token", "refresh_token": seed_pat},
            timeout=10,
        )
        tok.raise_for_status()
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {tok.json()['access_token']}"
        self.clients: list[dict[str, Any]] = []
        if clients:
            self.add_clients(clients)

    def add_clients(self, n: int) -> None:
        start = len(self.clients)
        for i in range(start, start + n):
            body = {
                "name": f"Client{i} Org{self.org_id}",
                "emails": [f"client{i}.org{self.org_id}@example.com"],
                "phone": "",
            }
            r = self.http.post(
                f"{self.sandbox.url}/hubstaff/v2/organizations/{self.org_id}/clients", json=body, timeout=10
            )
            r.raise_for_status()
            self.clients.append(r.json()["client"])

    def get(self, path: str, **params: Any) -> Any:
        r = self.http.get(f"{self.sandbox.url}/hubstaff/v2{path}", params=params, timeout=10)
        r.raise_for_status()
        return r.json()

    def send(self, method: str, path: str, body: dict[str, Any]) -> Any:
        r = self.http.request(method, f"{self.sandbox.url}/hubstaff/v2{path}", json=body, timeout=10)
        r.raise_for_status()
        return r.json()

    def client_ids(self) -> set[str]:
        return {str(c["id"]) for c in self.clients}


def connections(sandbox: Any, org: HubstaffOrg, *, location: str | None = None) -> tuple[m.Connection, m.Connection]:
    hub = ConnectionFactory(
        name=f"Hubstaff {org.org_id}",
        provider=m.Provider.HUBSTAFF,
        auth_kind=m.AuthKind.OAUTH2,
        external_account_id=str(org.org_id),
        base_url=f"{sandbox.url}/hubstaff",
        secrets={"refresh_token": org.pat},
        config={"rate_limit_per_hour": 0},
    )
    ghl = ConnectionFactory(
        name="GHL sandbox",
        provider=m.Provider.GHL,
        auth_kind=m.AuthKind.PRIVATE_TOKEN,
        external_account_id=location or sandbox.location_id,
        base_url=sandbox.ghl_url,
        secrets={"access_token": sandbox.token},
        config={"rate_limit_per_10s": 0, "http_timeout_s": 2},
    )
    return hub, ghl


def client_sync(sandbox: Any, org: HubstaffOrg, *, page_limit: int = 50, **options: Any) -> m.Sync:
    hub, ghl = connections(sandbox, org)
    return sync_create_from_recipe(
        recipe="hubstaff_client_to_ghl_contact",
        name=f"clients {org.org_id}",
        source_connection=hub,
        target_connection=ghl,
        options={"page_limit": page_limit, **options},
        live=True,
    )


class GhlApi:
    """The GHL emulator through its public API, as a person checking the result would look."""

    def __init__(self, sandbox: Any) -> None:
        self.base = sandbox.ghl_url
        self.location = sandbox.location_id
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {sandbox.token}", "Version": "2021-07-28"})

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        r = self.http.request(method, f"{self.base}{path}", json=body, timeout=10)
        r.raise_for_status()
        return r.json()


def ghl_contacts(sandbox: Any, *, email_suffix: str = "") -> list[dict[str, Any]]:
    """Every contact the GHL emulator holds for the sandbox location (optionally only one org's clients)."""
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {sandbox.token}", "Version": "2021-07-28"})
    out: list[dict[str, Any]] = []
    after: Any = None
    while True:
        body: dict[str, Any] = {"locationId": sandbox.location_id, "pageLimit": 500}
        if after:
            body["searchAfter"] = after
        r = http.post(f"{sandbox.ghl_url}/contacts/search", json=body, timeout=30)
        r.raise_for_status()
        page = r.json()["contacts"]
        out.extend(page)
        if len(page) < 500:
            break
        after = page[-1].get("searchAfter") or [page[-1]["id"]]
    if email_suffix:
        out = [c for c in out if str(c.get("email") or "").endswith(email_suffix)]
    return out


def wait_finished(run: m.Run, timeout: float = 120) -> m.Run:
    def done() -> bool:
        run.refresh_from_db()
        return run.status not in m.ACTIVE_RUN_STATUSES

    wait_until(done, timeout=timeout, interval=0.2, what=f"run {run.pk} to finish")
    return run


def ghl_write_calls(run: m.Run) -> int:
    return run.calls.filter(provider="ghl").exclude(method="GET").exclude(path_template__endswith="/search").count()
