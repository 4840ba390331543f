"""A rate budget shared through Redis by every process on every machine (one per provider account).

`acquire()` waits for a token instead of provoking a 429; `observe()` corrects the budget from the rate-limit
headers the provider sends back (another app or machine may be spending the same budget).

Windows up to `LOG_WINDOW_MAX_LIMIT` requests are kept as an exact sliding log (a sorted set of grant times), so
at most `limit` requests are granted in *any* window of that length: this is what avoids 429s from a provider
that counts a sliding window. Larger windows (the daily 200,000) use a fixed-bucket counter, which costs O(1)
memory. Both windows are checked and charged in one Lua script, so concurrent callers cannot race each other.

The budget spares the provider's limit; it never stops a sync by itself. While Redis cannot be reached (a restart,
a failover) calls go ahead without a token and no correction is recorded: the provider's own limit still holds, and
its 429 answers and Retry-After are honoured by the client's retries (apiclient/client.py). Before, a Redis restart
failed every record pushed while it lasted, and a write that had reached the provider was reported as failed when
recording its rate-limit headers found Redis gone (tests/reliability/test_fault_broker_wiped.py).
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import NoScriptError, RedisError

from contacts_sync.apiclient.errors import BudgetExhaustedError

log = logging.getLogger(__name__)

# Windows with at most this many requests are tracked exactly (sorted set); larger ones by a bucket counter.
LOG_WINDOW_MAX_LIMIT = 10_000
# Grants are spaced as if each window were this much longer: requests reach the provider a little after the
# token is granted, and a provider counting arrivals must never see `limit + 1` in its window.
DEFAULT_SAFETY_MS = 200
# Callers waiting for the same window edge are spread over this many ms so they do not stampede Redis.
WAKE_JITTER_MS = 15
# While Redis is unreachable, "calls go ahead without the budget" is logged at most this often per process.
UNREACHABLE_LOG_SECONDS = 10.0
_last_unreachable_log = 0.0


def _unreachable(what: str, exc: Exception) -> None:
    global _last_unreachable_log  # noqa: PLW0603 - one timestamp per process rate-limits the log line
    now = time.monotonic()
    if now - _last_unreachable_log >= UNREACHABLE_LOG_SECONDS:
        _last_unreachable_log = now
        log.warning(
            "rate budget %s: Redis unreachable (%s: %s); calls go ahead without the shared budget",
            what,
            type(exc).__name__,
            exc,
        )


# ARGV: now, member, n, then per window: limit, window ms, kind, remaining ('' = nothing observed). A window with
# `remaining` is first corrected as _OBSERVE does (the provider's count of the previous answer), then the token is
# taken: one round trip per request instead of two.
_ACQUIRE = """
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local member = ARGV[2]
local n = tonumber(ARGV[3])
for i = 1, n do
  local remaining = ARGV[4 * i + 3]
  if remaining ~= '' then
    local limit = tonumber(ARGV[4 * i])
    local win = tonumber(ARGV[4 * i + 1])
    local key = KEYS[i]
    local used = limit - tonumber(remaining)
    if used > limit then used = limit end
    if ARGV[4 * i + 2] == 'log' then
      redis.call('ZREMRANGEBYSCORE', key, '-inf', now - win)
      local count = redis.call('ZCARD', key)
      for j = count + 1, used do
        redis.call('ZADD', key, now, member .. ':o' .. j)
      end
    else
      local bucket = math.floor(now / win)
      local cur = 0
      if tonumber(redis.call('HGET', key, 'b') or '-1') == bucket then
        cur = tonumber(redis.call('HGET', key, 'c') or '0')
      end
      if used > cur then
        redis.call('HSET', key, 'b', bucket, 'c', used)
      end
    end
    redis.call('PEXPIRE', key, win + 1000)
  end
end
local wait = 0
for i = 1, n do
  local limit = tonumber(ARGV[4 * i])
  local win = tonumber(ARGV[4 * i + 1])
  local kind = ARGV[4 * i + 2]
  local key = KEYS[i]
  if kind == 'log' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - win)
    local count = redis.call('ZCARD', key)
    if count >= limit then
      local edge = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
      local w = tonumber(edge[2]) + win - now + 1
      if w > wait then wait = w end
    end
  else
    local bucket = math.floor(now / win)
    local cur = 0
    if tonumber(redis.call('HGET', key, 'b') or '-1') == bucket then
      cur = tonumber(redis.call('HGET', key, 'c') or '0')
    end
    if cur >= limit then
      local w = (bucket + 1) * win - now
      if w > wait then wait = w end
    end
  end
