"""Custom app ("Your App") connector: REST polling with a `since` cursor, and HMAC-signed webhooks.

Connection: base_url (required, e.g. "https://app.example.com/api" or "http://127.0.0.1:8010/custom"),
secrets {"api_token", "webhook_secret"}, config {"paths": {"contact": "/records", "task": "/tasks", ...}}
(default: contacts at /records). The app answers `GET <path>?since=<ISO>&limit=&cursor=` with
{"data": [...], "next_cursor": str|null}, as ../shared/reference/source-apps.md section 5 recommends.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

from contacts_sync.apiclient.budget import NullBudget
from contacts_sync.apiclient.client import ApiClient
from contacts_sync.apiclient.errors import AuthError, ValidationError
from contacts_sync.connectors.base import ConnectionInfo, FieldSpec, Page, SampleFromRead
from contacts_sync.connectors.registry import register
from contacts_sync.exceptions import ConfigurationError

DEFAULT_PATHS = {"contact": "/records"}
PAGE_LIMIT = 200
# Standard Webhooks: reject deliveries whose timestamp is further than this from now (replay protection).
WEBHOOK_TOLERANCE_SECONDS = 300
HEX_SIGNATURE_HEADERS = ("x-webhook-signature", "x-hook-signature", "x-signature")

CONTACT_FIELDS = [
    FieldSpec("id", "Record ID"),
    FieldSpec("first_name", "First name"),
    FieldSpec("last_name", "Last name"),
    FieldSpec("email", "E-mail", "email"),
    FieldSpec("phone", "Phone", "phone"),
    FieldSpec("company", "Company"),
    FieldSpec("tags", "Tags", "list"),
    FieldSpec("updated_at", "Updated at", "datetime"),
    FieldSpec("deleted_at", "Deleted at", "datetime"),
]


def _lower(headers: Mapping[str, Any]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def verify_webhook(headers: Mapping[str, Any], body: bytes, secret: str, *, now: float | None = None) -> bool:
    """Standard Webhooks (webhook-id/-timestamp/-signature, "v1,<base64>", 5-minute tolerance) when those headers
    are present; otherwise a hex HMAC-SHA256 of the raw body in X-Webhook-Signature (or X-Hook-Signature)."""
    if not secret:
        return False
    h = _lower(headers)
    if h.get("webhook-signature"):
        msg_id, ts = h.get("webhook-id", ""), h.get("webhook-timestamp", "")
        try:
            timestamp = int(ts)
        except ValueError:
            return False
        if (
            not msg_id
            or abs((now if now is not None else time.time()) - timestamp) > WEBHOOK_TOLERANCE_SECONDS
        ):
            return False
        try:
            key = (
                base64.b64decode(secret[len("whsec_") :]) if secret.startswith("whsec_") else secret.encode()
            )
        except binascii.Error:
            return False
        expected = base64.b64encode(
            hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        ).decode()
        given = [part.split(",", 1)[1] for part in h["webhook-signature"].split() if part.startswith("v1,")]
        return any(hmac.compare_digest(expected, g) for g in given)  # several during a key rotation
    for name in HEX_SIGNATURE_HEADERS:
        if h.get(name):
            given_hex = h[name].strip().lower().removeprefix("sha256=")
            return hmac.compare_digest(hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(), given_hex)
    return False


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """{event_id, event_type, account_id, record_ids} of a {"id", "type", "data": {...}} event."""
    data: Any = json.loads(body) if isinstance(body, (bytes, str)) else body
    if not isinstance(data, Mapping) or not data.get("type"):
        raise ValueError("custom app webhook body must be a JSON object with a 'type'")
    inner: Mapping[str, Any] = data["data"] if isinstance(data.get("data"), Mapping) else {}
    return {
        "event_id": str(data.get("id") or ""),
        "event_type": str(data["type"]),
        "account_id": "",
        "record_ids": {"id": str(inner["id"])} if inner.get("id") else {},
        "payload": dict(inner),
    }


class CustomAppClient(ApiClient):
    provider = "custom"

    def __init__(self, *, api_token: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_token = api_token

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_token}"} if self.api_token else {}

    def pages(
        self, path: str, *, since: str | None, cursor: str | None, limit: int = PAGE_LIMIT
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        while True:
            params: dict[str, Any] = {"limit": limit}
            if since:
                params["since"] = since
            if cursor:
                params["cursor"] = cursor
            body = self._request("GET", path, params=params, operation=f"list {path}")
            items = self.require(body, "data", operation=f"list {path}", kind=list)
            nxt = body.get("next_cursor") or None
            yield items, nxt
            if not nxt or nxt == cursor:
                return
            cursor = nxt


class CustomAppConnector(SampleFromRead):
    provider = "custom"

    def __init__(self, info: ConnectionInfo) -> None:
        if not info.base_url:
            raise ConfigurationError("A custom app connection needs the app's base URL")
        self.paths = {**DEFAULT_PATHS, **(info.config.get("paths") or {})}
        self.client = CustomAppClient(
            api_token=str(info.secrets.get("api_token") or ""),
            base_url=info.base_url.rstrip("/"),
            budget=NullBudget(),
            on_call=info.on_call,
        )

    def objects(self) -> list[str]:
        return sorted(self.paths)

    def _path(self, object_kind: str) -> str:
        try:
            return str(self.paths[object_kind])
        except KeyError:
            raise ConfigurationError(
                f"this custom app has no path for {object_kind!r} records "
                f"(configured: {', '.join(sorted(self.paths))})"
            ) from None

    def fields(self, object_kind: str, *, options: dict[str, Any] | None = None) -> list[FieldSpec]:
        self._path(object_kind)
        if object_kind == "contact":
            return list(CONTACT_FIELDS)
        sample = self.sample(object_kind, limit=1)
        return [FieldSpec(k, k) for k in (sample[0] if sample else {})]  # whatever the app sends

    def record_id(self, object_kind: str, record: dict[str, Any]) -> str:
        if record.get("id") in (None, ""):
            raise ValidationError(
                "custom app record has no id", operation="record id", provider=self.provider
            )
        return str(record["id"])

    def read(
        self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]
    ) -> Iterator[Page]:
        """Keyset pages since `options["updated_since"]`; the cursor carries the app's opaque next_cursor."""
        path = self._path(object_kind)
        cursor = cursor or {}
        since = cursor.get("since") or options.get("updated_since")
        limit = int(options.get("page_limit") or PAGE_LIMIT)
        for items, nxt in self.client.pages(path, since=since, cursor=cursor.get("cursor"), limit=limit):
            yield Page(records=items, cursor={"cursor": nxt, "since": since} if nxt else None)

    def test(self) -> str:
        path = self._path("contact" if "contact" in self.paths else self.objects()[0])
        try:
            items, _ = next(self.client.pages(path, since=None, cursor=None, limit=1))
        except AuthError as exc:
            exc.message = f"the custom app rejected the API token ({exc.message})"
            raise
        return (
            f"custom app at {self.client.base_url} answers {path} ({len(items)} record(s) on a 1-record page)"
        )

    @staticmethod
    def verify_webhook(headers: Any, body: bytes, secret: str) -> bool:
        return verify_webhook(headers, body, secret)

    @staticmethod
    def parse_webhook(body: Any) -> dict[str, Any]:
        return parse_webhook(body)


@register("custom")
def custom_connector(info: ConnectionInfo) -> CustomAppConnector:
    return CustomAppConnector(info)
