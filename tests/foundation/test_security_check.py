"""`make lint` runs bandit against security/baseline.toml: a new finding fails, a stale baseline entry fails."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from tests.support import ROOT


def _checker() -> Any:
    spec = importlib.util.spec_from_file_location("security_check", ROOT / "scripts" / "security_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_project_passes_its_own_bandit_baseline() -> None:
    checker = _checker()
    assert checker.bandit_check(checker._load()) == []


def test_a_new_finding_fails_and_names_where_it_is(tmp_path: Path) -> None:
    checker = _checker()
    bad = tmp_path / "shell.py"
    bad.write_text("import subprocess\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n")
    baseline = checker._load()
    baseline["bandit"]["paths"] = [str(tmp_path)]
    baseline["bandit"]["accepted"] = []
    problems = checker.bandit_check(baseline)
    assert len(problems) == 1
    assert problems[0].startswith(f"bandit B602 {bad}:4:")


def test_an_accepted_entry_that_matches_nothing_fails(tmp_path: Path) -> None:
    checker = _checker()
    (tmp_path / "fine.py").write_text("VALUE = 1\n")
    baseline = checker._load()
    baseline["bandit"]["paths"] = [str(tmp_path)]
    baseline["bandit"]["accepted"] = [{"test": "B608", "file": "gone.py", "code": "SELECT", "reason": "old"}]
    problems = checker.bandit_check(baseline)
    assert problems == ["security/baseline.toml: bandit entry B608 gone.py ('SELECT') matches nothing; remove it"]