end
if wait > 0 then
  return {wait, now}
end
for i = 1, n do
  local win = tonumber(ARGV[4 * i + 1])
  local kind = ARGV[4 * i + 2]
  local key = KEYS[i]
  if kind == 'log' then
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, win + 1000)
  else
    local bucket = math.floor(now / win)
    if tonumber(redis.call('HGET', key, 'b') or '-1') ~= bucket then
      redis.call('HSET', key, 'b', bucket, 'c', 0)
    end
    redis.call('HINCRBY', key, 'c', 1)
    redis.call('PEXPIRE', key, win + 1000)
  end
end
return {0, now}
"""

_OBSERVE = """
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local member = ARGV[2]
local n = tonumber(ARGV[3])
local added = 0
for i = 1, n do
  local limit = tonumber(ARGV[4 * i])
  local win = tonumber(ARGV[4 * i + 1])
  local kind = ARGV[4 * i + 2]
  local remaining = ARGV[4 * i + 3]
  local key = KEYS[i]
  if remaining ~= '' then
    local used = limit - tonumber(remaining)
    if used > limit then used = limit end
    if kind == 'log' then
      redis.call('ZREMRANGEBYSCORE', key, '-inf', now - win)
      local count = redis.call('ZCARD', key)
      for j = count + 1, used do
        redis.call('ZADD', key, now, member .. ':' .. j)
        added = added + 1
      end
      redis.call('PEXPIRE', key, win + 1000)
    else
      local bucket = math.floor(now / win)
      local cur = 0
      if tonumber(redis.call('HGET', key, 'b') or '-1') == bucket then
        cur = tonumber(redis.call('HGET', key, 'c') or '0')
      end
      if used > cur then
        redis.call('HSET', key, 'b', bucket, 'c', used)
        added = added + used - cur
      end
      redis.call('PEXPIRE', key, win + 1000)
    end
  end
