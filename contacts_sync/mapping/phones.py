"""Phone numbers to E.164 with libphonenumber, saying how each was read (the preview shows it).

- `+49 ...`, `0049 ...` and `011 49 ...` are international whatever the region: `00` is the international
  prefix of most of the world, `011` that of the US and Canada, and a source app's export mixes both.
- Anything else is a national number of a region: the mapping row's own (the e164 transform's `region`), else
  the connection's default (MappingContext.default_region, from the GHL location's country when connected).
- An extension (`ext. 12`, `x12`) cannot be written in E.164; it is dropped and the reading says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import CountryCodeSource

from .errors import TransformError

# International call prefixes read as "+" whatever the region: 00 (ITU recommendation, most countries) and 011
# (North American Numbering Plan). A region's other prefixes (Australia's 0011 ...) are left to libphonenumber.
INTERNATIONAL_PREFIXES = ("00", "011")
# Longer inputs are not phone numbers (libphonenumber itself refuses more than 250 characters).
PHONE_INPUT_MAX = 250
# Country names some location settings hold instead of a code.
_REGION_ALIASES = {"UK": "GB", "USA": "US", "UNITED STATES": "US", "GERMANY": "DE", "DEUTSCHLAND": "DE"}


@dataclass(frozen=True)
class PhoneReading:
    e164: str
    how: str  # "international (+)", "international (00 prefix)", "national, read as DE (the row's region)"
    extension: str = ""  # dropped from the output; E.164 has no extensions


def region_for_country(country: Any) -> str | None:
    """A GHL location's country (`US`, `de`, `UK`) as a phone region, None when it is not one libphonenumber knows.

    For the connection's default region: take it from GET /locations/{id} `location.country` when connected."""
    if not isinstance(country, str):
        return None
    code = country.strip().upper()
    code = _REGION_ALIASES.get(code, code)
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


def _international_form(text: str) -> str | None:
    """`0049 30 ...` / `011 49 30 ...` / `(00 49) ...` as `+49 30 ...`; None when there is no such prefix."""
    rest = text.lstrip(" (.-/")
    for prefix in sorted(INTERNATIONAL_PREFIXES, key=len, reverse=True):
        if rest.startswith(prefix):
            return "+" + rest[len(prefix) :]
    return None


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _idd(text: str, number: phonenumbers.PhoneNumber) -> str:
    """The international prefix as written ("00", "011", "0011") before the country code."""
    digits = "".join(ch for ch in text if ch.isdigit())
    at = digits.find(str(number.country_code))
    return digits[:at] if at > 0 else "00"


def read_phone(value: Any, *, row_region: str | None, default_region: str | None) -> PhoneReading | None:
    """The E.164 form of `value` and how it was read; None for an empty value; TransformError when it is not a
    valid number (the reason names the region tried).

    The region's own reading comes first: it knows that region's international prefix (Australia's 0011) and its
    national numbers that happen to start with 011 (Sheffield 0114, Delhi 011). Only when that reading is not a
    valid number is a 00 or 011 prefix taken as international."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TransformError(f"expected a phone number, got a {type(value).__name__}", value)
    text = str(value).strip()
    if not text:
        return None
    if len(text) > PHONE_INPUT_MAX:
        raise TransformError(f"not a phone number ({len(text):,} characters long)", value)
    region = region_for_country(row_region) if row_region else None
    source = "the row's region"
    if region is None:
        region, source = region_for_country(default_region), "the connection's default region"
    plus = text.lstrip(" (").startswith("+")
    number = _parse(text, None if plus else region) if (plus or region) else None
    if number is not None and plus:
        how = "international (+)"
    elif number is not None and number.country_code_source == CountryCodeSource.FROM_NUMBER_WITH_IDD:
        how = f"international ({_idd(text, number)} prefix)"
    elif number is not None:
        how = f"national, read as {region} ({source})"
    elif not plus and (international := _international_form(text)) is not None:
        number = _parse(international, None)
        how = f"international ({_idd(text, number)} prefix)" if number is not None else ""
    if number is None:
        raise TransformError(_why_not(text, plus, region), value)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    extension = number.extension or ""
    if extension:
        how += f"; extension {extension} dropped (E.164 has none)"
    return PhoneReading(e164, how, extension)


def _why_not(text: str, plus: bool, region: str | None) -> str:
    if plus or _international_form(text) is not None:
        return "not a valid international phone number"
    if region is None:
        return "not a valid phone number, and no default region to read a national number in"
    try:
        phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        return f"not a phone number ({exc._msg})"
    return f"not a valid phone number for region {region}"
