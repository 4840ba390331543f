"""HotspotSystem API v2.0 client (facts: ../shared/reference/source-apps.md section 2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contacts_sync.apiclient.client import ApiClient

API_BASE_URL = "https://api.hotspotsystem.com"
API_PREFIX = "/v2.0"
# The docs give no maximum page size; Pipedream's poller uses 100.
PAGE_LIMIT = 100


class HotspotSystemClient(ApiClient):
    provider = "hotspotsystem"

    def __init__(self, *, api_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key

    def auth_headers(self) -> dict[str, str]:
        return {"sn-apikey": self.api_key}

    def me(self) -> dict[str, Any]:
        me: dict[str, Any] = self._request("GET", f"{API_PREFIX}/me", operation="get account")
        return me

    def pages(
        self,
        path: str,
        *,
        path_params: dict[str, Any] | None = None,
        offset: int = 0,
        limit: int = PAGE_LIMIT,
        sort: str = "registered_at",
        operation: str,
    ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        """(items, next offset or None). `offset` is a record offset (the Link header's next does the same)."""
        while True:
            body = self._request(
                "GET",
                API_PREFIX + path,
                path_params=path_params,
                params={"limit": limit, "offset": offset, "sort": sort},
                operation=operation,
            )
            items = self.require(body, "items", operation=operation, kind=list)
            total = body.get("metadata", {}).get("total_count") if isinstance(body.get("metadata"), dict) else None
            nxt = offset + len(items)
            more = bool(items) and (nxt < total if isinstance(total, int) else len(items) == limit)
            yield items, nxt if more else None
            if not more:
                return
            offset = nxt
