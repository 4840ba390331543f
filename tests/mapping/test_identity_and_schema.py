"""Records with nothing to identify them fail naming the missing fields; a payload GHL would refuse fails before
the call, naming the field and the schema rule; the shipped schemas are GHL's official write DTOs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts_sync.mapping import MappingContext, apply
from contacts_sync.mapping.schema import CHECKS, SCHEMA_FILE, _valid, _validator, schema_problems, schemas
from contacts_sync.mapping.schema_build import DTOS, build, render
from contacts_sync.sync.recipes import default_rules
from tests.support import ROOT

SPEC_DIR = ROOT.parent / "shared" / "specs" / "ghl"
CONTACT = MappingContext(target_object="contact")
IDENTITY = "firstName, lastName, name, email, phone"


def r(target: str, **kw: object) -> dict:
    return {"source": None, "constant": None, "template": None, "target": target, "transforms": [], **kw}


# ------------------------------------------------------------------------------------------------ identity


def test_a_contact_with_nothing_usable_fails_naming_the_missing_fields_instead_of_an_empty_contact() -> None:
    rules = default_rules("hubstaff", "contact", "ghl", "contact")
    blank = {"id": 1, "name": "  \x00 ", "emails": [""], "phone": "n/a", "metadata": {}}
    result = apply(blank, rules, context=CONTACT)
    assert not result.ok
    (problem,) = result.problems
    assert problem.field == IDENTITY
    assert problem.reason == f"the contact has none of {IDENTITY} after mapping: nothing identifies it"
    assert "row" not in str(problem)  # a problem of the whole record, not of one row
    # on the way: the NUL removed from the name (which fed name and companyName), "n/a" left out
    assert [(w.field, w.kind) for w in result.warnings] == [
        ("name", "cleaned"),
        ("phone", "skipped"),
        ("companyName", "cleaned"),
    ]


def test_a_contact_whose_only_identity_is_an_invalid_skipped_phone_fails_too() -> None:
    rules = [r("phone", source="p", transforms=["e164"], on_invalid="skip"), r("source", constant="Hubstaff")]
    result = apply({"p": "12345"}, rules, context=CONTACT)
    assert [p.field for p in result.problems] == [IDENTITY]
    assert result.payload == {"source": "Hubstaff"}  # what would have been written: the reported bug


def test_one_identity_field_is_enough() -> None:
    for rule in (
        r("lastName", constant="Doe"),
        r("email", constant="a@b.de"),
        r("phone", constant="+49302270"),
    ):
        assert apply({}, [rule, r("source", constant="X")], context=CONTACT).ok


def test_a_task_without_title_and_a_note_without_body_fail_on_the_result() -> None:
    task = apply(
        {"t": "\u200b\x00", "due": "2030-01-01T00:00:00Z"},
        [r("title", source="t", transforms=["trim"]), r("dueDate", source="due")],
        context=MappingContext(target_object="task"),
    )
    assert [(p.field, p.reason, p.rule_index) for p in task.problems] == [
        ("title", "is required but the mapped value is empty", 0)
    ]
    note = apply(
        {"b": "<p> </p>"},
        [r("body", source="b", transforms=["html_to_text"])],
        context=MappingContext(target_object="note"),
    )
    assert [(p.field, p.reason) for p in note.problems] == [("body", "is required but the mapped value is empty")]


def test_a_task_may_leave_due_date_and_completed_to_the_writer() -> None:
    result = apply({"t": "Call"}, [r("title", source="t")], context=MappingContext(target_object="task"))
    assert result.ok and result.payload == {"title": "Call"}


def test_a_hubstaff_todo_needs_a_summary() -> None:
    ctx = MappingContext(target_provider="hubstaff", target_object="task")
    rules = default_rules("ghl", "contact", "hubstaff", "task")
    assert [p.field for p in apply({"id": ""}, rules, context=ctx).problems] == ["summary"]
    assert apply({"id": "c1", "email": "a@b.de"}, rules, context=ctx).ok


# ------------------------------------------------------------------------------------------------ schema


@pytest.mark.parametrize(
    ("rules", "field", "rule_words"),
    [
        ([r("email", constant="jane at example.com")], "email", "format: email"),
        ([r("email", constant="jane@")], "email", "format: email"),
        ([r("email", constant="mailto:jane@example.com")], "email", "format: email"),
        ([r("name", constant="X"), r("postalCode", constant=["10115"])], "postalCode", "type: string"),
        ([r("name", constant="X"), r("dnd", constant="yes")], "dnd", "type: boolean"),
        ([r("name", constant="X"), r("tags", constant=[{"a": 1}])], "tags.0", "type: string"),
        (
            [r("name", constant="X"), r("additionalEmails", constant=["b@c.de"])],
            "additionalEmails",
            "additionalProperties",
        ),
        ([r("name", constant="X"), r("dateOfBirth", constant="someday")], "dateOfBirth", "pattern"),
        (
            [r("name", constant="X"), r("dndSettings", constant={"Call": {"status": "maybe"}})],
            "dndSettings.Call.status",
            "enum",
        ),
        (
            [r("name", constant="X"), r("customField.contact.size", constant={"x": 1})],
            "customField.contact.size",
            "",
        ),
    ],
)
def test_a_contact_payload_ghl_would_refuse_fails_naming_the_field_and_the_rule(
    rules: list[dict], field: str, rule_words: str
) -> None:
    result = apply({}, rules, context=CONTACT)
    if field.startswith("customField."):  # any field_value is allowed: GHL's per-type schemas disagree
        assert result.ok
        return
    assert not result.ok
    (problem,) = result.problems
    assert problem.field == field
    assert problem.reason.startswith("GHL would refuse it: ")
    assert f"schema rule {rule_words}" in problem.reason
    assert problem.rule_index == len(rules) - 1  # the row that wrote it


def test_task_and_note_payloads_are_checked_against_their_dtos() -> None:
    task = apply(
        {},
        [r("title", constant="T"), r("dueDate", constant="next week"), r("completed", constant="no")],
        context=MappingContext(target_object="task"),
    )
    assert [(p.field, p.reason.split("(schema rule ")[-1]) for p in task.problems] == [
        ("completed", "type: boolean)"),
        ("dueDate", "format: date-time)"),
    ]
    note = apply(
        {},
        [r("body", constant="B"), r("tags", constant=["a", 3])],
        context=MappingContext(target_object="note"),
    )
    assert [(p.field, "type: string" in p.reason) for p in note.problems] == [("tags.1", True)]


def test_custom_fields_need_an_id_or_a_key_like_ghl_says() -> None:
    problems = list(schema_problems("ghl", "contact", {"name": "X", "customFields": [{"field_value": "x"}]}))
    assert [(f, "anyOf" in why) for f, _, why in problems] == [("customFields.0", True)]
    assert (
        list(schema_problems("ghl", "contact", {"name": "X", "customFields": [{"key": "contact.a", "field_value": 1}]}))
        == []
    )


# Values near every rule of the DTOs: addresses and dates valid or not, enum words, ids and keys, wrong types.
_SCALARS = st.one_of(
    st.sampled_from(
        [
            "jane@example.com",
            "Jane.Doe+x@Example.COM",
            "jane@",
            "jane at example.com",
            "jane@localhost",
            "2024-05-06",
            "06.05.2024",
            "2024-05-06T07:08:09Z",
            "2024-05-06T07:08:09+02:00",
            "next week",
            "active",
            "inactive",
            "permanent",
            "maybe",
            "",
            "x" * 300,
        ]
    ),
    st.text(max_size=12),
    st.integers(-3, 3),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["id", "key", "field_value", "status", "message", "code", "Call", "all"]), inner, max_size=3
        ),
    ),
    max_leaves=6,
)


_BY_TYPE = {
    "string": st.text(max_size=8),
    "boolean": st.booleans(),
    "null": st.none(),
    "number": st.integers(-3, 3),
    "integer": st.integers(-3, 3),
}


def _near(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Mostly what the rule asks for (its enum, a date, an address, the right type), sometimes anything."""
    if "enum" in schema:
        near: st.SearchStrategy[Any] = st.sampled_from(schema["enum"])
    elif "pattern" in schema or schema.get("format") == "date-time":
        near = st.sampled_from(["2024-05-06", "06/05/2024", "2024-05-06T07:08:09Z", "2024-05-06T07:08:09.5+02:00"])
    elif schema.get("format") == "email":
        near = st.sampled_from(["jane@example.com", "Jane.Doe+x@Example.COM", "jo@mail.example.de", None])
    elif "properties" in schema:
        props = schema["properties"]
        near = st.dictionaries(st.sampled_from(sorted(props)), st.deferred(lambda: _VALUES), max_size=3).flatmap(
            lambda d: st.fixed_dictionaries({k: _near(props[k]) for k in d})
        )
    elif "items" in schema:
        near = st.lists(_near(schema["items"]), max_size=3)
    else:
        kinds = schema.get("type", [])
        kinds = [kinds] if isinstance(kinds, str) else kinds
        near = st.one_of([_BY_TYPE[k] for k in kinds if k in _BY_TYPE] or [_VALUES])
    return st.one_of(*[near] * 9, _VALUES)


