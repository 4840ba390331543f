"""Settings come only from the environment; bad values stop the process with one line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.support import ROOT

GOOD_SECRET = "k" * 20 + "-production-secret-with-enough-entropy-0123456789abcdef"


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "FIELD_ENCRYPTION_KEYS",
            "DATABASE_URL",
            "REDIS_URL",
            "CELERY_BROKER_URL",
            "EMAIL_URL",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    base.update({"DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": os.environ["REDIS_URL"]})
    base.update(env)
    base = {k: v for k, v in base.items() if v is not None and v != "<unset>"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        "DEBUG": "false",
        "SECRET_KEY": GOOD_SECRET,
        "ALLOWED_HOSTS": "sync.example.com",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "EMAIL_URL": "smtp://mail.example.com:587",
        "METRICS_TOKEN": "metrics-token-0123456789abcdef",
    }
    env.update(overrides)
    return env


def assert_one_line_error(result: subprocess.CompletedProcess[str], variable: str) -> None:
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"configuration error: {variable} "), lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "overrides"),
    [
        ("SECRET_KEY", {"SECRET_KEY": "<unset>"}),
        ("SECRET_KEY", {"SECRET_KEY": "dev-insecure-contacts-sync-secret-key-change-me-0123456789"}),
        ("SECRET_KEY", {"SECRET_KEY": "short"}),
        ("FIELD_ENCRYPTION_KEYS", {"FIELD_ENCRYPTION_KEYS": "<unset>"}),
        ("ALLOWED_HOSTS", {"ALLOWED_HOSTS": ""}),
        ("DATABASE_URL", {"DATABASE_URL": "<unset>"}),
        ("DATABASE_URL", {"DATABASE_URL": "sqlite:///db.sqlite3"}),
        ("REDIS_URL", {"REDIS_URL": "<unset>"}),
        ("REDIS_URL", {"REDIS_URL": "localhost-6379"}),
        ("DEBUG", {"DEBUG": "maybe"}),
        ("EMAIL_URL", {"EMAIL_URL": "not a url"}),
        ("METRICS_TOKEN", {"METRICS_TOKEN": "<unset>"}),
        ("METRICS_TOKEN", {"METRICS_TOKEN": "short"}),
        ("FIELD_ENCRYPTION_KEYS", {"FIELD_ENCRYPTION_KEYS": "correct horse battery staple"}),
        ("FIELD_ENCRYPTION_KEYS", {"FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode() + ",not-a-fernet-key"}),
        ("TRUSTED_PROXY_COUNT", {"TRUSTED_PROXY_COUNT": "one"}),
        ("TRUSTED_PROXY_COUNT", {"TRUSTED_PROXY_COUNT": "-1"}),
        ("RUN_SLICE_SECONDS", {"RUN_SLICE_SECONDS": "3300"}),  # a slice must end before the soft time limit
    ],
)
def test_it_refuses_to_start_with_one_line_naming_the_bad_variable(variable, overrides):
    result = run_manage("check", **production_env(**overrides))
    assert_one_line_error(result, variable)


def test_check_deploy_is_clean_with_the_documented_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_debug_mode_starts_without_secrets_for_development():
    result = run_manage(
        "check", DEBUG="true", SECRET_KEY="<unset>", FIELD_ENCRYPTION_KEYS="<unset>", ALLOWED_HOSTS="<unset>"
    )
    assert result.returncode == 0, result.stderr


def test_a_bad_encryption_key_is_named_by_position_never_echoed():
    secret_looking = "my-passphrase-that-is-not-a-fernet-key"
    result = run_manage(
        "check", **production_env(FIELD_ENCRYPTION_KEYS=f"{Fernet.generate_key().decode()},{secret_looking}")
    )
    assert_one_line_error(result, "FIELD_ENCRYPTION_KEYS")
    assert "key 2 of 2 is not one" in result.stderr
    assert secret_looking not in result.stderr + result.stdout


def test_a_bad_encryption_key_stops_development_too():
    result = run_manage("check", DEBUG="true", FIELD_ENCRYPTION_KEYS="anything-goes")
    assert_one_line_error(result, "FIELD_ENCRYPTION_KEYS")


def test_the_trusted_proxy_count_reaches_allauths_client_address():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.ALLAUTH_TRUSTED_PROXY_COUNT)",
        **production_env(TRUSTED_PROXY_COUNT="2"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "2"
