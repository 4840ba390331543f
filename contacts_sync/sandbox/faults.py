"""Fault injection and per-account rate limiting shared by every emulator.

Settings are per (app, account); account "*" applies to every account of the app. The request path stays lean:
with nothing configured `before()` is two dict lookups and returns None.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from starlette.responses import HTMLResponse, JSONResponse, Response

# Every injected response carries this header, so recordings and tests can tell injected faults from behaviour.
FAULT_HEADER = "x-sandbox-fault"
# How long a simulated timeout hangs before answering 504 (longer than a client's sensible read timeout).
DEFAULT_HANG_SECONDS = 15.0


@dataclass
class FaultSettings:
    error_rate: float = 0.0  # share of requests answered 500
    timeout_rate: float = 0.0  # share of requests that hang `hang_s` then answer 504
    hang_s: float = DEFAULT_HANG_SECONDS
    latency_ms: int = 0  # added to every request
    storm_until: float = 0.0  # epoch seconds; until then every request gets 429
    drop_webhooks: bool = False  # outgoing webhooks are silently not sent
    rate_limit: int | None = None  # requests per window (None = the emulator's default)
    rate_window_s: float | None = None
    malformed_rate: float = 0.0  # share of requests answered 200 with an HTML page (a proxy in the way)
    fail_next: int = 0  # the next N requests are answered 500, then none: a deterministic outage for tests
    # Contact writes are answered as usual but stored without these fields (a name or a list of names): a
    # target that silently loses data, for the product's verified delivery (GHL emulator only).
    drop_field: str | list[str] = ""

    @classmethod
    def names(cls) -> set[str]:
        return {f.name for f in fields(cls)}

    def active(self) -> bool:
        return bool(
            self.fail_next
            or self.error_rate
            or self.timeout_rate
            or self.latency_ms
            or self.malformed_rate
            or self.storm_until > time.time()
        )


@dataclass
class RateState:
    allowed: bool
    limit: int
    remaining: int
    window_ms: int
    retry_after_s: float = 0.0


@dataclass
class _Window:
    limit: int
    window_s: float
    hits: deque[float] = field(default_factory=deque)


class FaultInjector:
    def __init__(self) -> None:
        self.settings: dict[tuple[str, str], FaultSettings] = {}
        self._windows: dict[tuple[str, str], _Window] = {}
        self.injected: dict[str, int] = {
            "error": 0,
            "timeout": 0,
            "storm": 0,
            "rate_limited": 0,
            "dropped": 0,
            "malformed": 0,
            "dropped_field": 0,
        }

    # ----- admin ----------------------------------------------------------------------------------------
    def set(self, app: str, account: str = "*", **values: Any) -> FaultSettings:
        unknown = set(values) - FaultSettings.names()
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        drop = values.get("drop_field", "")
        if not isinstance(drop, (str, list)) or (isinstance(drop, list) and not all(isinstance(f, str) for f in drop)):
            raise ValueError("drop_field must be a field name or a list of field names")
        current = self.settings.get((app, account)) or FaultSettings()
        merged = FaultSettings(**{**asdict(current), **values})
        self.settings[(app, account)] = merged
        self._windows.pop((app, account), None)
        if account == "*":
            for key in [k for k in self._windows if k[0] == app]:
                del self._windows[key]
        return merged

    def clear(self, app: str | None = None, account: str | None = None) -> None:
        for key in list(self.settings):
            if (app is None or key[0] == app) and (account is None or key[1] == account):
                del self.settings[key]
        self._windows.clear()

    def as_list(self) -> list[dict[str, Any]]:
        return [{"app": a, "account": acc, **asdict(s)} for (a, acc), s in self.settings.items()]

    def get(self, app: str, account: str) -> FaultSettings | None:
        if not self.settings:
            return None
        return self.settings.get((app, account)) or self.settings.get((app, "*"))

    # ----- request path ---------------------------------------------------------------------------------
    async def before(self, app: str, account: str) -> Response | None:
        """Apply latency/5xx/timeout/storm faults; a Response short-circuits the request."""
        s = self.get(app, account)
        if s is None or not s.active():
            return None
        if s.latency_ms:
            await asyncio.sleep(s.latency_ms / 1000)
        if s.storm_until > time.time():
            self.injected["storm"] += 1
            return JSONResponse(
                {"statusCode": 429, "message": "Too Many Requests"},
                status_code=429,
                headers={"Retry-After": str(max(1, int(s.storm_until - time.time()))), FAULT_HEADER: "storm"},
            )
        if s.timeout_rate and random.random() < s.timeout_rate:
            self.injected["timeout"] += 1
            await asyncio.sleep(s.hang_s)
            return JSONResponse(
                {"statusCode": 504, "message": "Gateway Timeout"},
                status_code=504,
                headers={FAULT_HEADER: "timeout"},
            )
        if s.fail_next > 0:
            s.fail_next -= 1
            self.injected["error"] += 1
            return JSONResponse(
                {"statusCode": 500, "message": "Internal server error"},
                status_code=500,
                headers={FAULT_HEADER: "error"},
            )
        if s.error_rate and random.random() < s.error_rate:
            self.injected["error"] += 1
            return JSONResponse(
                {"statusCode": 500, "message": "Internal server error"},
                status_code=500,
                headers={FAULT_HEADER: "error"},
            )
        if s.malformed_rate and random.random() < s.malformed_rate:
            self.injected["malformed"] += 1
            return HTMLResponse("<html><body>502 Bad Gateway</body></html>", headers={FAULT_HEADER: "malformed"})
        return None

    def take(self, app: str, account: str, default_limit: int, default_window_s: float) -> RateState:
        """Count one request against the (app, account) sliding window; not allowed beyond the limit."""
        key = (app, account)
        win = self._windows.get(key)
        if win is None:
            s = self.get(app, account)
            limit = s.rate_limit if s and s.rate_limit is not None else default_limit
            window_s = s.rate_window_s if s and s.rate_window_s is not None else default_window_s
            win = self._windows[key] = _Window(limit, window_s)
        now = time.monotonic()
        hits = win.hits
        edge = now - win.window_s
        while hits and hits[0] <= edge:
            hits.popleft()
        window_ms = int(win.window_s * 1000)
        if len(hits) >= win.limit:
            self.injected["rate_limited"] += 1
            return RateState(False, win.limit, 0, window_ms, retry_after_s=hits[0] + win.window_s - now)
        hits.append(now)
        return RateState(True, win.limit, win.limit - len(hits), window_ms)

    def dropped_fields(self, app: str, account: str) -> tuple[str, ...]:
        """The fields a write to this account must lose (fault `drop_field`), counted once per write."""
        s = self.get(app, account)
        if s is None or not s.drop_field:
            return ()
        self.injected["dropped_field"] += 1
        return (s.drop_field,) if isinstance(s.drop_field, str) else tuple(s.drop_field)

    def drop_webhook(self, app: str, account: str) -> bool:
        s = self.get(app, account)
        if s is not None and s.drop_webhooks:
            self.injected["dropped"] += 1
            return True
        return False
