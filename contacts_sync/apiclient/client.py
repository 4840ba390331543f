"""The base every outside-API client is built on (after stripe-python and slack-sdk).

One `_request()` adds auth and default headers, spends the shared rate budget, sends through one
`requests.Session`, decides retries in ONE place (`should_retry`), backs off exponentially with full jitter
(behind an injectable `sleep`), honours `Retry-After`, caps attempts and total time, refreshes credentials once
on a 401 (`on_401`), maps error responses to the error tree (`error_for`) and reports one `CallRecord` per
logical call to `on_call`.
"""

from __future__ import annotations

import json as jsonlib
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar, overload
from urllib.parse import quote, urlsplit

import requests
from requests.exceptions import InvalidJSONError
from requests.models import RequestEncodingMixin
from requests.structures import CaseInsensitiveDict
from requests.utils import check_header_validity

from contacts_sync.apiclient import headers as _headers
from contacts_sync.apiclient.budget import NullBudget, RateBudget
from contacts_sync.apiclient.calls import CallRecord
from contacts_sync.apiclient.errors import (
    AddressRefusedError,
    ApiError,
    AuthError,
    ConflictError,
    ForbiddenError,
    MalformedResponseError,
    NotFoundError,
    RateLimitedError,
    RedirectRefusedError,
    ServerError,
    TransportError,
    ValidationError,
    messages_from_body,
)
from contacts_sync.apiclient.outbound import UnsafeURLError, safe_session

_T = TypeVar("_T")

_headers.install()  # plain response headers without the email parser (apiclient/headers.py)

log = logging.getLogger(__name__)

# Attempts per logical call (first try + retries): enough to ride out a short 5xx blip or a 429 burst.
DEFAULT_MAX_ATTEMPTS = 5
# A logical call never takes longer than this, retries and waits included (a sync run must keep moving).
DEFAULT_MAX_TOTAL_SECONDS = 60.0
# Exponential backoff: base * 2**(attempt-1), capped, then full jitter (AWS "Full Jitter").
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 20.0
# A server's Retry-After above this is not waited for inside one call (the error surfaces instead).
RETRY_AFTER_CAP_SECONDS = 30.0
# (connect, read) timeouts per attempt.
DEFAULT_TIMEOUT = (5.0, 30.0)
# How long a call may wait for a rate-budget token before giving up.
BUDGET_TIMEOUT_SECONDS = 30.0
REQUEST_ID_HEADERS = ("x-request-id", "x-trace-id", "traceid", "x-amzn-requestid", "cf-ray")


