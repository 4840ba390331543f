"""UpGuard CyberRisk emulator, mounted at /upguard (stands in for https://cyber-risk.upguard.com/api/public).

Auth: `Authorization: upguard-sandbox-key` (the raw key, no "Bearer"); the key `upguard-sandbox-key-breachsight`
lacks the VendorRisk permission and gets 403 on vendor endpoints. Shapes from the v1.11.1 swagger
(`VendorsResponsePayloadBody`, `monitoredVendor`, `GetLabelsV1RespBody`, `GetOrganisationV1RespBody`,
`endpointError`, `GetRisksV1RespBody`, `GetNotificationsV1ResponsePayloadBody`) and v1.13.2's vendor contacts
(`VendorContactList`). Paging: opaque `page_token`, `page_size`
(10-2000, default 1000), `next_page_token` omitted on the last page. Seed: 60 vendors with 0-4 contacts each.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from contacts_sync.sandbox.hubstaff import fake

log = logging.getLogger(__name__)

APP = "upguard"
API_KEY = "upguard-sandbox-key"
LIMITED_KEY = "upguard-sandbox-key-breachsight"  # a key without the VendorRisk permission
DEFAULT_VENDORS = 60
RISKS = [
    {
        "id": "domain_expiring",
        "riskType": "domain_expiring",
        "riskSubtype": "",
        "category": "dns",
        "severity": "medium",
        "finding": "Domain expires soon",
        "risk": "Loss of the domain",
        "description": "The domain expires within 30 days.",
        "remediation": "Renew the domain.",
    },
    {
        "id": "tls_old_version",
        "riskType": "tls_old_version",
        "riskSubtype": "TLSv1.0",
        "category": "encryption",
        "severity": "low",
        "finding": "TLS 1.0 supported",
        "risk": "Weak encryption",
        "description": "The server accepts TLS 1.0.",
        "remediation": "Disable TLS 1.0 and 1.1.",
    },
    {
        "id": "spf_missing",
        "riskType": "spf_missing",
        "riskSubtype": "",
        "category": "email",
        "severity": "high",
        "finding": "SPF record missing",
        "risk": "E-mail spoofing",
        "description": "No SPF record was found.",
        "remediation": "Publish an SPF record.",
    },
    {
        "id": "open_port_rdp",
        "riskType": "open_port",
        "riskSubtype": "3389",
        "category": "network",
        "severity": "critical",
        "finding": "RDP port open to the internet",
        "risk": "Remote takeover",
        "description": "Port 3389 answers from the internet.",
        "remediation": "Close the port or use a VPN.",
    },
]
NOTIFICATIONS = [
    ("VendorScoreDropped", "The score of vendor '{name}' dropped below 600"),
    ("RiskAssessmentPublished", "User published a new risk assessment for vendor '{name}'"),
    ("IdentityBreachDetected", "A new identity breach affects staff at '{name}'"),
    ("DataLeakPublished", "A data leak mentioning '{name}' was published"),
]
LABELS = ["critical", "payments", "IT", "marketing", "Tier-1 supplier", "GDPR"]
# Webhook notification types (GET /webhooks/notification_types): our notification kinds and a breach kind more.
NOTIFICATION_TYPES = {
    kind: f"{n + 10}-0000-0000-{n:016d}"
    for n, kind in enumerate([k for k, _ in NOTIFICATIONS] + ["VendorDataBreach", "ReportReady"])
}


class UpGuardState:
    def __init__(self, vendors: int = DEFAULT_VENDORS) -> None:
        self.vendors: list[dict[str, Any]] = []
        self.contacts: list[dict[str, Any]] = []
        self.risks: dict[int, list[dict[str, Any]]] = {}
        self.notifications: list[dict[str, Any]] = []
        # vendor id -> [(risk, resolved at)]: what /risks/vendors/diffs reports as risksResolved
        self.resolved: dict[int, list[tuple[dict[str, Any], datetime]]] = {}
        self.webhooks: list[dict[str, Any]] = []  # {id, name, url, enabled, notification_type_ids, secret}
        self.requests = 0
        self.seed(vendors)

    def seed(self, count: int) -> int:
        r = fake.rng(f"upguard-{len(self.vendors)}")
        for _ in range(count):
            vid = 5000 + len(self.vendors) + 1
            name = fake.company_name(r, vid).strip()
            host = self._hostname(name, vid)
            score = r.randint(300, 950)
            vendor = {
                "id": vid,
                "name": name,
                "primary_hostname": host,
                "labels": r.sample(LABELS, r.randint(0, 3)),
                "tier": r.choice([1, 2, 3]),
                "monitored": True,
                "overallScore": score,
                "automatedScore": score - r.randint(0, 40),
                "score": score,
                "assessmentStatus": r.choice(["Published", "In progress", "Not assessed"]),
            }
            if r.random() < 0.4:
                vendor["attributes"] = {"owner": r.choice(["procurement", "it-sec"])}
            self.vendors.append(vendor)
            self.risks[vid] = [
                dict(
                    RISKS[k],
                    firstDetected=fake.iso(fake.past(r, days=300)),
                    hostnames=[host],
                    hostnameCount=1,
                )
                for k in r.sample(range(len(RISKS)), r.choice([0, 0, 1, 2, 3]))
            ]
            if r.random() < 0.5:
                kind, text = r.choice(NOTIFICATIONS)
                self.notifications.append(
                    {
                        "notification_id": str(len(self.notifications) + 1),
                        "type": kind,
                        "description": text.format(name=name),
                        "occurred_at": fake.iso(fake.past(r, days=7)),
                        "context": {"vendor_id": vid, "vendor_primary_hostname": host},
                    }
                )
            for _c in range(r.choice([0, 1, 1, 2, 3, 4])):
                cid = 70_000 + len(self.contacts) + 1
                first, last = fake.person_name(r)
                created = fake.past(r, days=500)
                self.contacts.append(
                    {
                        "id": cid,
                        "vendor_id": vid,
                        "name": f"{first} {last}",
                        "title": r.choice(["CISO", "Account Manager", "Security Lead", "", "DPO"]),
                        "email_address": fake.email_for(r, f"{first}.{last}", cid),
                        "phone_mobile": fake.phone(r),
                        "notes": fake.sentence(r) if r.random() < 0.3 else "",
                        "created_at": fake.iso(created),
                        "updated_at": fake.iso(created + timedelta(days=r.randint(0, 60))),
                    }
                )
        return len(self.vendors)

    def _hostname(self, name: str, vid: int) -> str:
        """A primary hostname names one vendor: two vendors whose names start alike get different ones."""
        host = "".join(ch for ch in name.lower() if ch.isalnum())[:20] + ".example.com"
        return f"{vid}-{host}" if any(v["primary_hostname"] == host for v in self.vendors) else host

    def notify(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A notification happening now about a vendor (admin: tests add one and deliver it as a webhook)."""
        vendor = next((v for v in self.vendors if v["id"] == int(fields.get("vendor_id") or 0)), None)
        note = {
            "notification_id": str(len(self.notifications) + 1),
            "type": str(fields.get("type") or "VendorScoreDropped"),
            "description": str(fields.get("description") or f"Something happened at '{(vendor or {}).get('name')}'"),
            "occurred_at": fake.iso(datetime.now(UTC)),
            "context": {"vendor_id": vendor["id"], "vendor_primary_hostname": vendor["primary_hostname"]}
            if vendor
            else {},
        }
        self.notifications.append(note)
        return note


