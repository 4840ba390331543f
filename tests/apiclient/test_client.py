"""Unit tests of the retry/backoff decision: the HTTP seam is a fake Session (allowed for retry logic only)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from contacts_sync.apiclient import ApiClient, CallRecord
from contacts_sync.apiclient.errors import (
    AuthError,
    ConflictError,
    ForbiddenError,
    MalformedResponseError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
    ValidationError,
)


def response(status: int, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None):
    r = requests.Response()
    r.status_code = status
    r.headers.update(headers or {})
    if raw is not None:
        r._content = raw
    else:
        import json

        r._content = b"" if body is None else json.dumps(body).encode()
        r.headers.setdefault("content-type", "application/json")
    r.reason = "reason"
    return r


class FakeSession:
    """Answers each request with the next scripted item (a Response or an exception to raise)."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.sent: list[dict[str, Any]] = []

    def request(self, method: str, url: str, **kw: Any) -> requests.Response:
        self.sent.append({"method": method, "url": url, **kw})
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(session: FakeSession, **kw: Any) -> tuple[ApiClient, Clock, list[CallRecord]]:
    clock = Clock()
    calls: list[CallRecord] = []
    client = ApiClient(
        base_url="http://api.test/",
        session=session,
        sleep=clock.sleep,
        clock=clock,
        on_call=calls.append,
        **kw,
    )
    return client, clock, calls


def test_it_returns_parsed_json_and_records_one_call() -> None:
    session = FakeSession(response(200, {"ok": 1}))
    client, _clock, calls = make_client(session)
    assert client._request("GET", "/things/{id}", path_params={"id": "a/b"}, operation="get_thing") == {"ok": 1}
    assert session.sent[0]["url"] == "http://api.test/things/a%2Fb"
    assert calls[0].path_template == "/things/{id}"
    assert (calls[0].status, calls[0].attempts, calls[0].error) == (200, 1, None)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_it_retries_5xx_and_429_then_succeeds(status: int) -> None:
    session = FakeSession(response(status, {"message": "x"}), response(200, {"ok": True}))
    client, clock, calls = make_client(session)
    assert client._request("GET", "/x", operation="op") == {"ok": True}
    assert len(session.sent) == 2 and len(clock.sleeps) == 1
    assert calls[0].attempts == 2
    assert calls[0].rate_limited == (1 if status == 429 else 0)


@pytest.mark.parametrize(
    "status,error",
    [
        (400, ValidationError),
        (401, AuthError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, ValidationError),
    ],
)
def test_it_never_retries_other_4xx(status: int, error: type) -> None:
    session = FakeSession(response(status, {"message": ["a is bad", "b is bad"]}))
    client, clock, calls = make_client(session)
    with pytest.raises(error) as info:
        client._request("POST", "/x", json={}, operation="create_x")
    assert len(session.sent) == 1 and clock.sleeps == []
    assert info.value.status == status and info.value.operation == "create_x"
    assert calls[0].error and calls[0].error.startswith(error.__name__)
    if error is ValidationError:
        assert info.value.messages == ["a is bad", "b is bad"]


def test_it_retries_timeouts_and_connection_errors_then_raises_transport_error() -> None:
    session = FakeSession(
        requests.ConnectTimeout("slow"), requests.ConnectionError("refused"), requests.ReadTimeout("t")
    )
    client, clock, calls = make_client(session, max_attempts=3)
    with pytest.raises(TransportError) as info:
        client._request("GET", "/x", operation="op")
    assert info.value.retryable and info.value.status is None
    assert len(session.sent) == 3 and len(clock.sleeps) == 2
    assert calls[0].attempts == 3 and calls[0].status is None


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    client, _clock, _calls = make_client(FakeSession())
    for attempt in range(1, 12):
        bound = min(20.0, 0.5 * 2 ** (attempt - 1))
        values = [client.backoff(attempt) for _ in range(50)]
        assert all(0 <= v <= bound for v in values)
        assert len(set(values)) > 1  # jittered, not a fixed delay


def test_it_honours_retry_after_on_429() -> None:
    session = FakeSession(response(429, {"message": "slow down"}, {"Retry-After": "7"}), response(200, {}))
    client, clock, calls = make_client(session)
    client._request("GET", "/x", operation="op")
    assert 7.0 <= clock.sleeps[0] <= 7.25
    assert calls[0].rate_limited == 1


