"""OAuth against the emulator: authorize redirect, code exchange, rotating single-use refresh tokens, permanent
failures, and the single-flight refresh race (8 concurrent callers, exactly one refresh)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from contacts_sync.apiclient.tokens import RotatingTokenProvider, StaticTokenProvider
from contacts_sync.connectors.ghl import oauth
from contacts_sync.connectors.ghl.client import GHLClient
from contacts_sync.connectors.ghl.oauth import OAuthError, TokenPair
from tests.connectors.ghl.conftest import Account

CLIENT_ID, CLIENT_SECRET = "sandbox-client-id", "sandbox-client-secret"
REDIRECT = "http://127.0.0.1:9/oauth/callback"
SCOPES = ["contacts.readonly", "contacts.write", "users.readonly"]


class RedisTokenStore:
    """A small TokenStore for tests (the DB-backed one is the connections service's)."""

    def __init__(self, redis: Any, key: str) -> None:
        self.redis, self.key = redis, key
        self.saves = 0

    def lock(self) -> Any:
        return self.redis.lock(f"{self.key}:lock", timeout=30, blocking_timeout=30)

    def load(self) -> dict[str, Any]:
        raw = self.redis.get(self.key)
        return json.loads(raw) if raw else {}

    def save(self, secrets: dict[str, Any], *, expires_at: Any = None, scopes: Any = None) -> None:
        data = {
            **self.load(),
            **secrets,
            "expires_at": expires_at.isoformat() if isinstance(expires_at, datetime) else expires_at,
        }
        self.redis.set(self.key, json.dumps(data))
        self.saves += 1


def authorize(sandbox: Any, location_id: str, state: str = "st-123") -> str:
    url = oauth.authorize_url(
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT,
        scopes=SCOPES,
        state=state,
        base=f"{sandbox.ghl_url}/oauth/chooselocation",
    )
    r = requests.get(url, params={"location_id": location_id}, allow_redirects=False, timeout=5)
    assert r.status_code == 302
    back = urlsplit(r.headers["location"])
    query = parse_qs(back.query)
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT and query["state"] == [state]
    return query["code"][0]


def token_url(sandbox: Any) -> str:
    return f"{sandbox.ghl_url}/oauth/token"


def exchange(sandbox: Any, code: str) -> TokenPair:
    return oauth.exchange_code(
        token_url=token_url(sandbox),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        code=code,
        redirect_uri=REDIRECT,
    )


def refresher(sandbox: Any) -> Any:
    return lambda rt: oauth.refresh_token(
        token_url=token_url(sandbox), client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=rt
    ).grant()


def rotating_provider(store: Any, sandbox: Any) -> RotatingTokenProvider:
    return RotatingTokenProvider(store, refresher(sandbox), skew_seconds=300, provider="ghl")


def stats(sandbox: Any) -> dict[str, int]:
    return sandbox.admin("GET", "/ghl/_admin/stats")


@pytest.fixture
def store(redis_client: Any) -> Iterator[RedisTokenStore]:
    s = RedisTokenStore(redis_client, f"test-ghl-tokens:{uuid.uuid4().hex}")
    yield s
    redis_client.delete(s.key, f"{s.key}:lock")


def test_the_authorize_url_carries_client_redirect_scopes_and_state() -> None:
    url = oauth.authorize_url(client_id="cid", redirect_uri="https://app.example/cb", scopes=SCOPES, state="s 1")
    parts = urlsplit(url)
    q = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == oauth.DEFAULT_AUTHORIZE_URL
    assert q == {
        "response_type": ["code"],
        "redirect_uri": ["https://app.example/cb"],
        "client_id": ["cid"],
        "scope": [" ".join(SCOPES)],
        "state": ["s 1"],
    }


def test_the_authorize_page_lists_locations_to_choose(sandbox: Any, account: Account) -> None:
    url = oauth.authorize_url(
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT,
        scopes=SCOPES,
        state="x",
        base=f"{sandbox.ghl_url}/oauth/chooselocation",
    )
    page = requests.get(url, timeout=5)
    assert page.status_code == 200 and account.id in page.text and "Choose an account" in page.text


def test_a_code_is_exchanged_for_a_location_token_pair_that_works(sandbox: Any, account: Account) -> None:
    pair = exchange(sandbox, authorize(sandbox, account.id))
    assert pair.location_id == account.id and pair.user_type == "Location"
    assert pair.scopes == SCOPES and pair.company_id
    assert pair.expires_at > datetime.now(UTC) + timedelta(hours=23)
    assert pair.access_token not in repr(pair)
    ghl = GHLClient(
        location_id=account.id,
        token_provider=StaticTokenProvider(pair.access_token),
        base_url=sandbox.ghl_url,
    )
    assert ghl.list_users()


def test_a_code_works_once(sandbox: Any, account: Account) -> None:
    code = authorize(sandbox, account.id)
    exchange(sandbox, code)
    with pytest.raises(OAuthError) as info:
        exchange(sandbox, code)
    assert info.value.permanent and info.value.status == 400


def test_refresh_tokens_rotate_and_a_used_one_fails_permanently(sandbox: Any, account: Account) -> None:
    pair = exchange(sandbox, authorize(sandbox, account.id))
    refresh = refresher(sandbox)
    second = refresh(pair.refresh_token)
    assert second.refresh_token != pair.refresh_token and second.access_token != pair.access_token
    with pytest.raises(OAuthError, match="already been used") as info:
        refresh(pair.refresh_token)
    assert info.value.permanent is True
    assert refresh(second.refresh_token).access_token  # the new one works


def test_a_refresh_for_an_inactive_location_fails_permanently(sandbox: Any, account: Account) -> None:
    pair = exchange(sandbox, authorize(sandbox, account.id))
    account.admin("POST", "locations", json={"id": account.id, "active": False})
    with pytest.raises(OAuthError, match="Location is not active") as info:
        refresher(sandbox)(pair.refresh_token)
    assert info.value.permanent


def test_wrong_client_credentials_fail_permanently(sandbox: Any, account: Account) -> None:
    with pytest.raises(OAuthError) as info:
        oauth.exchange_code(
            token_url=token_url(sandbox),
            client_id=CLIENT_ID,
            client_secret="wrong",
            code=authorize(sandbox, account.id),
            redirect_uri=REDIRECT,
        )
    assert info.value.permanent and info.value.status == 401


def test_an_unreachable_token_endpoint_is_a_transient_oauth_error() -> None:
    from tests.support import free_port

    with pytest.raises(OAuthError) as info:
        oauth.refresh_token(
            token_url=f"http://127.0.0.1:{free_port()}/oauth/token",
            client_id="c",
            client_secret="s",
            refresh_token="r",
        )
    assert info.value.permanent is False and info.value.retryable


def _race(sandbox: Any, account: Account, store: RedisTokenStore, n: int = 8) -> tuple[list[Any], list[Any]]:
    barrier = threading.Barrier(n)
    results: list[Any] = []
    errors: list[Any] = []

    def caller() -> None:
        provider = rotating_provider(store, sandbox)  # one provider per "process"
        ghl = GHLClient(
            location_id=account.id, token_provider=provider, base_url=sandbox.ghl_url, sleep=lambda _s: None
        )
        barrier.wait()
        try:
            results.append(ghl.list_users())
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=caller) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


