"""Every benchmark, one after the other: `python -m bench.all --json` (what `make bench` runs).

Each runs as its own process (`python -m bench.<name> --json`) against the configured PostgreSQL and Redis (make
bench starts embedded ones when none is configured) and starts its own emulators, workers and servers. Prints one
JSON object: {name: that benchmark's JSON, or {"error": ...} when it failed}; exits non-zero when one failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import wrk_path  # noqa: E402

# In the order that keeps the machine quietest for the load-sensitive ones (fleet last: the longest).
BENCHMARKS = ["ghl_budget", "webhooks", "dashboard", "sync", "fleet"]


def _last_json(text: str) -> Any:
    """The benchmark's one JSON object: the last `{` at the start of a line that parses to the end."""
    lines = text.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("{"):
            try:
                return json.loads("\n".join(lines[i:]))
            except ValueError:
                continue
    raise ValueError("no JSON object in the output")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (the only output format)")
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, help="run only these")
    args = parser.parse_args()
    wrk_path()  # installs Debian's wrk when missing (root), before the first benchmark needs it
    results: dict[str, Any] = {}
    failed = False
    for name in args.only or BENCHMARKS:
        started = time.monotonic()
        print(f"bench.all: {name}...", file=sys.stderr, flush=True)
        done = subprocess.run(
            [sys.executable, "-m", f"bench.{name}", "--json"],
            cwd=ROOT,
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            if done.returncode:
                raise ValueError(f"exit code {done.returncode}")
            results[name] = _last_json(done.stdout)
        except ValueError as exc:
            failed = True
            results[name] = {"error": str(exc), "stderr": done.stderr[-3000:], "stdout": done.stdout[-1000:]}
        results[name]["bench_all_seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(results, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
