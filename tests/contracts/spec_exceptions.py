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
UNKNOWN_ROUTE_REASON = (
    "paths no spec declares must get GHL's JSON 404 ('Cannot GET /x'); checked by status only"
)

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

# Contact.searchAfter (history/contacts.5f8673c.json) types its items as strings, but the documented cursor is
# [<sort value>, <id>] with a numeric sort value for dates, e.g. [1234, "id"] (ghl-api.md section 1 Pagination).
SEARCH_AFTER_ITEMS = "searchAfter: [number | string, string]"


def patch_response_schema(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Apply the response exceptions above to an inlined schema (validation only)."""
    if name == "SearchContactSuccessResponseDto":
        contact = schema["properties"]["contacts"]["items"]
        contact["properties"]["searchAfter"] = {"type": "array", "items": {"type": ["number", "string"]}}
    return schema


# GHL's validator rejects undeclared body properties (422 'property X should not exist', highlevel-api-docs#262),
# although the spec's DTOs do not say additionalProperties: false. The contract check therefore also rejects
# undeclared properties in request bodies and requires the emulator to answer them with 422.
REJECT_UNDECLARED_BODY_PROPERTIES = (
    "highlevel-api-docs#262: additionalEmails and other unknown fields get 422"
)

# The spec contradicts itself on custom field writes: customFieldsInputStringSchema says "Pass either `id` or `key`
# of custom field", while the per-type schemas (TextField, ...) mark `id` required. The contract check accepts
# `key` in place of `id` (it treats the key as the id while validating).
CUSTOM_FIELD_KEY_FOR_ID = (
    "customFields[]: `key` may replace `id` (customFieldsInputStringSchema's description)"
)


def normalize_request_body(body: Any) -> Any:
    """The request body as the spec would accept it under the exceptions above (validation only)."""
    if isinstance(body, dict) and isinstance(body.get("customFields"), list):
        fields = [
            {**f, "id": f["key"]} if isinstance(f, dict) and "id" not in f and f.get("key") else f
            for f in body["customFields"]
        ]
        return {**body, "customFields": fields}
    return body
