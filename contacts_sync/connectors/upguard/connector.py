"""UpGuard as a source: vendor contacts -> contacts, vendor risks -> tasks, notifications -> notes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from contacts_sync.connectors.base import BaseConnector, ConnectionInfo, NothingToWrite, Page, SourceField
from contacts_sync.exceptions import ConfigurationError

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
    SourceField("id", "Vendor risk ID (vendor:risk, or notification:id for a breach)"),
    SourceField("finding", "Finding"),
    SourceField("severity", "Severity (info, low, medium, high, critical)"),
    SourceField("status", "Status (open, resolved)"),
    SourceField("vendor_contact_id", "The vendor's first contact (added by the connector)"),
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
    SourceField("vendor_contact_id", "The vendor's first contact (added by the connector)"),
    SourceField("type", "Type"),
    SourceField("description", "Description"),
    SourceField("occurred_at", "Occurred at", "datetime"),
    SourceField("context.vendor_primary_hostname", "Vendor hostname"),
]


# Resolved risks come from /risks/vendors/diffs over this window: a poll at least this often sees every one.
RESOLVED_LOOKBACK = timedelta(days=30)
# RiskDiff severities are numbers (spec enum 0-5); Risk severities are their names.
SEVERITY_NAMES = {0: "pass", 1: "info", 2: "low", 3: "medium", 4: "high", 5: "critical"}
# Notification types that report a breach: they become security tasks too (never "resolved" by UpGuard).
BREACH_WORDS = ("breach", "dataleak", "data_leak")
BREACH_SEVERITY = "high"
BREACH_REMEDIATION = "Review the breach in UpGuard with the vendor; have exposed credentials reset."
# Label writes take these fields (PUT /vendor/labels).
LABEL_FIELDS = ("vendor_primary_hostname", "labels")


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
        self._first_contacts: dict[str, str] = {}
        self._resolved: dict[str, list[dict[str, Any]]] | None = None
        self._vendors: dict[str, dict[str, Any]] = {}

    def fields(self, object_kind: str, *, options: dict[str, Any] | None = None) -> list[SourceField]:
        if object_kind == "contact" and (options or {}).get("source") == "vendors":
            return list(VENDOR_FIELDS)
        return super().fields(object_kind, options=options)

    def read(self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]) -> Iterator[Page]:
        """contact: vendor contacts (or vendors with {"source": "vendors"}); task: each vendor's risks; note:
        notifications. Per-vendor objects come one Page per vendor (cursor = vendor page token + index)."""
        self.check_object(object_kind)
        cursor = cursor or {}
        if object_kind == "note":
            yield from self._notifications(cursor, options)
            return
        if object_kind == "task":
            yield from self._security_tasks(cursor, options)
            return
        yield from self._vendor_pages(object_kind, cursor, options)

    def _security_tasks(self, cursor: dict[str, Any], options: dict[str, Any]) -> Iterator[Page]:
        """Every vendor's risks (open, and resolved in the last RESOLVED_LOOKBACK), then breach notifications
        (cursor {"phase": "breaches"} between the two)."""
        breaches = options.get("include_breaches", True)
        if cursor.get("phase") != "breaches":
            for page in self._vendor_pages("task", cursor, options):
                if page.cursor is None and breaches:
                    page = Page(records=page.records, cursor={"phase": "breaches"})
                yield page
        if breaches:
            yield Page(records=self._breaches(), cursor=None)

    def _vendor_pages(self, object_kind: str, cursor: dict[str, Any], options: dict[str, Any]) -> Iterator[Page]:
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

    def _first_contact(self, vendor_id: Any) -> str:
        """The vendor's contact with the lowest id: the GHL contact its risks and notifications are put on."""
        key = str(vendor_id or "")
        if key and key not in self._first_contacts:
            ids = sorted(
                (c.get("id") for c in self.client.vendor_contacts(key) if c.get("id") is not None),
                key=lambda v: (len(str(v)), str(v)),
            )
            self._first_contacts[key] = str(ids[0]) if ids else ""
        return self._first_contacts.get(key, "")

    def _risks(self, vendor: dict[str, Any]) -> list[dict[str, Any]]:
        """The vendor's open risks, and the ones resolved lately that are not open again. A risk's id names its
        type ("domain_expiring"); it is unique only within one vendor."""
        self._vendors[str(vendor["id"])] = vendor
        summary, contact = _vendor_summary(vendor), self._first_contact(vendor["id"])
        base = {"vendor": summary, "vendor_contact_id": contact, "status": "open"}
        risks = [
            {
                **r,
                **base,
                "id": f"{vendor['id']}:{r.get('id')}",
                "risk_id": r.get("id"),
                "severity": _severity(r.get("severity")),
            }
            for r in self.client.vendor_risks(vendor["primary_hostname"])
        ]
        open_ids = {r["risk_id"] for r in risks}
        for resolved in self._resolved_risks().get(str(vendor["id"]), []):
            if resolved["risk_id"] not in open_ids:
                risks.append({**resolved, **base, "status": "resolved"})
        return risks

    def _resolved_risks(self) -> dict[str, list[dict[str, Any]]]:
        """vendor id -> risks resolved within RESOLVED_LOOKBACK, shaped like open risks (RiskDiff.name is the
        finding, severityName the severity). One paged call per read."""
        if self._resolved is None:
            since = datetime.now(UTC) - RESOLVED_LOOKBACK
            self._resolved = {}
            for vendor in self.client.vendor_risk_diffs(start_date=since.strftime("%Y-%m-%dT%H:%M:%SZ")):
                rows = self._resolved.setdefault(str(vendor.get("id")), [])
                for group in vendor.get("risksResolved") or []:
                    for r in group.get("risks") or []:
                        rows.append(
                            {
                                "id": f"{vendor.get('id')}:{r.get('id')}",
                                "risk_id": r.get("id"),
                                "finding": r.get("name") or r.get("id"),
                                "category": r.get("category"),
                                "description": r.get("description") or "",
                                "remediation": r.get("remediation") or "",
                                "severity": r.get("severityName") or _severity(r.get("severity")),
                                "riskType": r.get("riskType"),
                            }
                        )
        return self._resolved

    def _breaches(self) -> list[dict[str, Any]]:
        """Breach notifications as security tasks on the vendor's first contact (open; UpGuard never closes
        them, a person completes the GHL task)."""
        out = []
        for page in self._notifications({}, {}):
            for n in page.records:
                kind = str(n.get("type") or "").lower()
                if not any(word in kind for word in BREACH_WORDS):
                    continue
                context = _object(n.get("context"))
                vendor = self._vendors.get(str(context.get("vendor_id")), {})
                out.append(
                    {
                        "id": f"notification:{n['id']}",
                        "finding": n.get("description") or n.get("type"),
                        "severity": BREACH_SEVERITY,
                        "category": n.get("type"),
                        "description": n.get("description"),
                        "remediation": BREACH_REMEDIATION,
                        "firstDetected": n.get("occurred_at"),
                        "status": "open",
                        "vendor": {
                            "id": context.get("vendor_id"),
                            "name": vendor.get("name") or context.get("vendor_primary_hostname"),
                            "primary_hostname": context.get("vendor_primary_hostname"),
                        },
                        "vendor_contact_id": n.get("vendor_contact_id", ""),
                    }
                )
        return out

    def _notifications(self, cursor: dict[str, Any], options: dict[str, Any]) -> Iterator[Page]:
        token = cursor.get("page_token")
        while True:
            items, nxt = self.client.notifications_page(
                page_token=token, page_size=max(10, int(options.get("page_limit") or 50))
            )
            yield Page(
                records=[
                    {**n, "id": n.get("notification_id"), "vendor_contact_id": self._notified_contact(n)} for n in items
                ],
                cursor={"page_token": nxt} if nxt else None,
            )
            if not nxt:
                return
            token = nxt

    def _notified_contact(self, notification: dict[str, Any]) -> str:
        context = _object(notification.get("context"))
        return self._first_contact(context.get("vendor_id")) if context.get("vendor_id") else ""

    # ---- writes: GHL tags -> vendor labels -------------------------------------------------------------------

    def target_fields(self, object_kind: str) -> list[SourceField]:
        if object_kind != "tag":
            raise ConfigurationError("only UpGuard vendor labels can be written")
        return [
            SourceField("vendor_primary_hostname", "Vendor primary hostname"),
            SourceField("labels", "Labels to add", "list"),
        ]

    def write(
        self, object_kind: str, payload: dict[str, Any], *, target_id: str | None, options: dict[str, Any]
    ) -> tuple[str, bool]:
        """Add the payload's labels to the vendor's (PUT /vendor/labels replaces them, so the current ones are
        read first and kept): GHL tags enrich UpGuard, they never remove a label someone set there."""
        if object_kind != "tag":
            raise ConfigurationError(f"writing UpGuard {object_kind!r} records is not supported (vendor labels)")
        unknown = sorted(set(payload) - set(LABEL_FIELDS))
        if unknown:
            raise ValueError(f"not UpGuard label fields: {', '.join(unknown)}")
        host = re.sub(r"^https?://", "", str(payload.get("vendor_primary_hostname") or target_id or "").strip())
        host = host.split("/", 1)[0].lower()
        if not host:
            raise ValueError("the vendor's primary hostname is empty after mapping")
        current = [str(x) for x in self.client.vendor(host).get("labels") or []]
        # The sync's own filter tag marks the contacts it reads; it is not a label of the vendor.
        known = {x.casefold() for x in current} | {str(options.get("tag") or "").casefold()} - {""}
        wanted = payload.get("labels") or []
        added = [
            str(x).strip()
            for x in (wanted if isinstance(wanted, list) else [wanted])
            if str(x).strip() and str(x).strip().casefold() not in known
        ]
        added = list(dict.fromkeys(added))
        if not added:
            raise NothingToWrite(f"The vendor {host} already has these labels.", target_id=host)
        self.client.set_vendor_labels(host, current + added)
        return host, False

    def read_one(self, object_kind: str, record_id: str) -> dict[str, Any]:
        vendor = self.client.vendor(record_id)
        return {"vendor_primary_hostname": vendor.get("primary_hostname"), "labels": vendor.get("labels") or []}

    def probe(self) -> str:
        """The organisation (any valid key) and one small vendor page (the VendorRisk permission syncs need)."""
        org = self.client.organisation()
        self.client.vendors_page(page_token=None, page_size=10)  # a 403 names the missing permission
        return f"UpGuard organisation {org.get('name', '?')} ({org.get('primary_hostname', '?')})"


def _severity(value: Any) -> str:
    """A risk's severity as its name (Risk has "high"; RiskDiff has 4)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return SEVERITY_NAMES.get(value, str(value))
    return str(value or "").strip().lower()


def _object(value: Any) -> dict[str, Any]:
    """A JSON object as is; anything else (absent, null, a list) as an empty one."""
    return value if isinstance(value, dict) else {}
