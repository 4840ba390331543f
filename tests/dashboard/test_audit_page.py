"""The audit page and its CSV export (Admin only), and sign-ins written to the audit log."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from contacts_sync import models as m
from contacts_sync.services.audit import audit_record
from tests.factories import ConnectionFactory, SyncFactory

pytestmark = pytest.mark.django_db


def csv_rows(response: Any) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def history(admin_user: Any, editor: Any) -> dict[str, Any]:
    conn = ConnectionFactory(name="Acme GHL")
    sync = SyncFactory(name="Clients → GHL")
    old = audit_record(
        actor=admin_user, action="connection.update", obj=conn, changes={"name": {"from": "Acme", "to": "Acme GHL"}}
    )
    m.AuditEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    audit_record(
        actor=editor, action="sync.update", obj=sync, changes={"poll_interval_seconds": {"from": 900, "to": 300}}
    )
    audit_record(actor=None, action="connection.token_refresh", obj=conn, changes={"token_expires_at": "x"})
    audit_record(
        actor=editor,
        action="run_item.acknowledge",
        object_type="runitem",
        object_id="7",
        object_repr='=HYPERLINK("http://evil")',
        changes={"note": "known bad phone"},
    )
    return {"conn": conn, "sync": sync}


def test_only_an_admin_sees_the_audit_log_and_its_export(login: Any, editor: Any, viewer: Any, history: dict):
    for user in (editor, viewer):
        c = login(user)
        assert c.get("/audit/").status_code == 403 and c.get("/audit/export.csv").status_code == 403
    assert Client().get("/audit/").status_code == 302  # anonymous: to the login page, nothing shown


def test_the_log_shows_who_did_what_to_which_object_and_when(login: Any, admin_user: Any, history: dict):
    html = login(admin_user).get("/audit/").content.decode()
    assert "Audit log" in html and "sync.update" in html and "poll_interval_seconds: 900 → 300" in html
    assert "connection.token_refresh" in html and ">system<" in html
    assert 'data-label="Who"' in html  # phone layout: every cell has its column's name


@pytest.mark.parametrize(
    "query,present,absent",
    [
        ({"type": "sync"}, ["sync.update"], ["connection.update", "connection.token_refresh"]),
        ({"action": "connection."}, ["connection.update", "connection.token_refresh"], ["sync.update"]),
        ({"action": "sync.update"}, ["sync.update"], ["connection.update"]),
        ({"actor": "system"}, ["connection.token_refresh"], ["sync.update", "connection.update"]),
    ],
)
def test_filters_narrow_the_log(login: Any, admin_user: Any, history: dict, query: dict, present: list, absent: list):
    html = login(admin_user).get("/audit/", query).content.decode()
    rows = html.split("<tbody>")[1]
    assert all(p in rows for p in present) and not any(a in rows for a in absent)


def test_one_object_s_history(login: Any, admin_user: Any, history: dict):
    conn = history["conn"]
    rows = login(admin_user).get("/audit/", {"type": "connection", "id": str(conn.pk)}).content.decode()
    rows = rows.split("<tbody>")[1]
    assert "connection.update" in rows and "connection.token_refresh" in rows and "sync.update" not in rows


def test_the_actor_and_date_filters(login: Any, admin_user: Any, editor: Any, history: dict):
    c = login(admin_user)
    rows = c.get("/audit/", {"actor": str(editor.pk)}).content.decode().split("<tbody>")[1]
    assert "sync.update" in rows and "connection.update" not in rows
    today = timezone.localdate()
    rows = (
        c.get("/audit/", {"from": str(today - timedelta(days=11)), "to": str(today - timedelta(days=9))})
        .content.decode()
        .split("<tbody>")[1]
    )
    assert "connection.update" in rows and "sync.update" not in rows


def test_a_bad_filter_value_is_ignored_and_named(login: Any, admin_user: Any, history: dict):
    resp = login(admin_user).get("/audit/", {"type": "<script>", "from": "2026-13-45"})
    html = resp.content.decode()
    assert resp.status_code == 200 and "Ignored." in html and "<script>" not in html
    assert "sync.update" in html.split("<tbody>")[1]


def test_the_csv_export_has_the_filtered_rows_and_defuses_formulas(login: Any, admin_user: Any, history: dict):
    resp = login(admin_user).get("/audit/export.csv", {"action": "run_item.acknowledge"})
    assert resp["Content-Type"].startswith("text/csv") and "attachment" in resp["Content-Disposition"]
    header, *rows = csv_rows(resp)
    assert header[:3] == ["time (UTC)", "actor", "action"]
    assert len(rows) == 1 and rows[0][2] == "run_item.acknowledge"
    assert rows[0][5] == '\'=HYPERLINK("http://evil")'  # a spreadsheet shows it as text, never runs it
    everything = csv_rows(login(admin_user).get("/audit/export.csv"))
    assert {"connection.update", "sync.update", "connection.token_refresh"} <= {r[2] for r in everything[1:]}


def test_no_secret_reaches_the_log_or_its_export(login: Any, admin_user: Any):
    audit_record(
        actor=admin_user,
        action="connection.create",
        object_type="connection",
        changes={"api_key": "sk-live-123", "secrets_set": ["api_key"]},
    )
    c = login(admin_user)
    assert "sk-live-123" not in c.get("/audit/").content.decode()
    assert "sk-live-123" not in "".join(",".join(r) for r in csv_rows(c.get("/audit/export.csv")))


# --- sign-ins -----------------------------------------------------------------------------------------------


def test_a_login_a_failed_login_and_a_logout_are_audited_with_the_address(client: Client, make_user: Any):
    user = make_user("Editor", email="ann@example.com")
    client.post(
        "/accounts/login/", {"login": "ann@example.com", "password": "wrong-password-1"}, REMOTE_ADDR="203.0.113.9"
    )
    failed = m.AuditEntry.objects.get(action="user.login_failed")
    assert (failed.actor, failed.object_repr, failed.object_id, failed.ip_address) == (
        None,
        "ann@example.com",
        str(user.pk),
        "203.0.113.9",
    )
    assert "wrong-password-1" not in str(failed.changes)
    client.post(
        "/accounts/login/", {"login": "ann@example.com", "password": user.raw_password}, REMOTE_ADDR="203.0.113.9"
    )
    login = m.AuditEntry.objects.get(action="user.login")
    assert login.actor == user and login.ip_address == "203.0.113.9"
    client.post("/accounts/logout/", REMOTE_ADDR="203.0.113.9")
    assert m.AuditEntry.objects.filter(action="user.logout", actor=user).exists()


def test_a_failed_login_for_an_unknown_address_names_no_account(client: Client, db: None):
    client.post("/accounts/login/", {"login": "nobody@example.com", "password": "whatever-123"})
    entry = m.AuditEntry.objects.get(action="user.login_failed")
    assert entry.object_id == "" and entry.object_repr == "nobody@example.com"
