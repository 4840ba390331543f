"""What every part of the GHL emulator shares: the error type, the handler result, JSON answers, look-ups."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, Response

from contacts_sync.sandbox.ghl.state import Location

APP = "ghl"
# Version header values the emulated endpoints accept (Contacts et al. 2021-07-28, Calendars 2021-04-15).
VERSIONS = frozenset({"2021-07-28", "2021-04-15"})

Result = tuple[int, Any, list[dict[str, Any]]]  # status, body, webhook events

# GHL's IAM refusals when a token of the wrong class calls an operation (observed, not in the spec):
# an OAuth Company token on a sub-account operation, or a sub-account token on an agency-only one ...
AUTH_CLASS_REFUSED = (
    "This authClass type is not allowed to access this scope. "
    "Please verify your IAM configuration if this is not the case."
)
# ... and an agency Private Integration Token on a sub-account operation.
USER_TYPE_MISMATCH = "Token's user type mismatch!"


class Auth(StrEnum):
    """Which token classes an operation accepts (the spec's security schemes)."""

    LOCATION = "location"  # bearer / Location-Access: sub-account OAuth token or sub-account PIT
    AGENCY = "agency"  # Agency-Access: company OAuth token or agency PIT
    AGENCY_OAUTH = "agency_oauth"  # Agency-Access-Only: company OAuth token
    ANY = "any"  # Location-Access or Agency-Access


class GhlError(Exception):
    def __init__(self, status: int, message: Any, **extra: Any) -> None:
        super().__init__(str(message))
        self.status = status
        body: dict[str, Any] = {"statusCode": status, "message": message}
        if status == 401:
            body["error"] = "Unauthorized"
        elif status == 422:
            body["error"] = "Unprocessable Entity"
        elif status == 403:
            body["error"] = "Forbidden"
        body.update(extra)
        self.body = body


def unprocessable(messages: list[str]) -> GhlError:
    return GhlError(422, messages)


def json_response(
    status: int, body: Any, headers: dict[str, str] | None = None, task: BackgroundTask | None = None
) -> Response:
    return JSONResponse(body, status_code=status, headers=headers, background=task)


def admin_error(message: str, status: int = 400) -> Response:
    """Admin endpoints (sandbox only) answer bad input with a plain {error} and 400, never a 500."""
    return JSONResponse({"error": message}, status_code=status)


def same_location(loc: Location, location_id: Any) -> None:
    if location_id != loc.id:
        raise GhlError(403, "The token does not have access to this location.")


def find_contact(loc: Location, contact_id: str) -> dict[str, Any]:
    c = loc.contacts.get(contact_id)
    if c is None:
        raise GhlError(400, f"Contact with id {contact_id} not found")
    return c


def find_task(loc: Location, contact_id: str, task_id: str) -> dict[str, Any]:
    cid = find_contact(loc, contact_id)["id"]
    task = loc.tasks.get(cid, {}).get(task_id)
    if task is None:
        raise GhlError(400, f"Task with id {task_id} not found")
    return task


def find_note(loc: Location, contact_id: str, note_id: str) -> dict[str, Any]:
    cid = find_contact(loc, contact_id)["id"]
    note = loc.notes.get(cid, {}).get(note_id)
    if note is None:
        raise GhlError(400, f"Note with id {note_id} not found")
    return note


def int_param(value: str | None, name: str, default: int) -> int:
    """A numeric query parameter (GHL's DTOs type them as strings) or 422 like its validator."""
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise unprocessable([f"{name} must be a number string"]) from None
