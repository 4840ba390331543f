"""HTTP face of the Hubstaff emulator, mounted at /hubstaff by the sandbox server.

API v2 under /hubstaff/v2 (paths and shapes of the official swagger), the token endpoint at
/hubstaff/access_tokens (account.hubstaff.com in production), admin endpoints under /hubstaff/_admin
(admin.py); webhook registration and delivery are in webhooks.py.
"""

from __future__ import annotations

import json
import logging
import math
import os
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from .admin import UNLIMITED, AdminEndpoints
from .state import RATE_LIMIT, RATE_WINDOW_S, HubstaffError, HubstaffState, invalid
from .state import int_param as _int
from .webhooks import WebhookEndpoints

__all__ = ["UNLIMITED", "HubstaffEmulator", "build", "mount", "seed_options"]

log = logging.getLogger(__name__)
APP = "hubstaff"


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    """Swagger 2.0 has no `nullable`: absent beats null for optional fields (keeps answers schema-valid)."""
    return {k: v for k, v in record.items() if v is not None}


def _list(request: Request, name: str) -> list[str]:
    """Grape accepts `name[]=a&name[]=b`, `name=a&name=b` and `name=a,b`."""
    values = request.query_params.getlist(f"{name}[]") + request.query_params.getlist(name)
    return [v for item in values for v in item.split(",") if v]


