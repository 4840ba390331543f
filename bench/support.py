"""What the benchmarks share: production settings for the bench process and the workers it starts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

TRUE = ("1", "true", "yes", "on")


def production_env() -> None:
    """DEBUG off (Django's debug cursor would log every query: not what production pays), generated keys.

    Call before Django is set up; worker processes started afterwards inherit it (pass DEBUG=false to
    tests.support.start_worker, whose child environment turns DEBUG on for tests)."""
    from cryptography.fernet import Fernet

    if os.environ.get("DEBUG", "").lower() in TRUE:
        print("bench: DEBUG is ignored; benchmarks measure production settings", file=sys.stderr)  # noqa: T201
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-" + uuid.uuid4().hex + uuid.uuid4().hex)
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("METRICS_TOKEN", "bench-" + uuid.uuid4().hex)  # required with DEBUG off (/metrics)


def wrk_path() -> str:
    """wrk from Debian's packages, installed by scripts/ensure-wrk.sh (as `make bench` does) when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.call(["bash", str(Path(__file__).resolve().parent.parent / "scripts" / "ensure-wrk.sh")])
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is missing and could not be installed: apt-get install wrk (make bench does it as root)")
    return found
