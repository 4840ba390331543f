"""HotspotSystem as a source: Wi-Fi customers -> contacts, transactions -> notes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
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
# A transaction names its customer by user name only; customers are listed once per read to add `customer_id`.
TRANSACTION_FIELDS.insert(3, SourceField("customer_id", "Customer ID (added by the connector)"))
ACTIVITY_FIELDS = [
    SourceField("id", "Summary ID (activity:<customer id>)"),
    SourceField("customer_id", "Customer ID"),
    SourceField("customer", "Customer"),
    SourceField("sessions", "Sessions (transactions)", "number"),
    SourceField("by_type", "Sessions by type"),
    SourceField("locations", "Locations"),
    SourceField("first_seen", "First seen (GMT)", "datetime"),
    SourceField("last_seen", "Last seen (GMT)", "datetime"),
    SourceField("spent", "Paid (voucher and paid sessions)"),
    SourceField("newsletter", "Opted into the newsletter", "bool"),
]


class HotspotSystemConnector(BaseConnector):
    SPEC = spec.SPEC
    API_BASE_URL = API_BASE_URL
    FIELDS = {"contact": FIELDS, "note": TRANSACTION_FIELDS}

    def __init__(self, info: ConnectionInfo) -> None:
        super().__init__(info)
        self.client = HotspotSystemClient(
            api_key=self.secret("api_key"), base_url=self.api_base_url(), budget=self.budget(), on_call=info.on_call
        )  # no documented limit: no budget
        self._customer_ids: dict[str, str] | None = None

    def fields(self, object_kind: str, *, options: dict[str, Any] | None = None) -> list[SourceField]:
        if object_kind == "contact" and (options or {}).get("source") == "activity":
            return list(ACTIVITY_FIELDS)
        return super().fields(object_kind, options=options)

    def read(self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]) -> Iterator[Page]:
        """Customers oldest first (sort=registered_at) so an offset cursor stays valid as new ones arrive.
        `options["updated_since"]` ("YYYY-MM-DD HH:MM:SS" or ISO) keeps customers registered since then.
        With {"source": "activity"}, one summary per customer with transactions instead (one page)."""
        self.check_object(object_kind)
        if object_kind == "contact" and options.get("source") == "activity":
            yield Page(records=self._activity(options), cursor=None)
            return
        if object_kind == "note":
            yield from self._transactions(cursor or {}, options)
            return
        location = options.get("location_id")
        path, params = (
            ("/locations/{location_id}/customers", {"location_id": location}) if location else ("/customers", None)
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
        its `type`, a `type:id` id (ids are per type), the location's name and its customer's id.
        `options["location_id"]` reads one location's transactions (and customers) only."""
        kinds = list(options.get("transaction_types") or TRANSACTION_TYPES)
        start = kinds.index(cursor["type"]) if cursor.get("type") in kinds else 0
        offset = int(cursor.get("offset") or 0)
        names = {
            str(loc.get("id")): loc.get("name")
            for items, _ in self.client.pages("/locations", sort="name", operation="list locations")
            for loc in items
        }
        limit = int(options.get("page_limit") or PAGE_LIMIT)
        location = options.get("location_id")
        for k in range(start, len(kinds)):
            kind = kinds[k]
            path, params = (
                ("/locations/{location_id}/transactions/{kind}", {"location_id": location, "kind": kind})
                if location
                else ("/transactions/{kind}", {"kind": kind})
            )
            for items, nxt in self.client.pages(
                path,
                path_params=params,
                offset=offset,
                limit=limit,
                sort="action_date_gmt",
                operation="list transactions",
            ):
                customers = self._customers(location)
                records = [
                    {
                        **t,
                        "id": f"{kind}:{t.get('id')}",
                        "transaction_id": t.get("id"),
                        "type": kind,
                        "location_name": names.get(str(t.get("location_id")), ""),
                        "customer_id": customers.get(str(t.get("user_name") or ""), ""),
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

    def _customers(self, location: Any = None) -> dict[str, str]:
        """user name -> customer id (a transaction carries the customer's user name and full name only)."""
        if self._customer_ids is None:
            path, params = (
                ("/locations/{location_id}/customers", {"location_id": location}) if location else ("/customers", None)
            )
            self._customer_ids = {
                str(c.get("user_name")): str(c.get("id"))
                for items, _ in self.client.pages(path, path_params=params, operation="list customers")
                for c in items
                if c.get("user_name") and c.get("id") not in (None, "")
            }
        return self._customer_ids

    def _activity(self, options: dict[str, Any]) -> list[dict[str, Any]]:
        """One record per customer with transactions: how often, how, where, when and what they paid."""
        per: dict[str, list[dict[str, Any]]] = {}
        for page in self._transactions({}, {**options, "source": None}):
            for t in page.records:
                if t.get("customer_id"):
                    per.setdefault(str(t["customer_id"]), []).append(t)
        return [activity_summary(cid, rows) for cid, rows in per.items()]

    def probe(self) -> str:
        me = self.client.me()
        return f"HotspotSystem operator {me.get('operator', '?')} (user {me.get('userId', '?')})"


def activity_summary(customer_id: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The activity record of one customer from their transactions (amounts summed per currency)."""
    when = sorted(str(t.get("action_date_gmt") or "") for t in rows if t.get("action_date_gmt"))
    kinds: dict[str, int] = {}
    for t in rows:
        kinds[str(t.get("type"))] = kinds.get(str(t.get("type")), 0) + 1
    paid: dict[str, Decimal] = {}
    for t in rows:
        try:
            amount = Decimal(str(t.get("amount")))
        except (InvalidOperation, ValueError):
            continue
        if amount.is_finite():
            currency = str(t.get("currency") or "").strip()
            paid[currency] = paid.get(currency, Decimal(0)) + amount
    locations = sorted({str(t.get("location_name") or t.get("location_id") or "") for t in rows} - {""})
    return {
        "id": f"activity:{customer_id}",
        "customer_id": customer_id,
        "customer": next((t.get("customer") for t in rows if t.get("customer")), ""),
        "sessions": len(rows),
        "by_type": ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())),
        "locations": ", ".join(locations),
        "first_seen": when[0] if when else "",
        "last_seen": when[-1] if when else "",
        "spent": ", ".join(f"{v:.2f} {c}".strip() for c, v in sorted(paid.items())) or "nothing",
        "newsletter": any(str(t.get("newsletter")) == "1" for t in rows),
    }
