"""In-memory state and rules of the Hubstaff emulator (no HTTP here; app.py maps it to routes; seeding is in
seed.py).

Follows ../shared/specs/hubstaff/hubstaff-v2-swagger.json (object shapes under `definitions`) and the facts in
../shared/reference/source-apps.md section 1. Where the spec is silent, the choices are listed in
docs/adding-a-connector.md ("Hubstaff emulator: spec gaps").
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import fake
from .seed import DEFAULT_ORG_ID, DEFAULT_PAT, DEFAULT_PROJECT_ID, DEFAULT_USER_ID, Seeder

__all__ = ["DEFAULT_ORG_ID", "DEFAULT_PAT", "DEFAULT_PROJECT_ID", "DEFAULT_USER_ID", "HubstaffState"]

# Tokens are signed (not stored) so that tokens a connection saved stay valid when the sandbox restarts;
# a refresh token used once is refused for the rest of the process's life (Hubstaff rotates them).
TOKEN_SIGNING_KEY = b"hubstaff-sandbox-signing-key"
RATE_LIMIT = 1000  # requests per window per application (token owner), as Hubstaff documents
RATE_WINDOW_S = 3600.0
ACCESS_TOKEN_TTL_S = 3600  # Hubstaff publishes no number; an hour is what clients observe
DEFAULT_PAGE_LIMIT = 100  # the spec gives no default; 100 keeps pages small
MAX_PAGE_LIMIT = 500  # the spec gives no maximum; clients commonly use 500
NOTES_MAX_WINDOW = timedelta(days=31)  # spec: time_slot window is at most 31 days
NOTES_MAX_AGE = timedelta(days=3 * 365)  # spec: data goes back at most 3 years


class HubstaffError(Exception):
    """An error response in Hubstaff's envelope {code, error, error_code}."""

    def __init__(self, status: int, code: str, error: str, error_code: int, headers: dict[str, str] | None = None):
        super().__init__(error)
        self.status = status
        self.body = {"code": code, "error": error, "error_code": error_code}
        self.headers = headers or {}


def not_found(what: str = "record") -> HubstaffError:
    return HubstaffError(404, "not_found", f"Could not find {what}", 12000)


def invalid(message: str) -> HubstaffError:
    return HubstaffError(400, "invalid_params", message, 11000)


def int_param(value: str | None, name: str, default: int | None = None) -> int | None:
    """A numeric path or query parameter, or Hubstaff's 400 invalid_params."""
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise invalid(f"{name} is invalid") from None


@dataclass
class Webhook:
    id: str
    organization_id: int | None
    events: list[str]
    target_url: str
    secret: str
    status: str = "pending"  # pending -> verified (handshake echoed) -> active
    created_at: str = ""


