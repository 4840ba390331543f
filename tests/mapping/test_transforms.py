from __future__ import annotations

import pytest

from contacts_sync.mapping import MappingContext, MappingError, TransformError
from contacts_sync.mapping.transforms import REGISTRY, format_map_text, parse_map_text, run_transform

BERLIN = MappingContext(default_region="DE", timezone="Europe/Berlin")


def t(name: str, value: object, args: dict | None = None, ctx: MappingContext | None = None) -> object:
    return run_transform(name, value, args or {}, ctx or MappingContext())


def test_trim_collapses_inner_spaces_and_handles_lists() -> None:
    assert t("trim", "  Jane   Doe \n") == "Jane Doe"
    assert t("trim", ["  a ", "b  "]) == ["a", "b"]
    assert t("trim", "  a  b ", {"collapse": "false"}) == "a  b"
    assert t("trim", " Email:  x \n Phone:   y ") == "Email: x\nPhone: y"  # line breaks are kept


def test_case_transforms_change_only_the_case() -> None:
    assert t("lower", "JaNe") == "jane"
    assert t("upper", "de") == "DE"
    assert t("title", "jANE mcDOE") == "Jane Mcdoe"


def test_split_name_understands_first_last_and_last_comma_first() -> None:
    assert t("split_name", "Jane Q. Doe", {"part": "first"}) == "Jane"
    assert t("split_name", "Jane Q. Doe", {"part": "last"}) == "Q. Doe"
    assert t("split_name", "Doe, Jane", {"part": "first"}) == "Jane"
    assert t("split_name", "Doe, Jane", {"part": "last"}) == "Doe"
    assert t("split_name", "Cher", {"part": "last"}) is None


def test_join_skips_empty_parts() -> None:
    assert t("join", ["Jane", "", None, "Doe"]) == "Jane Doe"
    assert t("join", ["a", "b"], {"separator": ", "}) == "a, b"


def test_phone_numbers_come_out_in_e164_using_the_default_region() -> None:
    assert t("e164", "(415) 555-2671") == "+14155552671"
    assert t("e164", "030 1234567", ctx=BERLIN) == "+49301234567"
    assert t("e164", "030 1234567", {"region": "DE"}) == "+49301234567"
    assert t("e164", "+44 20 7946 0958") == "+442079460958"


def test_a_phone_number_that_is_not_valid_is_a_transform_error() -> None:
    with pytest.raises(TransformError, match="not a valid phone number for region US"):
        t("e164", "555-0000")
    with pytest.raises(TransformError, match="not a phone number"):
        t("e164", "call me maybe")


def test_emails_are_normalised_and_checked_without_dns() -> None:
    assert t("email", "  Jane.Doe@Example.COM ") == "jane.doe@example.com"
    assert t("email", "Jane@Example.com", {"lowercase": False}) == "Jane@example.com"
    with pytest.raises(TransformError, match="not a valid email address"):
        t("email", "jane@@example")
    # a domain that cannot exist still passes: deliverability (DNS) is not checked
    assert t("email", "x@no-such-domain-for-sure.invalid-tld") == "x@no-such-domain-for-sure.invalid-tld"


def test_datetimes_come_out_as_ghl_iso_utc_without_milliseconds() -> None:
    assert t("datetime", "2024-05-01 13:00", ctx=BERLIN) == "2024-05-01T11:00:00Z"
    assert t("datetime", "2024-05-01T13:00:00.123+02:00") == "2024-05-01T11:00:00Z"
    assert t("datetime", "2024-05-01T13:00:00.123+02:00", {"output": "iso_ms"}) == "2024-05-01T11:00:00.123Z"
    assert t("datetime", 1714561200) == "2024-05-01T11:00:00Z"
    assert t("datetime", 1714561200000) == "2024-05-01T11:00:00Z"
    assert t("datetime", "2024-05-01T11:00:00Z", {"output": "epoch_ms"}) == 1714561200000


def test_dates_come_out_as_yyyy_mm_dd_and_day_first_is_an_option() -> None:
    assert t("date", "03/04/2024") == "2024-03-04"
    assert t("date", "03/04/2024", {"dayfirst": True}) == "2024-04-03"
    assert t("date", "1990-12-31") == "1990-12-31"


def test_an_unparsable_date_is_a_transform_error_naming_the_problem() -> None:
    with pytest.raises(TransformError, match="not a date we can read"):
        t("date", "next tuesday-ish")
    with pytest.raises(TransformError):
        t("datetime", {"year": 2024})


