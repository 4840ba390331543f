"""The Hubstaff emulator's sandbox-only admin endpoints (/hubstaff/_admin/{action}): seed, limits, pats,
expire_tokens, emit, stats. Mixed into HubstaffEmulator (app.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .state import HubstaffError, HubstaffState, Webhook, webhook_json

APP = "hubstaff"
UNLIMITED = 10**9  # "requests": 0 in /_admin/limits switches the hourly limit off


class AdminEndpoints:
    if TYPE_CHECKING:
        ctx: Any
        state: HubstaffState

        async def _body(self, request: Request) -> dict[str, Any]: ...

        async def deliver(self, hooks: list[Webhook], event: str, payload: dict[str, Any]) -> list[int]: ...

        def status(self) -> dict[str, Any]: ...

    async def admin(self, request: Request) -> Response:
        action = request.path_params["action"]
        try:
            body = await self._body(request) if request.method == "POST" else {}
            if action == "seed" and request.method == "POST":
                opts = {
                    k: int(body[k])
                    for k in ("organization_id", "clients", "members", "projects", "tasks", "notes")
                    if k in body
                }
                return JSONResponse(self.state.seed(**opts))
            if action == "limits" and request.method == "POST":
                return JSONResponse(self._limits(body))
            if action == "pats" and request.method == "POST":
                from .state import DEFAULT_USER_ID

                return JSONResponse({"refresh_token": self.state.add_pat(int(body.get("user_id", DEFAULT_USER_ID)))})
            if action == "expire_tokens" and request.method == "POST":
                self.state.expire_access_tokens()
                return JSONResponse({"ok": True})
            if action == "emit" and request.method == "POST":
                org_id = int(body.get("organization_id", 0))
                hooks = self.state.hooks_for(org_id, str(body.get("event", "")))
                statuses = await self.deliver(
                    hooks, str(body.get("event")), {"organization_id": org_id, **(body.get("payload") or {})}
                )
                return JSONResponse({"delivered": statuses})
            if action == "stats" and request.method == "GET":
                listed = [webhook_json(h) for h in self.state.webhooks.values()]
                return JSONResponse({**self.status(), "webhooks": listed})
        except HubstaffError as exc:
            return JSONResponse(exc.body, status_code=exc.status)
        except (TypeError, ValueError) as exc:
            return JSONResponse({"code": "invalid_params", "error": str(exc), "error_code": 11000}, status_code=400)
        return JSONResponse(
            {"code": "not_found", "error": f"no admin action {action}", "error_code": 12000}, status_code=404
        )

    def _limits(self, body: dict[str, Any]) -> dict[str, Any]:
        """Shortcut for the shared fault settings: {"requests": N, "window_s": S} (0 = off), token TTL."""
        if body.get("access_token_ttl_s") is not None:
            self.state.set_token_ttl(int(body["access_token_ttl_s"]))
        values: dict[str, Any] = {}
        if body.get("requests") is not None:
            values["rate_limit"] = int(body["requests"]) or UNLIMITED
        if body.get("window_s") is not None:
            values["rate_window_s"] = float(body["window_s"])
        if values and getattr(self.ctx, "faults", None) is not None:
            self.ctx.faults.set(APP, "*", **values)
        return {**values, "access_token_ttl_s": self.state.access_token_ttl_s}
