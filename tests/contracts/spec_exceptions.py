"""THE one place where the official GHL spec (../shared/specs/ghl/) is wrong or silent, with the reason and what
the contract tests check instead. Facts: ../shared/reference/ghl-api.md (section numbers below)."""

from __future__ import annotations

from typing import Any

# The spec files fail strict OpenAPI 3.0 validation: securitySchemes "bearer" is `type: http` but also carries
# `name`/`in` (apiKey-only keys). openapi-core therefore loads them with its spec validator switched off.
SPEC_SELF_CHECK_OFF = "securitySchemes.bearer mixes http and apiKey keys (strict OpenAPI 3.0 rejects it)"

# Responses made up by the sandbox fault injector (header x-sandbox-fault: 5xx, timeouts, 429 storms, HTML
# pages) test the client's error handling; they are not GHL behaviour and are not checked against the spec.
INJECTED_FAULTS = "responses carrying x-sandbox-fault are deliberate faults, not emulated GHL behaviour"

# Statuses GHL really sends that no operation declares: such responses are accepted without a schema check.
UNDECLARED_STATUSES: dict[int, str] = {
    429: "Rate limiting (100 / 10 s per location) is documented in the rate-limit docs only (ghl-api.md section 3)",
    500: "5xx come from the sandbox fault injector; the spec declares no server errors",
    502: "5xx come from the sandbox fault injector; the spec declares no server errors",
    503: "5xx come from the sandbox fault injector; the spec declares no server errors",
    504: "simulated timeouts (fault injector) answer 504; the spec declares no server errors",
    403: "A token used on another location gets 403 'The token does not have access to this location.'; the v2 "
    "spec declares no 403 (only the v3 common schemas add a ForbiddenDTO, ghl-api.md section 5)",
}

# (method, path, status) the spec omits for one operation although GHL answers it (like its sibling endpoints).
UNDECLARED_OPERATION_STATUSES: dict[tuple[str, str, int], str] = {
    (
        "POST",
        "/contacts/search",
        422,
    ): "the spec lists only 200/400/401 for search; its class-validator answers "
    "422 for a bad body exactly like every other endpoint",
}

# Paths that are not part of any API spec.
UNSPECIFIED_OPERATIONS: dict[tuple[str, str], str] = {
    (
        "GET",
        "/oauth/chooselocation",
    ): "the marketplace's authorize page (HTML, docs/oauth/Authorization.md), not an API operation",
}
# GHL's v3 API (Version: v3, apps/v3/oauth-v3.json, not in our spec copy) renamed two agency operations to a dashed
# spelling, and GHL's own current clients call those paths. The emulator answers both spellings with the 2021-07-28
# parameters of apps/oauth.json, so a dashed exchange is checked against the camelCase operation.
PATH_ALIASES: dict[str, str] = {
    "/oauth/installed-locations": "/oauth/installedLocations",
    "/oauth/location-token": "/oauth/locationToken",
}
UNKNOWN_ROUTE_REASON = "paths no spec declares must get GHL's JSON 404 ('Cannot GET /x'); checked by status only"

# Request bodies the spec leaves empty: the schema the docs give instead (additionalProperties false, as GHL's
# validator rejects unknown properties).
SEARCH_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["locationId", "pageLimit"],
    "properties": {
        "locationId": {"type": "string"},
        "pageLimit": {"type": "integer", "minimum": 1, "maximum": 500},
        "page": {"type": "integer", "minimum": 1},
        "searchAfter": {"type": "array"},
        "filters": {"type": "array"},
        "sort": {"type": "array"},
        "query": {"type": "string", "maxLength": 75},
    },
}
REQUEST_SCHEMA_OVERRIDES: dict[tuple[str, str], tuple[dict[str, Any], str]] = {
    ("POST", "/contacts/search"): (
        SEARCH_BODY_SCHEMA,
        "SearchBodyV2DTO is empty in the spec; the body reference is a linked ClickUp page (fields from the "
        "docs mirror, ghl-api.md section 1 Pagination)",
    ),
}

# Responses the spec leaves without a schema: (spec file, schema name) or an inline schema to use instead.
RESPONSE_SCHEMA_OVERRIDES: dict[tuple[str, str, int], tuple[str | dict[str, Any], str]] = {
    ("POST", "/contacts/search", 200): (
        "history/contacts.5f8673c.json#SearchContactSuccessResponseDto",
        "the current spec documents no 200 body for search; an earlier revision of the same official file did",
    ),
    ("GET", "/contacts/search/duplicate", 200): (
        {"type": "object", "required": ["contact"], "properties": {"contact": {"type": ["object", "null"]}}},
        "the spec documents no 200 body; GHL answers {contact: <contact> | null}",
    ),
}

