"""The fault suite: every test here is marked `reliability` (and `worker`), and the scenarios' outcomes are printed
as one table at the end of the run (copied, with its date, into docs/operations.md "Faults we test")."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.world import Clock, Outcome

HERE = Path(__file__).parent
OUTCOMES: list[Outcome] = []
COLUMNS = (
    "scenario",
    "records",
    "lost",
    "duplicated",
    "counts true",
    "finished by itself / next run",
    "alert",
    "wall time",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.reliability)
            item.add_marker(pytest.mark.worker)


class Scenario:
    """What a scenario test reports: its outcome row (recorded before its assertions, so a failure shows too)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.clock = Clock()
        self.outcome: Outcome | None = None

    def report(self, outcome: Outcome) -> Outcome:
        outcome.wall_s = self.clock.seconds()
        self.outcome = outcome
        OUTCOMES.append(outcome)
        return outcome


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Iterator[Scenario]:
    box = Scenario(request.node.name)
    yield box
    if box.outcome is None:  # the test failed before it could measure: the table says so
        OUTCOMES.append(
            Outcome(
                scenario=request.node.name,
                records=0,
                lost=-1,
                duplicated=-1,
                counts_true=False,
                finish="not measured: the test failed before the end",
                alert="?",
                wall_s=box.clock.seconds(),
            )
        )


def outcome_table(outcomes: list[Outcome]) -> list[str]:
    def yes(flag: bool) -> str:
        return "yes" if flag else "NO"

    rows = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for o in outcomes:
        cells = [
            o.scenario,
            f"{o.records:,}",
            str(o.lost),
            str(o.duplicated),
            yes(o.counts_true),
            o.finish,
            o.alert,
            f"{o.wall_s:.0f} s",
        ]
        rows.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    for o in outcomes:
        rows += [f"  {o.scenario}: {p}" for p in o.problems]
    return rows


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not OUTCOMES:
        return
    terminalreporter.section(f"fault scenarios ({time.strftime('%Y-%m-%d')})")
    for line in outcome_table(OUTCOMES):
        terminalreporter.write_line(line)
