"""The shared rate budget against the real Redis (fixture redis_client)."""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from typing import Any

import pytest

from contacts_sync.apiclient.budget import NullBudget, RateBudget
from contacts_sync.apiclient.errors import BudgetExhaustedError


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def key(redis_client: Any) -> Any:
    name = f"test-budget:{uuid.uuid4().hex}"
    yield name
    for k in redis_client.scan_iter(f"{name}*"):
        redis_client.delete(k)


def test_it_grants_up_to_the_burst_limit_then_asks_to_wait_until_the_oldest_leaves(redis_client: Any, key: str) -> None:
    clock = FakeClock()
    budget = RateBudget(redis_client, key, [(5, 10.0)], clock=clock, sleep=clock.sleep, safety_ms=0)
    assert [budget.try_acquire() for _ in range(5)] == [0.0] * 5
    clock.now += 3
    wait = budget.try_acquire()
    assert 6.9 < wait <= 7.01
    clock.now += wait
    assert budget.try_acquire() == 0.0


def test_acquire_sleeps_for_a_token_instead_of_failing(redis_client: Any, key: str) -> None:
    clock = FakeClock()
    budget = RateBudget(redis_client, key, [(2, 1.0)], clock=clock, sleep=clock.sleep, safety_ms=0)
    start = clock.now
    for _ in range(6):
        budget.acquire(timeout=10)
    # 6 tokens at 2 per second: the last one is granted after about 2 seconds
    assert 2.0 <= clock.now - start < 2.2


def test_acquire_raises_budget_exhausted_after_its_timeout(redis_client: Any, key: str) -> None:
    clock = FakeClock()
    budget = RateBudget(redis_client, key, [(1, 10.0)], clock=clock, sleep=clock.sleep)
    budget.acquire()
    with pytest.raises(BudgetExhaustedError) as info:
        budget.acquire(timeout=2)
    assert info.value.retry_after and info.value.retry_after > 2


def test_the_daily_window_is_enforced_with_the_burst_window(redis_client: Any, key: str) -> None:
    clock = FakeClock(start=86_400.0 * 20_000 + 100)
    budget = RateBudget(redis_client, key, [(100, 10.0), (20_000, 86_400.0)], clock=clock, sleep=clock.sleep)
    budget.observe(daily_remaining=2)  # the provider says only 2 left today
    assert budget.try_acquire() == 0.0
    assert budget.try_acquire() == 0.0
    wait = budget.try_acquire()
    assert wait == pytest.approx(86_400 - 100, abs=1)
    assert budget.used() == [2, 20_000]


def test_observe_charges_what_other_clients_spent_but_never_loosens(redis_client: Any, key: str) -> None:
    clock = FakeClock()
    budget = RateBudget(redis_client, key, [(100, 10.0)], clock=clock, sleep=clock.sleep)
    for _ in range(10):
        budget.try_acquire()
    assert budget.observe(remaining=60, window_ms=10_000) == 30  # the provider saw 40, we granted 10
    assert budget.used() == [40]
    assert budget.observe(remaining=99) == 0  # more remaining than we think: keep our stricter count
    assert budget.used() == [40]
    budget.observe(remaining=0)
    assert budget.try_acquire() > 0


def test_a_deferred_observation_is_charged_with_the_next_token_in_the_same_call(redis_client: Any, key: str) -> None:
    clock = FakeClock()
    budget = RateBudget(redis_client, key, [(100, 10.0), (200_000, 86_400.0)], clock=clock, sleep=clock.sleep)
    for _ in range(10):
        budget.try_acquire()
    assert budget.observe(remaining=60, daily_remaining=199_900, defer=True) == 0
    assert redis_client.zcard(budget._keys[0]) == 10  # nothing charged yet: no extra round trip
    assert budget.try_acquire() == 0.0  # the correction (40 used) and this token (the 41st)
    assert budget.used() == [41, 101]
    budget.observe(remaining=0, defer=True)  # the provider says the window is full
    assert budget.try_acquire() > 0  # refused in the same call that charged it
    budget.observe(remaining=0, defer=True)
    assert budget.used() == [100, 101]  # used() charges a pending observation first


def _worker(redis_url: str, key: str, n: int, out: Any) -> None:
    import redis

    budget = RateBudget(redis.Redis.from_url(redis_url), key, [(20, 1.0)], safety_ms=0)
    times = []
    for _ in range(n):
        budget.acquire(timeout=30)
        times.append(time.time())
    out.put(times)


def test_two_processes_sharing_one_budget_never_exceed_the_window_together(redis_client: Any, key: str) -> None:
    from django.conf import settings

    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(settings.REDIS_URL, key, 30, out)) for _ in range(2)]
    for p in procs:
        p.start()
    grants = sorted(out.get(timeout=60) + out.get(timeout=60))
    for p in procs:
        p.join(10)
    assert len(grants) == 60
    # grant times come from the Redis clock; allow for the few ms between the grant and time.time() here
    worst = max(sum(1 for t in grants if g <= t < g + 0.95) for g in grants)
    assert worst <= 20
    assert grants[-1] - grants[0] >= 1.9  # 60 tokens at 20/s cannot all be granted within 2 s


