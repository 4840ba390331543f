"""Account security found missing by the audit: validators on every password, verified addresses only, per-account
login limits behind a proxy, MFA for admins on request, /metrics never public in production."""

from __future__ import annotations

import os
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import override_settings

from contacts_sync.services.users import user_create

pytestmark = pytest.mark.django_db

PROXY = "10.9.8.7"  # the reverse proxy every request comes through


def client_address() -> str:
    """Rate limits live in Redis across runs: each test gets its own client addresses."""
    return "198.18." + ".".join(str(b) for b in os.urandom(2))


# --- passwords ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["short1", "password123", "dana.lee@example.com", "12345678901"])
def test_user_create_refuses_a_password_the_validators_refuse(password: str, django_user_model: Any) -> None:
    with pytest.raises(ValueError, match="password refused"):
        user_create(email="dana.lee@example.com", role="Viewer", password=password)
    assert not django_user_model.objects.filter(email="dana.lee@example.com").exists()


def test_the_create_user_command_says_why_a_password_is_refused(django_user_model: Any) -> None:
    with pytest.raises(CommandError, match="too short"):
        call_command("create_user", "ops@example.com", "--role", "Admin", "--password", "abc")
    assert not django_user_model.objects.filter(email="ops@example.com").exists()
    call_command("create_user", "ops@example.com", "--role", "Admin", "--password", "plum-tractor-sunrise-41")
    assert django_user_model.objects.get(email="ops@example.com").check_password("plum-tractor-sunrise-41")


# --- e-mail addresses -------------------------------------------------------------------------------------------


def test_an_added_address_stays_unverified_until_its_owner_clicks_the_mailed_link(client: Any, viewer: Any) -> None:
    someone_else = f"ceo-{os.urandom(3).hex()}@example.org"  # allauth's mail cooldown per address lives in Redis
    client.force_login(viewer)
    response = client.post("/accounts/email/", {"email": someone_else, "action_add": ""}, REMOTE_ADDR=client_address())
    assert response.status_code in (200, 302)
    added = EmailAddress.objects.get(user=viewer, email=someone_else)
    assert added.verified is False and added.primary is False
    assert [m.to for m in mail.outbox] == [[someone_else]]
    assert "/accounts/confirm-email/" in mail.outbox[0].body

    # it cannot become the primary address, and it does not log anyone in
    client.post("/accounts/email/", {"email": someone_else, "action_primary": ""})
    added.refresh_from_db()
    assert added.primary is False
    client.logout()
    response = client.post(
        "/accounts/login/", {"login": someone_else, "password": viewer.raw_password}, REMOTE_ADDR=client_address()
    )
    assert response.status_code == 302
    assert "/accounts/confirm-email/" in response["Location"]
    assert "_auth_user_id" not in client.session


# --- login limits behind a reverse proxy --------------------------------------------------------------------------


def _login(client: Any, email: str, password: str, address: str) -> str:
    response = client.post(
        "/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=address
    )
    client.logout()
    return (
        "ok"
        if response.status_code == 302
        else ("limited" if "Too many failed login attempts" in response.content.decode() else "refused")
    )


@override_settings(ALLAUTH_TRUSTED_PROXY_COUNT=1)
def test_bad_passwords_behind_a_proxy_lock_the_account_not_everyone(client: Any, make_user: Any) -> None:
    victim, colleague = make_user("Viewer"), make_user("Editor")
    attacker = client_address()
    outcomes = [_login(client, victim.email, f"guess-{i}", attacker) for i in range(6)]
    assert outcomes[:5] == ["refused"] * 5 and outcomes[5] == "limited"
    # the account is locked for everyone, even with the right password from another client ...
    assert _login(client, victim.email, victim.raw_password, client_address()) == "limited"
    # ... but a colleague behind the same proxy logs in
    assert _login(client, colleague.email, colleague.raw_password, client_address()) == "ok"


@override_settings(ALLAUTH_TRUSTED_PROXY_COUNT=1)
def test_one_client_spraying_many_accounts_is_limited_per_client(client: Any, make_user: Any) -> None:
    sprayer, bystander = client_address(), make_user("Viewer")
    outcomes = [_login(client, f"user{i}@example.com", "Winter2026!", sprayer) for i in range(21)]
    assert outcomes[-1] == "limited" and outcomes[0] == "refused"
    assert _login(client, bystander.email, bystander.raw_password, sprayer) == "limited"
    assert _login(client, bystander.email, bystander.raw_password, client_address()) == "ok"


# --- MFA for admins ---------------------------------------------------------------------------------------------


@override_settings(REQUIRE_MFA_FOR_ADMINS=True)
def test_an_admin_without_an_authenticator_is_sent_to_set_one_up(client: Any, admin_user: Any, viewer: Any) -> None:
    client.force_login(admin_user)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/"
    htmx = client.get("/connections/", HTTP_HX_REQUEST="true")
    assert htmx.headers.get("HX-Redirect") == "/accounts/2fa/totp/activate/"
    # allauth asks for the password again before activating TOTP; that page is reachable and says why
    page = client.get("/accounts/2fa/totp/activate/", follow=True)
    assert page.status_code == 200 and page.request["PATH_INFO"].startswith("/accounts/")
    assert "Admins must use two-factor authentication" in page.content.decode()
    # the rule is for admins: a viewer is not stopped
    client.force_login(viewer)
    assert client.get("/").status_code == 200


@override_settings(REQUIRE_MFA_FOR_ADMINS=True)
def test_an_admin_with_totp_gets_through(client: Any, admin_user: Any) -> None:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(admin_user, generate_totp_secret())
    assert Authenticator.objects.filter(user=admin_user, type=Authenticator.Type.TOTP).exists()
    client.force_login(admin_user)
    assert client.get("/").status_code == 200


def test_admins_are_not_forced_when_the_option_is_off(client: Any, admin_user: Any) -> None:
    client.force_login(admin_user)
    assert client.get("/").status_code == 200


# --- /metrics ---------------------------------------------------------------------------------------------------


def test_metrics_are_never_public_when_debug_is_off(client: Any) -> None:
    with override_settings(METRICS_PUBLIC=False, METRICS_TOKEN=""):
        assert client.get("/metrics").status_code == 403
    with override_settings(METRICS_PUBLIC=False, METRICS_TOKEN="metrics-token-0123456789"):
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token-0123456789").status_code == 401
        ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-0123456789")
        assert ok.status_code == 200 and b"contacts_sync_" in ok.content