def test_it_gives_up_after_the_attempt_cap_with_the_last_error() -> None:
    session = FakeSession(*[response(503, {"message": "down"}) for _ in range(5)])
    client, clock, _calls = make_client(session)
    with pytest.raises(ServerError) as info:
        client._request("GET", "/x", operation="op")
    assert len(session.sent) == 5 and len(clock.sleeps) == 4
    assert info.value.retryable and "down" in str(info.value)


def test_it_gives_up_when_the_next_wait_would_pass_the_total_time_cap() -> None:
    session = FakeSession(*[response(429, {}, {"Retry-After": "25"}) for _ in range(5)])
    client, _clock, _calls = make_client(session, max_total_seconds=40)
    with pytest.raises(RateLimitedError) as info:
        client._request("GET", "/x", operation="op")
    assert len(session.sent) == 2  # 25 s waited once; a second 25 s wait would pass 40 s
    assert info.value.retry_after == 25.0


def test_it_refreshes_once_on_401_and_retries_with_the_new_credentials() -> None:
    session = FakeSession(response(401, {"message": "expired"}), response(200, {"ok": 1}))
    client, _clock, calls = make_client(session)
    tokens = iter(["old", "new"])
    current = {"t": next(tokens)}
    client.auth_headers = lambda: {"Authorization": f"Bearer {current['t']}"}  # type: ignore[method-assign]

    def refresh(_response: Any) -> bool:
        current["t"] = next(tokens)
        return True

    client.on_401 = refresh  # type: ignore[method-assign]
    assert client._request("GET", "/x", operation="op") == {"ok": 1}
    assert [s["headers"]["Authorization"] for s in session.sent] == ["Bearer old", "Bearer new"]
    assert calls[0].attempts == 1


def test_a_second_401_after_refresh_raises_auth_error() -> None:
    session = FakeSession(response(401, {"message": "expired"}), response(401, {"message": "still bad"}))
    client, _clock, _calls = make_client(session)
    client.on_401 = lambda _r: True  # type: ignore[method-assign]
    with pytest.raises(AuthError, match="still bad"):
        client._request("GET", "/x", operation="op")
    assert len(session.sent) == 2


def test_a_non_json_success_is_a_malformed_response_naming_the_operation() -> None:
    session = FakeSession(response(200, raw=b"<html>oops</html>", headers={"content-type": "text/html"}))
    client, _clock, _calls = make_client(session)
    with pytest.raises(MalformedResponseError, match="get_contact: response is not JSON"):
        client._request("GET", "/x", operation="get_contact")


def test_require_names_the_operation_and_the_missing_field() -> None:
    client, _clock, _calls = make_client(FakeSession())
    with pytest.raises(MalformedResponseError, match="get_contact: response lacks 'contact'"):
        client.require({"other": 1}, "contact", operation="get_contact")
    with pytest.raises(MalformedResponseError, match="is list, expected dict"):
        client.require({"contact": []}, "contact", operation="get_contact")
    assert client.require({"contact": {"id": "1"}}, "contact", operation="get_contact") == {"id": "1"}


def test_a_budget_that_gives_no_token_sends_nothing_and_records_zero_attempts() -> None:
    from contacts_sync.apiclient.errors import BudgetExhaustedError

    class Exhausted:
        def acquire(self, timeout: float = 60.0) -> float:
            raise BudgetExhaustedError("no token", retry_after=5.0)

        def observe(self, *args: Any) -> int:
            return 0

    session = FakeSession(response(200, {}))
    client, _clock, calls = make_client(session, budget=Exhausted())
    with pytest.raises(BudgetExhaustedError):
        client._request("GET", "/x", operation="op")
    assert session.sent == []
    assert (calls[0].attempts, calls[0].status) == (0, None)
    assert calls[0].error and calls[0].error.startswith("BudgetExhaustedError")


def test_a_client_reads_its_ca_bundle_once_and_takes_no_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/company.pem")
    session = ApiClient(base_url="https://api.example.com/v1").session
    assert session.trust_env is False  # not re-read on every request
    assert session.proxies == {}  # a proxy would resolve user-typed hosts itself, past the address check
    assert session.verify == "/etc/ssl/certs/company.pem"


