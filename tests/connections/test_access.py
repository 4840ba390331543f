"""Who may do what on the connection and user pages: Viewer reads connections, only Admin changes anything."""

from __future__ import annotations

import pytest
from django.urls import reverse

from contacts_sync.models import AuditEntry, Connection
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


def _post_urls(connection: Connection, target_user_pk: int) -> list[str]:
    pk = connection.pk
    return [
        reverse("dashboard:connection_create", args=["hotspotsystem"]),
        reverse("dashboard:connection_create", args=["ghl_pit"]),
        reverse("dashboard:ghl_connect"),
        reverse("dashboard:connection_edit", args=[pk]),
        reverse("dashboard:connection_test", args=[pk]),
        reverse("dashboard:connection_disconnect", args=[pk]),
        reverse("dashboard:connection_webhook_secret", args=[pk]),
        reverse("dashboard:connection_delete", args=[pk]),
        reverse("dashboard:connection_archive", args=[pk]),
        reverse("dashboard:connection_unarchive", args=[pk]),
        reverse("dashboard:user_invite"),
        reverse("dashboard:user_role", args=[target_user_pk]),
        reverse("dashboard:user_active", args=[target_user_pk]),
    ]


@pytest.mark.parametrize("role", ["Viewer", "Editor"])
def test_a_viewer_or_editor_gets_403_on_every_connection_and_user_post_and_nothing_changes(client, make_user, role):
    connection = ConnectionFactory(name="Main location", secrets={"access_token": "pit-keep-me"})
    other = make_user("Viewer")
    user = make_user(role)
    client.force_login(user)
    before = AuditEntry.objects.count()
    data = {
        "name": "x",
        "confirm": "Main location",
        "role": "Admin",
        "active": "0",
        "email": "new@example.com",
        "secret_api_key": "k",
        "secret_access_token": "t",
        "external_account_id": "loc",
        "scopes": ["contacts.readonly"],
    }
    for url in _post_urls(connection, other.pk):
        response = client.post(url, data)
        assert response.status_code == 403, url
    connection.refresh_from_db()
    other.refresh_from_db()
    assert connection.secrets == {"access_token": "pit-keep-me"}
    assert connection.name == "Main location"
    assert other.is_active and not other.groups.filter(name="Admin").exists()
    assert Connection.objects.count() == 1
    assert AuditEntry.objects.count() == before


def test_a_viewer_sees_the_connection_list_read_only(client, viewer):
    ConnectionFactory(name="Main location", last_error="")
    client.force_login(viewer)
    response = client.get(reverse("dashboard:connection_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Main location" in body
    assert "Connect HighLevel" not in body
    assert reverse("dashboard:connection_test", args=[Connection.objects.get().pk]) not in body
    detail = client.get(reverse("dashboard:connection_detail", args=[Connection.objects.get().pk])).content.decode()
    assert "Main location" in detail
    for admin_only in (
        "Disconnect",
        "Edit / rotate key",
        "Reconnect HighLevel",
        "Connect again",
        "Clone",
        "Archive",
        "Delete",
    ):
        assert admin_only not in detail


@pytest.mark.parametrize("role", ["Viewer", "Editor"])
def test_lower_roles_cannot_open_the_admin_pages(client, make_user, role):
    connection = ConnectionFactory()
    client.force_login(make_user(role))
    for url in [
        reverse("dashboard:user_list"),
        reverse("dashboard:connection_add"),
        reverse("dashboard:ghl_connect"),
        reverse("dashboard:connection_edit", args=[connection.pk]),
        reverse("dashboard:connection_disconnect", args=[connection.pk]),
        reverse("dashboard:connection_delete", args=[connection.pk]),
        reverse("dashboard:connection_clone", args=[connection.pk]),
        reverse("dashboard:ghl_oauth_pending", args=[1]),
        reverse("dashboard:ghl_oauth_callback") + "?state=x&code=y",
    ]:
        assert client.get(url).status_code == 403, url


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    connection = ConnectionFactory()
    for url in [
        reverse("dashboard:connection_list"),
        reverse("dashboard:connection_detail", args=[connection.pk]),
        reverse("dashboard:user_list"),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_another_admin_cannot_see_or_decide_a_pending_highlevel_consent(client, make_user):
    from datetime import timedelta

    from django.utils import timezone

    from contacts_sync.models import PendingOAuthGrant

    owner, other = make_user("Admin"), make_user("Admin")
    connection = ConnectionFactory(name="Acme", secrets={"access_token": "pit-keep-me"})
    grant = PendingOAuthGrant.objects.create(
        user=owner,
        connection=connection,
        name="Acme 2",
        secrets={"access_token": "new", "refresh_token": "r"},
        details={"scopes": [], "location_id": "loc"},
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    client.force_login(other)
    url = reverse("dashboard:ghl_oauth_pending", args=[grant.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"decision": "replace", "rename": "1"}).status_code == 404
    connection.refresh_from_db()
    assert connection.secrets == {"access_token": "pit-keep-me"} and connection.name == "Acme"
    assert PendingOAuthGrant.objects.filter(pk=grant.pk).exists()


def test_a_duplicate_account_is_refused_by_the_connect_form(client, admin_user):
    ConnectionFactory(name="Acme", provider="ghl", external_account_id="loc123", base_url="")
    client.force_login(admin_user)
    response = client.post(
        reverse("dashboard:connection_create", args=["ghl_pit"]),
        {"name": "Acme again", "external_account_id": "loc123", "secret_access_token": "pit-x"},
    )
    body = response.content.decode()
    assert response.status_code == 200 and "already connected as “Acme”" in body
    assert Connection.objects.count() == 1
