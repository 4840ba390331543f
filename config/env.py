"""Reading settings from the environment with one clear line on bad input.

django-environ does the parsing; this module turns its errors (and ours) into a single line that names
the variable and the form it expects, instead of a traceback wall.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import NoReturn

import environ


class ConfigError(SystemExit):
    """Raised for a missing or malformed environment variable; exits with one line on stderr."""

    def __init__(self, variable: str, expected: str, got: str | None = None) -> None:
        shown = "" if got is None else f" (got {got!r})"
        message = f"configuration error: {variable} {expected}{shown}"
        super().__init__(message)
        self.variable = variable


def fail(variable: str, expected: str, got: str | None = None) -> NoReturn:
    raise ConfigError(variable, expected, got)


def install_excepthook() -> None:
    """Print ConfigError as one line even where Django's command runner would show a traceback."""
    previous = sys.excepthook

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if isinstance(exc, ConfigError):
            print(str(exc.code), file=sys.stderr)  # noqa: T201
            return
        previous(exc_type, exc, tb)

    sys.excepthook = hook


env = environ.Env()


def read_bool(name: str, default: bool) -> bool:
    raw = env.str(name, default=None)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    fail(name, "must be true or false", raw)


def is_fernet_key(raw: str) -> bool:
    """A Fernet key: 32 bytes, url-safe base64 (what Fernet.generate_key() prints)."""
    from cryptography.fernet import Fernet

    try:
        Fernet(raw.encode())
    except (ValueError, TypeError):
        return False
    return True


def read_int(name: str, default: int) -> int:
    raw = env.str(name, default=None)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        fail(name, "must be an integer", raw)
