"""`make lint` checks sizes: a module in contacts_sync/ over 500 lines or a function over 60 fails, unless it is
allowlisted with its reason, and an allowlisted one may not grow."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from tests.support import ROOT


def _checker() -> Any:
    spec = importlib.util.spec_from_file_location("quality_check", ROOT / "scripts" / "quality_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _function(name: str, body_lines: int, indent: str = "") -> str:
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(body_lines))
    return f"{indent}def {name}() -> None:\n{body}"


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / "contacts_sync" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_project_passes_its_own_size_check() -> None:
    problems, _notes = _checker().check()
    assert problems == []


def test_a_long_function_a_long_method_and_a_long_module_fail_naming_where_they_are(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "ok.py": _function("short", 59),
            "long.py": _function("too_long", 60),
            "klass.py": "class Box:\n" + _function("method", 60, indent="    "),
            "big.py": "\n".join(f"X{i} = {i}" for i in range(501)) + "\n",
            "migrations/0001_initial.py": _function("generated", 200),
        },
    )
    problems, _notes = _checker().check(root)
    assert sorted(problems) == [
        "contacts_sync/big.py: 501 lines, over the limit of 500",
        "contacts_sync/klass.py:2 Box.method(): 61 lines, over the limit of 60",
        "contacts_sync/long.py:1 too_long(): 61 lines, over the limit of 60",
    ]


def test_an_allowlisted_function_may_not_grow_and_is_noted_once_it_is_short(tmp_path: Path, monkeypatch: Any) -> None:
    checker = _checker()
    monkeypatch.setattr(
        checker,
        "ALLOWED_FUNCTIONS",
        {
            "contacts_sync/grown.py::grown": (70, "a reason"),
            "contacts_sync/kept.py::kept": (70, "a reason"),
            "contacts_sync/short.py::short": (70, "a reason"),
            "contacts_sync/gone.py::gone": (70, "a reason"),
        },
    )
    root = _package(
        tmp_path,
        {
            "grown.py": _function("grown", 75),
            "kept.py": _function("kept", 69),
            "short.py": _function("short", 10),
        },
    )
    problems, notes = checker.check(root)
    assert problems == ["contacts_sync/grown.py:1 grown(): 76 lines, grew past its allowlisted 70 (limit 60)"]
    assert sorted(notes) == [
        "contacts_sync/gone.py::gone: allowlisted but not found: remove its entry",
        "contacts_sync/short.py:1 short(): 11 lines, under 60 now: remove its allowlist entry",
    ]
