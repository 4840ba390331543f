"""Outgoing GHL webhooks: signed (Ed25519 `x-ghl-signature`, optionally the legacy RSA `x-wh-signature`), sent to
the location's (or agency's) webhook URL, logged in a bounded delivery log, optionally recorded for the contract
tests; and the recorder of API exchanges (`--record`)."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from contacts_sync.sandbox.faults import FAULT_HEADER
from contacts_sync.sandbox.ghl.common import APP
from contacts_sync.sandbox.ghl.state import APP_ID, VERSION_ID, Company, GhlState, Location, iso

log = logging.getLogger(__name__)

DELIVERY_LOG_SIZE = 500  # the admin delivery log keeps the last N deliveries
KEY_PATH = Path(__file__).resolve().parent.parent / "keys" / "ghl-webhook-ed25519-private.pem"
RSA_KEY_PATH = KEY_PATH.parent / "ghl-webhook-rsa-private.pem"
PUBLIC_KEY_PATH = KEY_PATH.parent / "ghl-webhook-ed25519-public.pem"
SIGNATURE_MODES = ("ed25519", "both", "rsa")

Endpoint = Callable[[Request], Awaitable[Response]]


class Recorder:
    """With --record: every exchange (request and response) and every webhook payload as one JSON line."""

    def __init__(self, path: str) -> None:
        self.fh: TextIO | None = open(path, "a", encoding="utf-8", buffering=1) if path else None

    def wrap(self, endpoint: Endpoint) -> Endpoint:
        fh = self.fh
        if fh is None:
            return endpoint

        async def recording(request: Request) -> Response:
            raw = await request.body()
            response = await endpoint(request)
            h = request.headers
            line = {
                "kind": "http",
                "method": request.method,
                "path": request.url.path.removeprefix("/ghl"),
                "query": request.url.query,
                "content_type": h.get("content-type", ""),
                "headers": {k: h[k] for k in ("version", "authorization") if k in h},
                "body": raw.decode("utf-8", "replace"),
                "status": response.status_code,
                "response_type": response.headers.get("content-type", ""),
                "fault": response.headers.get(FAULT_HEADER, ""),
                "response": bytes(response.body).decode("utf-8", "replace") if hasattr(response, "body") else "",
            }
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
            return response

        return recording

    def webhook(self, payload: dict[str, Any]) -> None:
        if self.fh is not None:
            self.fh.write(json.dumps({"kind": "webhook", "payload": payload}, ensure_ascii=False) + "\n")


class WebhookSender:
    def __init__(self, ctx: Any, state: Callable[[], GhlState], recorder: Recorder) -> None:
        self.ctx = ctx
        self.state = state
        self.recorder = recorder
        self.signing_key: Ed25519PrivateKey = load_pem_private_key(KEY_PATH.read_bytes(), None)  # type: ignore[assignment]
        self.rsa_key: Any = load_pem_private_key(RSA_KEY_PATH.read_bytes(), None)

    # ----- signatures ---------------------------------------------------------------------------------
    def sign(self, body: bytes) -> str:
        return base64.b64encode(self.signing_key.sign(body)).decode()

    def sign_legacy(self, body: bytes) -> str:
        """The legacy x-wh-signature: base64 RSA-SHA256 (PKCS#1 v1.5) over the raw body."""
        return base64.b64encode(self.rsa_key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()

    def signature_headers(self, signatures: str, body: bytes) -> dict[str, str]:
        headers = {}
        if signatures in ("ed25519", "both"):
            headers["x-ghl-signature"] = self.sign(body)
        if signatures in ("both", "rsa"):
            headers["x-wh-signature"] = self.sign_legacy(body)
        return headers

    # ----- where events go ----------------------------------------------------------------------------
    def location_url(self, loc: Location) -> str:
        company = self.state().companies.get(loc.company_id)
        return loc.webhook_url or (company.webhook_url if company else "") or self.ctx.options.webhook_url

    def company_url(self, company: Company) -> str:
        return company.webhook_url or self.ctx.options.webhook_url

    def task_for(self, loc: Location, events: list[dict[str, Any]]) -> BackgroundTask | None:
        """Deliver after the API answer has gone out (GHL sends webhooks asynchronously)."""
        url = self.location_url(loc)
        return BackgroundTask(self.deliver, url, events, loc.id, loc.signatures) if url else None

    async def to_location(self, loc: Location, events: list[dict[str, Any]]) -> None:
        url = self.location_url(loc)
        if url:
            await self.deliver(url, events, loc.id, loc.signatures)

    async def to_company(self, company: Company, events: list[dict[str, Any]]) -> None:
        url = self.company_url(company)
        if url:
            await self.deliver(url, events, company.id, "ed25519")

    async def deliver(self, url: str, events: list[dict[str, Any]], account: str, signatures: str) -> None:
        """POST each event, signed; GHL does not retry failures (only 429s), so a failure is logged and lost."""
        state = self.state()
        for ev in events:
            payload = {
                **ev,
                "timestamp": iso(),
                "webhookId": str(uuid.uuid4()),
                "appId": APP_ID,
                "versionId": VERSION_ID,
            }
            record: dict[str, Any] = {
                "type": ev["type"],
                "url": url,
                "webhookId": payload["webhookId"],
                "locationId": ev.get("locationId") or account,
                "status": None,
            }
            self.recorder.webhook(payload)
            if self.ctx.faults.drop_webhook(APP, account):
                record["status"] = "dropped"
            else:
                body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
                headers = {
                    "Content-Type": "application/json",
                    **self.signature_headers(signatures, body),
                    "User-Agent": "GoHighLevel-Webhooks (sandbox)",
                }
                try:
                    r = await self.ctx.http.post(url, content=body, headers=headers)
                    record["status"] = r.status_code
                except Exception as exc:  # noqa: BLE001 - GHL drops failed deliveries; we log and record it
                    log.info("ghl webhook %s to %s failed: %s", ev["type"], url, exc)
                    record["status"] = f"error: {type(exc).__name__}"
            state.deliveries.append(record)
            del state.deliveries[:-DELIVERY_LOG_SIZE]