@dataclass
class HubstaffState(Seeder):
    access_token_ttl_s: int = ACCESS_TOKEN_TTL_S
    orgs: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    members: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)  # org -> user_id -> member
    clients: dict[int, dict[str, Any]] = field(default_factory=dict)
    projects: dict[int, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    used_refresh_tokens: set[str] = field(default_factory=set)  # rotated away (this process's lifetime)
    revoked_at_ms: int = 0  # access tokens issued up to this epoch millisecond are expired
    stats: dict[str, int] = field(default_factory=lambda: {"token_exchanges": 0, "requests": 0})
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._ids = {
            "user": itertools.count(DEFAULT_USER_ID + 1),
            "client": itertools.count(200_001),
            "project": itertools.count(DEFAULT_PROJECT_ID),
            "task": itertools.count(500_001),
            "note": itertools.count(900_001),
        }

    def next_id(self, kind: str) -> int:
        return next(self._ids[kind])

    # ---- auth ------------------------------------------------------------------------------------------------

    def add_pat(self, user_id: int) -> str:
        """A fresh personal access token (a refresh token) for a user, e.g. one per test."""
        return self._sign("hsr", user_id, 0)

    def _sign(self, kind: str, user_id: int, expires: int) -> str:
        body = f"{kind}_{user_id}_{int(time.time() * 1000)}_{expires}_{secrets.token_hex(8)}"  # issued at, in ms
        sig = hmac.new(TOKEN_SIGNING_KEY, body.encode(), hashlib.sha256).hexdigest()[:24]
        return f"{body}_{sig}"

    def _verify(self, kind: str, token: str) -> tuple[int, int, int] | None:
        """(user id, issued at, expires) of a token this emulator signed (valid across restarts), else None."""
        parts = token.split("_")
        if len(parts) != 6 or parts[0] != kind:
            return None
        body, sig = "_".join(parts[:5]), parts[5]
        expected = hmac.new(TOKEN_SIGNING_KEY, body.encode(), hashlib.sha256).hexdigest()[:24]
        if not hmac.compare_digest(sig, expected):
            return None
        try:
            return int(parts[1]), int(parts[2]), int(parts[3])
        except ValueError:
            return None

    def exchange(self, grant_type: str, refresh_token: str) -> dict[str, Any]:
        """POST /access_tokens: a refresh token is used once; the answer carries its replacement."""
        if grant_type != "refresh_token":
            raise HubstaffError(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported", 10000)
        with self._lock:
            if refresh_token == DEFAULT_PAT:
                user_id = DEFAULT_USER_ID
            else:
                found = self._verify("hsr", refresh_token)
                user_id = found[0] if found else 0
            if not user_id or refresh_token in self.used_refresh_tokens:
                raise HubstaffError(400, "invalid_grant", "The refresh token is invalid, expired or revoked", 10002)
            self.used_refresh_tokens.add(refresh_token)  # rotation: the old token stops working now
            self.stats["token_exchanges"] += 1
        return {
            "access_token": self._sign("hsa", user_id, int(time.time()) + self.access_token_ttl_s),
            "refresh_token": self._sign("hsr", user_id, 0),
            "expires_in": self.access_token_ttl_s,
            "token_type": "bearer",
        }

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (the client must refresh on the 401)."""
        self.revoked_at_ms = int(time.time() * 1000)

    def authenticate(self, authorization: str | None) -> int:
        """Bearer access token -> user id, counted against that user's (the application's) hourly limit."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise HubstaffError(401, "unauthorized", "Missing bearer token", 10001)
        found = self._verify("hsa", authorization.split(" ", 1)[1].strip())
        if found is None:
            raise HubstaffError(401, "unauthorized", "Invalid access token", 10001)
        user_id, issued, expires = found
        if expires <= time.time() or issued <= self.revoked_at_ms:
            raise HubstaffError(401, "token_expired", "The access token expired", 10003)
        return user_id

    def set_token_ttl(self, seconds: int) -> None:
        self.access_token_ttl_s = int(seconds)

    def require_org(self, user_id: int, org_id: int) -> dict[str, Any]:
        org = self.orgs.get(org_id)
        if org is None:
            raise not_found("organization")
        if user_id not in self.members.get(org_id, {}):
            raise HubstaffError(403, "forbidden", "You are not a member of this organization", 10004)
        return org

    # ---- reads -----------------------------------------------------------------------------------------------

    @staticmethod
    def page(
        records: list[dict[str, Any]], *, key: str, page_start_id: int, page_limit: int | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Id-cursor paging: records with id >= page_start_id; the next page's first id, or None at the end."""
        limit = min(max(1, page_limit or DEFAULT_PAGE_LIMIT), MAX_PAGE_LIMIT)
        ordered = sorted((rec for rec in records if rec[key] >= page_start_id), key=lambda rec: rec[key])
        chunk = ordered[:limit]
        nxt = ordered[limit][key] if len(ordered) > limit else None
        return chunk, nxt

    def list_clients(self, org_id: int, *, status: str = "active") -> list[dict[str, Any]]:
        if status not in ("active", "archived", "all"):
            raise invalid("status does not have a valid value")
        return [
            c
            for c in self.clients.values()
            if c["organization_id"] == org_id and (status == "all" or c["status"] == status)
        ]

    def list_projects(self, org_id: int) -> list[dict[str, Any]]:
        return [p for p in self.projects.values() if p["organization_id"] == org_id]

    def list_members(
        self, org_id: int, *, updated_start: str | None, updated_stop: str | None, search_email: str | None
    ) -> list[dict[str, Any]]:
        rows = []
        for uid, member in self.members.get(org_id, {}).items():
            if updated_start and member["updated_at"] < _norm(updated_start):
                continue
            if updated_stop and member["updated_at"] > _norm(updated_stop):
                continue
            if search_email and (self.users[uid].get("email") or "").lower() != search_email.lower():
                continue
            rows.append({"id": uid, **member})  # "id" is only the paging key; stripped before answering
        return rows

    def list_tasks(self, org_id: int, *, statuses: list[str], project_ids: list[int]) -> list[dict[str, Any]]:
        statuses = statuses or ["active"]
        org_projects = {p["id"] for p in self.projects.values() if p["organization_id"] == org_id}
        return [
            t
            for t in self.tasks.values()
            if t["project_id"] in org_projects
            and t["status"] in statuses
            and (not project_ids or t["project_id"] in project_ids)
        ]

    def list_notes(self, org_id: int, *, start: str | None, stop: str | None) -> list[dict[str, Any]]:
        if not start or not stop:
            raise invalid("time_slot[start] is missing, time_slot[stop] is missing")
        try:
            t0, t1 = _parse(start), _parse(stop)
        except ValueError:
            raise invalid("time_slot[start] or time_slot[stop] is not a valid ISO 8601 date-time") from None
        if t1 < t0:
            raise invalid("time_slot[stop] must be after time_slot[start]")
        if t1 - t0 > NOTES_MAX_WINDOW:
            raise invalid("time_slot range must be 31 days or less")
        if t0 < datetime.now(UTC) - NOTES_MAX_AGE:
            raise invalid("time_slot[start] cannot be more than 3 years ago")
        return [
            {k: v for k, v in n.items() if k != "organization_id"}
            for n in self.notes.values()
            if n["organization_id"] == org_id and t0 <= _parse(n["time_slot"]) < t1
        ]

    # ---- writes ----------------------------------------------------------------------------------------------

    def create_client(self, org_id: int, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise invalid("name is missing")
        given: dict[str, Any] = {
            k: body[k] for k in ("name", "emails", "phone", "address", "invoice_notes", "net_terms") if k in body
        }
        given["metadata"] = _metadata(body.get("metadata"))
        with self._lock:
            return self._add_client(fake.rng(name), org_id, **given)

    def create_task(self, project_id: int, body: dict[str, Any]) -> dict[str, Any]:
        project = self.projects.get(project_id)
        if project is None:
            raise not_found("project")
        summary = body.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            raise invalid("summary is missing")
        assignees = list(body.get("assignee_ids") or ([body["assignee_id"]] if body.get("assignee_id") else []))
        members = self.members.get(project["organization_id"], {})
        unknown = [a for a in assignees if a not in members]
        if unknown:
            raise invalid(f"assignee_ids contains users who are not members: {unknown}")
        now = fake.iso(datetime.now(UTC))
        with self._lock:
            tid = self.next_id("task")
            task = {
                "id": tid,
                "integration_id": None,
                "status": "active",
                "project_id": project_id,
                "project_type": "project",
                "summary": summary,
                "details": str(body.get("details") or ""),
                "remote_id": None,
                "remote_alternate_id": None,
                "lock_version": 0,
                "assignee_ids": assignees,
                "metadata": _metadata(body.get("metadata")),
                "completed_at": None,
                "due_at": None,
                "created_at": now,
                "updated_at": now,
                "global_todo_id": None,
            }
            self.tasks[tid] = task
        return task

    def update_task(self, task_id: int, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            task = self.tasks.get(task_id)
            if task is None or task["status"] == "deleted":
                raise not_found("task")
            if "lock_version" not in body:
                raise invalid("lock_version is missing")
            if body["lock_version"] != task["lock_version"]:
                raise HubstaffError(
                    409,
                    "stale_object",
                    "The task was changed by someone else; reload it and "
                    f"retry with lock_version {task['lock_version']}",
                    11010,
                )
            if "status" in body and body["status"] not in ("active", "completed"):
                raise invalid("status does not have a valid value")
            if "summary" in body:
                if not isinstance(body["summary"], str) or not body["summary"].strip():
                    raise invalid("summary is empty")
                task["summary"] = body["summary"]
            if "status" in body and body["status"] != task["status"]:
                task["status"] = body["status"]
                task["completed_at"] = fake.iso(datetime.now(UTC)) if body["status"] == "completed" else None
            if "details" in body:  # not in the spec's write body, but a Task field (see the spec gaps)
                task["details"] = str(body["details"] or "")
            if "assignee_ids" in body:
                task["assignee_ids"] = list(body["assignee_ids"] or [])
            if "metadata" in body:
                task["metadata"].update(_metadata(body["metadata"]))
            task["lock_version"] += 1
            task["updated_at"] = fake.iso(datetime.now(UTC))
            return task

    # ---- webhooks --------------------------------------------------------------------------------------------

    def create_webhook(self, org_id: int | None, body: dict[str, Any]) -> Webhook:
        events, target = body.get("events"), body.get("target_url")
        if not isinstance(events, list) or not events:
            raise invalid("events is missing")
        if not isinstance(target, str) or not target.startswith(("http://", "https://")):
            raise invalid("target_url is invalid")
        hook = Webhook(
            id=secrets.token_hex(8),
            organization_id=org_id,
            events=[str(e) for e in events],
            target_url=target,
            secret=secrets.token_hex(32),
            created_at=fake.iso(datetime.now(UTC)),
        )
        self.webhooks[hook.id] = hook
        return hook

    def activate_webhook(self, hook_id: str, secret: str | None) -> Webhook:
        hook = self.webhooks.get(hook_id)
        if hook is None:
            raise not_found("webhook")
        if not secret or not secrets.compare_digest(secret, hook.secret):
            raise HubstaffError(401, "invalid_hook_secret", "X-Hook-Secret does not match this webhook", 10010)
        if hook.status == "pending":
            raise HubstaffError(422, "not_verified", "The target did not echo X-Hook-Secret yet", 11020)
        hook.status = "active"
        return hook

    def hooks_for(self, org_id: int, event: str) -> list[Webhook]:
        return [
            h
            for h in self.webhooks.values()
            if h.status == "active" and h.organization_id in (org_id, None) and ("*" in h.events or event in h.events)
        ]


def webhook_json(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.id,
        "organization_id": hook.organization_id,
        "events": hook.events,
        "target_url": hook.target_url,
        "status": hook.status,
        "created_at": hook.created_at,
    }


def _metadata(value: Any) -> dict[str, Any]:
    """The spec's write form [{key, value}] -> the read form {key: value}; value null deletes (ignored here)."""
    if isinstance(value, dict):
        return dict(value)
    out: dict[str, Any] = {}
    for item in value or []:
        if isinstance(item, dict) and isinstance(item.get("key"), str) and item.get("value") is not None:
            out[item["key"]] = str(item["value"])[:200]
    return out


def _parse(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _norm(value: str) -> str:
    return fake.iso(_parse(value))
