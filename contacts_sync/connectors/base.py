"""What every connected app's connector offers the engine and the dashboard. No ORM, no Celery.

A connector is built from a `ConnectionInfo` (plain data the services layer fills from a Connection row)
and reads pages of records since a cursor, gives samples for the mapping preview, describes its fields,
tests its credentials with a cheap read, and (for apps we write to) creates/updates records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit


class TokenStore(Protocol):
    """Persistence of rotating credentials, implemented by the connections service (ORM side).

    `lock()` is a cross-process single-flight lock for one connection (Redis lease or row lock);
    `load()` re-reads the current secrets; `save()` persists new secrets atomically before they are used.
    """

    def lock(self) -> Any: ...  # a context manager

    def load(self) -> dict[str, Any]: ...

    def save(self, secrets: dict[str, Any], *, expires_at: Any = None) -> None: ...


@dataclass
class ConnectionInfo:
    provider: str
    connection_id: int | None
    account_id: str  # GHL locationId, Hubstaff organization id, ...
    base_url: str  # "" = the provider's public API
    secrets: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    token_store: TokenStore | None = None
    on_call: Callable[[Any], None] | None = None  # receives apiclient CallRecord for every call
    redis_url: str | None = None  # for the shared rate budget


@dataclass
class FieldSpec:
    path: str  # dotted source path, e.g. "emails.0" or "metadata.industry"
    label: str
    type: str = "string"  # string | email | phone | date | datetime | bool | number | list | html
    sensitive: bool = False  # removed from run-item payloads


@dataclass
class Page:
    records: list[dict[str, Any]]
    cursor: dict[str, Any] | None  # where to continue after this page; None = this was the last page


class SourceConnector(Protocol):
    provider: str

    def objects(self) -> list[str]: ...  # ObjectKind values this app can read

    def fields(self, object_kind: str) -> list[FieldSpec]: ...

    def read(self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]) -> Iterator[Page]: ...

    def record_id(self, object_kind: str, record: dict[str, Any]) -> str: ...

    def sample(self, object_kind: str, *, limit: int = 5, options: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...

    def test(self) -> str: ...  # a cheap read; returns a one-line description of the account, raises ApiError


class WritableConnector(SourceConnector, Protocol):
    def write(self, object_kind: str, payload: dict[str, Any], *, target_id: str | None,
              options: dict[str, Any]) -> tuple[str, bool]: ...  # (target id, created?)


class WebhookConnector(Protocol):
    """Optional: apps that push signed webhooks (Hubstaff, custom apps). The webhook inbox looks these up."""

    def verify_webhook(self, headers: dict[str, Any], body: bytes, secret: str) -> bool: ...

    def parse_webhook(self, body: bytes | dict[str, Any]) -> dict[str, Any]: ...  # event_id, event_type, ...


def budget_account(account_id: str, base_url: str) -> str:
    """The rate budget's account key: the account, plus the host when `base_url` is not the production API (an
    emulator on another port is another app with its own window; test sessions on random ports never share)."""
    account = account_id or "default"
    return f"{account}@{urlsplit(base_url).netloc}" if base_url else account


class SampleFromRead:
    """`sample()` for a connector whose `read()` pages from the start: the first records, however paged.

    An empty source gives an empty list (never a StopIteration from an exhausted generator).
    """

    # The page size asked for when sampling; a few more than shown, since some apps filter after paging.
    SAMPLE_PAGE_LIMIT = 10

    def read(self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]) -> Iterator[Page]:
        raise NotImplementedError

    def sample(self, object_kind: str, *, limit: int = 5, options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        opts = {**(options or {}), "page_limit": max(limit, self.SAMPLE_PAGE_LIMIT)}
        out: list[dict[str, Any]] = []
        for page in self.read(object_kind, cursor=None, options=opts):
            out.extend(page.records)
            if len(out) >= limit:
                break
        return out[:limit]