SEVERITIES = {"pass": 0, "info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}


async def _deliver(ctx: Any, hooks: list[dict[str, Any]], note: dict[str, Any]) -> None:
    """POST the notification (WebhookSampleData) to each hook, signed with its secret: X-Webhook-Signature is the
    hex HMAC-SHA256 of the raw body. UpGuard documents no signature scheme; this one is the emulator's choice,
    the assumption connectors/upguard/webhooks.py makes."""
    import httpx

    body = json.dumps(
        {
            "type": note["type"],
            "description": note["description"],
            "occurredAt": note["occurred_at"],
            "context": note["context"],
        }
    ).encode()
    async with httpx.AsyncClient() as http:
        for hook in hooks:
            if ctx.faults.drop_webhook(APP, "*"):
                continue
            signature = hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
            try:
                await http.post(
                    hook["url"],
                    content=body,
                    timeout=10.0,
                    headers={"Content-Type": "application/json", "X-Webhook-Signature": signature},
                )
            except httpx.HTTPError as exc:  # an unreachable receiver is its own problem to notice
                log.info("upguard webhook %s delivery failed: %s", hook["id"], exc)


def _risk_diff(risk: dict[str, Any]) -> dict[str, Any]:
    """A resolved risk as a RiskDiff (name, numeric severity and its name)."""
    return {
        "id": risk["id"],
        "name": risk["finding"],
        "category": risk["category"],
        "riskType": risk["riskType"],
        "riskSubtype": risk["riskSubtype"],
        "description": risk["description"],
        "remediation": risk["remediation"],
        "severity": SEVERITIES[risk["severity"]],
        "severityName": risk["severity"],
        "group": risk["category"],
    }


def _diff_group(category: str, risks: list[dict[str, Any]]) -> dict[str, Any]:
    top = max(risks, key=lambda r: r["severity"])
    return {
        "groupID": category,
        "name": category,
        "highestSeverity": top["severity"],
        "highestSeverityName": top["severityName"],
        "risks": risks,
    }


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)  # `endpointError`


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)[1])
    except (ValueError, IndexError, UnicodeDecodeError):
        raise ValueError("invalid page_token") from None


