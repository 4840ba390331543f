"""Email validation is remembered per process; the answers stay those of email-validator."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email

from contacts_sync.mapping.emails import email_normalized, email_valid, remember_valid


@pytest.mark.parametrize("text", ["Jane.Doe@Example.COM", "jörg@bücher.example", "x@sub.example.org"])
def test_a_remembered_answer_is_email_validators_answer(text: str) -> None:
    expected = validate_email(text, check_deliverability=False).normalized
    assert email_normalized(text) == expected
    assert email_normalized(text) == expected  # the second time from memory, the same


@pytest.mark.parametrize("text", ["not-an-email", "a@b", "two@@example.com", "dot.@example.com"])
def test_an_invalid_address_is_refused_every_time_with_the_librarys_reason(text: str) -> None:
    with pytest.raises(EmailNotValidError) as first:
        email_normalized(text)
    with pytest.raises(EmailNotValidError) as second:
        email_normalized(text)
    assert str(first.value) == str(second.value) != ""
    with pytest.raises(EmailNotValidError):
        email_valid(text)


def test_only_addresses_derived_from_a_valid_one_skip_the_check() -> None:
    remember_valid("jane.doe@example.com")
    assert email_valid("jane.doe@example.com")
    with pytest.raises(EmailNotValidError):
        email_valid("jane doe@example.com")  # never remembered: checked, and refused
