"""Validate recorded GHL exchanges (requests the client sent, responses the emulator returned) and webhook
payloads against the official spec files: jsonschema over the spec's own schemas (parameters, security, request
bodies, responses), compiled once per operation with fastjsonschema so the whole suite can be checked.
Every deviation the checks allow is recorded in spec_exceptions.py."""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import fastjsonschema

from tests.contracts import spec_exceptions as ex
from tests.support import ROOT

SPEC_DIR = Path(os.environ.get("GHL_SPEC_DIR", str(ROOT.parent / "shared" / "specs" / "ghl")))
SPEC_FOR_PREFIX = {
    "/contacts": "apps/contacts.json",
    "/businesses": "apps/businesses.json",
    "/users": "apps/users.json",
    "/locations": "apps/locations.json",
    "/oauth": "apps/oauth.json",
    "/calendars": "apps/calendars.json",
}
# Webhook types whose doc file is named otherwise (docs/webhook-events/<file>.md).
WEBHOOK_DOCS = {"INSTALL": "AppInstall", "UNINSTALL": "AppUninstall"}
REJECTING = {400, 401, 403, 404, 415, 422}
Check = Callable[[Any], Any]


def specs_available() -> bool:
    return (SPEC_DIR / "apps" / "contacts.json").exists()


@functools.cache
def _raw(rel: str) -> dict[str, Any]:
    return json.loads((SPEC_DIR / rel).read_text())


def _resolve(ref: str, rel: str) -> tuple[dict[str, Any], str]:
    """(schema, file) for a $ref, local ('#/components/...') or into another file ('../common/x.json#/...')."""
    target, _, pointer = ref.partition("#")
    file = rel if not target else os.path.normpath(os.path.join(os.path.dirname(rel), target))
    node: Any = _raw(file)
    for part in pointer.strip("/").split("/"):
        node = node[part]
    return node, file