def test_threads_sharing_one_budget_get_exactly_the_limit_per_window(redis_client: Any, key: str) -> None:
    budget = RateBudget(redis_client, key, [(25, 30.0)], safety_ms=0)
    granted: list[int] = []
    lock = threading.Lock()

    def grab() -> None:
        for _ in range(10):
            if budget.try_acquire() == 0.0:
                with lock:
                    granted.append(1)

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 25


def test_for_account_keys_budgets_per_provider_account(redis_client: Any) -> None:
    from django.conf import settings

    a = RateBudget.for_account(settings.REDIS_URL, "ghl", f"loc-{uuid.uuid4().hex}", [(1, 10.0)])
    b = RateBudget.for_account(settings.REDIS_URL, "ghl", f"loc-{uuid.uuid4().hex}", [(1, 10.0)])
    try:
        assert a.try_acquire() == 0.0 and a.try_acquire() > 0
        assert b.try_acquire() == 0.0
    finally:
        a.reset()
        b.reset()


def test_null_budget_never_waits() -> None:
    budget = NullBudget()
    assert all(budget.acquire() == 0.0 for _ in range(1000))
    assert budget.observe(remaining=0) == 0


def test_a_budget_whose_redis_is_unreachable_lets_calls_through_instead_of_failing_them() -> None:
    """A Redis restart must not fail the calls made meanwhile, nor a write that already happened (observe)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from tests.support import free_port

    # nothing listens there; no client-side retries, so the test takes milliseconds instead of redis-py's backoff
    nowhere = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    budget = RateBudget(nowhere, f"test-budget:{uuid.uuid4().hex}", [(1, 10.0)])
    started = time.monotonic()
    assert [budget.acquire(timeout=5) for _ in range(3)] == [0.0, 0.0, 0.0]  # a limit of 1 would have waited
    assert budget.observe(remaining=0, daily_remaining=0) == 0
    assert time.monotonic() - started < 30
    with pytest.raises(redis.ConnectionError):  # the probe itself does fail: the budget only steps aside
        budget.try_acquire()


def test_budgets_of_an_account_spend_one_budget_from_many_threads_each_on_its_own_connection(
    redis_client: Any,
) -> None:
    """for_account budgets talk to Redis through a client per thread (no pool checkout per EVALSHA); the limit
    still holds across threads, and a budget made in one thread can be spent in another."""
    from django.conf import settings

    from contacts_sync.apiclient.budget import thread_redis

    account = f"loc-{uuid.uuid4().hex}"
    budget = RateBudget.for_account(settings.REDIS_URL, "ghl", account, [(30, 60.0)])
    clients: list[Any] = []
    granted: list[float] = []
    lock = threading.Lock()

    def spend() -> None:
        mine = [budget.try_acquire() for _ in range(10)]
        with lock:
            clients.append(thread_redis(settings.REDIS_URL))
            granted.extend(w for w in mine if w == 0.0)

    try:
        threads = [threading.Thread(target=spend) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(granted) == 30  # 50 tries, 30 tokens: the threads shared the one budget
        assert len({id(c) for c in clients}) == 5 and thread_redis(settings.REDIS_URL) not in clients
        assert all(c.connection is not None for c in clients)  # each kept its own connection
        assert budget.used() == [30]
    finally:
        budget.reset()


def test_a_budget_loads_its_script_again_when_redis_forgot_it_whichever_thread_spends_it(redis_client: Any) -> None:
    """A Redis restart or SCRIPT FLUSH forgets the Lua scripts: the next EVALSHA answers NOSCRIPT and the budget
    loads the script again, also from a thread other than the one that made the budget."""
    from django.conf import settings

    budget = RateBudget.for_account(settings.REDIS_URL, "ghl", f"loc-{uuid.uuid4().hex}", [(5, 60.0)])
    try:
        assert budget.try_acquire() == 0.0
        redis_client.script_flush()
        waits: list[float] = []
        spender = threading.Thread(target=lambda: waits.append(budget.try_acquire()))
        spender.start()
        spender.join()
        assert waits == [0.0] and budget.used() == [2]
    finally:
        budget.reset()


def test_an_account_budget_made_while_redis_is_away_steps_aside_instead_of_failing() -> None:
    """A client per thread connects when it is made: making the budget (a GHL client for a run) must not need it."""
    from tests.support import free_port

    budget = RateBudget.for_account(f"redis://127.0.0.1:{free_port()}/0", "ghl", f"loc-{uuid.uuid4().hex}", [(1, 10.0)])
    assert [budget.acquire(timeout=5) for _ in range(2)] == [0.0, 0.0]  # a limit of 1 would have waited
    assert budget.observe(remaining=0) == 0
