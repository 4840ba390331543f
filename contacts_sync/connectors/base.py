"""What every connected app's connector offers the engine and the dashboard. No ORM, no Celery.

A connector is built from a `ConnectionInfo` (plain data the services layer fills from a Connection row) and
reads pages of records since a cursor, gives samples for the mapping preview, describes its fields, tests its
credentials with a cheap read, and (for apps we write to) creates/updates records. `BaseConnector` holds what
every connector would otherwise repeat: the secret it needs, its API root, its rate budget, ids, samples and the
wording of a refused credential.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

from contacts_sync.apiclient.budget import NullBudget, RateBudget
from contacts_sync.apiclient.errors import AuthError, ValidationError
from contacts_sync.apiclient.tokens import TokenStore
from contacts_sync.exceptions import ConfigurationError

from .spec import AppSpec


class TargetGone(Exception):
    """The linked target record was deleted on the target's side (an update answered 404)."""


class NothingToWrite(Exception):
    """A writer found that this record needs no write, and says why (the engine records no false "updated").

    With `target_id` the target already holds what the record says (a Hubstaff task already completed): the
    record is linked to it as unchanged. Without, the record is not one this flow writes (a call from a number
    no GHL contact has): a skipped item carrying the reason.
    """

    def __init__(self, reason: str, *, target_id: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.target_id = target_id


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
    auth_kind: str = ""
    company_id: str = ""  # GHL companyId (agency)
    # Deployment-wide settings of this app (GHL: OAuth client id/secret, token URL, API version), from Django
    # settings by the services layer: connectors never read settings themselves.
    app_settings: dict[str, Any] = field(default_factory=dict)
    # A GHL sub-account connected through its agency: the agency connection's info (its token mints ours).
    agency: ConnectionInfo | None = None


@dataclass
class SourceField:
    """A field of a source record, as the mapping editor offers it."""

    path: str  # dotted source path, e.g. "emails.0" or "metadata.industry"
    label: str
    type: str = "string"  # string | email | phone | date | datetime | bool | number | list | html
    sensitive: bool = False  # removed from run-item payloads


@dataclass
class Page:
    records: list[dict[str, Any]]
    cursor: dict[str, Any] | None  # where to continue after this page; None = this was the last page


class Connector(Protocol):
    provider: str

    def objects(self) -> list[str]: ...  # ObjectKind values this app can read

    def fields(self, object_kind: str, *, options: dict[str, Any] | None = None) -> list[SourceField]: ...

    def read(self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]) -> Iterator[Page]: ...

    def record_id(self, object_kind: str, record: dict[str, Any]) -> str: ...

    def sample(
        self, object_kind: str, *, limit: int = 5, options: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]: ...

    def test(self) -> str: ...  # a cheap read; returns a one-line description of the account, raises ApiError


class WritableConnector(Connector, Protocol):
    def write(
        self, object_kind: str, payload: dict[str, Any], *, target_id: str | None, options: dict[str, Any]
    ) -> tuple[str, bool]: ...  # (target id, created?)


def budget_account(account_id: str, base_url: str) -> str:
    """The rate budget's account key: the account, plus the host when `base_url` is not the production API (an
    emulator on another port is another app with its own window; test sessions on random ports never share)."""
    account = account_id or "default"
    return f"{account}@{urlsplit(base_url).netloc}" if base_url else account


class BaseConnector:
    """A connector over one app's client. Subclasses set SPEC, API_BASE_URL and FIELDS and write `read`/`probe`."""

    SPEC: ClassVar[AppSpec]
    API_BASE_URL: ClassVar[str] = ""
    FIELDS: ClassVar[Mapping[str, list[SourceField]]] = {}
    # The page size asked for when sampling; a few more than shown, since some apps filter after paging.
    SAMPLE_PAGE_LIMIT: ClassVar[int] = 10

    def __init__(self, info: ConnectionInfo) -> None:
        self.info = info

    @property
    def provider(self) -> str:
        return self.SPEC.key

    # ---- what every client needs -----------------------------------------------------------------------------
    def secret(self, key: str) -> str:
        value = str(self.info.secrets.get(key) or "")
        if not value:
            labels = {s.key: s.label for option in self.SPEC.connect for s in option.secrets}
            raise ConfigurationError(f"The {self.SPEC.title} connection has no {labels.get(key, key)}")
        return value

    def api_base_url(self) -> str:
        return (self.info.base_url or "").rstrip("/") or self.API_BASE_URL

    def budget(self, *, account: str | None = None) -> RateBudget | NullBudget:
        """The shared Redis budget of the app's documented limits; Connection.config[SPEC.rate_limit_setting]
        replaces the first window's count (0 = no budget)."""
        limits = [(int(n), float(s)) for n, s in self.SPEC.rate_limits]
        if not limits or not self.info.redis_url:
            return NullBudget()
        override = self.info.config.get(self.SPEC.rate_limit_setting) if self.SPEC.rate_limit_setting else None
        if override is not None:
            if int(override) <= 0:
                return NullBudget()
            limits[0] = (int(override), limits[0][1])
        key = account if account is not None else budget_account(self.info.account_id, self.info.base_url)
        return RateBudget.for_account(self.info.redis_url, self.SPEC.key, key, limits)

    # ---- description -----------------------------------------------------------------------------------------
    def objects(self) -> list[str]:
        return list(self.SPEC.objects_read)

    def check_object(self, object_kind: str) -> None:
        if object_kind not in self.objects():
            raise ConfigurationError(
                f"{self.SPEC.title} has no {object_kind!r} objects (it has {', '.join(self.objects())})"
            )

    def fields(self, object_kind: str, *, options: dict[str, Any] | None = None) -> list[SourceField]:
        self.check_object(object_kind)
        return list(self.FIELDS.get(object_kind, []))

    def record_id(self, object_kind: str, record: dict[str, Any]) -> str:
        if record.get("id") in (None, ""):
            raise ValidationError(
                f"{self.SPEC.title} {object_kind} record has no id", operation="record id", provider=self.provider
            )
        return str(record["id"])

    def is_deleted(self, object_kind: str, record: dict[str, Any]) -> bool:
        """A tombstone: the app marks the record deleted (`deleted_at`, `deleted: true`, `is_deleted: true`)."""
        return bool(record.get("deleted_at") or record.get("deleted") is True or record.get("is_deleted") is True)

    # ---- reading ---------------------------------------------------------------------------------------------
    def read(self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]) -> Iterator[Page]:
        raise NotImplementedError

    def sample(
        self, object_kind: str, *, limit: int = 5, options: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The first records, however paged; an empty source gives [] (never a StopIteration)."""
        opts = {**(options or {}), "page_limit": max(limit, self.SAMPLE_PAGE_LIMIT)}
        out: list[dict[str, Any]] = []
        for page in self.read(object_kind, cursor=None, options=opts):
            out.extend(page.records)
            if len(out) >= limit:
                break
        return out[:limit]

    # ---- testing ---------------------------------------------------------------------------------------------
    def probe(self) -> str:
        """A cheap read proving the credentials; returns a one-line description of the account."""
        raise NotImplementedError

    def test(self) -> str:
        """`probe()`, with a refused credential said in the app's words."""
        secret = next((s.label for option in self.SPEC.connect for s in option.secrets), "credentials")
        try:
            return self.probe()
        except AuthError as exc:
            if not getattr(exc, "permanent", False):
                exc.message = f"{self.SPEC.title} rejected the {secret} ({exc.message})"
            raise
