"""Phones: +, 00 and 011 are international whatever the region; national numbers use the row's region, else the
connection's default; apply() says what each input became (the preview shows it)."""

from __future__ import annotations

import pytest

from contacts_sync.mapping import MappingContext, TransformError, apply
from contacts_sync.mapping.phones import read_phone, region_for_country
from contacts_sync.mapping.transforms import run_transform

# Real public numbers (parliaments, city halls): libphonenumber knows them as valid.
BUNDESTAG = "+49302270"
MUNICH_CITY = "+498923300"
TORONTO_CITY_HALL = "+14163922489"
VANCOUVER_CITY_HALL = "+16048737000"
SWISS_ADMIN = "+41584622111"
UK_PARLIAMENT = "+442072193000"
WHITE_HOUSE = "+12024561111"
SHEFFIELD = "+441142734567"

US, DE, CH, CA, GB = (MappingContext(default_region=r) for r in ("US", "DE", "CH", "CA", "GB"))


def e164(value: object, ctx: MappingContext = US, region: str | None = None) -> object:
    return run_transform("e164", value, {"region": region} if region else {}, ctx)


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("+49 30 227-0", BUNDESTAG),
        ("+49 (0)30 2270", BUNDESTAG),  # the "(0)" trunk hint Germans write after the country code
        ("0049 30 2270", BUNDESTAG),
        ("0049 (0)30 227 0", BUNDESTAG),
        ("011 49 30 2270", BUNDESTAG),
        ("011-49-89-233-00", MUNICH_CITY),
        ("+49.89.23300", MUNICH_CITY),
        ("+1 (416) 392-2489", TORONTO_CITY_HALL),
        ("001 604 873 7000", VANCOUVER_CITY_HALL),
        ("+41 58 462 21 11", SWISS_ADMIN),
        ("0041 (0)58 462 21 11", SWISS_ADMIN),
        ("011 41 58 462 21 11", SWISS_ADMIN),
        ("+44 20 7219 3000", UK_PARLIAMENT),
        ("00 44 20 7219 3000", UK_PARLIAMENT),
        ("+1 202 456 1111", WHITE_HOUSE),
        ("+12024561111", WHITE_HOUSE),
    ],
)
@pytest.mark.parametrize("ctx", [US, DE, CH, CA, GB], ids=lambda c: c.default_region)
def test_international_prefixes_are_international_whatever_the_region(
    spelling: str, expected: str, ctx: MappingContext
) -> None:
    assert e164(spelling, ctx) == expected


@pytest.mark.parametrize(
    ("spelling", "ctx", "expected"),
    [
        ("030 2270", DE, BUNDESTAG),
        ("030/227-0", DE, BUNDESTAG),
        ("(030) 22 70", DE, BUNDESTAG),
        ("089.233.00", DE, MUNICH_CITY),
        ("058 462 21 11", CH, SWISS_ADMIN),
        ("058/462.21.11", CH, SWISS_ADMIN),
        ("(416) 392-2489", CA, TORONTO_CITY_HALL),
        ("416.392.2489", US, TORONTO_CITY_HALL),  # NANP: a Canadian number read in the US is the same number
        ("604-873-7000", CA, VANCOUVER_CITY_HALL),
        ("1 604 873 7000", CA, VANCOUVER_CITY_HALL),
        ("020 7219 3000", GB, UK_PARLIAMENT),
        ("0114 273 4567", GB, SHEFFIELD),  # a UK area code starting 011 stays national in GB
        ("(202) 456-1111", US, WHITE_HOUSE),
        ("202.456.1111", US, WHITE_HOUSE),
        ("1-202-456-1111", US, WHITE_HOUSE),
        (2024561111, US, WHITE_HOUSE),
    ],
)
def test_national_numbers_are_read_in_the_connection_default_region(
    spelling: object, ctx: MappingContext, expected: str
) -> None:
    assert e164(spelling, ctx) == expected


