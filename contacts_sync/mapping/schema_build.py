"""Builds ghl_write_schemas.json, the JSON-schema subset of GHL's write DTOs that mapping checks every payload
against before a call, from the official spec:

    python -m contacts_sync.mapping.schema_build ../shared/specs/ghl

The app cannot read ../shared at run time, so the result ships inside this package;
tests/mapping/test_schema.py fails when the shipped file and the spec disagree. The spec is OpenAPI 3.0 and
looser than GHL's validator; REFINEMENTS below make the schemas say what GHL really refuses, each with its source.
Reads files only; nothing here runs in the app.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).with_name("ghl_write_schemas.json")

# The write DTOs the GHL writers send (apps/contacts.json): contact upsert/create/update, task create/update/
# complete, note create/update, tags.
DTOS = (
    "UpsertContactDto",
    "CreateContactDto",
    "UpdateContactDto",
    "CreateTaskParams",
    "UpdateTaskBody",
    "UpdateTaskStatusParams",
    "NotesDTO",
    "UpdateNoteDTO",
    "TagsDTO",
)
# Keywords kept from the spec (examples and descriptions only make the file bigger).
_KEEP = {"type", "properties", "required", "items", "anyOf", "oneOf", "allOf", "enum", "format", "pattern"}
_KEEP |= {"maxLength", "minLength", "maxItems", "minimum", "maximum", "nullable"}

# dateOfBirth: the spec's description lists the formats GHL reads; the pattern says the same.
DATE_OF_BIRTH_PATTERN = r"^(\d{4}[/\-._]\d{2}[/\-._]\d{2}|\d{2}[/\-._]\d{2}[/\-._]\d{4})$"
CUSTOM_FIELD_ITEM = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "key": {"type": "string"}, "field_value": {}},
    "anyOf": [{"required": ["id"]}, {"required": ["key"]}],
}
REFINEMENTS: dict[str, str] = {
    "additionalProperties": "every object is closed: GHL answers 422 'property X should not exist' for an "
    "undeclared field (highlevel-api-docs#262; ../shared/reference/ghl-api.md section 5)",
    "nullable": "OpenAPI's nullable: true becomes a type list with null (JSON Schema has no nullable)",
    "email": "email gets format email: GHL's class-validator answers 422 'email must be an email'",
    "dueDate": "dueDate gets format date-time: GHL answers 422 'dueDate must be a valid ISO 8601 date string'",
    "dateOfBirth": "dateOfBirth is typed object in the spec, but its description lists string formats "
    "(YYYY-MM-DD, MM/DD/YYYY, ...): a string with that pattern",
    "customFields": "customFields items: `id` or `key` (customFieldsInputStringSchema: 'Pass either id or key'), "
    "any field_value (the per-type schemas disagree: NumericField types 100 as object)",
    "NotesDTO.body": "maxLength from apps/calendars.json, where the same DTO name states it (5000)",
}


def _resolve(node: Any, schemas: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, list):
        return [_resolve(n, schemas, seen) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            raise ValueError(f"recursive schema {name}")
        return _resolve(schemas[name], schemas, (*seen, name))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {k: _resolve(v, schemas, seen) for k, v in value.items()}
        elif key in _KEEP:
            out[key] = _resolve(value, schemas, seen)
    return out


def _json_schema(node: Any) -> Any:
    """nullable -> type list; every object with properties closed (additionalProperties: false)."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: _json_schema(v) if k != "properties" else {p: _json_schema(s) for p, s in v.items()}
        for k, v in node.items()
        if k != "nullable"
    }
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if "properties" in out:
        out["additionalProperties"] = False
    return out


def _refine(name: str, schema: dict[str, Any], note_body_max: int | None) -> dict[str, Any]:
    props = schema.get("properties", {})
    if "email" in props:
        props["email"]["format"] = "email"
    if "dueDate" in props:
        props["dueDate"]["format"] = "date-time"
    if "dateOfBirth" in props:
        nullable = "null" in props["dateOfBirth"].get("type", [])
        props["dateOfBirth"] = {
            "type": ["string", "null"] if nullable else "string",
            "pattern": DATE_OF_BIRTH_PATTERN,
        }
    if "customFields" in props:
        props["customFields"] = {"type": "array", "items": copy.deepcopy(CUSTOM_FIELD_ITEM)}
    if name in ("NotesDTO", "UpdateNoteDTO") and note_body_max and "body" in props:
        props["body"]["maxLength"] = note_body_max
    return schema


def _spec_commit(spec_dir: Path) -> str:
    readme = spec_dir / "README.md"
    found = re.search(r"Commit: `([0-9a-f]{40})`", readme.read_text()) if readme.exists() else None
    return found.group(1) if found else ""


def build(spec_dir: Path) -> dict[str, Any]:
    """The schemas file's content, from the spec folder (../shared/specs/ghl)."""
    contacts = json.loads((spec_dir / "apps" / "contacts.json").read_text())
    calendars = json.loads((spec_dir / "apps" / "calendars.json").read_text())
    note_body = calendars["components"]["schemas"].get("NotesDTO", {}).get("properties", {}).get("body", {})
    schemas = contacts["components"]["schemas"]
    out = {}
    for name in DTOS:
        resolved = _json_schema(_resolve(schemas[name], schemas))
        out[name] = _refine(name, resolved, note_body.get("maxLength"))
    return {
        "$comment": "Generated by contacts_sync/mapping/schema_build.py from ../shared/specs/ghl; do not edit.",
        "source": {
            "spec_commit": _spec_commit(spec_dir),
            "files": ["apps/contacts.json", "apps/calendars.json"],
            "refinements": REFINEMENTS,
        },
        "schemas": out,
    }


def render(content: dict[str, Any]) -> str:
    return json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    spec_dir = Path(argv[1] if len(argv) > 1 else "../shared/specs/ghl")
    OUTPUT.write_text(render(build(spec_dir)))
    sys.stdout.write(f"wrote {OUTPUT}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
