from __future__ import annotations

from contacts_sync.mapping import WHOLE_MAPPING, MappingContext, apply, content_hash, get_path, validate_rules
from contacts_sync.mapping.targets import target_fields

RECORD = {
    "id": 7,
    "name": "Jane Q. Doe",
    "emails": ["Jane@Example.com", "other@example.com"],
    "phone": "(415) 555-2671",
    "labels": ["vip", "vendor"],
    "meta": {"industry": "Retail", "notes": [{"text": "first"}, {"text": "second"}]},
    "due_at": None,
    "created_at": "2024-05-01T10:00:00Z",
}


def r(target: str, **kw: object) -> dict:
    return {
        "source": None,
        "constant": None,
        "template": None,
        "target": target,
        "transforms": [],
        "required": False,
        "default": None,
        **kw,
    }


def test_dotted_paths_reach_into_lists_and_objects() -> None:
    assert get_path(RECORD, "emails.0") == "Jane@Example.com"
    assert get_path(RECORD, "emails[1]") == "other@example.com"
    assert get_path(RECORD, "emails.-1") == "other@example.com"
    assert get_path(RECORD, "meta.industry") == "Retail"
    assert get_path(RECORD, "meta.notes.*.text") == ["first", "second"]
    assert get_path(RECORD, "emails.9") is None
    assert get_path(RECORD, "due_at|created_at") == "2024-05-01T10:00:00Z"


def test_apply_builds_the_payload_from_sources_constants_templates_and_custom_fields() -> None:
    rules = [
        r("firstName", source="name", transforms=[{"name": "split_name", "args": {"part": "first"}}]),
        r("email", source="emails.0", transforms=["email"]),
        r("phone", source="phone", transforms=[{"name": "e164", "args": {}}]),
        r("source", constant="Hubstaff"),
        r("companyName", template="{meta.industry} / {name}"),
        r("tags", source="labels", transforms=["to_tags"]),
        r("tags", constant=["hubstaff"]),
        r("customField.contact.industry", source="meta.industry"),
        r("customField.AbC123", source="id"),
    ]
    result = apply(RECORD, rules)
    assert result.ok
    assert result.payload == {
        "firstName": "Jane",
        "email": "jane@example.com",
        "phone": "+14155552671",
        "source": "Hubstaff",
        "companyName": "Retail / Jane Q. Doe",
        "tags": ["vip", "vendor", "hubstaff"],
        "customFields": [
            {"key": "contact.industry", "field_value": "Retail"},
            {"id": "AbC123", "field_value": 7},
        ],
    }


def test_apply_reports_every_problem_of_a_record_not_just_the_first() -> None:
    rules = [
        r("email", constant="not-an-email", transforms=["email"]),
        r("phone", constant="12", transforms=["e164"]),
        r("dateOfBirth", constant="someday", transforms=["date"]),
        r("title", source="missing", required=True),
        r("firstName", source="name"),
    ]
    result = apply(RECORD, rules)
    assert not result.ok
    assert [(p.field, p.rule_index) for p in result.problems] == [
        ("email", 0),
        ("phone", 1),
        ("dateOfBirth", 2),
        ("title", 3),
    ]
    assert result.problems[2].value == "someday"
    assert "not a date we can read" in result.problems[2].reason
    assert result.problems[3].reason == "is required but the record has no value"
    assert result.payload == {"firstName": "Jane Q. Doe"}
    assert "row 3, dateOfBirth: not a date we can read" in result.reasons()


def test_a_default_fills_an_empty_source_before_the_transforms() -> None:
    result = apply(
        RECORD, [r("dueDate", source="due_at", default="2030-01-01", transforms=["datetime"], required=True)]
    )
    assert result.payload == {"dueDate": "2030-01-01T00:00:00Z"}


def test_empty_values_are_not_written_so_a_sync_never_blanks_a_field() -> None:
    result = apply({"name": "  "}, [r("firstName", source="name", transforms=["trim"]), r("city", source="x")])
    assert result.ok and result.payload == {}


def test_a_template_with_only_empty_placeholders_counts_as_empty() -> None:
    result = apply({}, [r("name", template="{first} {last}", required=True)])
    assert [p.reason for p in result.problems] == ["is required but the record has no value"]


