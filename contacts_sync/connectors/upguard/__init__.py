"""UpGuard CyberRisk connector: vendor contacts (with their vendor and its labels) -> contacts; vendor risks ->
tasks; notifications -> notes.

Connection: secrets {"api_key"} (sent raw in `Authorization`, no "Bearer"; it needs the VendorRisk permission);
base_url "" for production or "http://127.0.0.1:8010/upguard" for the sandbox. Options: {"source": "vendors"}
reads monitored vendors instead of their contacts; {"labels": [...]} filters vendors by label.
Facts: ../shared/reference/source-apps.md section 3 and ../shared/specs/upguard/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contacts_sync.apiclient.budget import NullBudget, RateBudget
from contacts_sync.apiclient.client import ApiClient
from contacts_sync.apiclient.errors import AuthError, ForbiddenError, ValidationError
from contacts_sync.connectors.base import ConnectionInfo, FieldSpec, Page, SampleFromRead, budget_account
from contacts_sync.connectors.registry import register
from contacts_sync.exceptions import ConfigurationError

API_BASE_URL = "https://cyber-risk.upguard.com/api/public"
# UpGuard publishes no number, only 429s; a conservative default budget, changeable per connection.
DEFAULT_RATE_LIMIT = (600, 60.0)
VENDOR_PAGE_SIZE = 200
CONTACT_PAGE_SIZE = 200

CONTACT_FIELDS = [
    FieldSpec("id", "Contact ID", "number"),
    FieldSpec("name", "Name"),
    FieldSpec("title", "Title"),
    FieldSpec("email_address", "E-mail", "email"),
    FieldSpec("phone_mobile", "Mobile phone", "phone"),
    FieldSpec("notes", "Notes"),
    FieldSpec("vendor.name", "Vendor name"),
    FieldSpec("vendor.primary_hostname", "Vendor hostname"),
    FieldSpec("vendor.labels", "Vendor labels", "list"),
    FieldSpec("vendor.tier", "Vendor tier", "number"),
    FieldSpec("created_at", "Created at", "datetime"),
    FieldSpec("updated_at", "Updated at", "datetime"),
]
VENDOR_FIELDS = [
    FieldSpec("id", "Vendor ID", "number"),
    FieldSpec("name", "Name"),
    FieldSpec("primary_hostname", "Primary hostname"),
    FieldSpec("labels", "Labels", "list"),
    FieldSpec("tier", "Tier", "number"),
    FieldSpec("overallScore", "Overall score", "number"),
    FieldSpec("assessmentStatus", "Assessment status"),
]


RISK_FIELDS = [
    FieldSpec("id", "Vendor risk ID (vendor:risk)"),
    FieldSpec("finding", "Finding"),
    FieldSpec("severity", "Severity (1-5)", "number"),
    FieldSpec("category", "Category"),
    FieldSpec("description", "Description"),
    FieldSpec("remediation", "Remediation"),
    FieldSpec("firstDetected", "First detected", "datetime"),
    FieldSpec("hostnames", "Hostnames", "list"),
    FieldSpec("vendor.name", "Vendor name"),
    FieldSpec("vendor.primary_hostname", "Vendor hostname"),
]
NOTIFICATION_FIELDS = [
    FieldSpec("id", "Notification ID"),
    FieldSpec("type", "Type"),
    FieldSpec("description", "Description"),
    FieldSpec("occurred_at", "Occurred at", "datetime"),
    FieldSpec("context.vendor_primary_hostname", "Vendor hostname"),
]
OBJECTS = ["contact", "task", "note"]


class UpGuardClient(ApiClient):
    provider = "upguard"

    def __init__(self, *, api_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": self.api_key}  # the raw key: UpGuard's "API key in header"

    def organisation(self) -> dict[str, Any]:
        return self._request("GET", "/organisation", operation="get organisation")

    def labels(self) -> list[str]:
        body = self._request("GET", "/labels", operation="list labels")
        return list(self.require(body, "labels", operation="list labels", kind=list))

    def vendors_page(
        self, *, page_token: str | None, page_size: int = VENDOR_PAGE_SIZE, labels: list[str] | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        params: list[tuple[str, Any]] = [("page_size", page_size)] + [("labels", lab) for lab in labels or []]
        if page_token:
            params.append(("page_token", page_token))
        body = self._request("GET", "/vendors", params=params, operation="list vendors")
        return self.require(body, "vendors", operation="list vendors", kind=list), body.get("next_page_token")

    def vendor_contacts(self, vendor_id: int | str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"vendor_id": vendor_id, "page_size": CONTACT_PAGE_SIZE}
            if token:
                params["page_token"] = token
            body = self._request(
                "GET", "/vendor/contact/list", params=params, operation="list vendor contacts"
            )
            out += self.require(body, "contacts", operation="list vendor contacts", kind=list)
            token = body.get("next_page_token")
            if not token:
                return out

    def vendor_risks(self, primary_hostname: str) -> list[dict[str, Any]]:
        body = self._request(
            "GET",
            "/risks/vendors",
            params={"primary_hostname": primary_hostname},
            operation="list vendor risks",
        )
        return list(self.require(body, "risks", operation="list vendor risks", kind=list))

    def notifications_page(
        self, *, page_token: str | None, page_size: int = 50
    ) -> tuple[list[dict[str, Any]], str | None]:
        params: dict[str, Any] = {"page_size": page_size}
        if page_token:
            params["page_token"] = page_token
        body = self._request("GET", "/notifications", params=params, operation="list notifications")
        return self.require(body, "notifications", operation="list notifications", kind=list), body.get(
            "next_page_token"
        )

    def set_vendor_labels(self, primary_hostname: str, labels: list[str]) -> None:
        """Replace a vendor's labels (an empty list clears them)."""
        params = [("vendor_primary_hostname", primary_hostname)] + [("labels", lab) for lab in labels or [""]]
        self._request(
            "PUT", "/vendor/labels", params=params, operation="set vendor labels", expected=(200, 204)
        )