class ApiClient:
    provider = "generic"
    user_agent = "contacts-sync/0.1"

    def __init__(
        self,
        *,
        base_url: str,
        budget: RateBudget | NullBudget | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
        sleep: Callable[[float], Any] = time.sleep,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        max_total_seconds: float = DEFAULT_MAX_TOTAL_SECONDS,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.budget = budget or NullBudget()
        self.on_call = on_call
        self.sleep = sleep
        # Checked addresses only, no proxy from the environment (apiclient/outbound.py): base URLs are typed by users.
        self.session = session or client_session()
        self.clock = clock
        self.max_attempts = max_attempts
        self.max_total_seconds = max_total_seconds
        self.timeout = timeout

    # ----- hooks for subclasses ---------------------------------------------------------------------
    def auth_headers(self) -> dict[str, str]:
        return {}

    def default_headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "User-Agent": self.user_agent}

    def on_401(self, response: requests.Response) -> bool:
        """Refresh credentials after a 401; True = retry the request once with the new ones."""
        return False

    def observe_response(self, response: requests.Response) -> None:
        """Feed rate-limit headers back into the budget (subclasses know their header names)."""

    def should_retry(self, *, response: requests.Response | None = None, exc: Exception | None = None) -> bool:
        """THE retry decision: timeouts, connection errors, 5xx and 429; never any other 4xx."""
        if exc is not None:
            return isinstance(exc, (requests.Timeout, requests.ConnectionError))
        if response is not None:
            return response.status_code == 429 or response.status_code >= 500
        return False

    def backoff(self, attempt: int, response: requests.Response | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1`: Retry-After when given, else capped exponential + jitter."""
        retry_after = retry_after_seconds(response) if response is not None else None
        if retry_after is not None:
            return min(retry_after, RETRY_AFTER_CAP_SECONDS) + random.uniform(0, 0.25)
        return random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)))

    def error_for(self, response: requests.Response, operation: str) -> ApiError:
        body = parse_body(response)
        messages = messages_from_body(body)
        message = "; ".join(messages) or response.reason or f"HTTP {response.status_code}"
        kw: dict[str, Any] = {
            "status": response.status_code,
            "body": body,
            "request_id": request_id_of(response, body),
            "operation": operation,
            "provider": self.provider,
        }
        status = response.status_code
        if 300 <= status < 400:
            # Never followed: the request carried credentials, and a redirect could hand them to another host.
            target = urlsplit(response.headers.get("Location", ""))
            where = f" to {target.scheme}://{target.netloc}" if target.netloc else ""
            return RedirectRefusedError(f"HTTP {status} redirect{where} not followed", **kw)
        if status == 401:
            return AuthError(message, **kw)
        if status == 403:
            return ForbiddenError(message, **kw)
        if status == 404:
            return NotFoundError(message, **kw)
        if status == 409:
            return ConflictError(message, **kw)
        if status in (400, 422):
            return ValidationError(message, messages=messages, **kw)
        if status == 429:
            return RateLimitedError(message, retry_after=retry_after_seconds(response), **kw)
        if status >= 500:
            return ServerError(message, **kw)
        return ApiError(message, **kw)

    # ----- the one request path -----------------------------------------------------------------------
    def _url(self, path_template: str, path_params: dict[str, Any] | None) -> str:
        path = path_template
        if path_params:
            missing = sorted(k for k, v in path_params.items() if v is None or v == "")
            if missing:  # never a request to `/contacts/None`: the caller's record is at fault, not the API
                raise ValueError(f"{path_template}: no value for {', '.join(missing)}")
            path = path_template.format(**{k: quote(str(v), safe="") for k, v in path_params.items()})
        return self.base_url + path

    def _request(
        self,
        method: str,
        path_template: str,
        *,
        path_params: dict[str, Any] | None = None,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        json: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        operation: str,
        expected: Iterable[int] = (200, 201),
    ) -> Any:
        expected = tuple(expected)
        url = self._url(path_template, path_params)
        started = self.clock()
        attempts = rate_limited = 0
        refreshed = False
        status: int | None = None
        error: ApiError | None = None
        result: Any = None
        try:
            while True:
                response: requests.Response | None = None
                exc: Exception | None = None
                self.budget.acquire(timeout=BUDGET_TIMEOUT_SECONDS)
                attempts += 1  # counts requests actually sent (not a wait for a budget token that gave up)
                try:
                    response = self.session.request(
                        method,
                        url,
                        params=params,
                        json=json,
                        data=data,
                        headers={**self.default_headers(), **self.auth_headers(), **(headers or {})},
                        timeout=self.timeout,
                        allow_redirects=False,
                    )
                except requests.RequestException as e:
                    exc = e
                except UnsafeURLError as e:  # the host resolved to a private address: no request was sent
                    raise AddressRefusedError(str(e), operation=operation, provider=self.provider) from None
                if response is not None:
                    status = response.status_code
                    self.observe_response(response)
                    if status in expected:
                        result = self._parse(response, operation)
                        return result
                    if status == 429:
                        rate_limited += 1
                    if status == 401 and not refreshed and self.on_401(response):
                        refreshed = True
                        attempts -= 1  # the refresh retry is not a retry of a failure
                        continue
                if not self.should_retry(response=response, exc=exc) or attempts >= self.max_attempts:
                    raise self._final_error(response, exc, operation)
                wait = self.backoff(attempts, response)
                if self.clock() - started + wait > self.max_total_seconds:
                    raise self._final_error(response, exc, operation)
                log.info(
                    "retrying provider=%s op=%s attempt=%s status=%s wait=%.2fs",
                    self.provider,
                    operation,
                    attempts,
                    status,
                    wait,
                )
                self.sleep(wait)
        except ApiError as e:
            error = e
            raise
        finally:
            if self.on_call is not None:
                self.on_call(
                    CallRecord(
                        provider=self.provider,
                        method=method.upper(),
                        path_template=path_template,
                        status=status,
                        duration_ms=int((self.clock() - started) * 1000),
                        attempts=attempts,
                        rate_limited=rate_limited,
                        error=None if error is None else f"{type(error).__name__}: {error.message}"[:500],
                        operation=operation,
                    )
                )

    def _final_error(self, response: requests.Response | None, exc: Exception | None, operation: str) -> ApiError:
        if response is not None:
            return self.error_for(response, operation)
        kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
        return TransportError(f"{kind}: {exc}", operation=operation, provider=self.provider)

    def _parse(self, response: requests.Response, operation: str) -> Any:
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as e:
            ctype = response.headers.get("content-type", "?")
            raise MalformedResponseError(
                f"{operation}: response is not JSON (content-type {ctype}, {len(response.content)} bytes)",
                status=response.status_code,
                body=response.text[:500],
                request_id=request_id_of(response, None),
                operation=operation,
                provider=self.provider,
            ) from e

    @overload
    def require(self, body: Any, *keys: str, operation: str) -> dict[str, Any]: ...

    @overload
    def require(self, body: Any, *keys: str, operation: str, kind: type[_T]) -> _T: ...

    def require(self, body: Any, *keys: str, operation: str, kind: type[Any] = dict) -> Any:
        """`body[key]` for a field the operation needs; MalformedResponseError (naming it) when absent/wrong type."""
        value = body
        path = []
        for key in keys:
            path.append(key)
            if not isinstance(value, dict) or key not in value:
                raise MalformedResponseError(
                    f"{operation}: response lacks '{'.'.join(path)}'",
                    body=body if len(jsonlib.dumps(body, default=str)) < 2000 else None,
                    operation=operation,
                    provider=self.provider,
                )
            value = value[key]
        if kind is not None and not isinstance(value, kind):
            raise MalformedResponseError(
                f"{operation}: '{'.'.join(keys)}' is {type(value).__name__}, expected {kind.__name__}",
                operation=operation,
                provider=self.provider,
            )
        return value


class LeanSession(requests.Session):
    """A requests Session whose plain calls skip what our API calls never use: merging session-level settings,
    cookies and hooks into every request (a third of requests' CPU per call). Each call is prepared from its own
    method, URL, params, headers and body and sent through the same adapter (urllib3 pool, timeouts, the
    checked-address connections of apiclient/outbound.py, TLS verification). A redirect is returned as is when
    `allow_redirects=False` (what ApiClient passes); otherwise it, or a call with other options, takes requests'
    full path, so behaviour is requests' own."""

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        json: Any = None,
        timeout: Any = None,
        allow_redirects: bool = True,
        **kwargs: Any,
    ) -> requests.Response:
        full = {
            "params": params,
            "data": data,
            "headers": headers,
            "json": json,
            "timeout": timeout,
            "allow_redirects": allow_redirects,
        }
        if kwargs or self.cookies or self.auth or self.headers.get("Cookie") or self.hooks["response"]:
            return super().request(method, url, **full, **kwargs)
        prepared = _lean_prepared(method, url, headers, params, data, json)
        if prepared is None:
            prepared = requests.PreparedRequest()
            prepared.prepare(method=method.upper(), url=url, headers=headers, params=params, data=data, json=json)
        # types-requests says Session.verify may be None; requests' own Session.request passes it on as is too.
        response = self.get_adapter(url).send(
            prepared,
            timeout=timeout,
            proxies=self.proxies,
            verify=self.verify,  # type: ignore[arg-type]
            cert=self.cert,
            stream=False,
        )
        if response.is_redirect and allow_redirects:
            response.close()
            return super().request(method, url, **full)
        return response


# What `PreparedRequest.prepare` leaves as it is: an http(s) URL of plain ASCII with a path, no user:password@, no
# character requests would percent-encode, and no escape at all (requests would unescape an unreserved one).
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(?::[0-9]+)?/[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")


def _lean_prepared(
    method: str, url: str, headers: Any, params: Any, data: Any, json: Any
) -> requests.PreparedRequest | None:
    """The request `PreparedRequest.prepare` would make, for the calls API clients make (a plain URL, query
    parameters, a JSON body or none), at a fifth of its CPU: None for anything else (a form or raw body, a URL it
    would rewrite), which then takes requests' own path. Headers are checked as requests checks them (no line
    breaks: a secret must not smuggle in a header), the JSON body is encoded as requests encodes it."""
    if data or not _PLAIN_URL.fullmatch(url):
        return None
    method = method.upper()
    if params:
        query = RequestEncodingMixin._encode_params(params)  # type: ignore[attr-defined]  # requests' own (no stub)
        if query:  # urlencode's escapes are ones requests' requoting keeps
            url = f"{url}{'&' if '?' in url else '?'}{query}"
    prepared = requests.PreparedRequest()
    prepared.method = method
    prepared.url = url
    prepared.headers = CaseInsensitiveDict()
    for header in (headers or {}).items():
        check_header_validity(header)
        prepared.headers[header[0]] = header[1]
    body: bytes | None = None
    if json is not None:
        try:
            body = jsonlib.dumps(json, allow_nan=False).encode("utf-8")
        except ValueError as ve:
            raise InvalidJSONError(ve, request=prepared) from ve
        if "content-type" not in prepared.headers:
            prepared.headers["Content-Type"] = "application/json"
    if body:
        prepared.headers["Content-Length"] = str(len(body))
    elif method not in ("GET", "HEAD") and prepared.headers.get("Content-Length") is None:
        prepared.headers["Content-Length"] = "0"
    prepared.body = body
    prepared.hooks = {"response": []}
    return prepared


def client_session() -> requests.Session:
    """The API clients' Session: checked addresses, no environment proxy (outbound.safe_session), the lean
    request path, and a CA bundle from REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE read once here (with `trust_env` off
    requests would not read it at all, and re-reading it per call cost CPU: bench/fleet.py)."""
    session = safe_session(LeanSession)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return session


def parse_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


def request_id_of(response: requests.Response, body: Any) -> str | None:
    for name in REQUEST_ID_HEADERS:
        if response.headers.get(name):
            return response.headers[name]
    trace_id = body.get("traceId") if isinstance(body, dict) else None
    return trace_id if isinstance(trace_id, str) else None


def retry_after_seconds(response: requests.Response) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); None when absent or unparsable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