def test_bad_rules_and_bad_records_become_problems_not_exceptions() -> None:
    assert apply("not a dict", [r("x", source="a")]).problems[0].reason == "the source record is not an object"
    result = apply(
        RECORD,
        [
            r("email", source="name", constant="x"),
            "junk",
            r("", source="a"),
            r("phone", source="phone", transforms=["shout"]),
        ],
    )
    reasons = [p.reason for p in result.problems]
    assert reasons == [
        "set exactly one of: source field, constant, template",
        "a rule must be an object",
        "the row has no target field",
        "unknown transform 'shout'",
    ]


def test_the_context_sets_the_default_phone_region_and_time_zone() -> None:
    ctx = MappingContext(default_region="DE", timezone="Europe/Berlin")
    result = apply(
        {"p": "030 1234567", "d": "2024-01-15 09:00"},
        [r("phone", source="p", transforms=["e164"]), r("dueDate", source="d", transforms=["datetime"])],
        context=ctx,
    )
    assert result.payload == {"phone": "+49301234567", "dueDate": "2024-01-15T08:00:00Z"}


def test_validate_rules_names_the_row_and_field_of_each_rule_problem() -> None:
    rules = [
        r("title", source="summary"),
        r("title", source="details"),
        r("nonsense", source="x"),
        r("body", source="details", transforms=[{"name": "truncate", "args": {"length": "many"}}, "shout"]),
        r("completed", template="{status"),
    ]
    problems = validate_rules(rules, target_fields=target_fields("task"))
    found = [(p.rule_index, p.field, p.part, p.reason) for p in problems]
    assert (1, "title", "target", "is already mapped in row 1") in found
    assert (2, "nonsense", "target", "is not a known target field") in found
    assert (3, "body", "transforms", "Truncate: Max length must be a whole number, not 'many'") in found
    assert (3, "body", "transforms", "unknown transform 'shout'") in found
    assert (4, "completed", "source", "the template has an unmatched { or }") in found
    assert (
        WHOLE_MAPPING,
        "dueDate",
        "",
        "Due date (ISO, UTC) is required by the target but no row fills it",
    ) in found


def test_validate_rules_wants_some_identity_for_a_contact_and_allows_tags_twice() -> None:
    problems = validate_rules([r("city", source="c")], target_fields=target_fields("contact"))
    assert [p.reason for p in problems] == [
        "map at least one of: First name, Last name, Full name, Email, Phone (E.164)"
    ]
    ok = validate_rules(
        [r("email", source="e"), r("tags", source="a"), r("tags", constant=["x"])],
        target_fields=target_fields("contact"),
    )
    assert ok == []


def test_custom_fields_are_checked_against_the_location_when_they_are_known() -> None:
    fields = target_fields("contact", [{"id": "cf1", "name": "Industry", "fieldKey": "contact.industry"}])
    assert "customField.contact.industry" in [f.path for f in fields]  # the key: stable across locations
    assert "customField.cf2" in [f.path for f in target_fields("contact", [{"id": "cf2", "name": "No key"}])]
    problems = validate_rules([r("email", source="e"), r("customField.zzz", source="x")], target_fields=fields)
    assert [p.reason for p in problems] == ["is not a known target custom field"]
    # without the location's list (not fetched yet) any custom field is accepted
    assert (
        validate_rules(
            [r("email", source="e"), r("customField.zzz", source="x")], target_fields=target_fields("contact")
        )
        == []
    )


def test_content_hash_ignores_key_order_but_not_values() -> None:
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})
    assert len(content_hash({})) == 64


def test_a_rule_set_to_skip_invalid_values_leaves_the_field_out_with_a_warning() -> None:
    rules = [
        r("name", source="name"),
        r("phone", constant="n/a", transforms=["e164"], on_invalid="skip"),
        r("email", constant="bad@", transforms=["email"], on_invalid="skip", required=True),
    ]
    result = apply(RECORD, rules)
    assert result.payload == {"name": "Jane Q. Doe"}
    assert [(p.field, p.rule_index) for p in result.warnings] == [("phone", 1)]
    assert "skipped row 2, phone: not a phone number" in result.warning_text()
    # a required field is never skipped: its bad value fails the record
    assert [(p.field, p.rule_index) for p in result.problems] == [("email", 2)]


def test_validate_rules_refuses_an_unknown_on_invalid_choice() -> None:
    problems = validate_rules([r("email", source="e", on_invalid="ignore")], target_fields=target_fields("contact"))
    assert [p.reason for p in problems] == ["on_invalid must be fail or skip"]