class HubstaffEmulator(WebhookEndpoints, AdminEndpoints):
    def __init__(self, ctx: Any, state: HubstaffState | None = None) -> None:
        self.ctx = ctx
        self.state = state or HubstaffState()

    # ---- plumbing --------------------------------------------------------------------------------------------

    async def _guard(self, request: Request, account: str = "") -> tuple[int, Response | None]:
        """Faults first (5xx, timeouts, 429 storms), then the bearer token, then the hourly limit."""
        faults = getattr(self.ctx, "faults", None)
        if faults is not None:
            short = await faults.before(APP, account)
            if short is not None:
                return 0, short
        user_id = self.state.authenticate(request.headers.get("authorization"))
        self.state.stats["requests"] += 1
        if faults is not None:
            # Hubstaff counts per application; the emulator's "application" is the token's owner.
            rate = faults.take(APP, f"user:{user_id}", RATE_LIMIT, RATE_WINDOW_S)
            if not rate.allowed:
                raise HubstaffError(
                    429,
                    "rate_limited",
                    "Rate limit exceeded",
                    13000,
                    headers={"Retry-After": str(max(1, math.ceil(rate.retry_after_s)))},
                )
        return user_id, None

    async def _body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise invalid("body is not valid JSON") from None
        if not isinstance(body, dict):
            raise invalid("body must be a JSON object")
        return body

    def endpoint(self, handler: Any, *, org_scoped: bool = False) -> Any:
        async def run(request: Request) -> Response:
            try:
                account = request.path_params.get("organization_id", "") if org_scoped else ""
                user_id, short = await self._guard(request, str(account))
                if short is not None:
                    return short
                return await handler(request, user_id)
            except HubstaffError as exc:
                return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)

        return run

    def _paged(
        self,
        key: str,
        records: list[dict[str, Any]],
        request: Request,
        side: dict[str, Any] | None = None,
        *,
        id_key: str = "id",
        strip_id: bool = False,
    ) -> JSONResponse:
        start = _int(request.query_params.get("page_start_id"), "page_start_id", 0) or 0
        limit = _int(request.query_params.get("page_limit"), "page_limit")
        chunk, nxt = self.state.page(records, key=id_key, page_start_id=start, page_limit=limit)
        items = [_clean({k: v for k, v in r.items() if not (strip_id and k == "id")}) for r in chunk]
        body: dict[str, Any] = {key: items, **(side or {})}
        if nxt is not None:  # only when another page exists (observed behaviour; not in the spec)
            body["pagination"] = {"next_page_start_id": nxt}
        return JSONResponse(body)

    # ---- token endpoint --------------------------------------------------------------------------------------

    async def access_tokens(self, request: Request) -> Response:
        # application/x-www-form-urlencoded, parsed by hand (no python-multipart dependency for one form)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        try:
            pair = self.state.exchange(form.get("grant_type", ""), form.get("refresh_token", ""))
        except HubstaffError as exc:
            # OAuth 2 error shape at the token endpoint (RFC 6749 5.2), not the API's envelope.
            return JSONResponse(
                {"error": exc.body["code"], "error_description": exc.body["error"]}, status_code=exc.status
            )
        return JSONResponse(pair, headers={"Cache-Control": "no-store"})

    # ---- API v2 ----------------------------------------------------------------------------------------------

    async def users_me(self, request: Request, user_id: int) -> Response:
        user = self.state.users.get(user_id)
        if user is None:
            raise HubstaffError(404, "not_found", "Could not find user", 12000)
        return JSONResponse({"user": _clean(user)})

    async def organization(self, request: Request, user_id: int) -> Response:
        org_id = _int(request.path_params["organization_id"], "organization_id")
        return JSONResponse({"organization": self.state.require_org(user_id, org_id or 0)})

    async def list_clients(self, request: Request, user_id: int) -> Response:
        org_id = _int(request.path_params["organization_id"], "organization_id") or 0
        self.state.require_org(user_id, org_id)
        status = request.query_params.get("status", "active")
        return self._paged("clients", self.state.list_clients(org_id, status=status), request)

    async def create_client(self, request: Request, user_id: int) -> Response:
        org_id = _int(request.path_params["organization_id"], "organization_id") or 0
        self.state.require_org(user_id, org_id)
        client = self.state.create_client(org_id, await self._body(request))
        task = self._emit_task(org_id, "client.create", {"client_id": client["id"], "client_name": client["name"]})
        return JSONResponse({"client": _clean(client)}, background=task)

    async def get_client(self, request: Request, user_id: int) -> Response:
        client = self.state.clients.get(_int(request.path_params["client_id"], "client_id") or 0)
        if client is None:
            raise HubstaffError(404, "not_found", "Could not find client", 12000)
        self.state.require_org(user_id, client["organization_id"])
        return JSONResponse({"client": _clean(client)})

    async def list_members(self, request: Request, user_id: int) -> Response:
        org_id = _int(request.path_params["organization_id"], "organization_id") or 0
        self.state.require_org(user_id, org_id)
        q = request.query_params
        try:
            rows = self.state.list_members(
                org_id,
                updated_start=q.get("updated_at[start]"),
                updated_stop=q.get("updated_at[stop]"),
                search_email=q.get("search[email]"),
            )
        except ValueError:
            raise invalid("updated_at[start] or updated_at[stop] is not a valid date-time") from None
        include = _list(request, "include")
        if q.get("include_profile") not in ("true", "1"):
            rows = [{k: v for k, v in r.items() if k != "profile"} for r in rows]
        side: dict[str, Any] = {}
        response = self._paged("members", rows, request, strip_id=True)
        if "users" in include:  # side-loaded users, as Hubstaff's include[]=users does
            body = json.loads(bytes(response.body))
            ids = {m["user_id"] for m in body["members"]}
            side["users"] = [_clean(self.state.users[i]) for i in sorted(ids) if i in self.state.users]
            body.update(side)
            return JSONResponse(body)
        return response

    async def list_tasks(self, request: Request, user_id: int) -> Response:
        org_id = _int(request.path_params["organization_id"], "organization_id") or 0
        self.state.require_org(user_id, org_id)
        statuses = _list(request, "status")
        project_ids = [_int(p, "project_ids") or 0 for p in _list(request, "project_ids")]
        return self._paged("tasks", self.state.list_tasks(org_id, statuses=statuses, project_ids=project_ids), request)

    async def list_projects(self, request: Request, user_id: int) -> Response:
        org_id = _int(request.path_params["organization_id"], "organization_id") or 0
        self.state.require_org(user_id, org_id)
        return self._paged("projects", self.state.list_projects(org_id), request)

    async def get_project(self, request: Request, user_id: int) -> Response:
        return JSONResponse({"project": _clean(self._project(request, user_id))})

    async def list_project_tasks(self, request: Request, user_id: int) -> Response:
        project = self._project(request, user_id)
        statuses = _list(request, "status")
        tasks = self.state.list_tasks(project["organization_id"], statuses=statuses, project_ids=[project["id"]])
        return self._paged("tasks", tasks, request)

    def _project(self, request: Request, user_id: int) -> dict[str, Any]:
        project = self.state.projects.get(_int(request.path_params["project_id"], "project_id") or 0)
        if project is None:
            raise HubstaffError(404, "not_found", "Could not find project", 12000)
        self.state.require_org(user_id, project["organization_id"])
        return project

    async def create_task(self, request: Request, user_id: int) -> Response:
        project = self._project(request, user_id)
        task = self.state.create_task(project["id"], await self._body(request))
        bg = self._emit_task(
            project["organization_id"],
            "task.create",
            {"project_id": project["id"], "task_id": task["id"], "task_summary": task["summary"]},
        )
        return JSONResponse({"task": _clean(task)}, background=bg)

    def _task(self, request: Request, user_id: int) -> dict[str, Any]:
        task = self.state.tasks.get(_int(request.path_params["task_id"], "task_id") or 0)
        if task is None or task["status"] == "deleted":
            raise HubstaffError(404, "not_found", "Could not find task", 12000)
        self.state.require_org(user_id, self.state.projects[task["project_id"]]["organization_id"])
        return task

    async def get_task(self, request: Request, user_id: int) -> Response:
        return JSONResponse({"task": _clean(self._task(request, user_id))})

    async def update_task(self, request: Request, user_id: int) -> Response:
        task = self._task(request, user_id)
        before = set(task["assignee_ids"])
        task = self.state.update_task(task["id"], await self._body(request))
        added = set(task["assignee_ids"]) - before
        org_id = self.state.projects[task["project_id"]]["organization_id"]
        bg = None
        if added:
            bg = self._emit_task(
                org_id,
                "task.assign",
                {"task_id": task["id"], "user_id": sorted(added)[0], "project_id": task["project_id"]},
            )
        return JSONResponse({"task": _clean(task)}, background=bg)

    async def delete_task(self, request: Request, user_id: int) -> Response:
        """DELETE /v2/tasks/{task_id}: the to-do is gone (404 afterwards); the spec answers 204."""
        task = self._task(request, user_id)
        task["status"] = "deleted"
        return Response(status_code=204)

    async def list_notes(self, request: Request, user_id: int) -> Response:
        org_id = _int(request.path_params["organization_id"], "organization_id") or 0
        self.state.require_org(user_id, org_id)
        q = request.query_params
        notes = self.state.list_notes(org_id, start=q.get("time_slot[start]"), stop=q.get("time_slot[stop]"))
        return self._paged("notes", notes, request)

    async def get_note(self, request: Request, user_id: int) -> Response:
        note = self.state.notes.get(_int(request.path_params["note_id"], "note_id") or 0)
        if note is None:
            raise HubstaffError(404, "not_found", "Could not find note", 12000)
        self.state.require_org(user_id, note["organization_id"])
        return JSONResponse({"note": {k: v for k, v in note.items() if k != "organization_id"}})

    def status(self) -> dict[str, Any]:
        s = self.state
        return {
            **s.stats,
            "organizations": sorted(s.orgs),
            "clients": len(s.clients),
            "tasks": len(s.tasks),
            "notes": len(s.notes),
            "webhooks": len(s.webhooks),
        }

    def reset(self) -> None:
        self.state = HubstaffState()
        self.state.seed(**seed_options(self.ctx))

    def routes(self) -> list[Any]:
        e, o = self.endpoint, True
        v2 = "/v2"
        return [
            Route("/access_tokens", self.access_tokens, methods=["POST"]),
            Route(f"{v2}/users/me", e(self.users_me), methods=["GET"]),
            Route(f"{v2}/users/me/webhooks", e(self.create_user_webhook), methods=["POST"]),
            Route(v2 + "/projects/{project_id}/webhooks", e(self.create_project_webhook), methods=["POST"]),
            Route(v2 + "/organizations/{organization_id}", e(self.organization, org_scoped=o), methods=["GET"]),
            Route(
                v2 + "/organizations/{organization_id}/clients",
                e(self.list_clients, org_scoped=o),
                methods=["GET"],
            ),
            Route(
                v2 + "/organizations/{organization_id}/clients",
                e(self.create_client, org_scoped=o),
                methods=["POST"],
            ),
            Route(v2 + "/clients/{client_id}", e(self.get_client), methods=["GET"]),
            Route(
                v2 + "/organizations/{organization_id}/members",
                e(self.list_members, org_scoped=o),
                methods=["GET"],
            ),
            Route(
                v2 + "/organizations/{organization_id}/tasks",
                e(self.list_tasks, org_scoped=o),
                methods=["GET"],
            ),
            Route(
                v2 + "/organizations/{organization_id}/notes",
                e(self.list_notes, org_scoped=o),
                methods=["GET"],
            ),
            Route(
                v2 + "/organizations/{organization_id}/webhooks",
                e(self.create_org_webhook, org_scoped=o),
                methods=["POST"],
            ),
            Route(
                v2 + "/organizations/{organization_id}/projects",
                e(self.list_projects, org_scoped=o),
                methods=["GET"],
            ),
            Route(v2 + "/projects/{project_id}", e(self.get_project), methods=["GET"]),
            Route(v2 + "/projects/{project_id}/tasks", e(self.list_project_tasks), methods=["GET"]),
            Route(v2 + "/projects/{project_id}/tasks", e(self.create_task), methods=["POST"]),
            Route(v2 + "/tasks/{task_id}", e(self.get_task), methods=["GET"]),
            Route(v2 + "/tasks/{task_id}", e(self.update_task), methods=["PUT"]),
            Route(v2 + "/tasks/{task_id}", e(self.delete_task), methods=["DELETE"]),
            Route(v2 + "/notes/{note_id}", e(self.get_note), methods=["GET"]),
            Route(v2 + "/webhooks/{webhook_id}", e(self.get_webhook), methods=["GET"]),
            Route(v2 + "/webhooks/{webhook_id}", e(self.delete_webhook), methods=["DELETE"]),
            Route(v2 + "/webhooks/{webhook_id}/activate", e(self.activate_webhook), methods=["POST"]),
            Route("/_admin/{action}", self.admin, methods=["GET", "POST"]),
        ]


def seed_options(ctx: Any) -> dict[str, int]:
    """Seed size: sandbox options `extra["hubstaff_clients"]`, else $SANDBOX_HUBSTAFF_CLIENTS, else 2,500."""
    extra = getattr(getattr(ctx, "options", None), "extra", None) or {}
    clients = extra.get("hubstaff_clients", os.environ.get("SANDBOX_HUBSTAFF_CLIENTS") or None)
    return {"clients": int(clients)} if clients is not None else {}


def build(ctx: Any) -> HubstaffEmulator:
    emulator = HubstaffEmulator(ctx)
    emulator.state.seed(**seed_options(ctx))
    return emulator


def mount(ctx: Any) -> Mount:
    emulator = build(ctx)
    if hasattr(ctx, "on_reset"):
        ctx.on_reset(APP, emulator.reset)
        ctx.on_status(APP, emulator.status)
    mounted = Mount("/hubstaff", routes=emulator.routes())
    mounted.emulator = emulator  # type: ignore[attr-defined]
    return mounted
