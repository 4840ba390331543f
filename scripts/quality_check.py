"""`make lint`'s size check: a module in contacts_sync/ has at most 500 lines, a function at most 60.

    python scripts/quality_check.py     # exit 1 when a module or a function is over its limit

The limits are the team's (HELPERS.md, issue 14): a module over 500 lines does several jobs, a function over 60
does several steps. The allowlists below name today's exceptions, each with its size now and its reason. An
allowlisted one may shrink but not grow past the size written beside it (the list never hides new growth); one
that is back under the limit is reported so that its entry is removed. Migrations are generated and not checked.
A function counts from its `def` line to its last line, nested functions included; decorators and the comments
above it do not count.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "contacts_sync"
MODULE_MAX_LINES = 500
FUNCTION_MAX_LINES = 60
# "path::Qualified.name" -> (lines today, why it is longer).
ALLOWED_FUNCTIONS: dict[str, tuple[int | None, str]] = {
    "contacts_sync/apiclient/client.py::ApiClient._request": (
        86,
        "the one request path every API call takes (budget, send, refresh on 401, retry decision, backoff, "
        "call record in `finally`); cut apart, the order of those steps is no longer visible in one place",
    ),
    "contacts_sync/sync/engine.py::Engine.__init__": (
        62,
        "keyword-only parameters (18 of them, one per line) and the run state they seed, one line each",
    ),
    "contacts_sync/sandbox/ghl/app.py::GhlEmulator.api": (
        77,
        "GHL's request checks in GHL's order around every emulated endpoint (version, token, expiry, "
        "scope, body), one guard each",
    ),
    "contacts_sync/sandbox/hotspotsystem/__init__.py::HotspotState.seed": (
        74,
        "one customer's messy but valid fields read best as one recipe",
    ),
    "contacts_sync/sandbox/hotspotsystem/__init__.py::mount": (
        72,
        "the emulator's small routes are closures over one state box, so a reset swaps it for all of them",
    ),
    "contacts_sync/sandbox/starbuero/__init__.py::mount": (
        106,
        "the emulator's small routes are closures over one state box, so a reset swaps it for all of them",
    ),
    "contacts_sync/sandbox/custom/__init__.py::mount": (
        98,
        "the emulator's small routes are closures over one state box, so a reset swaps it for all of them",
    ),
}
# "path" -> (lines today, why it is longer). None today: every module is under the limit.
ALLOWED_MODULES: dict[str, tuple[int | None, str]] = {}


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int, int]]:
    """(qualified name, first line, length) of every function, methods and nested functions included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{node.name}"
            yield name, node.lineno, (node.end_lineno or node.lineno) - node.lineno + 1
            yield from _functions(node, f"{name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def _judge(
    key: str,
    where: str,
    size: int,
    limit: int,
    allowed: dict[str, tuple[int | None, str]],
    problems: list[str],
    notes: list[str],
    seen: set[str],
) -> None:
    if key in allowed:
        seen.add(key)
        cap = allowed[key][0]
        if size <= limit:
            notes.append(f"{where}: {size} lines, under {limit} now: remove its allowlist entry")
        elif cap is not None and size > cap:
            problems.append(f"{where}: {size} lines, grew past its allowlisted {cap} (limit {limit})")
    elif size > limit:
        problems.append(f"{where}: {size} lines, over the limit of {limit}")


def check(root: Path = ROOT) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    notes: list[str] = []
    seen: set[str] = set()
    for path in sorted((root / "contacts_sync").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if "/migrations/" in rel:
            continue
        text = path.read_text(encoding="utf-8")
        _judge(rel, rel, len(text.splitlines()), MODULE_MAX_LINES, ALLOWED_MODULES, problems, notes, seen)
        for name, line, size in _functions(ast.parse(text, filename=rel)):
            key = f"{rel}::{name}"
            _judge(key, f"{rel}:{line} {name}()", size, FUNCTION_MAX_LINES, ALLOWED_FUNCTIONS, problems, notes, seen)
    for key in sorted((set(ALLOWED_FUNCTIONS) | set(ALLOWED_MODULES)) - seen):
        notes.append(f"{key}: allowlisted but not found: remove its entry")
    return problems, notes


def main() -> int:
    problems, notes = check()
    for note in notes:
        print(f"quality_check: note: {note}")
    for problem in problems:
        print(f"quality_check: {problem}", file=sys.stderr)
    allowed = len(ALLOWED_FUNCTIONS) + len(ALLOWED_MODULES)
    print(
        f"quality_check: modules <= {MODULE_MAX_LINES} lines, functions <= {FUNCTION_MAX_LINES} lines "
        f"({allowed} allowlisted exceptions): {len(problems)} problem(s)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