def _page(
    request: Request,
    rows: list[dict[str, Any]],
    key: str,
    default_size: int = 1000,
    *,
    total: bool = False,
    max_size: int = 2000,
) -> Response:
    """One page of `rows`; `total_results` only where the spec has it (vendors), `next_page_token` only if more."""
    q = request.query_params
    try:
        size = int(q.get("page_size", default_size))
        offset = _offset(q.get("page_token"))
    except ValueError as exc:
        return _error(422, str(exc) if "page_token" in str(exc) else "page_size must be an integer")
    if not 10 <= size <= max_size:
        return _error(422, f"page_size must be between 10 and {max_size}")
    body: dict[str, Any] = {key: rows[offset : offset + size]}
    if total:
        body["total_results"] = len(rows)
    if offset + size < len(rows):
        body["next_page_token"] = _token(offset + size)
    return JSONResponse(body)


def mount(ctx: Any) -> Mount:  # noqa: C901 - small route closures counted as one function
    # Longer than 60 lines on purpose: the emulator's few small routes are closures over one state box, so
    # a reset swaps the state for all of them; splitting them apart would only add plumbing.
    box = {"state": UpGuardState()}

    def guarded(handler: Any, *, permission: str = "VendorRisk") -> Any:
        async def run(request: Request) -> Response:
            short = await ctx.faults.before(APP, "*")
            if short is not None:
                return short
            key = request.headers.get("authorization", "")
            if key not in (API_KEY, LIMITED_KEY):
                return _error(401, "invalid or missing API key")
            if key == LIMITED_KEY and permission in ("VendorRisk", "Admin"):
                return _error(403, "API key does not have the VendorRisk permission")
            box["state"].requests += 1
            return await handler(request, box["state"])

        return run

    async def organisation(request: Request, state: UpGuardState) -> Response:
        return JSONResponse(
            {
                "id": 12345678,
                "name": "Sandbox Org",
                "primary_hostname": "sandbox.example",
                "automatedScore": 812,
            }
        )

    async def labels(request: Request, state: UpGuardState) -> Response:
        return JSONResponse({"labels": sorted({lab for v in state.vendors for lab in v["labels"]} | set(LABELS))})

    async def vendors(request: Request, state: UpGuardState) -> Response:
        wanted = request.query_params.getlist("labels") + request.query_params.getlist("labels[]")
        rows = [v for v in state.vendors if not wanted or set(wanted) & set(v["labels"])]
        return _page(request, rows, "vendors", total=True)

    async def vendor_contacts(request: Request, state: UpGuardState) -> Response:
        q = request.query_params
        vendor = None
        if q.get("vendor_id"):
            vendor = next((v for v in state.vendors if str(v["id"]) == q["vendor_id"]), None)
        elif q.get("vendor_primary_hostname"):
            vendor = next((v for v in state.vendors if v["primary_hostname"] == q["vendor_primary_hostname"]), None)
        else:
            return _error(422, "vendor_id or vendor_primary_hostname is required")
        if vendor is None:
            return _error(404, "vendor not found")
        rows = [c for c in state.contacts if c["vendor_id"] == vendor["id"]]
        return _page(request, rows, "contacts", default_size=200)

    async def vendor_risks(request: Request, state: UpGuardState) -> Response:
        host = request.query_params.get("primary_hostname")
        vendor = next((v for v in state.vendors if v["primary_hostname"] == host), None)
        if not host:
            return _error(422, "primary_hostname is required")
        if vendor is None:
            return _error(404, "vendor not found")
        return JSONResponse({"risks": state.risks.get(vendor["id"], [])})  # not paginated (GetRisksV1RespBody)

    async def vendor_detail(request: Request, state: UpGuardState) -> Response:
        q = request.query_params
        if q.get("id"):
            vendor = next((v for v in state.vendors if str(v["id"]) == q["id"]), None)
        elif q.get("hostname"):
            vendor = next((v for v in state.vendors if v["primary_hostname"] == q["hostname"]), None)
        else:
            return _error(422, "id or hostname is required")
        if vendor is None:
            return _error(404, "vendor not found")
        return JSONResponse(vendor)  # `vendor` (a monitored vendor's details)

    async def vendor_risk_diffs(request: Request, state: UpGuardState) -> Response:
        """Risks resolved since start_date, per vendor, grouped by category (VendorsRisksDiffResponsePayloadBody;
        risksIntroduced is left empty: the emulator's new risks are read from /risks/vendors)."""
        q = request.query_params
        try:
            start = datetime.fromisoformat(str(q.get("start_date") or "").replace("Z", "+00:00"))
        except ValueError:
            return _error(422, "start_date must be an RFC 3339 date-time")
        rows = []
        for vendor in state.vendors:
            done = [r for r, at in state.resolved.get(vendor["id"], []) if at >= start]
            if done:
                groups: dict[str, list[dict[str, Any]]] = {}
                for r in done:
                    groups.setdefault(r["category"], []).append(_risk_diff(r))
                rows.append(
                    {
                        "id": vendor["id"],
                        "name": vendor["name"],
                        "primary_hostname": vendor["primary_hostname"],
                        "risksIntroduced": [],
                        "risksResolved": [_diff_group(k, v) for k, v in groups.items()],
                    }
                )
        return _page(request, rows, "vendors", default_size=20, total=True, max_size=200)

    async def notifications(request: Request, state: UpGuardState) -> Response:
        rows = sorted(state.notifications, key=lambda n: n["occurred_at"])
        return _page(request, rows, "notifications", default_size=50)

    async def notification_types(request: Request, state: UpGuardState) -> Response:
        return JSONResponse(
            {
                "notification_types": [
                    {"id": tid, "description": kind, "is_zapier": False} for kind, tid in NOTIFICATION_TYPES.items()
                ]
            }
        )

    async def webhooks(request: Request, state: UpGuardState) -> Response:
        """GET lists, POST creates (query parameters; 201 {id, signing_secret} as v1.13.2), DELETE ?id removes."""
        q = request.query_params
        if request.method == "GET":
            return JSONResponse({"webhooks": [{k: v for k, v in h.items() if k != "secret"} for h in state.webhooks]})
        if request.method == "DELETE":
            found = next((h for h in state.webhooks if h["id"] == q.get("id")), None)
            if found is None:
                return _error(404, "webhook not found")
            state.webhooks.remove(found)
            return Response(status_code=204)
        types = q.getlist("notification_type_ids") + q.getlist("notification_type_ids[]")
        if not q.get("name") or not q.get("hook_url") or not types:
            return _error(422, "name, hook_url and notification_type_ids are required")
        unknown = sorted(set(types) - set(NOTIFICATION_TYPES.values()))
        if unknown:
            return _error(422, f"unknown notification_type_ids: {', '.join(unknown)}")
        hook = {
            "id": secrets.token_hex(4).upper(),
            "name": q["name"],
            "url": q["hook_url"],
            "enabled": True,
            "notification_type_ids": types,
            "webhook_type": q.get("webhook_type") or "webhook",
            "secret": secrets.token_hex(32),
        }
        state.webhooks.append(hook)
        return JSONResponse({"id": hook["id"], "signing_secret": hook["secret"]}, status_code=201)

    async def vendor_labels(request: Request, state: UpGuardState) -> Response:
        host = request.query_params.get("vendor_primary_hostname")
        vendor = next((v for v in state.vendors if v["primary_hostname"] == host), None)
        if vendor is None:
            return _error(422, "vendor_primary_hostname does not name a monitored vendor")
        vendor["labels"] = [lab for lab in request.query_params.getlist("labels") if lab]
        return Response(status_code=204)

    async def admin(request: Request) -> Response:
        s = box["state"]
        action = request.path_params["action"]
        if action == "resolve_risk" and request.method == "POST":
            body = await request.json()
            risks = s.risks.get(int(body.get("vendor_id") or 0), [])
            risk = next((r for r in risks if r["id"] == body.get("risk_id")), None)
            if risk is None:
                return _error(404, "no such open risk")
            risks.remove(risk)
            s.resolved.setdefault(int(body["vendor_id"]), []).append((risk, datetime.now(UTC)))
            return JSONResponse(risk)
        if action == "add_risk" and request.method == "POST":
            body = await request.json()
            vendor = next((v for v in s.vendors if v["id"] == int(body.get("vendor_id") or 0)), None)
            template = next((r for r in RISKS if r["id"] == body.get("risk_id")), None)
            if vendor is None or template is None:
                return _error(404, "no such vendor or risk type")
            risk = dict(
                template,
                firstDetected=fake.iso(datetime.now(UTC)),
                hostnames=[vendor["primary_hostname"]],
                hostnameCount=1,
            )
            s.risks.setdefault(vendor["id"], []).append(risk)
            return JSONResponse(risk)
        if action == "notify" and request.method == "POST":
            note = s.notify(await request.json())
            hooks = [
                h
                for h in s.webhooks
                if h["enabled"] and NOTIFICATION_TYPES.get(note["type"]) in h["notification_type_ids"]
            ]
            return JSONResponse(note, background=BackgroundTask(_deliver, ctx, hooks, note) if hooks else None)
        if action == "vendor":
            host = request.query_params.get("hostname")
            vendor = next((v for v in s.vendors if v["primary_hostname"] == host), None)
            if vendor is None:
                return _error(404, "vendor not found")
            contacts = [c for c in s.contacts if c["vendor_id"] == vendor["id"]]
            return JSONResponse({**vendor, "risks": s.risks.get(vendor["id"], []), "contacts": contacts})
        if action == "stats":
            s = box["state"]
            return JSONResponse({"vendors": len(s.vendors), "contacts": len(s.contacts), "requests": s.requests})
        return _error(404, "no such admin action")

    def reset() -> None:
        box["state"] = UpGuardState()

    ctx.on_reset(APP, reset)
    ctx.on_status(APP, lambda: {"vendors": len(box["state"].vendors), "contacts": len(box["state"].contacts)})
    return Mount(
        "/upguard",
        routes=[
            Route("/organisation", guarded(organisation, permission="")),
            Route("/labels", guarded(labels)),
            Route("/vendors", guarded(vendors)),
            Route("/vendor/contact/list", guarded(vendor_contacts)),
            Route("/risks/vendors", guarded(vendor_risks)),
            Route("/notifications", guarded(notifications, permission="")),
            Route("/vendor/labels", guarded(vendor_labels), methods=["PUT"]),
            Route("/vendor", guarded(vendor_detail)),
            Route("/webhooks", guarded(webhooks, permission="Admin"), methods=["GET", "POST", "DELETE"]),
            Route("/webhooks/notification_types", guarded(notification_types, permission="Admin")),
            Route("/risks/vendors/diffs", guarded(vendor_risk_diffs)),
            Route("/_admin/{action}", admin, methods=["GET", "POST"]),
        ],
    )
