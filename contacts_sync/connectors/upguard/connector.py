"""UpGuard as a source: vendor contacts -> contacts, vendor risks -> tasks, notifications -> notes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contacts_sync.apiclient.errors import ForbiddenError
from contacts_sync.connectors.base import BaseConnector, ConnectionInfo, Page, SourceField

from . import spec
from .client import API_BASE_URL, VENDOR_PAGE_SIZE, UpGuardClient

CONTACT_FIELDS = [
    SourceField("id", "Contact ID", "number"),
    SourceField("name", "Name"),
    SourceField("title", "Title"),
    SourceField("email_address", "E-mail", "email"),
    SourceField("phone_mobile", "Mobile phone", "phone"),
    SourceField("notes", "Notes"),
    SourceField("vendor.name", "Vendor name"),
    SourceField("vendor.primary_hostname", "Vendor hostname"),
    SourceField("vendor.labels", "Vendor labels", "list"),
    SourceField("vendor.tier", "Vendor tier", "number"),
    SourceField("created_at", "Created at", "datetime"),
    SourceField("updated_at", "Updated at", "datetime"),
]
VENDOR_FIELDS = [
    SourceField("id", "Vendor ID", "number"),
    SourceField("name", "Name"),
    SourceField("primary_hostname", "Primary hostname"),
    SourceField("labels", "Labels", "list"),
    SourceField("tier", "Tier", "number"),
    SourceField("overallScore", "Overall score", "number"),
    SourceField("assessmentStatus", "Assessment status"),
]


RISK_FIELDS = [
    SourceField("id", "Vendor risk ID (vendor:risk)"),
    SourceField("finding", "Finding"),
    SourceField("severity", "Severity (1-5)", "number"),
    SourceField("category", "Category"),
    SourceField("description", "Description"),
    SourceField("remediation", "Remediation"),
    SourceField("firstDetected", "First detected", "datetime"),
    SourceField("hostnames", "Hostnames", "list"),
    SourceField("vendor.name", "Vendor name"),
    SourceField("vendor.primary_hostname", "Vendor hostname"),
]
NOTIFICATION_FIELDS = [
    SourceField("id", "Notification ID"),
    SourceField("type", "Type"),
    SourceField("description", "Description"),
    SourceField("occurred_at", "Occurred at", "datetime"),
    SourceField("context.vendor_primary_hostname", "Vendor hostname"),
]


def _vendor_summary(vendor: dict[str, Any]) -> dict[str, Any]:
    return {k: vendor.get(k) for k in ("id", "name", "primary_hostname", "labels", "tier")}


class UpGuardConnector(BaseConnector):
    SPEC = spec.SPEC
    API_BASE_URL = API_BASE_URL
    FIELDS = {"contact": CONTACT_FIELDS, "task": RISK_FIELDS, "note": NOTIFICATION_FIELDS}

    def __init__(self, info: ConnectionInfo) -> None:
        super().__init__(info)
        self.client = UpGuardClient(
            api_key=self.secret("api_key"), base_url=self.api_base_url(), budget=self.budget(), on_call=info.on_call
        )

    def fields(self, object_kind: str, *, options: dict[str, Any] | None = None) -> list[SourceField]:
        if object_kind == "contact" and (options or {}).get("source") == "vendors":
            return list(VENDOR_FIELDS)
        return super().fields(object_kind, options=options)

    def read(
        self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]
    ) -> Iterator[Page]:
        """contact: vendor contacts (or vendors with {"source": "vendors"}); task: each vendor's risks; note:
        notifications. Per-vendor objects come one Page per vendor (cursor = vendor page token + index)."""
        self.check_object(object_kind)
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

    def probe(self) -> str:
        """The organisation (any valid key) and one small vendor page (the VendorRisk permission syncs need)."""
        org = self.client.organisation()
        try:
            self.client.vendors_page(page_token=None, page_size=10)
        except ForbiddenError as exc:
            exc.message = f"The UpGuard API key lacks the VendorRisk permission ({exc.message})"
            raise
        return f"UpGuard organisation {org.get('name', '?')} ({org.get('primary_hostname', '?')})"
