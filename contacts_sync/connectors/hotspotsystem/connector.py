"""HotspotSystem as a source: Wi-Fi customers -> contacts, transactions -> notes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contacts_sync.connectors.base import BaseConnector, ConnectionInfo, Page, SourceField

from . import spec
from .client import API_BASE_URL, PAGE_LIMIT, HotspotSystemClient

FIELDS = [
    SourceField("id", "Customer ID"),
    SourceField("name", "Name"),
    SourceField("user_name", "User name"),
    SourceField("email", "E-mail", "email"),
    SourceField("phone", "Phone", "phone"),
    SourceField("company_name", "Company"),
    SourceField("address", "Address"),
    SourceField("city", "City"),
    SourceField("state", "State"),
    SourceField("zip", "Postal code"),
    SourceField("country_code", "Country code"),
    SourceField("social_network", "Social network"),
    SourceField("social_username", "Social user name"),
    SourceField("social_id", "Social ID", sensitive=True),
    SourceField("registered_at", "Registered at", "datetime"),
]


TRANSACTION_FIELDS = [
    SourceField("id", "Transaction ID (type:id)"),
    SourceField("type", "Type (mac, voucher, social, paid)"),
    SourceField("customer", "Customer"),
    SourceField("user_name", "User name"),
    SourceField("email", "E-mail", "email"),
    SourceField("phone", "Phone", "phone"),
    SourceField("location_id", "Location ID"),
    SourceField("location_name", "Location name (added by the connector)"),
    SourceField("action_date_gmt", "When (GMT)", "datetime"),
    SourceField("amount", "Amount", "number"),
    SourceField("currency", "Currency"),
    SourceField("social_network", "Social network"),
]
TRANSACTION_TYPES = ["social", "mac", "voucher", "paid"]


class HotspotSystemConnector(BaseConnector):
    SPEC = spec.SPEC
    API_BASE_URL = API_BASE_URL
    FIELDS = {"contact": FIELDS, "note": TRANSACTION_FIELDS}

    def __init__(self, info: ConnectionInfo) -> None:
        super().__init__(info)
        self.client = HotspotSystemClient(
            api_key=self.secret("api_key"), base_url=self.api_base_url(), budget=self.budget(), on_call=info.on_call
        )  # no documented limit: no budget

    def read(
        self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]
    ) -> Iterator[Page]:
        """Customers oldest first (sort=registered_at) so an offset cursor stays valid as new ones arrive.
        `options["updated_since"]` ("YYYY-MM-DD HH:MM:SS" or ISO) keeps customers registered since then."""
        self.check_object(object_kind)
        if object_kind == "note":
            yield from self._transactions(cursor or {}, options)
            return
        location = options.get("location_id")
        path, params = (
            ("/locations/{location_id}/customers", {"location_id": location})
            if location
            else ("/customers", None)
        )
        since = str(options.get("updated_since") or "").replace("T", " ")[:19]
        limit = int(options.get("page_limit") or PAGE_LIMIT)
        for items, nxt in self.client.pages(
            path,
            path_params=params,
            offset=int((cursor or {}).get("offset") or 0),
            limit=limit,
            operation="list customers",
        ):
            if since:
                items = [c for c in items if str(c.get("registered_at") or "") >= since]
            yield Page(records=items, cursor={"offset": nxt} if nxt is not None else None)

    def _transactions(self, cursor: dict[str, Any], options: dict[str, Any]) -> Iterator[Page]:
        """Wi-Fi logins/purchases of every type in turn, oldest first; cursor = {type, offset}. Each record gets
        its `type`, a `type:id` id (ids are per type) and the location's name."""
        kinds = list(options.get("transaction_types") or TRANSACTION_TYPES)
        start = kinds.index(cursor["type"]) if cursor.get("type") in kinds else 0
        offset = int(cursor.get("offset") or 0)
        names = {
            str(loc.get("id")): loc.get("name")
            for items, _ in self.client.pages("/locations", sort="name", operation="list locations")
            for loc in items
        }
        limit = int(options.get("page_limit") or PAGE_LIMIT)
        for k in range(start, len(kinds)):
            kind = kinds[k]
            for items, nxt in self.client.pages(
                "/transactions/{kind}",
                path_params={"kind": kind},
                offset=offset,
                limit=limit,
                sort="action_date_gmt",
                operation="list transactions",
            ):
                records = [
                    {
                        **t,
                        "id": f"{kind}:{t.get('id')}",
                        "transaction_id": t.get("id"),
                        "type": kind,
                        "location_name": names.get(str(t.get("location_id")), ""),
                    }
                    for t in items
                ]
                if nxt is not None:
                    next_cursor: dict[str, Any] | None = {"type": kind, "offset": nxt}
                elif k + 1 < len(kinds):
                    next_cursor = {"type": kinds[k + 1], "offset": 0}
                else:
                    next_cursor = None
                yield Page(records=records, cursor=next_cursor)
            offset = 0

    def probe(self) -> str:
        me = self.client.me()
        return f"HotspotSystem operator {me.get('operator', '?')} (user {me.get('userId', '?')})"

