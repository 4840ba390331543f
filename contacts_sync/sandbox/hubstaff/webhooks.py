"""Hubstaff webhooks in the emulator: registration on an organization, a project or the user, the X-Hook-Secret
handshake and activation, and signed delivery (X-Hook-Signature, hex HMAC-SHA256 of the raw body).
Mixed into HubstaffEmulator (app.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .state import HubstaffError, HubstaffState, Webhook, webhook_json
from .state import int_param as _int

log = logging.getLogger(__name__)
APP = "hubstaff"


class WebhookEndpoints:
    if TYPE_CHECKING:
        ctx: Any
        state: HubstaffState

        def _project(self, request: Request, user_id: int) -> dict[str, Any]: ...

        async def _body(self, request: Request) -> dict[str, Any]: ...

    async def create_org_webhook(self, request: Request, user_id: int) -> Response:
        org_id = _int(request.path_params["organization_id"], "organization_id") or 0
        self.state.require_org(user_id, org_id)
        hook = self.state.create_webhook(org_id, await self._body(request))
        return JSONResponse(
            {"webhook": webhook_json(hook)}, status_code=201, background=BackgroundTask(self._handshake, hook)
        )

    async def create_project_webhook(self, request: Request, user_id: int) -> Response:
        project = self._project(request, user_id)
        hook = self.state.create_webhook(project["organization_id"], await self._body(request))
        return JSONResponse(
            {"webhook": webhook_json(hook)}, status_code=201, background=BackgroundTask(self._handshake, hook)
        )

    async def create_user_webhook(self, request: Request, user_id: int) -> Response:
        hook = self.state.create_webhook(None, await self._body(request))  # every organization of the user
        return JSONResponse(
            {"webhook": webhook_json(hook)}, status_code=201, background=BackgroundTask(self._handshake, hook)
        )

    async def get_webhook(self, request: Request, user_id: int) -> Response:
        hook = self.state.webhooks.get(request.path_params["webhook_id"])
        if hook is None:
            raise HubstaffError(404, "not_found", "Could not find webhook", 12000)
        return JSONResponse({"webhook": webhook_json(hook)})

    async def delete_webhook(self, request: Request, user_id: int) -> Response:
        if self.state.webhooks.pop(request.path_params["webhook_id"], None) is None:
            raise HubstaffError(404, "not_found", "Could not find webhook", 12000)
        return Response(status_code=204)

    async def activate_webhook(self, request: Request, user_id: int) -> Response:
        hook = self.state.activate_webhook(request.path_params["webhook_id"], request.headers.get("x-hook-secret"))
        return JSONResponse({"webhook": webhook_json(hook)}, status_code=201)

    async def _handshake(self, hook: Webhook) -> None:
        """POST the target with X-Hook-Secret; it is verified when it answers 200 echoing the header."""
        try:
            resp = await self._http().post(
                hook.target_url,
                content=b"{}",
                timeout=10.0,
                headers={
                    "X-Hook-Secret": hook.secret,
                    "Content-Type": "application/json",
                    "User-Agent": "Hubstaff-Webhooks",
                },
            )
        except Exception as exc:  # noqa: BLE001 - an unreachable target simply stays unverified
            log.info("hubstaff webhook %s handshake failed: %s", hook.id, exc)
            return
        if resp.status_code == 200 and resp.headers.get("x-hook-secret") == hook.secret:
            hook.status = "verified" if hook.status == "pending" else hook.status

    def _http(self) -> Any:
        http = getattr(self.ctx, "http", None) or getattr(self.ctx, "client", None)
        if http is None:
            import httpx

            http = self._own_http = getattr(self, "_own_http", None) or httpx.AsyncClient()
        return http

    def _emit_task(self, org_id: int, event: str, payload: dict[str, Any]) -> BackgroundTask | None:
        hooks = self.state.hooks_for(org_id, event)
        if not hooks:
            return None
        return BackgroundTask(self.deliver, hooks, event, {"organization_id": org_id, **payload})

    async def deliver(self, hooks: list[Webhook], event: str, payload: dict[str, Any]) -> list[int]:
        """One signed POST per active webhook: X-Hook-Signature = hex HMAC-SHA256 of the raw body."""
        faults = getattr(self.ctx, "faults", None)
        statuses = []
        for hook in hooks:
            account = str(payload.get("organization_id", ""))
            if faults is not None and faults.drop_webhook(APP, account):
                statuses.append(0)
                continue
            body = json.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "event": event,
                    "created_at": datetime.now(UTC).isoformat(timespec="microseconds")[:26],
                    "payload": payload,
                }
            ).encode()
            sig = hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
            try:
                resp = await self._http().post(
                    hook.target_url,
                    content=body,
                    timeout=10.0,
                    headers={
                        "Content-Type": "application/json",
                        "X-Hook-Signature": sig,
                        "User-Agent": "Hubstaff-Webhooks",
                    },
                )
                statuses.append(resp.status_code)
            except Exception as exc:  # noqa: BLE001 - delivery failures are the receiver's problem to notice
                log.info("hubstaff webhook %s delivery failed: %s", hook.id, exc)
                statuses.append(0)
        return statuses
