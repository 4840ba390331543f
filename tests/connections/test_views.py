"""Connection pages as an admin: typed confirmation for disconnect, webhook secret shown once, htmx partials."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from contacts_sync.models import AuditEntry, Connection
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


def test_disconnect_needs_the_typed_name_then_deletes_only_the_secrets(client, admin_user):
    connection = ConnectionFactory(name="Main location", secrets={"access_token": "pit-x"})
    client.force_login(admin_user)
    url = reverse("dashboard:connection_disconnect", args=[connection.pk])
    wrong = client.post(url, {"confirm": "main"})
    assert wrong.status_code == 200 and "That is not the connection&#x27;s name." in wrong.content.decode()
    assert Connection.objects.get(pk=connection.pk).secrets == {"access_token": "pit-x"}
    done = client.post(url, {"confirm": "Main location"})
    assert done.status_code == 302
    connection.refresh_from_db()
    assert connection.secrets == {} and connection.status == "disabled"
    assert AuditEntry.objects.filter(action="connection.disconnect", actor=admin_user).count() == 1


def test_a_new_webhook_secret_is_shown_once_and_not_cached(client, admin_user):
    connection = ConnectionFactory(
        provider="custom",
        auth_kind="webhook_secret",
        secrets={"api_token": "t", "webhook_secret": "whsec_old"},
    )
    client.force_login(admin_user)
    response = client.post(reverse("dashboard:connection_webhook_secret", args=[connection.pk]))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    connection.refresh_from_db()
    new = connection.secrets["webhook_secret"]
    assert new != "whsec_old" and new.startswith("whsec_") and new in response.content.decode()
    assert new not in client.get(reverse("dashboard:connection_detail", args=[connection.pk])).content.decode()


def test_only_custom_apps_get_a_generated_webhook_secret(client, admin_user):
    connection = ConnectionFactory(secrets={"access_token": "pit-x"})
    client.force_login(admin_user)
    response = client.post(reverse("dashboard:connection_webhook_secret", args=[connection.pk]), follow=True)
    assert "only custom apps" in response.content.decode()
    assert Connection.objects.get(pk=connection.pk).secrets == {"access_token": "pit-x"}


def test_testing_a_disconnected_connection_over_htmx_answers_in_the_badge_partial(client, admin_user):
    connection = ConnectionFactory(secrets={}, status="disabled")
    client.force_login(admin_user)
    response = client.post(reverse("dashboard:connection_test", args=[connection.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<div class="conn-status" id="conn-status-{connection.pk}"')
    assert "disconnected; connect it again" in body


def test_an_unknown_connection_kind_is_404_not_500(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("dashboard:connection_create", args=["salesforce"])).status_code == 404


def test_a_callback_without_a_pending_sign_in_says_so_and_stores_nothing(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("dashboard:ghl_oauth_callback"), {"code": "abc"})
    assert response.status_code == 400
    assert "carried no state" in response.content.decode()
    assert Connection.objects.count() == 0


def test_the_base_url_help_names_the_emulators_real_address_not_a_fixed_port(settings: Any) -> None:
    from contacts_sync.services.connections import connect_options
    from dashboard.forms.connections import ConnectionForm, GHLConnectForm

    settings.SANDBOX_URL = "http://127.0.0.1:8611/"
    assert (
        "http://127.0.0.1:8611/hubstaff"
        in ConnectionForm(spec=connect_options()["hubstaff"]).fields["base_url"].help_text
    )
    assert "http://127.0.0.1:8611/ghl" in str(GHLConnectForm().fields["base_url"].help_text)
    settings.SANDBOX_URL = ""
    text = ConnectionForm(spec=connect_options()["upguard"]).fields["base_url"].help_text
    assert "8010" not in text and "/upguard (make demo prints it)" in text