@st.composite
def _bodies(draw: st.DrawFn) -> tuple[str, frozenset[str], dict[str, Any]]:
    check = draw(st.sampled_from([c for checks in CHECKS.values() for c in checks]))
    props = schemas()[check.dto].get("properties", {})
    required = [n for n in schemas()[check.dto].get("required", []) if n not in check.not_required]
    names = draw(st.lists(st.sampled_from([*sorted(props), "notAField"]), max_size=5, unique=True))
    names = [*names, *draw(st.sampled_from([required, []]))]
    body = {name: draw(_near(props.get(name, {}))) for name in names}
    return check.dto, check.not_required, body


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(_bodies())
def test_the_compiled_schema_passes_exactly_the_payloads_jsonschema_passes(case: tuple) -> None:
    """Payloads that pass are answered by fastjsonschema's compiled schema; it must agree with jsonschema, the
    validator whose errors the problems are made of, on every payload (a pass it allowed wrongly would be sent)."""
    dto, not_required, body = case
    assert _valid(dto, not_required, body) == (not list(_validator(dto, not_required).iter_errors(body))), body


def test_targets_without_a_ghl_schema_are_not_schema_checked() -> None:
    assert list(schema_problems("hubstaff", "task", {"anything": object()})) == []
    assert list(schema_problems("ghl", "appointment", {"anything": 1})) == []


