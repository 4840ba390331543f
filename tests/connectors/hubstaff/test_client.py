"""HubstaffClient against the Hubstaff emulator over real HTTP: tokens, paging, limits, locking, errors."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from contacts_sync.apiclient.errors import (
    ConflictError,
    ForbiddenError,
    RateLimitedError,
    ServerError,
    ValidationError,
)
from contacts_sync.connectors.hubstaff.client import TokenRefreshError, build_client
from tests.connectors.conftest import HUBSTAFF_ORG, HUBSTAFF_PROJECT, HubstaffBox, LockedStore


def client_for(box: HubstaffBox, store: Any = None, **kw: Any) -> Any:
    secrets = store.load() if store is not None else {"refresh_token": box.new_pat()}
    return build_client(base_url=box.url, secrets=secrets, store=store, **kw)


def test_it_exchanges_the_personal_access_token_and_stores_the_rotated_one(hubstaff: HubstaffBox) -> None:
    pat = hubstaff.new_pat()
    store = LockedStore({"refresh_token": pat})
    me = client_for(hubstaff, store).me()
    assert me["id"] == 7001
    assert store.secrets["refresh_token"] != pat
    assert store.secrets["access_token"].startswith("hsa_")
    assert store.secrets["expires_at"]
    # Hubstaff rotates: the PAT we started with is dead now, the saved one works.
    old = requests.post(f"{hubstaff.url}/access_tokens", data={"grant_type": "refresh_token", "refresh_token": pat})
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant"


def test_eight_threads_with_no_access_token_make_exactly_one_exchange(hubstaff: HubstaffBox) -> None:
    store = LockedStore({"refresh_token": hubstaff.new_pat()})
    before = hubstaff.stats()["token_exchanges"]
    clients = [client_for(hubstaff, store) for _ in range(8)]
    barrier = threading.Barrier(8)
    results: list[Any] = []

    def work(client: Any) -> None:
        barrier.wait()
        try:
            results.append(client.me()["id"])
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            results.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [7001] * 8
    assert hubstaff.stats()["token_exchanges"] - before == 1
    assert store.saves == 1


def test_eight_threads_hitting_a_revoked_access_token_refresh_once(hubstaff: HubstaffBox) -> None:
    store = LockedStore({"refresh_token": hubstaff.new_pat()})
    clients = [client_for(hubstaff, store) for _ in range(8)]
    for c in clients:
        c.me()  # every client now holds the same access token
    hubstaff.admin("POST", "expire_tokens")
    before = hubstaff.stats()["token_exchanges"]
    barrier = threading.Barrier(8)
    results: list[Any] = []

    def work(client: Any) -> None:
        barrier.wait()
        try:
            results.append(client.organization(HUBSTAFF_ORG)["id"])
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            results.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [1001] * 8
    assert hubstaff.stats()["token_exchanges"] - before == 1


def test_a_refused_refresh_token_is_a_permanent_error_that_says_what_to_do(hubstaff: HubstaffBox) -> None:
    client = build_client(
        base_url=hubstaff.url,
        secrets={"refresh_token": "not-a-real-pat"},
        store=None,
    )
    with pytest.raises(TokenRefreshError) as info:
        client.me()
    assert info.value.permanent is True
    assert info.value.status == 400
    assert "personal access token" in str(info.value) and "invalid_grant" in str(info.value)


def test_it_pages_through_every_client_with_page_start_id(hubstaff: HubstaffBox) -> None:
    client = client_for(hubstaff)
    seen: list[int] = []
    pages = 0
    for items, nxt in client.client_pages(HUBSTAFF_ORG, status="all", page_limit=300):
        pages += 1
        seen += [c["id"] for c in items]
        if nxt is not None:
            assert nxt > items[-1]["id"]
    assert pages == 9  # 2,500 clients / 300 per page
    assert len(seen) == len(set(seen)) == hubstaff.stats()["clients"] == 2500
    assert seen == sorted(seen)


def test_pagination_is_present_only_when_another_page_exists(hubstaff: HubstaffBox) -> None:
    headers = {"Authorization": f"Bearer {hubstaff.access_token()}"}
    url = f"{hubstaff.url}/v2/organizations/{HUBSTAFF_ORG}/clients"
    first = requests.get(url, params={"status": "all", "page_limit": 2000}, headers=headers).json()
    assert len(first["clients"]) == 500  # page_limit is capped at 500 by the emulator
    assert first["pagination"]["next_page_start_id"] > first["clients"][-1]["id"]
    last = requests.get(
        url, params={"status": "all", "page_limit": 500, "page_start_id": 10**9}, headers=headers
    ).json()
    assert last == {"clients": []}


def test_a_429_with_retry_after_is_waited_out_and_the_call_succeeds(hubstaff: HubstaffBox) -> None:
    hubstaff.admin("POST", "limits", json={"requests": 3, "window_s": 1})
    calls: list[Any] = []
    client = client_for(hubstaff, on_call=calls.append)
    for _ in range(6):
        assert client.me()["id"] == 7001
    assert sum(c.rate_limited for c in calls) >= 1
    assert all(c.status == 200 for c in calls if c.operation == "get current user")


def test_a_long_retry_after_gives_up_with_rate_limited_error_after_the_capped_waits(
    hubstaff: HubstaffBox,
) -> None:
    hubstaff.admin("POST", "limits", json={"requests": 1, "window_s": 3600})
    waits: list[float] = []
    client = client_for(hubstaff, sleep=waits.append)
    client.me()
    with pytest.raises(RateLimitedError) as info:
        client.me()
    assert info.value.retry_after is not None and info.value.retry_after > 3000
    assert waits and all(w >= 30 for w in waits)  # Retry-After honoured (capped at 30 s per wait)


def test_a_stale_lock_version_is_a_conflict_and_the_latest_update_wins(hubstaff: HubstaffBox) -> None:
    client = client_for(hubstaff)
    task = client.create_task(HUBSTAFF_PROJECT, {"summary": "Call Anna back"})
    client.update_task(task["id"], {"summary": "Call Anna back today"}, lock_version=task["lock_version"])
    with pytest.raises(ConflictError) as info:
        client.update_task(task["id"], {"status": "completed"}, lock_version=task["lock_version"])
    assert info.value.status == 409 and "lock_version" in str(info.value)
    done = client.update_task_latest(task["id"], {"status": "completed"})
    assert done["status"] == "completed" and done["lock_version"] == task["lock_version"] + 2
    assert done["summary"] == "Call Anna back today"


def test_a_task_without_summary_is_rejected_with_hubstaffs_message(hubstaff: HubstaffBox) -> None:
    with pytest.raises(ValidationError) as info:
        client_for(hubstaff).create_task(HUBSTAFF_PROJECT, {"summary": "  "})
    assert info.value.messages == ["summary is missing"]
    assert "error_code 11000" in str(info.value)


def test_an_organization_the_user_is_not_a_member_of_is_forbidden(hubstaff: HubstaffBox) -> None:
    hubstaff.admin("POST", "seed", json={"organization_id": 2002, "clients": 3, "tasks": 1, "notes": 0, "members": 1})
    client = client_for(hubstaff)
    assert client.organization(2002)["id"] == 2002  # the seeded owner is a member of every seeded org
    other = hubstaff.admin("POST", "pats", json={"user_id": 424242})["refresh_token"]
    stranger = build_client(base_url=hubstaff.url, secrets={"refresh_token": other}, store=None)
    with pytest.raises(ForbiddenError) as info:
        stranger.organization(2002)
    assert "not a member" in str(info.value)


def test_an_injected_server_error_is_retried_and_the_call_recorded_once(hubstaff: HubstaffBox) -> None:
    calls: list[Any] = []
    # The backoff "sleep" clears the fault, so exactly the first attempt meets the 500.
    client = client_for(hubstaff, on_call=calls.append, sleep=lambda s: hubstaff.sandbox.clear_faults())
    client.me()
    hubstaff.sandbox.set_faults("hubstaff", HUBSTAFF_ORG, error_rate=1.0)
    assert client.organization(HUBSTAFF_ORG)["id"] == 1001
    org_calls = [c for c in calls if c.operation == "get organization"]
    assert [(c.status, c.attempts) for c in org_calls] == [(200, 2)]


def test_the_access_token_is_refreshed_ahead_of_expiry_not_after_a_failure(hubstaff: HubstaffBox) -> None:
    from contacts_sync.connectors.hubstaff.client import HubstaffAccountClient, HubstaffClient, token_provider

    now = [time.time()]
    calls: list[Any] = []
    store = LockedStore({"refresh_token": hubstaff.new_pat()})
    tokens = token_provider(store, HubstaffAccountClient(base_url=hubstaff.url), clock=lambda: now[0])
    client = HubstaffClient(tokens=tokens, base_url=hubstaff.url, on_call=calls.append)
    before = hubstaff.stats()["token_exchanges"]
    client.me()
    client.me()
    assert hubstaff.stats()["token_exchanges"] - before == 1
    now[0] += 3600 - 100  # 100 s before expiry: inside the 120 s skew
    client.me()
    assert hubstaff.stats()["token_exchanges"] - before == 2
    assert [c.status for c in calls] == [200, 200, 200]  # no 401 was needed


def test_every_call_spends_the_organizations_shared_hourly_budget(hubstaff: HubstaffBox, redis_client: Any) -> None:
    from django.conf import settings

    from contacts_sync.connectors.base import ConnectionInfo
    from contacts_sync.connectors.hubstaff import HubstaffConnector

    account = f"budget-test-{time.monotonic_ns()}"
    clients = [
        HubstaffConnector(
            ConnectionInfo(
                provider="hubstaff",
                connection_id=None,
                account_id=account,
                base_url=hubstaff.url,
                secrets={"refresh_token": hubstaff.new_pat()},
                redis_url=settings.REDIS_URL,
            )
        ).client
        for _ in range(2)
    ]
    try:
        assert clients[0].budget.limits == [(1000, 3600.0)]
        # keyed by organization and (for an emulator) its host: a test session's random port is its own "Hubstaff"
        assert clients[0].budget.key == f"ratebudget:hubstaff:{account}@{hubstaff.url.split('/')[2]}"
        for client in clients:  # two workers, one budget
            client.me()
            client.organization(HUBSTAFF_ORG)
        assert clients[1].budget.used() == [4]
    finally:
        clients[0].budget.reset()


def test_a_task_create_that_meets_a_server_error_is_not_sent_twice(hubstaff: HubstaffBox) -> None:
    calls: list[Any] = []
    client = client_for(hubstaff, on_call=calls.append, sleep=lambda s: None)
    client.me()
    hubstaff.sandbox.set_faults("hubstaff", "*", error_rate=1.0)
    try:
        with pytest.raises(ServerError):
            client.create_task(HUBSTAFF_PROJECT, {"summary": "only once"})
        with pytest.raises(ServerError):
            client.get_task(500001)
    finally:
        hubstaff.sandbox.clear_faults()
    attempts = {c.operation: c.attempts for c in calls}
    assert attempts["create task"] == 1  # a 5xx may hide a created task: no blind retry of the POST
    assert attempts["get task"] == 5  # reads are retried up to the cap
