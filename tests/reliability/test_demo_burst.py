"""The demo's web server holds a burst of 300 requests at concurrency 60 (issue: `make demo` ran out of PostgreSQL
connections under a webhook burst, answered 500 on login and did not recover).

In tests/reliability (run beside the rest by make test). It drives bench/demo_burst.py, which starts the web
server exactly as `make demo` does (config.devservers web_command) on a throwaway database and fires the burst:
login pages, logins, the overview with a session and unsigned webhook posts. Nothing here is timed; what is asserted is that no request failed, that the server's
PostgreSQL connections stayed bounded by its thread pool, and that a login afterwards works.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support import ROOT

WEB_THREADS = 16  # gunicorn gthread 2 workers x 8 threads (config.devservers.web_command): one connection each


def test_the_demo_web_server_holds_a_burst_of_300_requests_at_60_at_once_without_a_500() -> None:
    assert os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")  # the bench makes its own database
    done = subprocess.run(
        [sys.executable, "-m", "bench.demo_burst", "--json"],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.stdout.strip(), done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["requests"], result["concurrency"]) == (300, 60)
    assert result["failed"] == 0, result["statuses"]
    assert all(int(s) < 500 for s in result["statuses"]), result["by_kind"]
    assert result["by_kind"]["webhook"] == {"401": 75}  # unsigned junk is refused, never a 500
    assert result["peak_db_connections"] <= WEB_THREADS + 2, result  # + the sampler's own and a spare
    assert result["login_after_burst"] == 302 and result["ok"] is True and done.returncode == 0