def _vendor_summary(vendor: dict[str, Any]) -> dict[str, Any]:
    return {k: vendor.get(k) for k in ("id", "name", "primary_hostname", "labels", "tier")}


class UpGuardConnector(SampleFromRead):
    provider = "upguard"

    def __init__(self, info: ConnectionInfo) -> None:
        api_key = str(info.secrets.get("api_key") or "")
        if not api_key:
            raise ConfigurationError("The UpGuard connection has no API key")
        limit = info.config.get("rate_limit_per_minute", DEFAULT_RATE_LIMIT[0])
        budget: RateBudget | NullBudget = NullBudget()
        if info.redis_url and limit:
            budget = RateBudget.for_account(
                info.redis_url,
                "upguard",
                budget_account(info.account_id, info.base_url),
                [(int(limit), DEFAULT_RATE_LIMIT[1])],
            )
        self.client = UpGuardClient(
            api_key=api_key,
            base_url=info.base_url.rstrip("/") or API_BASE_URL,
            budget=budget,
            on_call=info.on_call,
        )

    def objects(self) -> list[str]:
        return list(OBJECTS)

    def fields(self, object_kind: str, *, options: dict[str, Any] | None = None) -> list[FieldSpec]:
        self._check(object_kind)
        if object_kind == "task":
            return list(RISK_FIELDS)
        if object_kind == "note":
            return list(NOTIFICATION_FIELDS)
        return list(VENDOR_FIELDS if (options or {}).get("source") == "vendors" else CONTACT_FIELDS)

    def _check(self, object_kind: str) -> None:
        if object_kind not in OBJECTS:
            raise ConfigurationError(f"UpGuard has no {object_kind!r} objects (it has {', '.join(OBJECTS)})")

    def record_id(self, object_kind: str, record: dict[str, Any]) -> str:
        if record.get("id") in (None, ""):
            raise ValidationError("UpGuard record has no id", operation="record id", provider=self.provider)
        return str(record["id"])

    def read(
        self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]
    ) -> Iterator[Page]:
        """contact: vendor contacts (or vendors with {"source": "vendors"}); task: each vendor's risks; note:
        notifications. Per-vendor objects come one Page per vendor (cursor = vendor page token + index)."""
        self._check(object_kind)
        cursor = cursor or {}
        if object_kind == "note":
            yield from self._notifications(cursor, options)
            return
        token, index = cursor.get("vendors_page_token"), int(cursor.get("vendor_index") or 0)
        labels = list(options.get("labels") or [])
        size = max(10, int(options.get("page_limit") or VENDOR_PAGE_SIZE))
        per_vendor = self._risks if object_kind == "task" else self._contacts
        while True:
            vendors, next_token = self.client.vendors_page(page_token=token, page_size=size, labels=labels)
            done_cursor = {"vendors_page_token": next_token, "vendor_index": 0} if next_token else None
            if object_kind == "contact" and options.get("source") == "vendors":
                yield Page(records=vendors, cursor=done_cursor)
            elif index >= len(vendors):
                yield Page(records=[], cursor=done_cursor)
            else:
                for i in range(index, len(vendors)):
                    last = i == len(vendors) - 1
                    yield Page(
                        records=per_vendor(vendors[i]),
                        cursor=done_cursor if last else {"vendors_page_token": token, "vendor_index": i + 1},
                    )
            if not next_token:
                return
            token, index = next_token, 0

    def _contacts(self, vendor: dict[str, Any]) -> list[dict[str, Any]]:
        return [{**c, "vendor": _vendor_summary(vendor)} for c in self.client.vendor_contacts(vendor["id"])]

    def _risks(self, vendor: dict[str, Any]) -> list[dict[str, Any]]:
        # A risk's id names its type ("domain_expiring"); it is unique only within one vendor.
        return [
            {
                **r,
                "id": f"{vendor['id']}:{r.get('id')}",
                "risk_id": r.get("id"),
                "vendor": _vendor_summary(vendor),
            }
            for r in self.client.vendor_risks(vendor["primary_hostname"])
        ]

    def _notifications(self, cursor: dict[str, Any], options: dict[str, Any]) -> Iterator[Page]:
        token = cursor.get("page_token")
        while True:
            items, nxt = self.client.notifications_page(
                page_token=token, page_size=max(10, int(options.get("page_limit") or 50))
            )
            yield Page(
                records=[{**n, "id": n.get("notification_id")} for n in items],
                cursor={"page_token": nxt} if nxt else None,
            )
            if not nxt:
                return
            token = nxt

    def test(self) -> str:
        """The organisation (any valid key) and one small vendor page (the VendorRisk permission syncs need)."""
        try:
            org = self.client.organisation()
            self.client.vendors_page(page_token=None, page_size=10)
        except AuthError as exc:
            exc.message = f"UpGuard rejected the API key ({exc.message})"
            raise
        except ForbiddenError as exc:
            exc.message = f"The UpGuard API key lacks the VendorRisk permission ({exc.message})"
            raise
        return f"UpGuard organisation {org.get('name', '?')} ({org.get('primary_hostname', '?')})"


@register("upguard")
def upguard_connector(info: ConnectionInfo) -> UpGuardConnector:
    return UpGuardConnector(info)
