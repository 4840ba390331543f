"""UpGuard CyberRisk API client (facts: ../shared/reference/source-apps.md section 3, ../shared/specs/upguard/)."""

from __future__ import annotations

from typing import Any

from contacts_sync.apiclient.client import ApiClient
from contacts_sync.apiclient.errors import ForbiddenError

API_BASE_URL = "https://cyber-risk.upguard.com/api/public"
VENDOR_PAGE_SIZE = 200
CONTACT_PAGE_SIZE = 200
DIFF_PAGE_SIZE = 200  # /risks/vendors/diffs takes 10-200 per page (default 20)
# UpGuard answers 403 on the vendor endpoints to a key without the VendorRisk permission: say what to do.
VENDOR_RISK_HINT = (
    "the API key lacks the VendorRisk permission: give it VendorRisk access in UpGuard "
    "(CyberRisk → Account Settings → API) or connect with a key that has it"
)


class UpGuardClient(ApiClient):
    provider = "upguard"

    def __init__(self, *, api_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_key = api_key

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": self.api_key}  # the raw key: UpGuard's "API key in header"

    def organisation(self) -> dict[str, Any]:
        org: dict[str, Any] = self._request("GET", "/organisation", operation="get organisation")
        return org

    def labels(self) -> list[str]:
        body = self._request("GET", "/labels", operation="list labels")
        return list(self.require(body, "labels", operation="list labels", kind=list))

    def vendors_page(
        self, *, page_token: str | None, page_size: int = VENDOR_PAGE_SIZE, labels: list[str] | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        params: list[tuple[str, Any]] = [("page_size", page_size)] + [("labels", lab) for lab in labels or []]
        if page_token:
            params.append(("page_token", page_token))
        try:
            body = self._request("GET", "/vendors", params=params, operation="list vendors")
        except ForbiddenError as exc:
            exc.message = f"{exc.message} ({VENDOR_RISK_HINT})"
            raise
        return self.require(body, "vendors", operation="list vendors", kind=list), body.get("next_page_token")

    def vendor_contacts(self, vendor_id: int | str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"vendor_id": vendor_id, "page_size": CONTACT_PAGE_SIZE}
            if token:
                params["page_token"] = token
            body = self._request("GET", "/vendor/contact/list", params=params, operation="list vendor contacts")
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

    def vendor(self, primary_hostname: str) -> dict[str, Any]:
        """GET /vendor?hostname= (a monitored vendor's details, labels included)."""
        body = self._request("GET", "/vendor", params={"hostname": primary_hostname}, operation="get vendor")
        self.require(body, "primary_hostname", operation="get vendor", kind=str)
        return dict(body)

    def vendor_risk_diffs(self, *, start_date: str, page_size: int = DIFF_PAGE_SIZE) -> list[dict[str, Any]]:
        """GET /risks/vendors/diffs since `start_date` (RFC 3339), every page: [VendorsRiskDiffs]."""
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"start_date": start_date, "page_size": page_size}
            if token:
                params["page_token"] = token
            body = self._request("GET", "/risks/vendors/diffs", params=params, operation="list vendor risk diffs")
            out += self.require(body, "vendors", operation="list vendor risk diffs", kind=list)
            token = body.get("next_page_token")
            if not token:
                return out

    def notification_types(self) -> list[str]:
        body = self._request("GET", "/webhooks/notification_types", operation="list notification types")
        rows = self.require(body, "notification_types", operation="list notification types", kind=list)
        return [str(r["id"]) for r in rows if isinstance(r, dict) and r.get("id")]

    def create_webhook(self, *, name: str, hook_url: str, notification_type_ids: list[str]) -> dict[str, Any]:
        """POST /webhooks (query parameters, as the spec has them): {id} and, since v1.13.2, signing_secret."""
        params = [("name", name), ("hook_url", hook_url), ("webhook_type", "webhook")] + [
            ("notification_type_ids", t) for t in notification_type_ids
        ]
        body = self._request("POST", "/webhooks", params=params, operation="create webhook", expected=(200, 201))
        self.require(body, "id", operation="create webhook", kind=str)
        return dict(body)

    def set_vendor_labels(self, primary_hostname: str, labels: list[str]) -> None:
        """Replace a vendor's labels (an empty list clears them)."""
        params = [("vendor_primary_hostname", primary_hostname)] + [("labels", lab) for lab in labels or [""]]
        self._request("PUT", "/vendor/labels", params=params, operation="set vendor labels", expected=(200, 204))
