"""UpGuard CyberRisk emulator, mounted at /upguard (stands in for https://cyber-risk.upguard.com/api/public).

Auth: `Authorization: upguard-sandbox-key` (the raw key, no "Bearer"); the key `upguard-sandbox-key-breachsight`
lacks the VendorRisk permission and gets 403 on vendor endpoints. Shapes from the v1.11.1 swagger
(`VendorsResponsePayloadBody`, `monitoredVendor`, `GetLabelsV1RespBody`, `GetOrganisationV1RespBody`,
`endpointError`, `GetRisksV1RespBody`, `GetNotificationsV1ResponsePayloadBody`) and v1.13.2's vendor contacts
(`VendorContactList`). Paging: opaque `page_token`, `page_size`
(10-2000, default 1000), `next_page_token` omitted on the last page. Seed: 60 vendors with 0-4 contacts each.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from . import routes as r
from .state import API_KEY, APP, LIMITED_KEY, UpGuardState


def mount(ctx: Any) -> Mount:
    """The routes read the state of one box, so a reset swaps it for all of them."""
    box = {"state": UpGuardState()}

    def guarded(handler: Any, *, permission: str = "VendorRisk") -> Any:
        async def run(request: Request) -> Response:
            short = await ctx.faults.before(APP, "*")
            if short is not None:
                return short
            key = request.headers.get("authorization", "")
            if key not in (API_KEY, LIMITED_KEY):
                return r.error(401, "invalid or missing API key")
            if key == LIMITED_KEY and permission in ("VendorRisk", "Admin"):
                return r.error(403, "API key does not have the VendorRisk permission")
            box["state"].requests += 1
            return await handler(request, box["state"])

        return run

    async def admin(request: Request) -> Response:
        return await r.admin(ctx, box["state"], request)

    def reset() -> None:
        box["state"] = UpGuardState()

    ctx.on_reset(APP, reset)
    ctx.on_status(APP, lambda: {"vendors": len(box["state"].vendors), "contacts": len(box["state"].contacts)})
    return Mount(
        "/upguard",
        routes=[
            Route("/organisation", guarded(r.organisation, permission="")),
            Route("/labels", guarded(r.labels)),
            Route("/vendors", guarded(r.vendors)),
            Route("/vendor/contact/list", guarded(r.vendor_contacts)),
            Route("/risks/vendors", guarded(r.vendor_risks)),
            Route("/notifications", guarded(r.notifications, permission="")),
            Route("/vendor/labels", guarded(r.vendor_labels), methods=["PUT"]),
            Route("/vendor", guarded(r.vendor_detail)),
            Route("/webhooks", guarded(r.webhooks, permission="Admin"), methods=["GET", "POST", "DELETE"]),
            Route("/webhooks/notification_types", guarded(r.notification_types, permission="Admin")),
            Route("/risks/vendors/diffs", guarded(r.vendor_risk_diffs)),
            Route("/_admin/{action}", admin, methods=["GET", "POST"]),
        ],
    )