end
return added
"""

_CLIENTS: dict[str, Any] = {}
_THREAD = threading.local()


def shared_redis(url: str) -> Any:
    """One Redis client per URL for the process (budgets, the inbox's drain kick): its connection pool is shared."""
    import redis

    client = _CLIENTS.get(url)
    if client is None:
        client = _CLIENTS[url] = redis.Redis.from_url(url)
    return client


def thread_redis(url: str) -> Any:
    """A Redis client per URL and thread that keeps one connection of the shared pool for its thread.

    The budgets' hot path (one EVALSHA per request): a client of the shared pool checks a connection out and back
    in for every command, taking the pool's lock and polling the socket for stale data each time, which cost about
    a quarter of an EVALSHA's CPU in the worker (bench/fleet.py). A thread-pool worker keeps one connection per
    thread that spends budgets (at most its -c); a broken connection is reconnected by redis-py's retry as in the
    pool. The client is released with its thread."""
    import redis

    clients: dict[str, Any] | None = getattr(_THREAD, "clients", None)
    if clients is None:
        clients = _THREAD.clients = {}
    client = clients.get(url)
    if client is None:
        client = clients[url] = redis.Redis(
            connection_pool=shared_redis(url).connection_pool, single_connection_client=True
        )
    return client


class _ThreadRedis:
    """Stands for the calling thread's `thread_redis(url)`: a budget made in one thread may be spent in another."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __getattr__(self, name: str) -> Any:
        return getattr(thread_redis(self.url), name)

    def register_script(self, script: str) -> Any:
        """On the shared client: registering needs no connection (a thread's client connects when it is made, and a
        budget must be made while Redis is away); the budget runs its scripts through the thread's client."""
        return shared_redis(self.url).register_script(script)


class RateBudget:
    """`limits` is a list of (requests, seconds), e.g. GHL's [(100, 10.0), (200_000, 86_400.0)]."""

    def __init__(
        self,
        redis: Any,
        key: str,
        limits: list[tuple[int, float]],
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[], Any] | Callable[[float], Any] = time.sleep,
        safety_ms: int = DEFAULT_SAFETY_MS,
    ) -> None:
        if not limits:
            raise ValueError("a RateBudget needs at least one (requests, seconds) limit")
        self.redis = redis
        self.key = key
        self.limits = sorted(((int(n), float(s)) for n, s in limits), key=lambda item: item[1])
        self.clock = clock  # epoch seconds; None = the Redis server's clock (one clock for every machine)
        self.sleep = sleep
        self._windows: list[tuple[str, int, int, str]] = []
        for n, seconds in self.limits:
            kind = "log" if n <= LOG_WINDOW_MAX_LIMIT else "count"
            win_ms = int(seconds * 1000) + (safety_ms if kind == "log" else 0)
            self._windows.append((f"{key}:{n}/{int(seconds * 1000)}ms", n, win_ms, kind))
        self._acquire = redis.register_script(_ACQUIRE)
        self._observe = redis.register_script(_OBSERVE)
        self._keys = [w[0] for w in self._windows]
        # grant ids: unique across processes (prefix) and cheap per request (a counter, not a uuid4 each)
        self._member_prefix = uuid.uuid4().hex[:12] + ":"
        self._members = itertools.count()
        self._pending: list[Any] | None = None  # remaining per window, observed but not yet charged

    @classmethod
    def for_account(
        cls, redis_url: str, provider: str, account_id: str, limits: list[tuple[int, float]], **kwargs: Any
    ) -> RateBudget:
        return cls(_ThreadRedis(redis_url), f"ratebudget:{provider}:{account_id}", limits, **kwargs)

    def _now_arg(self) -> str:
        return "" if self.clock is None else str(int(self.clock() * 1000))

    def try_acquire(self) -> float:
        """Take a token if one is free; return 0.0, or the seconds to wait before one can be.

        A deferred observation (`observe(..., defer=True)`) is charged first, in the same script."""
        pending, self._pending = self._pending, None
        argv: list[Any] = [self._now_arg(), f"{self._member_prefix}{next(self._members)}", len(self._windows)]
        for i, (_key, n, win_ms, kind) in enumerate(self._windows):
            argv += [n, win_ms, kind, "" if pending is None or pending[i] is None else pending[i]]
        wait_ms, _now = self._eval(self._acquire, argv)
        return int(wait_ms) / 1000.0

    def _eval(self, script: Any, argv: list[Any]) -> Any:
        """EVALSHA straight away (redis-py's Script.__call__ spends more CPU on a typing check than on the call);
        the script is loaded on the first NOSCRIPT, as Script.__call__ would."""
        try:
            return self.redis.evalsha(script.sha, len(self._keys), *self._keys, *argv)
        except NoScriptError:
            return script(keys=self._keys, args=argv, client=self.redis)  # this thread's client, not the maker's

    def acquire(self, timeout: float = 60.0) -> float:
        """Block until a token is granted; return the seconds waited. Raises BudgetExhaustedError after `timeout`.

        Returns at once, without a token, while Redis cannot be reached (see the module docstring)."""
        waited = 0.0
        while True:
            try:
                wait = self.try_acquire()
            except RedisError as exc:
                _unreachable(self.key, exc)
                return waited
            if wait <= 0:
                return waited
            if waited + wait > timeout:
                raise BudgetExhaustedError(
                    f"no rate budget token within {timeout:.1f}s (next in {wait:.1f}s)",
                    retry_after=wait,
                    provider=self.key,
                )
            pause = wait + random.uniform(0, WAKE_JITTER_MS) / 1000.0
            self.sleep(pause)  # type: ignore[call-arg]
            waited += pause

    def observe(
        self,
        remaining: int | None = None,
        window_ms: int | None = None,
        daily_remaining: int | None = None,
        *,
        defer: bool = False,
    ) -> int:
        """Correct from the provider's headers: charge what others spent. Returns the number of tokens added.

        `remaining` applies to the shortest window (the burst window, `window_ms` long at the provider) and
        `daily_remaining` to the longest one; a budget is only ever tightened here, never loosened. With
        `defer=True` (the clients' hot path) the correction is charged with the next token this budget takes,
        in the same Redis round trip, and 0 is returned.
        """
        if remaining is None and daily_remaining is None:
            return 0
        last = len(self._windows) - 1
        values: list[Any] = []
        for i in range(len(self._windows)):
            value: int | None = None
            if i == 0 and remaining is not None:
                value = remaining
            elif i == last and i > 0 and daily_remaining is not None:
                value = daily_remaining
            values.append(None if value is None else max(0, int(value)))
        if defer:
            self._pending = values
            return 0
        argv: list[Any] = [self._now_arg(), f"obs-{self._member_prefix}{next(self._members)}", len(self._windows)]
        for (_key, n, win_ms, kind), value in zip(self._windows, values, strict=True):
            argv += [n, win_ms, kind, "" if value is None else value]
        try:
            return int(self._eval(self._observe, argv))
        except RedisError as exc:  # the call it corrects for has happened: it must not fail for this
            _unreachable(self.key, exc)
            return 0

    def _flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            last = len(pending) - 1
            self.observe(pending[0], None, pending[last] if last > 0 else None)

    def used(self) -> list[int]:
        """Tokens currently charged per window (for tests and the benchmark), deferred observations included."""
        self._flush()
        now_ms = int((self.clock() if self.clock else time.time()) * 1000)
        out = []
        for key, _n, win_ms, kind in self._windows:
            if kind == "log":
                out.append(int(self.redis.zcount(key, now_ms - win_ms + 1, "+inf")))
            else:
                out.append(int(self.redis.hget(key, "c") or 0))
        return out

    def used_now(self) -> list[WindowUse]:
        """What each window has spent right now, read-only (no grant, no expiry touched), by the Redis clock."""
        return used_now_many([self])[0]

    def reset(self) -> None:
        self.redis.delete(*[w[0] for w in self._windows])


