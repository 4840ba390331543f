"""starbuero.de API client (documented only by a community client; see the assumptions in __init__)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contacts_sync.apiclient.client import ApiClient

API_BASE_URL = "https://backend.starbuero.de/external/api/v1"
PAGE_LIMIT = 200  # the API allows 10-1000 per page


class StarbueroClient(ApiClient):
    provider = "starbuero"

    def __init__(self, *, api_token: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_token = api_token

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_token}"}

    def company(self) -> dict[str, Any]:
        return self._request("GET", "/", operation="get company info")

    def pages(
        self,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        page: int = 1,
        limit: int = PAGE_LIMIT,
        operation: str,
    ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        """(items, next page or None) over `page`/`limit` paging."""
        while True:
            body = self._request(
                "GET", path, params={**(params or {}), "page": page, "limit": limit}, operation=operation
            )
            items = self.require(body, "data", operation=operation, kind=list)
            meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
            pages = meta.get("pages")
            more = page < pages if isinstance(pages, int) else len(items) == limit
            yield items, page + 1 if more else None
            if not more:
                return
            page += 1
