"""HotspotSystem connector (API v2.0, read-only): Wi-Fi customers -> contacts, transactions -> notes.

Connection: secrets {"api_key"}; account_id = the operator name (from /me); base_url "" for production or
"http://127.0.0.1:8010/hotspotsystem" for the sandbox. Facts: ../shared/reference/source-apps.md section 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contacts_sync.apiclient.budget import NullBudget
from contacts_sync.apiclient.client import ApiClient
from contacts_sync.apiclient.errors import AuthError, ValidationError
from contacts_sync.connectors.base import ConnectionInfo, FieldSpec, Page, SampleFromRead
from contacts_sync.connectors.registry import register
from contacts_sync.exceptions import ConfigurationError

API_BASE_URL = "https://api.hotspotsystem.com"
API_PREFIX = "/v2.0"
# The docs give no maximum page size; Pipedream's poller uses 100.
PAGE_LIMIT = 100

FIELDS = [
    FieldSpec("id", "Customer ID"),
    FieldSpec("name", "Name"),
    FieldSpec("user_name", "User name"),
    FieldSpec("email", "E-mail", "email"),
    FieldSpec("phone", "Phone", "phone"),
    FieldSpec("company_name", "Company"),
    FieldSpec("address", "Address"),
    FieldSpec("city", "City"),
    FieldSpec("state", "State"),
    FieldSpec("zip", "Postal code"),
    FieldSpec("country_code", "Country code"),
    FieldSpec("social_network", "Social network"),
    FieldSpec("social_username", "Social user name"),
    FieldSpec("social_id", "Social ID", sensitive=True),
    FieldSpec("registered_at", "Registered at", "datetime"),
]


TRANSACTION_FIELDS = [
    FieldSpec("id", "Transaction ID (type:id)"),
    FieldSpec("type", "Type (mac, voucher, social, paid)"),
    FieldSpec("customer", "Customer"),
    FieldSpec("user_name", "User name"),
    FieldSpec("email", "E-mail", "email"),
    FieldSpec("phone", "Phone", "phone"),
    FieldSpec("location_id", "Location ID"),
    FieldSpec("location_name", "Location name (added by the connector)"),
    FieldSpec("action_date_gmt", "When (GMT)", "datetime"),
    FieldSpec("amount", "Amount", "number"),
    FieldSpec("currency", "Currency"),
    FieldSpec("social_network", "Social network"),
]
TRANSACTION_TYPES = ["social", "mac", "voucher", "paid"]
OBJECTS = ["contact", "note"]


class HotspotSystemClient(ApiClient):
    provider = "hotspotsystem"

    def __init__(self, *, api_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key

    def auth_headers(self) -> dict[str, str]:
        return {"sn-apikey": self.api_key}

    def me(self) -> dict[str, Any]:
        return self._request("GET", f"{API_PREFIX}/me", operation="get account")

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
            total = (
                body.get("metadata", {}).get("total_count")
                if isinstance(body.get("metadata"), dict)
                else None
            )
            nxt = offset + len(items)
            more = bool(items) and (nxt < total if isinstance(total, int) else len(items) == limit)
            yield items, nxt if more else None
            if not more:
                return
            offset = nxt


class HotspotSystemConnector(SampleFromRead):
    provider = "hotspotsystem"

    def __init__(self, info: ConnectionInfo) -> None:
        api_key = str(info.secrets.get("api_key") or "")
        if not api_key:
            raise ConfigurationError("The HotspotSystem connection has no API key")
        self.info = info
        self.client = HotspotSystemClient(
            api_key=api_key,
            base_url=info.base_url.rstrip("/") or API_BASE_URL,
            budget=NullBudget(),
            on_call=info.on_call,
        )  # no documented limit

    def objects(self) -> list[str]:
        return list(OBJECTS)

    def fields(self, object_kind: str, *, options: dict[str, Any] | None = None) -> list[FieldSpec]:
        self._check(object_kind)
        return list(TRANSACTION_FIELDS if object_kind == "note" else FIELDS)

    def _check(self, object_kind: str) -> None:
        if object_kind not in OBJECTS:
            raise ConfigurationError(
                f"HotspotSystem has no {object_kind!r} objects (it has {', '.join(OBJECTS)})"
            )

    def record_id(self, object_kind: str, record: dict[str, Any]) -> str:
        if not record.get("id"):
            raise ValidationError(
                "HotspotSystem customer has no id", operation="record id", provider=self.provider
            )
        return str(record["id"])

    def read(
        self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]
    ) -> Iterator[Page]:
        """Customers oldest first (sort=registered_at) so an offset cursor stays valid as new ones arrive.
        `options["updated_since"]` ("YYYY-MM-DD HH:MM:SS" or ISO) keeps customers registered since then."""
        self._check(object_kind)
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

    def test(self) -> str:
        try:
            me = self.client.me()
        except AuthError as exc:
            exc.message = f"HotspotSystem rejected the API key ({exc.message})"
            raise
        return f"HotspotSystem operator {me.get('operator', '?')} (user {me.get('userId', '?')})"


@register("hotspotsystem")
def hotspotsystem_connector(info: ConnectionInfo) -> HotspotSystemConnector:
    return HotspotSystemConnector(info)
