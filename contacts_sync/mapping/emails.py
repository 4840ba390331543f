"""Email validation with a memory: an address is checked once per worker process, whichever check asks.

The email transform and the GHL write-schema check both validate with email-validator (no DNS). It is the
costliest step of mapping a contact (bench/fleet.py profile), and a fleet's polls map the same addresses again
on every run; the answers are pure functions of the text, so they are remembered.
"""

from __future__ import annotations

from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

# Addresses remembered per process (about 200 bytes each): the contacts of a few busy locations.
CACHE_SIZE = 20_000

_known_valid: dict[str, None] = {}


@lru_cache(maxsize=CACHE_SIZE)
def _check(text: str) -> tuple[str | None, str]:
    try:
        # No DNS: a sync must not depend on (or leak to) the resolver; deliverability is the target's business.
        return validate_email(text, check_deliverability=False).normalized, ""
    except EmailNotValidError as exc:
        return None, str(exc)


def email_normalized(text: str) -> str:
    """email-validator's normalized form of `text`; raises EmailNotValidError (with its message)."""
    normalized, error = _check(text)
    if normalized is None:
        raise EmailNotValidError(error)
    return normalized


def remember_valid(text: str) -> None:
    """`text` was derived from a validated address in a way that keeps it valid (ASCII lowercasing only)."""
    if len(_known_valid) >= CACHE_SIZE:
        _known_valid.clear()
    _known_valid[text] = None


def email_valid(text: str) -> bool:
    """True, or EmailNotValidError."""
    if text in _known_valid:
        return True
    email_normalized(text)
    return True
