"""Text the way a target field keeps it: every string written is cleaned here, after the rule's transforms.

- Control characters (Unicode Cc) go, NUL included (PostgreSQL's JSONB cannot even store it). So do invisible
  format characters (Cf: BOM, soft hyphen, bidi overrides, zero-width space), surrogates (Cs: not encodable in
  UTF-8) and private-use characters (Co: no meaning outside the app that made them). Kept: ZWJ and ZWNJ (they
  are part of emoji sequences and of Persian and Indic words) and the tag characters of subdivision flags.
- Line breaks (CR LF, CR, U+2028 ...) become "\n" and, with tabs, stay only in multi-line fields (note and task
  bodies); in single-line fields every whitespace run, line breaks included, becomes one space.
- Surrounding whitespace goes.
- A text longer than the field keeps is cut at a grapheme boundary (an accent or an emoji is never split).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import regex

# Characters removed: control, format, surrogate and private-use, minus the few that carry meaning.
_DROP = regex.compile(r"[[\p{Cc}\p{Cf}\p{Cs}\p{Co}]--[\t\n\u200c\u200d\U000E0020-\U000E007F]]", regex.V1)
# Line breaks of every convention (CR LF first so it becomes one break).
_BREAKS = regex.compile(r"\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
# The ASCII information separators (file, group, record, unit) separate words: they become spaces.
_SEPARATORS = regex.compile(r"[\x1c-\x1f]")
_GRAPHEME = regex.compile(r"\X")


@dataclass
class Cleaned:
    """A cleaned value and what changed on the way (each note is a warning on the run item)."""

    value: Any
    notes: list[tuple[str, str]] = field(default_factory=list)  # (warning kind, text)
    refused: str = ""  # why the value cannot be written at all (too long for a field that must not be cut)


def clean_text(text: str, *, multiline: bool) -> tuple[str, int]:
    """(the cleaned text, how many control/invisible characters were removed; whitespace is not counted)."""
    if text.isascii() and text.isprintable():
        # fast path, most values: no line break, separator, tab or invisible character; only spaces to tidy
        return (text.strip() if multiline else " ".join(text.split())), 0
    text = _SEPARATORS.sub(" ", _BREAKS.sub("\n", text))
    if not multiline:
        text = text.replace("\t", " ").replace("\n", " ")
    removed = 0
    if not text.isprintable():  # fast path: most values have nothing to drop
        kept = _DROP.sub("", text)
        removed = len(text) - len(kept)
        text = kept
    if multiline:
        lines = [line.rstrip() for line in text.split("\n")]
        return "\n".join(lines).strip(), removed
    return " ".join(text.split()), removed


def cut(text: str, limit: int) -> str:
    """The longest start of `text` of at most `limit` characters that ends on a grapheme boundary."""
    if len(text) <= limit:
        return text
    size = 0
    end = 0
    for match in _GRAPHEME.finditer(text, 0, min(len(text), limit + 64)):
        size += len(match.group())
        if size > limit:
            break
        end = match.end()
    if end == 0:  # one "character" longer than the limit (a base letter with hundreds of accents)
        end = limit
    return text[:end].rstrip()


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def clean_string(
    text: str, *, field_name: str, multiline: bool, max_length: int | None, can_cut: bool = True
) -> Cleaned:
    cleaned, removed = clean_text(text, multiline=multiline)
    result = Cleaned(cleaned)
    if removed:
        result.notes.append(("cleaned", f"removed {_plural(removed, 'control or invisible character')}"))
    if max_length is not None and len(cleaned) > max_length:
        if not can_cut:
            result.refused = (
                f"is {len(cleaned):,} characters long; the target takes at most {max_length:,} "
                "and cutting it would make it wrong"
            )
            return result
        result.value = cut(cleaned, max_length)
        result.notes.append(("cut", f"{field_name} cut from {len(cleaned):,} to {len(result.value):,} characters"))
    return result


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def clean_list(items: list[Any], *, field_name: str, max_length: int | None, can_cut: bool = True) -> Cleaned:
    """A list of single-line texts (tags): each cleaned and cut, empty entries and duplicates that differ only in
    case or spacing dropped (the first spelling stays)."""
    out: list[Any] = []
    seen: set[str] = set()
    notes: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, str):
            done = clean_string(item, field_name=field_name, multiline=False, max_length=max_length, can_cut=can_cut)
            if done.refused:
                return Cleaned(items, refused=f"an entry {done.refused}")
            notes.extend(done.notes)
            item = done.value
            if not item or _key(item) in seen:
                continue
            seen.add(_key(item))
        elif item is None:
            continue
        else:
            item = clean_any(item)
        out.append(item)
    return Cleaned(out, list(dict.fromkeys(notes)))  # the same warning once, not once per tag


def clean_any(value: Any, *, multiline: bool = True) -> Any:
    """Strings anywhere inside a value (an object a rule writes whole) cleaned; nothing cut, keys kept."""
    if isinstance(value, str):
        return clean_text(value, multiline=multiline)[0]
    if isinstance(value, list | tuple):
        return [clean_any(v, multiline=multiline) for v in value]
    if isinstance(value, dict):
        return {k: clean_any(v, multiline=multiline) for k, v in value.items()}
    return value


def dedupe_texts(items: list[Any]) -> list[Any]:
    """Drop later entries that differ from an earlier one only in case or spacing (tags merged from rows)."""
    out: list[Any] = []
    seen: set[str] = set()
    for item in items:
        key = _key(item) if isinstance(item, str) else repr(item)
        if key in seen:
            continue
        seen.add(key)
        out.append(item)
    return out
