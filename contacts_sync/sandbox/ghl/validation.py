"""Body validation the way GHL's NestJS class-validator answers: 422 with a list of messages, including
"property X should not exist" for every field the DTO does not declare (e.g. additionalEmails on write)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DND_STATUSES = {"active", "inactive", "permanent"}

# field -> kind; a trailing "?" means null is accepted.
_CONTACT_COMMON = {
    "firstName": "str?",
    "lastName": "str?",
    "name": "str?",
    "email": "email?",
    "phone": "str?",
    "address1": "str?",
    "city": "str?",
    "state": "str?",
    "postalCode": "str",
    "website": "str?",
    "timezone": "str?",
    "dnd": "bool",
    "dndSettings": "dnd",
    "inboundDndSettings": "obj",
    "tags": "strlist",
    "customFields": "customfields",
    "dateOfBirth": "any?",
    "country": "str",
}
CREATE_CONTACT = {
    **_CONTACT_COMMON,
    "locationId": "str",
    "gender": "str",
    "source": "str",
    "companyName": "str?",
    "assignedTo": "str",
}
UPDATE_CONTACT = {**_CONTACT_COMMON, "source": "str?", "assignedTo": "str?"}
UPSERT_CONTACT = {**CREATE_CONTACT, "createNewIfDuplicateAllowed": "bool"}
CREATE_TASK = {"title": "str", "body": "str", "dueDate": "date", "completed": "bool", "assignedTo": "str"}
UPDATE_TASK = dict(CREATE_TASK)
TASK_COMPLETED = {"completed": "bool"}
CREATE_NOTE = {"userId": "str", "body": "str", "title": "str", "color": "str", "pinned": "bool"}
UPDATE_NOTE = dict(CREATE_NOTE)
TAGS = {"tags": "strlist"}
BULK_BUSINESS = {"locationId": "str", "ids": "strlist", "businessId": "str?"}
# POST /locations/{locationId}/tasks/search (TaskSearchParamsDto in apps/locations.json)
TASK_SEARCH = {
    "contactId": "strlist",
    "completed": "bool",
    "assignedTo": "strlist",
    "query": "str",
    "limit": "num",
    "skip": "num",
    "businessId": "str",
}
# POST /oauth/locationToken, form-encoded (GetLocationAccessCodeBodyDto)
LOCATION_TOKEN = {"companyId": "str", "locationId": "str"}
SEARCH = {
    "locationId": "str",
    "pageLimit": "int",
    "page": "int",
    "searchAfter": "list",
    "filters": "list",
    "sort": "list",
    "query": "str",
}


def _date_ok(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


# Complexity 25: one flat branch per field type of the emulated DTOs.
def check(body: Any, spec: dict[str, str], required: tuple[str, ...] = ()) -> list[str]:  # noqa: C901
    """Every problem with `body` against `spec` (empty list = valid)."""
    if not isinstance(body, dict):
        return ["request body must be a JSON object"]
    problems = [f"property {key} should not exist" for key in body if key not in spec]
    for key in required:
        if body.get(key) in (None, ""):
            problems.append(f"{key} should not be empty")
    for key, kind in spec.items():
        if key not in body:
            continue
        value = body[key]
        nullable = kind.endswith("?")
        kind = kind.rstrip("?")
        if value is None:
            if not nullable and key not in required:
                problems.append(f"{key} should not be null")
            continue
        if kind in ("str", "email", "date") and not isinstance(value, str):
            problems.append(f"{key} must be a string")
        elif kind == "email" and value and not EMAIL.match(value):
            problems.append(f"{key} must be an email")
        elif kind == "date" and not _date_ok(value):
            problems.append(f"{key} must be a valid ISO 8601 date string")
        elif kind == "bool" and not isinstance(value, bool):
            problems.append(f"{key} must be a boolean value")
        elif kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            problems.append(f"{key} must be a number conforming to the specified constraints")
        elif kind == "num" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            problems.append(f"{key} must be a number conforming to the specified constraints")
        elif kind in ("list", "strlist", "customfields") and not isinstance(value, list):
            problems.append(f"{key} must be an array")
        elif kind == "strlist" and not all(isinstance(v, str) for v in value):
            problems.append(f"each value in {key} must be a string")
        elif kind == "customfields":
            for i, item in enumerate(value):
                if not isinstance(item, dict) or not (item.get("id") or item.get("key")):
                    problems.append(f"{key}.{i}.id should not be empty")
                elif set(item) - {"id", "key", "field_value", "value"}:
                    extra = sorted(set(item) - {"id", "key", "field_value", "value"})[0]
                    problems.append(f"{key}.{i}.property {extra} should not exist")
        elif kind in ("obj", "dnd") and not isinstance(value, dict):
            problems.append(f"{key} must be an object")
        elif kind == "dnd":
            for channel, setting in value.items():
                if channel not in ("Call", "Email", "SMS", "WhatsApp", "GMB", "FB"):
                    problems.append(f"{key}.property {channel} should not exist")
                elif not isinstance(setting, dict) or setting.get("status") not in DND_STATUSES:
                    problems.append(f"{key}.{channel}.status must be one of: active, inactive, permanent")
    return problems
