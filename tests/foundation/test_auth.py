from __future__ import annotations

import os
import re

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from contacts_sync.roles import ADMIN, EDITOR, VIEWER
from dashboard import access

pytestmark = pytest.mark.django_db


def unique_ip() -> str:
    """Rate limits live in Redis across test runs; each test gets its own client address."""
    return "10." + ".".join(str(b) for b in os.urandom(3))


def test_the_three_roles_exist_with_rising_permissions():
    perms = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    assert {ADMIN, EDITOR, VIEWER} <= set(perms)
    assert "view_sync" in perms[VIEWER] and "change_sync" not in perms[VIEWER]
    assert perms[VIEWER] < perms[EDITOR] < perms[ADMIN]
    assert "change_connection" in perms[ADMIN] and "change_connection" not in perms[EDITOR]


def test_access_helpers_rank_roles(viewer, editor, admin_user, django_user_model):
    assert access.role_of(viewer) == VIEWER and not access.can_edit(viewer)
    assert access.can_edit(editor) and not access.is_admin(editor)
    assert access.is_admin(admin_user)
    nobody = django_user_model.objects.create_user(username="nobody", email="nobody@example.com", password="x")
    assert access.role_of(nobody) is None and not access.has_role(nobody, VIEWER)


def test_a_user_without_a_role_is_refused_the_overview(client, django_user_model):
    user = django_user_model.objects.create_user(username="norole", email="norole@example.com", password="pw-12345678")
    client.force_login(user)
    assert client.get(reverse("dashboard:overview")).status_code == 403


def test_there_is_no_public_sign_up(client):
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    assert "Sign Up Closed" in response.content.decode() or "closed" in response.content.decode().lower()
    response = client.post("/accounts/signup/", {"email": "x@example.com", "password1": "a-Long-pass-123"})
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(email="x@example.com").exists()


def test_login_with_email_and_password_reaches_the_overview(client, viewer):
    response = client.post("/accounts/login/", {"login": viewer.email, "password": viewer.raw_password})
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200


def test_a_wrong_password_shows_allauths_message_and_repeated_failures_are_rate_limited(client, viewer):
    ip = {"REMOTE_ADDR": unique_ip()}
    response = client.post("/accounts/login/", {"login": viewer.email, "password": "wrong"}, **ip)
    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in response.content.decode()
    pages = [
        client.post("/accounts/login/", {"login": viewer.email, "password": f"wrong{i}"}, **ip).content.decode()
        for i in range(6)
    ]
    assert "Too many failed login attempts" not in pages[0]
    assert "Too many failed login attempts. Try again later." in pages[-1]
    # Once limited, even the right password is refused until the window passes.
    locked = client.post("/accounts/login/", {"login": viewer.email, "password": viewer.raw_password}, **ip)
    assert locked.status_code == 200 and "Too many failed login attempts" in locked.content.decode()


def test_password_reset_sends_an_email_with_a_reset_link(client, viewer):
    response = client.post("/accounts/password/reset/", {"email": viewer.email}, REMOTE_ADDR=unique_ip())
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert re.search(r"/accounts/password/reset/key/\S+", mail.outbox[0].body)


def test_totp_two_factor_is_available_to_a_logged_in_user(client, viewer):
    client.force_login(viewer)
    response = client.get("/accounts/2fa/")
    assert response.status_code == 200
    assert "Authenticator" in response.content.decode()


def test_create_user_command_gives_one_role(capsys):
    call_command("create_user", "ops@example.com", "--role", "Editor")
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(email="ops@example.com")
    assert access.role_of(user) == EDITOR
    assert not user.has_usable_password()
    assert "ops@example.com is now Editor" in capsys.readouterr().out


def test_writes_need_at_least_editor_even_where_viewers_may_read(rf, viewer, editor):
    from django.http import HttpResponse

    @access.viewer_required
    def page(request):
        return HttpResponse("ok")

    get = rf.get("/x")
    get.user = viewer
    assert page(get).status_code == 200
    post = rf.post("/x")
    post.user = viewer
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        page(post)
    post.user = editor
    assert page(post).status_code == 200
