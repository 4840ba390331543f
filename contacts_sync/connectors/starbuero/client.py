"""starbuero.de API client (documented only by a community client; see the assumptions in __init__)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contacts_sync.apiclient.client import ApiClient

API_BASE_URL = "https://backend.starbuero.de/external/api/v1"
PAGE_LIMIT = 200  # the API allows 10-1000 per page
# The community client requires every address-book field on create and edit; these are sent when not mapped.
ADDRESS_BOOK_DEFAULTS: dict[str, Any] = {
    "salutation": "",
    "title": "",
    "firstname": "",
    "lastname": "",
    "company": "",
    "notice": "",
    "emailAddresses": [],
    "phoneNumbers": [],
    "vip": False,
    "employee": None,
    "canForward": True,
    "canNotifiedBySms": False,
}


class StarbueroClient(ApiClient):
    provider = "starbuero"

    def __init__(self, *, api_token: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_token = api_token

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_token}"}

    def company(self) -> dict[str, Any]:
        info: dict[str, Any] = self._request("GET", "/", operation="get company info")
        return info

    # ---- the caller address book (assumed shapes: one entity answers {"data": {...}}, as lists answer
    # {"data": [...]}; success is 200, as the community client checks) -----------------------------------------

    def contact(self, contact_id: str | int) -> dict[str, Any]:
        body = self._request(
            "GET", "/addon_contact/contact/{id}", path_params={"id": contact_id}, operation="get contact"
        )
        return self._entity(body, "get contact")

    def create_contact(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = self._request(
            "POST",
            "/addon_contact/contact",
            json={**ADDRESS_BOOK_DEFAULTS, **body},
            operation="create contact",
            expected=(200, 201),
        )
        return self._entity(answer, "create contact")

    def update_contact(self, contact_id: str | int, changes: dict[str, Any]) -> dict[str, Any]:
        """The community client always sends every field on an edit: read the entry, apply the changes and send
        it whole, so that a PUT that replaces the entry keeps what we did not change."""
        current = self.contact(contact_id)
        body = {k: v for k, v in {**ADDRESS_BOOK_DEFAULTS, **current, **changes}.items() if k != "id"}
        answer = self._request(
            "PUT", "/addon_contact/contact/{id}", path_params={"id": contact_id}, json=body, operation="update contact"
        )
        return self._entity(answer, "update contact")

    def delete_contact(self, contact_id: str | int) -> None:
        self._request(
            "DELETE",
            "/addon_contact/contact/{id}",
            path_params={"id": contact_id},
            operation="delete contact",
            expected=(200, 204),
        )

    def _entity(self, body: Any, operation: str) -> dict[str, Any]:
        return self.require(body, "data", operation=operation, kind=dict)

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