def test_value_map_maps_known_values_and_follows_the_otherwise_option() -> None:
    args = {"map": "completed = true\nactive = false"}
    assert t("value_map", "Completed", args) is True
    assert t("value_map", "active", args) is False
    assert t("value_map", "archived", args) == "archived"
    assert t("value_map", "archived", {**args, "otherwise": "empty"}) is None
    with pytest.raises(TransformError, match="'archived' is not in the value map"):
        t("value_map", "archived", {**args, "otherwise": "error"})


def test_value_map_text_round_trips() -> None:
    mapping = {"completed": True, "active": False, "x": "y z", "n": 3}
    assert parse_map_text(format_map_text(mapping)) == mapping
    assert parse_map_text('{"a": 1}') == {"a": 1}
    with pytest.raises(MappingError, match="line 1 needs 'from = to'"):
        parse_map_text("nonsense")


def test_equals_gives_a_boolean() -> None:
    assert t("equals", "completed", {"value": "completed"}) is True
    assert t("equals", "active", {"value": "completed"}) is False
    assert t("equals", None, {"value": "completed"}) is False


def test_lists_become_clean_unique_tags() -> None:
    assert t("to_tags", ["VIP", " vip ", "Vendor", None]) == ["VIP", "vip", "Vendor"]
    assert t("to_tags", "a, b,,a", {"lowercase": True, "prefix": "ug:"}) == ["ug:a", "ug:b"]
    assert t("to_tags", [{"name": "Critical"}]) == ["Critical"]


def test_html_becomes_readable_text_for_notes() -> None:
    html = "<p>Hello <b>Jane</b>,</p><ul><li>one</li><li>two &amp; three</li></ul><script>x()</script>"
    assert t("html_to_text", html) == "Hello Jane,\n\n- one\n\n- two & three"


def test_truncate_cuts_to_the_length_with_an_optional_ellipsis() -> None:
    assert t("truncate", "abcdef", {"length": 3}) == "abc"
    assert t("truncate", "abcdef", {"length": 3, "ellipsis": True}) == "ab…"
    assert t("truncate", "ab", {"length": 3}) == "ab"


def test_unknown_transforms_and_bad_options_are_mapping_errors() -> None:
    with pytest.raises(MappingError, match="unknown transform 'shout'"):
        t("shout", "x")
    with pytest.raises(MappingError, match="Default country 'XX' is not a two-letter country code"):
        t("e164", "1", {"region": "XX"})
    with pytest.raises(MappingError, match=r"from = to .* is required"):
        t("value_map", "x", {})


def test_every_transform_passes_none_through_or_gives_a_boolean() -> None:
    for name in REGISTRY:
        args = {"map": "a = b"} if name == "value_map" else {"value": "x"} if name == "equals" else {}
        assert t(name, None, args) in (None, False)


def test_key_value_metadata_becomes_key_colon_value_tags():
    from contacts_sync.mapping import apply

    rules = [{"source": "metadata", "target": "tags", "transforms": [{"name": "to_tags", "args": {}}]}]
    assert apply({"metadata": {"tier": "gold", "industry": "Retail", "empty": ""}}, rules).payload["tags"] == [
        "tier:gold",
        "industry:Retail",
    ]
    listed = {"metadata": [{"key": "tier", "value": "gold"}, {"key": "gone", "value": None}]}
    assert apply(listed, rules).payload["tags"] == ["tier:gold"]


def test_to_tags_leaves_out_the_excluded_tags_in_any_case():
    assert t("to_tags", ["VIP", "UpGuard", "gdpr", " upguard "], {"exclude": "upguard, GDPR"}) == ["VIP"]
    assert t("to_tags", ["upguard"], {"exclude": "upguard"}) == []


def test_the_hubstaff_client_default_mapping_turns_metadata_into_contact_tags():
    from contacts_sync.mapping import apply
    from contacts_sync.sync.recipes import default_rules

    rules = default_rules("hubstaff", "contact", "ghl", "contact")
    client = {"id": 7, "name": "Acme GmbH", "emails": ["a@acme.example"], "metadata": {"tier": "silver"}}
    result = apply(client, rules)
    assert result.ok, result.problems
    assert result.payload["tags"] == ["tier:silver"]
    assert "tags" not in apply({**client, "metadata": {}}, rules).payload
