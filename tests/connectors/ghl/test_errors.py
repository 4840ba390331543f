"""Each error class, retries, 429 handling and the shared rate budget, against the emulator process."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from contacts_sync.apiclient.budget import RateBudget
from contacts_sync.connectors.ghl.client import GHLClient
from contacts_sync.connectors.ghl.errors import (
    AuthError,
    ForbiddenError,
    MalformedResponseError,
    RateLimitedError,
    ScopeError,
    ServerError,
    TransportError,
)
from tests.connectors.ghl.conftest import Account
from tests.support import free_port


def test_a_read_only_token_reads_but_cannot_write(make_ghl: Callable[..., GHLClient], account: Account) -> None:
    ghl = make_ghl(token=account.token_with(["contacts.readonly"]))
    assert list(ghl.search_contacts()) == []
    with pytest.raises(ScopeError, match="not authorized for this scope") as info:
        ghl.create_contact({"email": "w@example.com"})
    assert info.value.status == 401 and isinstance(info.value, AuthError)
    assert account.calls[-1].attempts == 1  # never retried, never "refreshed"


def test_an_unknown_token_is_an_auth_error_without_retries(
    make_ghl: Callable[..., GHLClient], account: Account
) -> None:
    with pytest.raises(AuthError, match="Invalid token") as info:
        make_ghl(token="pit-wrong").list_users()
    assert not isinstance(info.value, ScopeError)
    assert account.calls[-1].attempts == 1


def test_a_token_of_another_location_is_forbidden(make_ghl: Callable[..., GHLClient], sandbox: Any) -> None:
    other = make_ghl(token=sandbox.token)  # the default location's PIT used for this test's location
    with pytest.raises(ForbiddenError, match="does not have access to this location"):
        other.list_users()


def test_5xx_are_retried_with_backoff_then_raised(make_ghl: Callable[..., GHLClient], account: Account) -> None:
    sleeps: list[float] = []
    ghl = make_ghl(sleep=sleeps.append)
    account.sandbox.set_faults("ghl", account.id, error_rate=1.0)
    with pytest.raises(ServerError) as info:
        ghl.list_users()
    assert info.value.retryable and info.value.status == 500
    assert account.calls[-1].attempts == 5 and len(sleeps) == 4


def test_a_flaky_server_is_ridden_out_by_retries(make_ghl: Callable[..., GHLClient], account: Account) -> None:
    ghl = make_ghl(max_attempts=5)
    account.sandbox.set_faults("ghl", account.id, fail_next=3)  # deterministic: three 500s, then healthy
    results = [ghl.list_users() for _ in range(3)]
    assert all(results)
    assert [c.attempts for c in account.calls] == [4, 1, 1]
    assert all(c.status == 200 for c in account.calls)


def test_timeouts_are_transport_errors(make_ghl: Callable[..., GHLClient], account: Account) -> None:
    ghl = make_ghl(timeout=(2.0, 0.3), max_attempts=2)
    account.sandbox.set_faults("ghl", account.id, timeout_rate=1.0, hang_s=1.0)
    with pytest.raises(TransportError, match="timed out"):
        ghl.list_users()
    assert account.calls[-1].attempts == 2 and account.calls[-1].status is None


def test_a_refused_connection_is_a_transport_error(account: Account) -> None:
    from contacts_sync.apiclient.tokens import StaticTokenProvider

    ghl = GHLClient(
        location_id=account.id,
        token_provider=StaticTokenProvider("t"),
        base_url=f"http://127.0.0.1:{free_port()}",
        sleep=lambda _s: None,
        max_attempts=2,
    )
    with pytest.raises(TransportError, match="connection failed") as info:
        ghl.get_contact("x")
    assert info.value.operation == "get_contact"


def test_a_non_json_answer_is_a_malformed_response_naming_the_operation(
    make_ghl: Callable[..., GHLClient], account: Account
) -> None:
    account.sandbox.set_faults("ghl", account.id, malformed_rate=1.0)
    with pytest.raises(MalformedResponseError, match="list_users: response is not JSON") as info:
        make_ghl().list_users()
    assert info.value.operation == "list_users" and not info.value.retryable


def test_a_429_storm_is_retried_honouring_retry_after(make_ghl: Callable[..., GHLClient], account: Account) -> None:
    sleeps: list[float] = []
    ghl = make_ghl(sleep=sleeps.append, max_attempts=3)
    account.sandbox.set_faults("ghl", account.id, storm_until=time.time() + 60)
    with pytest.raises(RateLimitedError) as info:
        ghl.list_users()
    assert info.value.status == 429 and info.value.retry_after and info.value.retry_after > 30
    assert account.calls[-1].rate_limited == 3
    assert all(s >= 30 for s in sleeps)  # Retry-After (capped at 30 s) instead of the short exponential backoff


def test_beyond_the_per_location_limit_the_emulator_answers_429_and_the_client_waits_it_out(
    make_ghl: Callable[..., GHLClient], account: Account
) -> None:
    account.sandbox.set_faults("ghl", account.id, rate_limit=3, rate_window_s=1.0)
    ghl = make_ghl(sleep=time.sleep)
    started = time.monotonic()
    for _ in range(6):
        ghl.list_users()
    assert time.monotonic() - started >= 0.9  # 6 requests at 3 per second cannot finish faster
    assert sum(c.rate_limited for c in account.calls) >= 1
    assert all(c.status == 200 for c in account.calls)


def test_the_shared_budget_waits_for_a_token_instead_of_provoking_429s(
    make_ghl: Callable[..., GHLClient], account: Account, redis_client: Any
) -> None:
    account.sandbox.set_faults("ghl", account.id, rate_limit=4, rate_window_s=1.0)
    budget = RateBudget(redis_client, f"test-ghl-budget:{uuid.uuid4().hex}", [(4, 1.0)], safety_ms=150)
    a = make_ghl(budget=budget, sleep=time.sleep)
    b = make_ghl(budget=budget, sleep=time.sleep)  # a second client (worker) on the same location and budget
    started = time.monotonic()
    for _ in range(5):
        a.list_users()
        b.list_users()
    assert time.monotonic() - started >= 2.0  # 10 calls at 4 per second
    assert sum(c.rate_limited for c in account.calls) == 0
    budget.reset()


def test_the_budget_is_corrected_from_the_rate_limit_headers(
    make_ghl: Callable[..., GHLClient], account: Account, redis_client: Any
) -> None:
    account.sandbox.set_faults("ghl", account.id, rate_limit=50, rate_window_s=10.0)
    outsider = make_ghl()  # spends the location's budget without telling ours
    for _ in range(20):
        outsider.list_users()
    budget = RateBudget(redis_client, f"test-ghl-budget:{uuid.uuid4().hex}", [(50, 10.0), (200_000, 86_400.0)])
    make_ghl(budget=budget).list_users()
    used, daily = budget.used()
    assert used >= 21  # the emulator said 29 remaining: our budget now counts what the outsider spent
    assert daily >= 21
    budget.reset()
