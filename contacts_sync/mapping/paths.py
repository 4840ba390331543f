"""Dotted source paths: `emails.0`, `metadata.industry`, `emails[0]`, `labels.*.name`, `due_at|created_at`.

- a number indexes a list (negative counts from the end);
- `*` maps the rest of the path over every item of a list;
- `a|b` tries each alternative and takes the first that is not empty.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Paths come from mapping rules (a few dozen per deployment) and are read for every record: parse each once.
PATH_CACHE_SIZE = 4096
_BRACKETS = re.compile(r"\[(-?\d+|\*)\]")
# An alternative must look like a path: letters, digits, _, -, $, @, dots, brackets, '*'.
_VALID = re.compile(r"^[\w$@\- ]+(?:\.[\w$@\- *]+)*$")


@lru_cache(maxsize=PATH_CACHE_SIZE)
def split_path(path: str) -> tuple[str, ...]:
    normalised = _BRACKETS.sub(r".\1", path.strip())
    return tuple(part for part in normalised.split(".") if part != "")


def path_problem(path: Any) -> str | None:
    """Why a source path cannot be used, or None when it is fine."""
    if not isinstance(path, str):
        return "the source path is empty"
    return _path_problem(path)


@lru_cache(maxsize=PATH_CACHE_SIZE)
def _path_problem(path: str) -> str | None:
    if not path.strip():
        return "the source path is empty"
    for alternative in path.split("|"):
        normalised = _BRACKETS.sub(r".\1", alternative.strip())
        if not normalised or not _VALID.match(normalised):
            return f"{alternative.strip() or '(empty)'!r} is not a dotted path like emails.0 or metadata.industry"
    return None


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "") or value in ([], {})


def _get(value: Any, parts: tuple[str, ...]) -> Any:
    for i, part in enumerate(parts):
        if value is None:
            return None
        if part == "*":
            if not isinstance(value, list | tuple):
                return None
            rest = parts[i + 1 :]
            found = [_get(item, rest) for item in value]
            return [item for item in found if item is not None]
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list | tuple):
            try:
                index = int(part)
            except ValueError:
                return None
            if not -len(value) <= index < len(value):
                return None
            value = value[index]
        else:
            return None
    return value


def get_path(record: Any, path: str) -> Any:
    """The value at `path` in `record`, or None when any step is missing."""
    for alternative in path.split("|"):
        value = _get(record, split_path(alternative))
        if not is_empty(value):
            return value
    return None