def test_eight_concurrent_callers_with_an_expired_token_cause_exactly_one_refresh(
    sandbox: Any, account: Account, store: RedisTokenStore
) -> None:
    pair = exchange(sandbox, authorize(sandbox, account.id))
    store.save(pair.to_secrets(), expires_at=datetime.now(UTC) - timedelta(minutes=1))  # expired
    before = stats(sandbox)
    results, errors = _race(sandbox, account, store)
    after = stats(sandbox)
    assert errors == [] and len(results) == 8
    assert after["token_refreshes"] - before["token_refreshes"] == 1
    assert after["refresh_reuse"] == before["refresh_reuse"]
    assert store.saves == 2  # the initial pair and the one refreshed pair, saved before use
    assert store.load()["refresh_token"] != pair.refresh_token


def test_eight_callers_meeting_a_401_refresh_once_and_all_succeed(
    sandbox: Any, account: Account, store: RedisTokenStore
) -> None:
    sandbox.admin("POST", "/ghl/_admin/oauth", json={"accessTtl": 1})
    try:
        pair = exchange(sandbox, authorize(sandbox, account.id))
    finally:
        sandbox.admin("POST", "/ghl/_admin/oauth", json={"accessTtl": 86_399})
    store.save({"access_token": pair.access_token, "refresh_token": pair.refresh_token})  # expiry unknown
    time.sleep(1.2)  # the emulator now rejects the access token with 401
    before = stats(sandbox)
    results, errors = _race(sandbox, account, store)
    assert errors == [] and len(results) == 8
    assert stats(sandbox)["token_refreshes"] - before["token_refreshes"] == 1


def test_a_permanent_refresh_failure_reaches_the_caller(sandbox: Any, account: Account, store: RedisTokenStore) -> None:
    store.save({"access_token": "at-gone", "refresh_token": "rt-unknown"}, expires_at=datetime.now(UTC))
    ghl = GHLClient(
        location_id=account.id,
        token_provider=rotating_provider(store, sandbox),
        base_url=sandbox.ghl_url,
    )
    with pytest.raises(OAuthError) as info:
        ghl.list_users()
    assert info.value.permanent