def test_the_row_region_wins_over_the_connection_default() -> None:
    assert e164("030 2270", US, region="DE") == BUNDESTAG
    assert e164("058 462 21 11", DE, region="CH") == SWISS_ADMIN
    with pytest.raises(TransformError, match="for region US"):
        e164("030 2270", US)  # the same number in the US default is not a number


def test_extensions_are_dropped_and_the_reading_says_so() -> None:
    assert e164("(202) 456-1111 ext. 12") == WHITE_HOUSE
    assert e164("202-456-1111 x12") == WHITE_HOUSE
    reading = read_phone("+1 202 456 1111;ext=3", row_region=None, default_region="US")
    assert reading is not None and reading.extension == "3"
    assert "extension 3 dropped" in reading.how


@pytest.mark.parametrize(
    ("junk", "reason"),
    [
        ("n/a", "not a phone number"),
        ("call me maybe", "not a phone number"),
        ("12345", "not a valid phone number for region US"),
        ("+1 555", "not a valid international phone number"),
        ("0049 12", "not a valid international phone number"),
        ("+" + "9" * 400, "not a phone number"),
        ("☎️ +49 30", "not a valid"),
    ],
)
def test_junk_is_a_transform_error_with_a_reason(junk: str, reason: str) -> None:
    with pytest.raises(TransformError, match=reason.replace("+", r"\+")):
        e164(junk)


def test_wrong_types_are_refused_and_empty_values_are_no_value() -> None:
    for value in (True, 3.5, ["+49302270"], {"n": 1}):
        with pytest.raises(TransformError, match="expected a phone number"):
            e164(value)
    assert e164(None) is None and e164("   ") is None


def test_without_a_usable_default_region_only_international_numbers_are_read() -> None:
    nowhere = MappingContext(default_region="ZZ")
    assert e164("0049 30 2270", nowhere) == BUNDESTAG
    with pytest.raises(TransformError, match="no default region"):
        e164("030 2270", nowhere)


def test_a_location_country_becomes_the_default_region() -> None:
    assert region_for_country("de") == "DE"
    assert region_for_country(" US ") == "US"
    assert region_for_country("UK") == "GB"
    assert region_for_country("Narnia") is None
    assert region_for_country(None) is None


def _rule(target: str, source: str, **args: object) -> dict:
    return {
        "source": source,
        "target": target,
        "transforms": [{"name": "e164", "args": args}],
        "on_invalid": "skip",
    }


def test_apply_notes_what_each_phone_input_became_for_the_preview() -> None:
    record = {
        "office": "0049 (0)30 227-0",
        "mobile": "n/a",
        "home": "058 462 21 11",
        "fax": "(202) 456-1111 x7",
    }
    rules = [
        _rule("phone", "office"),
        _rule("customField.contact.mobile", "mobile"),
        _rule("customField.contact.home", "home", region="CH"),
        _rule("customField.contact.fax", "fax"),
    ]
    result = apply(record, rules, context=MappingContext(default_region="US", target_object="contact"))
    notes = [(n.field, n.input, n.output, n.rule_index) for n in result.phones]
    assert notes == [
        ("phone", "0049 (0)30 227-0", BUNDESTAG, 0),
        ("customField.contact.mobile", "n/a", None, 1),
        ("customField.contact.home", "058 462 21 11", SWISS_ADMIN, 2),
        ("customField.contact.fax", "(202) 456-1111 x7", WHITE_HOUSE, 3),
    ]
    hows = [n.how for n in result.phones]
    assert hows[0] == "international (00 prefix)"
    assert hows[1].startswith("not a phone number")
    assert hows[2] == "national, read as CH (the row's region)"
    assert hows[3] == "national, read as US (the connection's default region); extension 7 dropped (E.164 has none)"
    assert result.payload["phone"] == BUNDESTAG
    assert [w.field for w in result.warnings] == ["customField.contact.mobile"]  # left out, the record still goes
    assert result.ok
