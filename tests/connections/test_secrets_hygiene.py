"""Secrets are write-only: not on an error page, not in the logs, not in the audit log, not rendered back."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.urls import reverse

from contacts_sync.models import AuditEntry, Connection
from contacts_sync.services import connection_lifecycle as lifecycle
from contacts_sync.services import connections as svc
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

SECRET = "hs-very-secret-key-0042"


def test_a_crash_while_saving_a_key_leaves_the_key_out_of_the_error_report(client, admin_user, settings, monkeypatch):
    """Production (DEBUG off): the 500 page is generic, and the report mailed/logged for it hides the key."""
    import sys

    from django.core.signals import got_request_exception
    from django.views.debug import ExceptionReporter

    settings.DEBUG = False
    captured: dict[str, Any] = {}

    def boom(**kwargs: Any) -> None:
        raise RuntimeError("database went away")

    def keep(sender: Any, request: Any, **kwargs: Any) -> None:
        captured["report"] = ExceptionReporter(request, *sys.exc_info())

    monkeypatch.setattr(lifecycle, "connection_connect", boom)  # what the Connect form calls
    got_request_exception.connect(keep)
    try:
        client.force_login(admin_user)
        client.raise_request_exception = False
        response = client.post(
            reverse("dashboard:connection_create", args=["hotspotsystem"]),
            {"name": "HS", "secret_api_key": SECRET},
        )
    finally:
        got_request_exception.disconnect(keep)
    assert response.status_code == 500
    assert SECRET not in response.content.decode()
    report = captured["report"]
    text, html = report.get_traceback_text(), report.get_traceback_html()
    assert "database went away" in text and "connection_create" in text  # a full report, with the view's frame
    assert "secret_api_key" in text  # the POST field is listed ...
    assert SECRET not in text and SECRET not in html  # ... with its value and the view's locals starred out


def test_the_edit_page_never_renders_a_stored_secret_back(client, admin_user):
    connection = ConnectionFactory(provider="hotspotsystem", auth_kind="api_key", secrets={"api_key": SECRET})
    client.force_login(admin_user)
    for url in (
        reverse("dashboard:connection_edit", args=[connection.pk]),
        reverse("dashboard:connection_detail", args=[connection.pk]),
        reverse("dashboard:connection_list"),
    ):
        page = client.get(url).content.decode()
        assert SECRET not in page, url
    assert (
        "•••• set, replace?" in client.get(reverse("dashboard:connection_edit", args=[connection.pk])).content.decode()
    )


def test_saving_settings_without_a_new_secret_keeps_the_stored_one_and_audits_the_change(client, admin_user):
    connection = ConnectionFactory(
        provider="hotspotsystem", auth_kind="api_key", name="Old", secrets={"api_key": SECRET}
    )
    client.force_login(admin_user)
    response = client.post(
        reverse("dashboard:connection_edit", args=[connection.pk]),
        {"name": "New name", "base_url": "", "external_account_id": "", "secret_api_key": ""},
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.name == "New name" and connection.secrets == {"api_key": SECRET}
    entry = AuditEntry.objects.get(action="connection.update")
    assert entry.actor == admin_user and entry.changes["name"] == {"from": "Old", "to": "New name"}


def test_creating_testing_and_disconnecting_log_and_audit_no_secret(admin_user, caplog):
    caplog.set_level(logging.DEBUG)
    connection = svc.connection_create(
        provider="hotspotsystem",
        auth_kind="api_key",
        name="HS",
        user=admin_user,
        secrets={"api_key": SECRET},
        base_url="http://127.0.0.1:9/hotspotsystem",
    )
    assert connection.status == "error"  # nothing listens on port 9: a transport error, shown, not raised
    svc.connection_disconnect(connection=connection, user=admin_user)
    assert SECRET not in caplog.text
    assert all(SECRET not in str(a.changes) for a in AuditEntry.objects.all())
    assert Connection.objects.get(pk=connection.pk).secrets == {}


def test_a_bad_base_url_is_refused_with_a_clear_message(admin_user):
    with pytest.raises(svc.ConnectionActionError, match="base URL must be an http"):
        svc.connection_create(
            provider="custom",
            auth_kind="webhook_secret",
            name="X",
            user=admin_user,
            secrets={"api_token": "t"},
            base_url="ftp://example.com",
        )
    assert Connection.objects.count() == 0
