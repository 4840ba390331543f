"""`make test`'s runner: the fault scenarios (tests/reliability) in a second pytest process beside the rest.

The fault scenarios spend most of their time waiting (a database stopped for 10 s, a 70 s storm of 429s, a worker
killed and reaped), so on a 2-core machine they overlap well with the CPU-bound rest of the suite: run one after the
other the suite takes about 28 minutes, side by side about 21. The second process gets its own test database
(`<name>_reliability`) and its own Redis database (the next index), so the two never see each other's rows, queues
or rate budgets.

With arguments (`make test PYTEST_ARGS=...`) it is plain pytest with those arguments, in one process. With
`TEST_SHARDS=1` it runs the whole suite in one process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / ".data" / "test-logs"
SIDE = "tests/reliability"


def _with_database(url: str, suffix: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/') or '/contacts_sync'}{suffix}"))


def _next_redis_db(url: str) -> str:
    parts = urlsplit(url)
    current = parts.path.strip("/") or "0"
    return urlunsplit(parts._replace(path=f"/{(int(current) + 1) % 16}"))


def side_env(env: dict[str, str]) -> dict[str, str]:
    """The second process's environment: its own database and Redis database."""
    out = dict(env)
    if env.get("DATABASE_URL"):
        out["DATABASE_URL"] = _with_database(env["DATABASE_URL"], "_reliability")
    for key in ("REDIS_URL", "CELERY_BROKER_URL"):
        if env.get(key, "").startswith("redis"):
            out[key] = _next_redis_db(env[key])
    return out


def main(argv: list[str]) -> int:
    pytest = [sys.executable, "-m", "pytest"]
    if argv or os.environ.get("TEST_SHARDS") == "1":
        return subprocess.call([*pytest, *argv], cwd=ROOT)
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / "reliability.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        print(f"run_tests: {SIDE} runs in a second process; its output goes to {log_path}", flush=True)
        side = subprocess.Popen(
            [*pytest, SIDE], cwd=ROOT, env=side_env(dict(os.environ)), stdout=log, stderr=subprocess.STDOUT
        )
        main_rc = subprocess.call([*pytest, "tests", f"--ignore={SIDE}"], cwd=ROOT)
        side_rc = side.wait()
    lines = log_path.read_text(errors="replace").splitlines()
    print(f"\n===== {SIDE} (second process, exit {side_rc}) =====")
    print("\n".join(lines if side_rc else lines[-30:]))
    print(
        f"run_tests: both processes done in {time.monotonic() - started:.0f} s; exit codes: rest {main_rc}, "
        f"{SIDE} {side_rc}",
        flush=True,
    )
    return main_rc or side_rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
