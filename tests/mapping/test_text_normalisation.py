"""Every string written to a target field is cleaned (control characters, surrounding space), kept on one line
unless the target keeps line breaks, and cut to the field's limit with a warning; tags are de-duplicated."""

from __future__ import annotations

from contacts_sync.mapping import WARN_CLEANED, WARN_CUT, WARN_SKIPPED, MappingContext, apply
from contacts_sync.mapping.targets import GHL_FIELDS, NAME_PART_MAX, NOTE_BODY_MAX, TAG_MAX, target_fields
from contacts_sync.mapping.text import clean_text, cut

CONTACT = MappingContext(target_object="contact")
TASK = MappingContext(target_object="task")
NOTE = MappingContext(target_object="note")


def r(target: str, **kw: object) -> dict:
    return {"source": None, "constant": None, "template": None, "target": target, "transforms": [], **kw}


def test_control_and_invisible_characters_go_and_single_line_fields_become_one_line() -> None:
    record = {"first": "\ufeff Jane\x00\u200b \t\r\n Q.\x07 ", "last": "Doe\u00ad\u202e\ue000"}
    result = apply(record, [r("firstName", source="first"), r("lastName", source="last")], context=CONTACT)
    assert result.payload == {"firstName": "Jane Q.", "lastName": "Doe"}
    assert [(w.field, w.kind, w.reason) for w in result.warnings] == [
        ("firstName", WARN_CLEANED, "removed 4 control or invisible characters"),
        ("lastName", WARN_CLEANED, "removed 3 control or invisible characters"),
    ]
    assert result.ok


def test_note_and_task_bodies_keep_line_breaks_and_tabs_but_lose_the_rest() -> None:
    body = "  Call back\r\nre: invoice\x00\n\tline 3\u2028line 4   \n\n"
    note = apply({"b": body}, [r("body", source="b")], context=NOTE)
    assert note.payload == {"body": "Call back\nre: invoice\n\tline 3\nline 4"}
    task = apply({"t": "Title\nwith\tbreak", "b": body}, [r("title", source="t"), r("body", source="b")], context=TASK)
    assert task.payload == {"title": "Title with break", "body": "Call back\nre: invoice\n\tline 3\nline 4"}


def test_a_value_longer_than_the_field_is_cut_with_a_warning_naming_both_lengths() -> None:
    result = apply({"n": "x" * 5000}, [r("firstName", source="n")], context=CONTACT)
    assert result.ok and result.payload == {"firstName": "x" * NAME_PART_MAX}
    (warning,) = result.warnings
    assert (warning.kind, warning.rule_index) == (WARN_CUT, 0)
    assert warning.reason == f"firstName cut from 5,000 to {NAME_PART_MAX} characters"
    assert f"row 1, firstName: firstName cut from 5,000 to {NAME_PART_MAX} characters" in result.warning_text()
    assert "skipped" not in result.warning_text()


def test_a_note_body_is_cut_at_the_limit_the_ghl_spec_states() -> None:
    result = apply({"b": "line\n" * 3000}, [r("body", source="b")], context=NOTE)
    assert len(result.payload["body"]) <= NOTE_BODY_MAX == 5000
    assert [w.kind for w in result.warnings] == [WARN_CUT]


def test_cutting_never_splits_an_accent_or_an_emoji() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert cut("ab" + family, 4) == "ab"
    assert cut("e\u0301" * 5, 5) == "e\u0301e\u0301"
    assert cut("Zo\u00eb M\u00fcller", 100) == "Zo\u00eb M\u00fcller"
    result = apply({"n": "\u00e9" * 99 + family}, [r("firstName", source="n")], context=CONTACT)
    assert result.payload["firstName"] == "\u00e9" * 99


def test_an_email_or_id_too_long_is_refused_not_cut_and_skip_rows_leave_it_out() -> None:
    long_email = "a" * 300 + "@example.com"
    result = apply({"e": long_email, "n": "Jane"}, [r("email", source="e"), r("name", source="n")], context=CONTACT)
    assert not result.ok
    assert [(p.field, p.rule_index) for p in result.problems] == [("email", 0)]
    assert "at most 254" in result.problems[0].reason
    skip = apply(
        {"u": "u" * 80, "n": "Jane"},
        [r("assignedTo", source="u", on_invalid="skip"), r("name", source="n")],
        context=CONTACT,
    )
    assert skip.ok and skip.payload == {"name": "Jane"}
    assert [(w.field, w.kind) for w in skip.warnings] == [("assignedTo", WARN_SKIPPED)]


def test_tags_drop_empty_entries_and_duplicates_differing_in_case_or_space_across_rows() -> None:
    record = {
        "labels": [" VIP", "vip ", "", None, "  ", "Gold\x00", "gold", "x" * 500],
        "more": ["Vip", "new"],
    }
    result = apply(
        record,
        [r("email", constant="a@example.com"), r("tags", source="labels"), r("tags", source="more")],
        context=CONTACT,
    )
    assert result.payload["tags"] == ["VIP", "Gold", "x" * TAG_MAX, "new"]
    kinds = sorted(w.kind for w in result.warnings)
    assert kinds == [WARN_CLEANED, WARN_CUT]


def test_numbers_written_to_text_fields_become_text_and_a_text_of_only_junk_is_no_value() -> None:
    result = apply(
        {"zip": 10115, "name": "\x00\x01\u200b", "e": "a@example.com"},
        [r("postalCode", source="zip"), r("name", source="name", required=True), r("email", source="e")],
        context=CONTACT,
    )
    assert result.payload == {"postalCode": "10115", "email": "a@example.com"}
    assert [(p.field, p.reason) for p in result.problems] == [("name", "is required but the record has no value")]


def test_without_a_known_target_text_is_cleaned_but_never_cut() -> None:
    result = apply({"n": " a\x00b\nc " + "x" * 6000}, [r("firstName", source="n")])
    assert result.payload["firstName"] == "ab\nc " + "x" * 6000
    assert [w.kind for w in result.warnings] == []


def test_every_ghl_text_field_has_a_limit_and_only_bodies_are_multi_line() -> None:
    for kind, fields in GHL_FIELDS.items():
        for field in fields:
            if field.type not in ("bool", "number"):
                assert field.max_length, f"{kind}.{field.path} has no max_length"
    multiline = {(k, f.path) for k, fs in GHL_FIELDS.items() for f in fs if f.multiline}
    assert multiline == {
        ("contact", "note"),
        ("task", "body"),
        ("note", "body"),
        ("appointment", "notes"),
        ("business", "description"),
    }
    assert all(f.max_length for f in target_fields("task", provider="hubstaff") if f.type in ("string", "text"))


def test_clean_text_counts_only_what_it_removed() -> None:
    assert clean_text("plain text", multiline=False) == ("plain text", 0)
    assert clean_text("a\x1fb", multiline=False) == ("a b", 0)  # a unit separator separates words
    assert clean_text("\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", multiline=False)[1] == 0