# POST /locations/{locationId}/tasks/search: the spec declares 200 with `tasks: {items: {type: array}}` (arrays of
# arrays). GHL answers 201 with task objects (`_id`, not `id`), as integrators observed and GHL's own SDK types say.
TASK_SEARCH_ROW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["_id", "title", "completed", "contactId", "locationId", "dateAdded", "dateUpdated"],
    "properties": {
        "_id": {"type": "string"},
        "title": {"type": "string"},
        "body": {"type": "string"},
        "assignedTo": {"type": "string"},
        "dueDate": {"type": "string"},
        "completed": {"type": "boolean"},
        "deleted": {"type": "boolean"},
        "contactId": {"type": "string"},
        "locationId": {"type": "string"},
        "dateAdded": {"type": "string"},
        "dateUpdated": {"type": "string"},
        "contactDetails": {"type": "object"},
        "assignedToUserDetails": {"type": "object"},
    },
}
RESPONSE_SCHEMA_OVERRIDES[("POST", "/locations/{locationId}/tasks/search", 201)] = (
    {
        "type": "object",
        "required": ["tasks"],
        "properties": {"tasks": {"type": "array", "items": TASK_SEARCH_ROW_SCHEMA}},
    },
    "the spec types the rows as arrays and declares 200; GHL answers 201 with task objects",
)
# POST /oauth/locationToken answers 201 (observed by integrators minting location tokens; NestJS's default status for
# a POST) where the spec declares 200; the body is the spec's own DTO.
RESPONSE_SCHEMA_OVERRIDES[("POST", "/oauth/locationToken", 201)] = (
    "apps/oauth.json#GetLocationAccessTokenSuccessfulResponseDto",
    "GHL answers 201 where the spec declares 200; the body is checked against the declared DTO",
)
# GET /calendars/events: CalendarEventDTO types startTime, endTime, dateAdded and dateUpdated as `object`, but its own
# examples (and every answer) are ISO strings.
CALENDAR_EVENT_DATES = ("startTime", "endTime", "dateAdded", "dateUpdated")
RESPONSE_SCHEMA_OVERRIDES[("GET", "/calendars/events", 200)] = (
    "apps/calendars.json#GetCalendarEventsSuccessfulResponseDTO",
    "CalendarEventDTO's date fields are typed object; they are checked as strings",
)

# Webhook docs: AppInstall.md types trial.trialStartDate as "Date", which is no JSON-Schema type; it is checked as a
# string (its example is an ISO string).
WEBHOOK_TYPE_FIXES = {"Date": "string"}
# Agency-level events carry companyId and no locationId (LocationCreate.md, the agency examples of AppInstall.md and
# AppUninstall.md); for them companyId stands in for the locationId the check otherwise requires.
WEBHOOKS_WITHOUT_LOCATION = frozenset({"LocationCreate", "INSTALL", "UNINSTALL"})

# Contact.searchAfter (history/contacts.5f8673c.json) types its items as strings, but the documented cursor is
# [<sort value>, <id>] with a numeric sort value for dates, e.g. [1234, "id"] (ghl-api.md section 1 Pagination).
SEARCH_AFTER_ITEMS = "searchAfter: [number | string, string]"


def patch_response_schema(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Apply the response exceptions above to an inlined schema (validation only)."""
    if name == "SearchContactSuccessResponseDto":
        contact = schema["properties"]["contacts"]["items"]
        contact["properties"]["searchAfter"] = {"type": "array", "items": {"type": ["number", "string"]}}
    if name == "GetCalendarEventsSuccessfulResponseDTO":
        event = schema["properties"]["events"]["items"]
        for key in CALENDAR_EVENT_DATES:
            event["properties"][key] = {"type": "string"}
    return schema


def fix_webhook_schema(node: Any) -> Any:
    """The documented webhook schema with the type fixes above applied (validation only)."""
    if isinstance(node, dict):
        fixed = {k: fix_webhook_schema(val) for k, val in node.items()}
        if isinstance(fixed.get("type"), str) and fixed["type"] in WEBHOOK_TYPE_FIXES:
            fixed["type"] = WEBHOOK_TYPE_FIXES[fixed["type"]]
        return fixed
    if isinstance(node, list):
        return [fix_webhook_schema(val) for val in node]
    return node


# GHL's validator rejects undeclared body properties (422 'property X should not exist', highlevel-api-docs#262),
# although the spec's DTOs do not say additionalProperties: false. The contract check therefore also rejects
# undeclared properties in request bodies and requires the emulator to answer them with 422.
REJECT_UNDECLARED_BODY_PROPERTIES = "highlevel-api-docs#262: additionalEmails and other unknown fields get 422"

# The spec contradicts itself on custom field writes: customFieldsInputStringSchema says "Pass either `id` or `key`
# of custom field", while the per-type schemas (TextField, ...) mark `id` required. The contract check accepts
# `key` in place of `id` (it treats the key as the id while validating).
CUSTOM_FIELD_KEY_FOR_ID = "customFields[]: `key` may replace `id` (customFieldsInputStringSchema's description)"


def normalize_request_body(body: Any) -> Any:
    """The request body as the spec would accept it under the exceptions above (validation only)."""
    if isinstance(body, dict) and isinstance(body.get("customFields"), list):
        fields = [
            {**f, "id": f["key"]} if isinstance(f, dict) and "id" not in f and f.get("key") else f
            for f in body["customFields"]
        ]
        return {**body, "customFields": fields}
    return body