def test_the_lean_session_sends_what_requests_would_and_follows_a_redirect_only_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import http.server
    import json as jsonlib
    import threading

    from contacts_sync.apiclient.client import client_session

    monkeypatch.setenv("PRIVATE_URL_ALLOWLIST", "127.0.0.1")  # the test's own server
    seen: list[tuple[str, str, str, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            seen.append((self.command, self.path, self.headers.get("authorization", ""), body))
            if self.path.startswith("/moved"):
                self.send_response(301)
                self.send_header("Location", "/ok?via=redirect")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            out = jsonlib.dumps({"path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        session = client_session()
        posted = session.request(
            "POST",
            f"{base}/ok",
            params={"q": "a b"},
            json={"name": "Zoë"},
            headers={"Authorization": "Bearer t"},
            timeout=(2, 5),
        )
        assert posted.status_code == 200 and posted.json() == {"path": "/ok?q=a+b"}
        assert seen[-1] == ("POST", "/ok?q=a+b", "Bearer t", jsonlib.dumps({"name": "Zoë"}).encode())
        moved = session.request("GET", f"{base}/moved", headers={"Authorization": "Bearer t"}, timeout=(2, 5))
        assert moved.status_code == 200 and moved.json() == {"path": "/ok?via=redirect"}
        kept = session.request("GET", f"{base}/moved", timeout=(2, 5), allow_redirects=False)
        assert kept.status_code == 301 and seen[-1][1] == "/moved"  # what ApiClient asks: never followed
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("missing", [None, ""])
def test_a_missing_path_value_is_an_error_and_nothing_is_sent(missing: Any) -> None:
    session = FakeSession(response(200, {"ok": 1}))
    client, _clock, calls = make_client(session)
    with pytest.raises(ValueError, match="no value for contactId"):
        client._request("GET", "/contacts/{contactId}", path_params={"contactId": missing}, operation="get_contact")
    assert session.sent == [] and calls == []


LEAN_URLS = [  # (url, whether the lean path takes it)
    ("http://127.0.0.1:5000/ghl/contacts/upsert", True),
    ("https://services.leadconnectorhq.com/contacts/abc?locationId=x", True),
    ("http://h/", True),
    ("http://h", False),  # requests adds the path
    ("http://user:pw@h/x", False),  # requests takes the credentials out
    ("http://h/a b", False),  # requests percent-encodes
    ("http://h/%7E", False),  # requests unescapes an unreserved character
    ("https://exämple.com/x", False),  # requests IDNA-encodes
    ("http://h/a#frag", False),
]
LEAN_PARAMS = [
    None,
    {},
    {"a": "1", "skip": None, "many": ["x", "y"]},
    [("query", "Ann@Example.com"), ("n", 2)],
    {"q": "ü ö"},
]
LEAN_BODIES = [None, {"name": "Zoë", "n": 1}, [], {}]
LEAN_HEADERS = [{"Accept": "application/json", "Authorization": "Bearer t"}, {"content-type": "text/plain"}, {}]


@pytest.mark.parametrize("method", ["get", "POST", "put", "DELETE"])
@pytest.mark.parametrize(("url", "lean_path"), LEAN_URLS)
def test_the_lean_prepare_makes_the_request_requests_would_or_leaves_it_to_requests(
    method: str, url: str, lean_path: bool
) -> None:
    """Every combination the lean path takes is byte for byte what PreparedRequest.prepare makes."""
    import itertools

    from contacts_sync.apiclient.client import _lean_prepared

    taken = 0
    for params, body, headers in itertools.product(LEAN_PARAMS, LEAN_BODIES, LEAN_HEADERS):
        lean = _lean_prepared(method, url, headers, params, None, body)
        if lean is None:
            continue
        taken += 1
        full = requests.PreparedRequest()
        full.prepare(method=method.upper(), url=url, headers=headers, params=params, json=body)
        assert (lean.method, lean.url, dict(lean.headers), lean.body) == (
            full.method,
            full.url,
            dict(full.headers),
            full.body,
        )
    assert taken == (len(LEAN_PARAMS) * len(LEAN_BODIES) * len(LEAN_HEADERS) if lean_path else 0)
    assert _lean_prepared(method, url, {}, None, {"form": "data"}, None) is None  # a form body: requests' path


def test_the_lean_prepare_refuses_what_requests_refuses() -> None:
    from contacts_sync.apiclient.client import _lean_prepared

    with pytest.raises(requests.exceptions.InvalidHeader):  # a secret with a line break must not add a header
        _lean_prepared("GET", "http://h/", {"Authorization": "Bearer t\r\nX-Admin: 1"}, None, None, None)
    with pytest.raises(requests.exceptions.InvalidJSONError):
        _lean_prepared("POST", "http://h/", {}, None, None, {"n": float("nan")})