@dataclass(frozen=True)
class WindowUse:
    """One window of a budget as it stands now: `used` of `limit` requests per `seconds`."""

    limit: int
    seconds: float
    used: int

    @property
    def share(self) -> float:
        return min(1.0, self.used / self.limit) if self.limit else 0.0

    @property
    def percent(self) -> int:
        return round(100 * self.share)


def used_now_many(budgets: list[RateBudget]) -> list[list[WindowUse]]:
    """`used_now()` of many budgets on one Redis server in two round trips (the fleet page reads hundreds).

    Read-only: counts the sliding log's grants inside the window and the counter of the current bucket only, by
    the Redis server's clock (the one the grants were stamped with) unless the budgets carry a test clock.
    """
    if not budgets:
        return []
    redis = budgets[0].redis
    seconds, micros = redis.time()
    server_ms = int(seconds) * 1000 + int(micros) // 1000
    pipe = redis.pipeline(transaction=False)
    plan: list[tuple[int, int, str]] = []  # (limit, window ms, kind) per queued command
    for budget in budgets:
        now_ms = int(budget.clock() * 1000) if budget.clock else server_ms
        for key, n, win_ms, kind in budget._windows:
            if kind == "log":
                pipe.zcount(key, f"({now_ms - win_ms}", "+inf")
            else:
                pipe.hmget(key, "b", "c")
            plan.append((n, win_ms, kind))
    answers = iter(zip(pipe.execute(), plan, strict=True))
    out = []
    for budget in budgets:
        now_ms = int(budget.clock() * 1000) if budget.clock else server_ms
        uses = []
        for _n, seconds_window in budget.limits:
            answer, (n, win_ms, kind) = next(answers)
            if kind == "log":
                used = int(answer)
            else:
                bucket, count = answer
                used = int(count or 0) if bucket is not None and int(bucket) == now_ms // win_ms else 0
            uses.append(WindowUse(limit=n, seconds=seconds_window, used=used))
        out.append(uses)
    return out


class NullBudget:
    """No limits (tests, the unthrottled benchmark phase)."""

    def acquire(self, timeout: float = 60.0) -> float:
        return 0.0

    def observe(
        self,
        remaining: int | None = None,
        window_ms: int | None = None,
        daily_remaining: int | None = None,
        *,
        defer: bool = False,
    ) -> int:
        return 0
