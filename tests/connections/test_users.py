"""The users page and its service: invite by email (allauth reset mail), change role, deactivate."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from contacts_sync.models import AuditEntry
from dashboard.access import role_of

pytestmark = pytest.mark.django_db


def test_an_admin_invites_a_user_who_gets_a_link_to_set_their_own_password(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("dashboard:user_invite"), {"email": "New.Person@Example.com", "role": "Editor"})
    assert response.status_code == 302
    invited = get_user_model().objects.get(email="new.person@example.com")
    assert role_of(invited) == "Editor"
    assert not invited.has_usable_password()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.com"]
    assert "invited to contacts-sync" in message.subject
    assert f"{admin_user.email} invited you to contacts-sync as Editor" in message.body
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+", message.body)
    assert link, message.body
    entry = AuditEntry.objects.get(action="user.invite")
    assert entry.actor == admin_user and entry.changes == {
        "email": "new.person@example.com",
        "role": "Editor",
    }


def test_the_invite_link_lets_the_user_set_a_password_and_log_in(client, admin_user):
    client.force_login(admin_user)
    client.post(reverse("dashboard:user_invite"), {"email": "joiner@example.com", "role": "Viewer"})
    client.logout()
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[0].body).group(1)
    page = client.get(link, follow=True)
    assert page.status_code == 200
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link
    done = client.post(form_url, {"password1": "a-long-new-passphrase-42", "password2": "a-long-new-passphrase-42"})
    assert done.status_code == 302
    assert client.login(username="joiner@example.com", password="a-long-new-passphrase-42")


def test_inviting_an_existing_address_is_refused_without_resetting_its_password(client, admin_user, viewer):
    client.force_login(admin_user)
    response = client.post(reverse("dashboard:user_invite"), {"email": viewer.email.upper(), "role": "Admin"})
    assert response.status_code == 200
    assert "already has an account" in response.content.decode()
    viewer.refresh_from_db()
    assert viewer.check_password(viewer.raw_password)
    assert role_of(viewer) == "Viewer"
    assert mail.outbox == []


def test_an_invalid_invite_re_renders_the_htmx_form_partial_with_the_error(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("dashboard:user_invite"), {"email": "not-an-email", "role": "Editor"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith("<form") and "Enter a valid email address." in body
    assert not get_user_model().objects.filter(email="not-an-email").exists()


def test_an_admin_changes_a_role_and_it_is_audited(client, admin_user, viewer):
    client.force_login(admin_user)
    client.post(reverse("dashboard:user_role", args=[viewer.pk]), {"role": "Editor"})
    viewer.refresh_from_db()
    assert role_of(viewer) == "Editor"
    entry = AuditEntry.objects.get(action="user.role_set")
    assert entry.changes == {"role": {"from": "Viewer", "to": "Editor"}}


def test_the_last_admin_cannot_be_demoted_or_deactivate_themselves(client, admin_user):
    client.force_login(admin_user)
    client.post(reverse("dashboard:user_role", args=[admin_user.pk]), {"role": "Viewer"})
    client.post(reverse("dashboard:user_active", args=[admin_user.pk]), {"active": "0"})
    admin_user.refresh_from_db()
    assert admin_user.is_active and role_of(admin_user) == "Admin"
    page = client.get(reverse("dashboard:user_list")).content.decode()
    assert "last active admin" in page or "cannot deactivate yourself" in page


def test_a_deactivated_user_is_logged_out_and_cannot_log_in_again(client, admin_user, editor):
    from django.test import Client

    theirs = Client()
    theirs.force_login(editor)
    assert theirs.get(reverse("dashboard:connection_list")).status_code == 200
    client.force_login(admin_user)
    client.post(reverse("dashboard:user_active", args=[editor.pk]), {"active": "0"})
    editor.refresh_from_db()
    assert not editor.is_active
    assert theirs.get(reverse("dashboard:connection_list")).status_code == 302
    assert not Client().login(username=editor.email, password=editor.raw_password)
    client.post(reverse("dashboard:user_active", args=[editor.pk]), {"active": "1"})
    editor.refresh_from_db()
    assert editor.is_active
    changes = AuditEntry.objects.exclude(action__in=["user.login", "user.login_failed"]).order_by("pk")
    assert [a.action for a in changes] == ["user.deactivate", "user.activate"]
    assert AuditEntry.objects.filter(action="user.login_failed", object_repr=editor.email).exists()


def test_the_users_page_lists_every_user_with_their_role(client, admin_user, viewer, editor):
    client.force_login(admin_user)
    body = client.get(reverse("dashboard:user_list")).content.decode()
    for user in (admin_user, viewer, editor):
        assert user.email in body
    assert re.search(rf'id="role-{editor.pk}".*?<option value="Editor" selected>', body, re.S)