def inline(node: Any, rel: str, depth: int = 0) -> Any:
    """The schema with every $ref inlined and OpenAPI 3.0 `nullable` turned into a JSON-Schema type list."""
    if depth > 30:
        return {}
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            target, file = _resolve(node["$ref"], rel)
            return inline(target, file, depth + 1)
        out = {
            k: inline(v, rel, depth + 1)
            for k, v in node.items()
            if k not in ("example", "examples", "description", "nullable", "deprecated", "readOnly", "writeOnly")
        }
        if node.get("nullable"):
            if "type" in out:
                out["type"] = [out["type"], "null"]
            elif "allOf" in out or "$ref" in node:
                out = {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [inline(v, rel, depth + 1) for v in node]
    return node


@functools.cache
def _compiled(key: str, schema_json: str) -> Check:
    return fastjsonschema.compile(json.loads(schema_json))


def compile_schema(key: str, schema: dict[str, Any]) -> Check:
    return _compiled(key, json.dumps(schema, sort_keys=True))


def _errors(check: Check, instance: Any) -> list[str]:
    try:
        check(instance)
    except fastjsonschema.JsonSchemaValueException as e:
        return [f"{e.name}: {e.message}"]
    return []


@dataclass
class Exchange:
    method: str
    path: str
    query: str
    content_type: str
    headers: dict[str, str]
    body: str
    status: int
    response_type: str
    response: str
    fault: str = ""

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> Exchange:
        return cls(
            r["method"],
            r["path"],
            r.get("query", ""),
            r.get("content_type", ""),
            r.get("headers", {}),
            r.get("body", ""),
            int(r["status"]),
            r.get("response_type", ""),
            r.get("response", ""),
            r.get("fault", ""),
        )

    def __str__(self) -> str:
        q = f"?{self.query}" if self.query else ""
        return f"{self.method} {self.path}{q} -> {self.status}"


@functools.cache
def _patterns(rel: str) -> list[tuple[list[str], str]]:
    return [(p.split("/"), p) for p in _raw(rel)["paths"]]


def pattern_for(rel: str, path: str) -> str | None:
    """The spec path template matching a concrete path (literal segments win over {params})."""
    parts = path.split("/")
    best: tuple[int, str] | None = None
    for pp, pattern in _patterns(rel):
        if len(pp) != len(parts):
            continue
        if all(p == c or (p.startswith("{") and p.endswith("}") and c) for p, c in zip(pp, parts, strict=True)):
            literal = sum(1 for p in pp if not p.startswith("{"))
            if best is None or literal > best[0]:
                best = (literal, pattern)
    return best[1] if best else None


def _operation(rel: str, pattern: str, method: str) -> dict[str, Any] | None:
    return _raw(rel)["paths"].get(pattern, {}).get(method.lower())


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    try:
        if kind == "number":
            return float(value)
        if kind == "integer":
            return int(value)
        if kind == "boolean":
            return {"true": True, "false": False}[value]
    except (ValueError, KeyError):
        return value
    return value


def request_problems(x: Exchange, rel: str, pattern: str, op: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    headers = {k.lower(): v for k, v in x.headers.items()}
    query = dict(parse_qsl(x.query, keep_blank_values=True))
    for param in op.get("parameters", []):
        where, name = param.get("in"), param.get("name", "")
        value = headers.get(name.lower()) if where == "header" else query.get(name) if where == "query" else "x"
        if value is None:
            if param.get("required"):
                problems.append(f"missing required {where} parameter {name}")
            continue
        schema = inline(param.get("schema", {}), rel)
        problems += [
            f"{where} {name}: {e}" for e in _errors(compile_schema(f"p:{rel}:{name}", schema), _coerce(value, schema))
        ]
    if (
        op.get("security")
        and any(op["security"])
        and not headers.get("authorization", "").lower().startswith("bearer ")
    ):
        problems.append("missing Authorization: Bearer <token> (security: bearer)")
    ctype = (x.content_type or "").split(";")[0]
    override = ex.REQUEST_SCHEMA_OVERRIDES.get((x.method, pattern))
    content = op.get("requestBody", {}).get("content", {})
    if op.get("requestBody", {}).get("required") and not x.body:
        problems.append("missing required request body")
    if not x.body:
        return problems
    if ctype == "application/x-www-form-urlencoded":
        body: Any = dict(parse_qsl(x.body))
    else:
        try:
            body = ex.normalize_request_body(json.loads(x.body))
        except ValueError:
            return [*problems, "request body is not JSON"]
    if override:
        schema = override[0]
    else:
        media = content.get(ctype)
        if media is None:
            return [*problems, f"content-type {ctype or '<none>'} not accepted (spec: {sorted(content)})"]
        schema = inline(media.get("schema", {}), rel)
        if schema.get("type") == "object":
            schema = {**schema, "additionalProperties": False}  # ex.REJECT_UNDECLARED_BODY_PROPERTIES
    problems += [f"body {e}" for e in _errors(compile_schema(f"b:{rel}:{x.method}:{pattern}", schema), body)]
    return problems


def response_problems(x: Exchange, rel: str, pattern: str, op: dict[str, Any]) -> list[str]:
    over = ex.RESPONSE_SCHEMA_OVERRIDES.get((x.method, pattern, x.status))
    declared = op.get("responses", {})
    if over is None and str(x.status) not in declared:
        if x.status in ex.UNDECLARED_STATUSES or (x.method, pattern, x.status) in ex.UNDECLARED_OPERATION_STATUSES:
            return []
        return [f"status {x.status} is not declared for this operation and no spec exception covers it"]
    if over is not None:
        if isinstance(over[0], str):
            file, _, name = over[0].partition("#")
            schema = ex.patch_response_schema(name, inline(_raw(file)["components"]["schemas"][name], file))
        else:
            schema = over[0]
    else:
        content = declared[str(x.status)].get("content", {})
        media = content.get("application/json")
        if media is None:
            return [] if not content else [f"response content-type {x.response_type} not declared"]
        schema = inline(media.get("schema", {}), rel)
    try:
        data = json.loads(x.response)
    except ValueError:
        return ["response is not JSON"]
    return [f"response {e}" for e in _errors(compile_schema(f"r:{rel}:{x.method}:{pattern}:{x.status}", schema), data)]


def validate_exchange(x: Exchange) -> list[str]:
    """Problems with one exchange; [] when it conforms (or a recorded spec exception covers it)."""
    if (x.method, x.path) in ex.UNSPECIFIED_OPERATIONS or x.fault:
        return []  # not an API operation / a deliberate fault (ex.INJECTED_FAULTS)
    path = ex.PATH_ALIASES.get(x.path, x.path)
    rel = next((f for prefix, f in SPEC_FOR_PREFIX.items() if path.startswith(prefix)), None)
    pattern = pattern_for(rel, path) if rel else None
    op = _operation(rel, pattern, x.method) if rel and pattern else None
    if rel is None or pattern is None or op is None:
        return [] if x.status == 404 else [f"{x}: no spec operation, but the emulator did not answer 404"]
    problems: list[str] = []
    req = request_problems(x, rel, pattern, op)
    if req and x.status not in REJECTING:
        problems.append(f"{x}: the emulator accepted a request the spec rejects: {req}")
    if not req and x.status == 422 and "should not exist" in x.response:
        problems.append(f"{x}: 422 'should not exist' for a request the spec allows: {x.response[:200]}")
    problems += [f"{x}: {p}" for p in response_problems(x, rel, pattern, op)]
    return problems


@functools.cache
def webhook_schema(event_type: str) -> Check | None:
    path = SPEC_DIR / "docs" / "webhook-events" / f"{WEBHOOK_DOCS.get(event_type, event_type)}.md"
    if not path.exists():
        return None
    match = re.search(r"```json json_schema\s*(\{.*?\})\s*```", path.read_text(), re.S)
    return fastjsonschema.compile(ex.fix_webhook_schema(json.loads(match.group(1)))) if match else None


def validate_webhook(payload: dict[str, Any]) -> list[str]:
    check = webhook_schema(str(payload.get("type")))
    if check is None:
        return [f"webhook {payload.get('type')}: no documented schema in docs/webhook-events/"]
    problems = [f"webhook {payload['type']}: {e}" for e in _errors(check, payload)]
    keys = ["timestamp", "webhookId", "locationId"]
    if payload["type"] in ex.WEBHOOKS_WITHOUT_LOCATION and not payload.get("locationId"):
        keys[2] = "companyId"  # an agency-level event (ex.WEBHOOKS_WITHOUT_LOCATION)
    for key in keys:
        if not payload.get(key):
            problems.append(f"webhook {payload['type']}: lacks {key} (the signed body must carry it)")
    return problems


def validate_records(lines: list[str]) -> tuple[int, list[str]]:
    """(number of records checked, problems) for JSON lines written by `manage.py sandbox --record`."""
    problems: list[str] = []
    n = 0
    for line in lines:
        if not line.strip():
            continue
        rec = json.loads(line)
        n += 1
        if rec.get("kind") == "webhook":
            problems += validate_webhook(rec["payload"])
        else:
            problems += validate_exchange(Exchange.from_record(rec))
    return n, problems
