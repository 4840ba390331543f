"""The preview partial shows what each phone became and tells a cut text from a value left out.

Rendered from a real apply() result; the view passes `phones` once the preview rows carry them (see the report
of the mapping branch: PreviewRow.phones = result.phones)."""

from __future__ import annotations

from django.template.loader import render_to_string

from contacts_sync.mapping import MappingContext, apply


def _rows(result: object) -> list[dict]:
    return [
        {
            "source_id": "42",
            "problems": result.problems,
            "warnings": result.warnings,
            "phones": result.phones,
            "source_json": "{}",
            "payload_json": "{}",
        }
    ]


def test_the_preview_shows_each_phone_input_and_what_it_became() -> None:
    rules = [
        {"source": "name", "target": "firstName", "transforms": []},
        {
            "source": "office",
            "target": "phone",
            "transforms": [{"name": "e164", "args": {}}],
            "on_invalid": "skip",
        },
        {"source": "fax", "target": "customField.contact.fax", "transforms": ["e164"], "on_invalid": "skip"},
    ]
    record = {"name": "J" * 500, "office": "0049 (0)30 227-0", "fax": "n/a"}
    result = apply(record, rules, context=MappingContext(default_region="US", target_object="contact"))
    html = render_to_string(
        "mappings/edit.html#preview", {"preview": True, "rows": _rows(result), "sample_problems": []}
    )
    assert "0049 (0)30 227-0</code> &rarr; <code>+49302270</code> (international (00 prefix))" in html
    assert "customField.contact.fax: <code>n/a</code> &rarr; not written (not a phone number" in html
    assert "Row 1, firstName: firstName cut from 500 to 100 characters" in html
    assert "firstName left out" not in html
    assert "Row 3, customField.contact.fax left out: not a phone number" in html
