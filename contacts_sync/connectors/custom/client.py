"""Your app's REST API, by the conventions of ../shared/reference/source-apps.md section 5."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contacts_sync.apiclient.client import ApiClient

PAGE_LIMIT = 200


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
