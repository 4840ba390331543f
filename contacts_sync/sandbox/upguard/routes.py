"""The UpGuard emulator's routes (the swagger's shapes; see the package docstring) and its test-only admin."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from datetime import UTC, datetime
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from contacts_sync.sandbox.hubstaff import fake

from .state import APP, LABELS, NOTIFICATION_TYPES, RISKS, SEVERITIES, UpGuardState

log = logging.getLogger(__name__)


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


def error(status: int, message: str) -> JSONResponse:
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
        return error(422, str(exc) if "page_token" in str(exc) else "page_size must be an integer")
    if not 10 <= size <= max_size:
        return error(422, f"page_size must be between 10 and {max_size}")
    body: dict[str, Any] = {key: rows[offset : offset + size]}
    if total:
        body["total_results"] = len(rows)
    if offset + size < len(rows):
        body["next_page_token"] = _token(offset + size)
    return JSONResponse(body)


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
        return error(422, "vendor_id or vendor_primary_hostname is required")
    if vendor is None:
        return error(404, "vendor not found")
    rows = [c for c in state.contacts if c["vendor_id"] == vendor["id"]]
    return _page(request, rows, "contacts", default_size=200)


async def vendor_risks(request: Request, state: UpGuardState) -> Response:
    host = request.query_params.get("primary_hostname")
    vendor = next((v for v in state.vendors if v["primary_hostname"] == host), None)
    if not host:
        return error(422, "primary_hostname is required")
    if vendor is None:
        return error(404, "vendor not found")
    return JSONResponse({"risks": state.risks.get(vendor["id"], [])})  # not paginated (GetRisksV1RespBody)


async def vendor_detail(request: Request, state: UpGuardState) -> Response:
    q = request.query_params
    if q.get("id"):
        vendor = next((v for v in state.vendors if str(v["id"]) == q["id"]), None)
    elif q.get("hostname"):
        vendor = next((v for v in state.vendors if v["primary_hostname"] == q["hostname"]), None)
    else:
        return error(422, "id or hostname is required")
    if vendor is None:
        return error(404, "vendor not found")
    return JSONResponse(vendor)  # `vendor` (a monitored vendor's details)


async def vendor_risk_diffs(request: Request, state: UpGuardState) -> Response:
    """Risks resolved since start_date, per vendor, grouped by category (VendorsRisksDiffResponsePayloadBody;
    risksIntroduced is left empty: the emulator's new risks are read from /risks/vendors)."""
    q = request.query_params
    try:
        start = datetime.fromisoformat(str(q.get("start_date") or "").replace("Z", "+00:00"))
    except ValueError:
        return error(422, "start_date must be an RFC 3339 date-time")
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
            return error(404, "webhook not found")
        state.webhooks.remove(found)
        return Response(status_code=204)
    types = q.getlist("notification_type_ids") + q.getlist("notification_type_ids[]")
    if not q.get("name") or not q.get("hook_url") or not types:
        return error(422, "name, hook_url and notification_type_ids are required")
    unknown = sorted(set(types) - set(NOTIFICATION_TYPES.values()))
    if unknown:
        return error(422, f"unknown notification_type_ids: {', '.join(unknown)}")
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
        return error(422, "vendor_primary_hostname does not name a monitored vendor")
    vendor["labels"] = [lab for lab in request.query_params.getlist("labels") if lab]
    return Response(status_code=204)


async def admin(ctx: Any, s: UpGuardState, request: Request) -> Response:
    """The tests' hooks into the emulator: resolve or add a risk, notify (and deliver the webhooks), read."""
    action = request.path_params["action"]
    if action == "resolve_risk" and request.method == "POST":
        body = await request.json()
        risks = s.risks.get(int(body.get("vendor_id") or 0), [])
        risk = next((r for r in risks if r["id"] == body.get("risk_id")), None)
        if risk is None:
            return error(404, "no such open risk")
        risks.remove(risk)
        s.resolved.setdefault(int(body["vendor_id"]), []).append((risk, datetime.now(UTC)))
        return JSONResponse(risk)
    if action == "add_risk" and request.method == "POST":
        body = await request.json()
        vendor = next((v for v in s.vendors if v["id"] == int(body.get("vendor_id") or 0)), None)
        template = next((r for r in RISKS if r["id"] == body.get("risk_id")), None)
        if vendor is None or template is None:
            return error(404, "no such vendor or risk type")
        risk = dict(
            template, firstDetected=fake.iso(datetime.now(UTC)), hostnames=[vendor["primary_hostname"]], hostnameCount=1
        )
        s.risks.setdefault(vendor["id"], []).append(risk)
        return JSONResponse(risk)
    if action == "notify" and request.method == "POST":
        note = s.notify(await request.json())
        hooks = [
            h for h in s.webhooks if h["enabled"] and NOTIFICATION_TYPES.get(note["type"]) in h["notification_type_ids"]
        ]
        return JSONResponse(note, background=BackgroundTask(_deliver, ctx, hooks, note) if hooks else None)
    if action == "vendor":
        host = request.query_params.get("hostname")
        vendor = next((v for v in s.vendors if v["primary_hostname"] == host), None)
        if vendor is None:
            return error(404, "vendor not found")
        contacts = [c for c in s.contacts if c["vendor_id"] == vendor["id"]]
        return JSONResponse({**vendor, "risks": s.risks.get(vendor["id"], []), "contacts": contacts})
    if action == "stats":
        return JSONResponse({"vendors": len(s.vendors), "contacts": len(s.contacts), "requests": s.requests})
    return error(404, "no such admin action")