def test_the_shipped_schemas_are_the_official_spec_with_the_recorded_refinements() -> None:
    assert SPEC_DIR.is_dir(), f"the official GHL spec is missing at {SPEC_DIR}"
    expected = render(build(SPEC_DIR))
    assert SCHEMA_FILE.read_text() == expected, (
        "contacts_sync/mapping/ghl_write_schemas.json differs from the spec: "
        "run `python -m contacts_sync.mapping.schema_build ../shared/specs/ghl`"
    )
    shipped = json.loads(SCHEMA_FILE.read_text())
    assert sorted(shipped["schemas"]) == sorted(DTOS)
    assert shipped["schemas"]["NotesDTO"]["properties"]["body"]["maxLength"] == 5000
    assert shipped["schemas"]["UpsertContactDto"]["additionalProperties"] is False


# --------------------------------------------------- the 422s GHL answered for Hubstaff emulator clients

# A mapping without the email transform (the bench's, or one a user edits down to trim + lower): the messy
# e-mails of the Hubstaff emulator ("x at example.com", "x@", "mailto:x@...") reached GHL, which answered 422.
PLAIN_RULES = [
    r("firstName", source="name", transforms=[{"name": "split_name", "args": {"part": "first"}}]),
    r("lastName", source="name", transforms=[{"name": "split_name", "args": {"part": "last"}}]),
    r("email", source="emails.0", transforms=["trim", "lower"]),
    r("source", constant="Hubstaff"),
]


# Real HTTP to the emulators (the sandbox server process).
def test_what_the_ghl_emulator_refuses_for_hubstaff_clients_is_failed_by_mapping_before_the_call(
    clean_sandbox: Any,
) -> None:
    from tests.sync.world import GhlApi, HubstaffOrg

    org = HubstaffOrg(clean_sandbox, seeded_clients=280)
    clients = org.get(f"/organizations/{org.org_id}/clients", page_limit=500)["clients"]
    assert len(clients) > 200
    ghl = GhlApi(clean_sandbox)
    refused_by_ghl, failed_by_mapping, sent = set(), {}, 0
    for client in clients:
        result = apply(client, PLAIN_RULES, context=CONTACT)
        if not result.ok:
            failed_by_mapping[client["id"]] = result.problems
        body = {**result.payload, "locationId": clean_sandbox.location_id}
        answer = ghl.http.post(f"{ghl.base}/contacts/upsert", json=body, timeout=10)
        sent += 1
        if answer.status_code == 422:
            refused_by_ghl.add(client["id"])
        else:
            assert answer.status_code in (200, 201), answer.text
    assert sent == len(clients)
    assert refused_by_ghl, "the seeded Hubstaff clients no longer contain e-mails GHL refuses"
    # every record GHL refused, mapping failed before the call, naming the email and the schema rule
    assert refused_by_ghl <= set(failed_by_mapping)
    for client_id in refused_by_ghl:
        assert [(p.field, "schema rule format: email" in p.reason) for p in failed_by_mapping[client_id]] == [
            ("email", True)
        ]
    # mapping fails nothing GHL takes but "mailto:" addresses (GHL's IsEmail refuses the ':'; the emulator does not)
    extra = {cid for cid in set(failed_by_mapping) - refused_by_ghl}
    emails = {c["id"]: (c["emails"] or [""])[0] for c in clients}
    assert all(emails[cid].strip().lower().startswith("mailto:") for cid in extra), [emails[c] for c in extra]
