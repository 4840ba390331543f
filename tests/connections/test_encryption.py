"""Secrets at rest: only ciphertext in the database, and `rotate_encryption_keys` moves every value to a new key."""

from __future__ import annotations

import base64
import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection as db

from contacts_sync.models import AlertChannel, AuditEntry, Connection
from contacts_sync.services.connections import connection_create
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

PLAINTEXTS = [
    "pit-plain-secret-123",
    "hs-api-key-456",
    "whsec_c2VjcmV0LXNlY3JldA==",
    "hooks.slack.com/services/T0",
]


def _raw(table: str) -> list[tuple[int, str]]:
    with db.cursor() as cur:
        cur.execute(f"SELECT id, secrets FROM {table} ORDER BY id")
        return cur.fetchall()


def _everything_raw() -> str:
    """Every column of every row of the tables that hold secrets, as one string."""
    out = []
    with db.cursor() as cur:
        for table in ("contacts_sync_connection", "contacts_sync_alertchannel", "contacts_sync_auditentry"):
            cur.execute(f"SELECT * FROM {table}")
            out.append(json.dumps(cur.fetchall(), default=str))
    return "\n".join(out)


def _seed(admin_user) -> None:
    connection_create(
        provider="ghl",
        auth_kind="private_token",
        name="GHL",
        user=admin_user,
        test=False,
        secrets={"access_token": PLAINTEXTS[0]},
        external_account_id="loc1",
    )
    connection_create(
        provider="hotspotsystem",
        auth_kind="api_key",
        name="HS",
        user=admin_user,
        test=False,
        secrets={"api_key": PLAINTEXTS[1]},
    )
    ConnectionFactory(
        provider="custom",
        auth_kind="webhook_secret",
        secrets={"api_token": "t", "webhook_secret": PLAINTEXTS[2]},
    )
    AlertChannel.objects.create(name="Slack", kind="slack", target="#ops", secrets={"url": PLAINTEXTS[3]})


def test_the_raw_database_holds_only_ciphertext_and_the_audit_log_only_key_names(admin_user):
    _seed(admin_user)
    raw = _everything_raw()
    for secret in PLAINTEXTS:
        assert secret not in raw
        assert base64.b64encode(secret.encode()).decode()[:16] not in raw
    for _pk, value in _raw("contacts_sync_connection") + _raw("contacts_sync_alertchannel"):
        assert value.startswith("gAAAAA")  # a Fernet token
    assert Connection.objects.get(name="GHL").secrets == {"access_token": PLAINTEXTS[0]}
    assert AuditEntry.objects.get(action="connection.create", object_repr__contains="GHL").changes["secrets_set"] == [
        "access_token"
    ]


def test_rotation_re_encrypts_every_secret_under_the_new_first_key(admin_user, settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    _seed(admin_user)
    before = dict(_raw("contacts_sync_connection") + _raw("contacts_sync_alertchannel"))

    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "contacts_sync.Connection.secrets: 3 value(s) re-encrypted" in out.getvalue()
    assert "contacts_sync.AlertChannel.secrets: 1 value(s) re-encrypted" in out.getvalue()

    after = dict(_raw("contacts_sync_connection") + _raw("contacts_sync_alertchannel"))
    new_only = Fernet(new_key.encode())
    for pk, token in after.items():
        assert token != before[pk]
        assert json.loads(new_only.decrypt(token.encode()))  # readable with the new key alone
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    assert Connection.objects.get(name="GHL").secrets == {"access_token": PLAINTEXTS[0]}
    assert AlertChannel.objects.get().secrets == {"url": PLAINTEXTS[3]}


def test_rotation_names_a_row_it_cannot_decrypt_and_changes_nothing_in_that_batch(admin_user, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    _seed(admin_user)
    before = _raw("contacts_sync_connection")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the original key was lost
    with pytest.raises(CommandError, match=r"contacts_sync.Connection id=\d+: cannot decrypt"):
        call_command("rotate_encryption_keys", stdout=io.StringIO())
    assert _raw("contacts_sync_connection") == before


def test_a_dry_run_checks_every_value_and_writes_nothing(admin_user):
    _seed(admin_user)
    before = _raw("contacts_sync_connection")
    out = io.StringIO()
    call_command("rotate_encryption_keys", "--dry-run", stdout=out)
    assert "3 value(s) checked" in out.getvalue()
    assert _raw("contacts_sync_connection") == before
