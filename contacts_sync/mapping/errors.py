"""The one error type the mapping engine raises for bad data or bad rules."""

from __future__ import annotations

from typing import Any


class MappingError(ValueError):
    """Base class: a value or a rule the mapping cannot handle. Never a programming error."""


class TransformError(MappingError):
    """A transform refused its input (the validation error type every transform may raise)."""

    def __init__(self, reason: str, value: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.value = value
