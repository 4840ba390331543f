"""Webhook payloads in the shapes of GHL's webhook docs (../shared/specs/ghl/docs/webhook-events/*.md).

Each builder returns the event body; delivery (webhooks.py) adds timestamp, webhookId, appId and versionId and signs.
"""

from __future__ import annotations

from typing import Any

from contacts_sync.sandbox.ghl.state import APP_ID, Company, Location

CONTACT_FIELDS = (
    "id",
    "address1",
    "city",
    "state",
    "companyName",
    "country",
    "source",
    "dateAdded",
    "dateOfBirth",
    "dnd",
    "email",
    "name",
    "firstName",
    "lastName",
    "phone",
    "postalCode",
    "tags",
    "website",
    "assignedTo",
    "customFields",
    "dndSettings",
    "timezone",
)
TASK_FIELDS = ("id", "assignedTo", "body", "contactId", "title", "dateAdded", "dueDate", "completed")
NOTE_FIELDS = ("id", "body", "contactId", "dateAdded")
APPOINTMENT_FIELDS = (
    "id",
    "address",
    "title",
    "calendarId",
    "contactId",
    "groupId",
    "appointmentStatus",
    "assignedUserId",
    "users",
    "notes",
    "source",
    "startTime",
    "endTime",
    "dateAdded",
    "dateUpdated",
)


def event(type_: str, loc: Location, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": type_, "locationId": loc.id, **data}


def contact_event(type_: str, loc: Location, c: dict[str, Any]) -> dict[str, Any]:
    data = {k: c[k] for k in CONTACT_FIELDS if k in c}
    data.setdefault("attachments", [])
    return event(type_, loc, data)


def task_event(type_: str, loc: Location, t: dict[str, Any]) -> dict[str, Any]:
    return event(type_, loc, {k: t[k] for k in TASK_FIELDS if k in t})


def note_event(type_: str, loc: Location, n: dict[str, Any]) -> dict[str, Any]:
    return event(type_, loc, {k: n[k] for k in NOTE_FIELDS if k in n})


def appointment_event(type_: str, loc: Location, a: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": type_,
        "locationId": loc.id,
        "appointment": {k: a[k] for k in APPOINTMENT_FIELDS if k in a},
    }


def location_install_event(loc: Location, company: Company, *, future: bool = False) -> dict[str, Any]:
    """INSTALL for one location (AppInstall.md, "Location Level App Install"); an automatic install on a new
    location ("future locations") carries no userId, as the doc's note says."""
    body: dict[str, Any] = {
        "type": "INSTALL",
        "appId": APP_ID,
        "locationId": loc.id,
        "companyId": company.id,
        "isWhitelabelCompany": False,
        "whitelabelDetails": {},
        "companyName": company.name,
    }
    if not future:
        body["userId"] = f"{company.id}-admin"
    return body


def company_install_event(company: Company) -> dict[str, Any]:
    """INSTALL for an agency ("Agency Level App Install": no locationId)."""
    return {"type": "INSTALL", "appId": APP_ID, "companyId": company.id}


def location_uninstall_event(loc: Location) -> dict[str, Any]:
    return {"type": "UNINSTALL", "appId": APP_ID, "locationId": loc.id}


def company_uninstall_event(company: Company) -> dict[str, Any]:
    return {"type": "UNINSTALL", "appId": APP_ID, "companyId": company.id}


def location_create_event(loc: Location) -> dict[str, Any]:
    """LocationCreate (agency-level apps only): the new location's id, companyId, name, email."""
    return {
        "type": "LocationCreate",
        "id": loc.id,
        "companyId": loc.company_id,
        "name": loc.name,
        "email": loc.email,
    }
