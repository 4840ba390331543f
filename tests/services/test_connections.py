"""Connections service against the real emulators: test, OAuth, single-flight refresh, needs re-auth, rotation."""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db
from django.utils import timezone

from contacts_sync.models import AuditEntry, Connection, StatusChange
from contacts_sync.services import connections as svc
from contacts_sync.services import credentials, ghl_oauth
from tests.factories import ConnectionFactory, SyncFactory

CLIENT_ID, CLIENT_SECRET = "sandbox-client-id", "sandbox-client-secret"
WORKERS = 8


@pytest.fixture
def oauth_settings(settings: Any) -> Any:
    settings.GHL_CLIENT_ID, settings.GHL_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    return settings


def ghl_stats(sandbox: Any) -> dict[str, Any]:
    return sandbox.admin("GET", "/ghl/_admin/stats")


def refreshes(sandbox: Any) -> tuple[int, int]:
    stats = ghl_stats(sandbox)
    return int(stats["token_refreshes"]), int(stats["refresh_reuse"])


def authorize_code(sandbox: Any, *, redirect_uri: str, state: str, scopes: list[str]) -> str:
    """What a user's browser does on the emulator's consent page: choose the location, follow the redirect."""
    r = requests.get(
        f"{sandbox.ghl_url}/oauth/chooselocation",
        allow_redirects=False,
        timeout=10,
        params={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": " ".join(scopes),
            "location_id": sandbox.location_id,
        },
    )
    assert r.status_code == 302, r.text
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["state"] == [state]
    return query["code"][0]


def oauth_connection(sandbox: Any, user: Any, *, name: str = "Main location", replace: Connection | None = None) -> Any:
    """Connection, or a PendingOAuthGrant when the location is connected already and `replace` is not it."""
    session: dict[str, Any] = {}
    redirect_uri = "http://testserver/connections/highlevel/callback/"
    start = ghl_oauth.ghl_oauth_start(
        session=session,
        user=user,
        name=name,
        scopes=["contacts.readonly", "contacts.write"],
        redirect_uri=redirect_uri,
        base_url=sandbox.ghl_url,
        replace_connection_id=replace.pk if replace is not None else None,
    )
    code = authorize_code(
        sandbox, redirect_uri=redirect_uri, state=start.state, scopes=["contacts.readonly", "contacts.write"]
    )
    return ghl_oauth.ghl_oauth_finish(session=session, user=user, state=start.state, code=code)


def expire(connection: Connection) -> None:
    Connection.objects.filter(pk=connection.pk).update(token_expires_at=timezone.now() - timedelta(minutes=1))


# --- test -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_private_integration_token_tests_connected(clean_sandbox: Any, admin_user: Any) -> None:
    connection = svc.connection_create(
        provider="ghl",
        auth_kind="private_token",
        name="PIT",
        user=admin_user,
        secrets={"access_token": clean_sandbox.token},
        external_account_id=clean_sandbox.location_id,
        base_url=clean_sandbox.ghl_url,
    )
    assert connection.status == "connected"
    assert connection.last_checked_at is not None and connection.last_error == ""


@pytest.mark.django_db
def test_a_wrong_key_sets_error_with_the_providers_message_and_changes_nothing_else(
    clean_sandbox: Any, admin_user: Any
) -> None:
    connection = ConnectionFactory(
        secrets={"access_token": "pit-wrong"},
        external_account_id=clean_sandbox.location_id,
        base_url=clean_sandbox.ghl_url,
        name="Main",
    )
    sync = SyncFactory(target_connection=connection)
    svc.connection_test(connection=connection, user=admin_user)
    connection.refresh_from_db()
    assert connection.status == "error"
    assert "401" in connection.last_error and "pit-wrong" not in connection.last_error
    assert connection.secrets == {"access_token": "pit-wrong"} and connection.name == "Main"
    sync.refresh_from_db()
    assert sync.enabled and sync.health == "new"  # an error is not a lost consent: syncs keep their state
    assert StatusChange.objects.filter(connection=connection, new_status="error").count() == 1


@pytest.mark.django_db
def test_other_apps_test_through_their_connectors(clean_sandbox: Any, admin_user: Any) -> None:
    hs = svc.connection_create(
        provider="hotspotsystem",
        auth_kind="api_key",
        name="HS",
        user=admin_user,
        secrets={"api_key": "hotspot-sandbox-key"},
        base_url=f"{clean_sandbox.url}/hotspotsystem",
    )
    bad = svc.connection_create(
        provider="upguard",
        auth_kind="api_key",
        name="UG",
        user=admin_user,
        secrets={"api_key": "not-a-key"},
        base_url=f"{clean_sandbox.url}/upguard",
    )
    assert hs.status == "connected"
    assert bad.status == "error" and bad.last_error


# --- OAuth ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_oauth_flow_stores_the_pair_location_company_and_scopes(
    clean_sandbox: Any, admin_user: Any, oauth_settings: Any
) -> None:
    connection = oauth_connection(clean_sandbox, admin_user)
    assert connection.status == "connected"
    assert connection.auth_kind == "oauth2"
    assert connection.external_account_id == clean_sandbox.location_id and connection.company_id
    assert connection.scopes == ["contacts.readonly", "contacts.write"]
    assert set(connection.secrets) == {"access_token", "refresh_token"}
    assert connection.token_expires_at > timezone.now() + timedelta(hours=20)
    # reconnecting from the connection updates the same connection (its syncs keep working)
    again = oauth_connection(clean_sandbox, admin_user, replace=connection)
    assert again.pk == connection.pk and Connection.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["tampered", "replayed", "other_user", "denied", "bad_code"])
def test_a_bad_oauth_answer_stores_nothing_and_says_why(
    clean_sandbox: Any, admin_user: Any, make_user: Any, oauth_settings: Any, case: str
) -> None:
    session: dict[str, Any] = {}
    start = ghl_oauth.ghl_oauth_start(
        session=session,
        user=admin_user,
        name="X",
        scopes=["contacts.readonly"],
        redirect_uri="http://testserver/cb/",
        base_url=clean_sandbox.ghl_url,
    )
    code = authorize_code(
        clean_sandbox, redirect_uri="http://testserver/cb/", state=start.state, scopes=["contacts.readonly"]
    )
    kwargs: dict[str, Any] = {"session": session, "user": admin_user, "state": start.state, "code": code}
    expected = {
        "tampered": "altered",
        "replayed": "already used",
        "other_user": "another user",
        "denied": "denied",
        "bad_code": "refused the authorization code",
    }[case]
    if case == "tampered":
        kwargs["state"] = start.state[:-3] + ("aaa" if not start.state.endswith("aaa") else "bbb")
    elif case == "replayed":
        ghl_oauth.ghl_oauth_finish(**kwargs)
        Connection.objects.all().delete()
    elif case == "other_user":
        kwargs["user"] = make_user("Admin")
    elif case == "denied":
        kwargs.update(code="", error="access_denied", error_description="The user denied access")
    elif case == "bad_code":
        kwargs["code"] = "not-a-code"
    with pytest.raises(svc.ConnectionActionError, match=expected):
        ghl_oauth.ghl_oauth_finish(**kwargs)
    assert Connection.objects.count() == 0


# --- refresh ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_workers_with_an_expired_token_cause_one_refresh_and_stay_healthy(
    clean_sandbox: Any, admin_user: Any, oauth_settings: Any
) -> None:
    connection = oauth_connection(clean_sandbox, admin_user)
    expire(connection)
    before_refreshes, before_reuse = refreshes(clean_sandbox)
    old_refresh_token = Connection.objects.get(pk=connection.pk).secrets["refresh_token"]
    barrier = threading.Barrier(WORKERS)
    results: list[Any] = []

    def worker() -> None:
        try:
            client = credentials.connector_for(Connection.objects.get(pk=connection.pk)).client
            barrier.wait(timeout=30)
            results.append(list(client.search_contacts(page_limit=5))[:1])
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            results.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert len(results) == WORKERS
    after_refreshes, after_reuse = refreshes(clean_sandbox)
    assert after_refreshes - before_refreshes == 1
    assert after_reuse == before_reuse  # nobody used the rotated-away refresh token
    connection.refresh_from_db()
    assert connection.secrets["refresh_token"] != old_refresh_token
    assert connection.token_expires_at > timezone.now() + timedelta(hours=20)
    assert svc.connection_test(connection=connection).status == "connected"
    assert AuditEntry.objects.filter(action="connection.token_refresh", object_id=str(connection.pk)).count() == 1


def _process_worker(connection_id: int, barrier: Any, results: Any) -> None:
    """One forked worker process: its own DB connection, its own Redis clients, its own GHL client."""
    from contacts_sync.apiclient import budget

    credentials._REDIS.clear()
    budget._CLIENTS.clear()
    try:
        client = credentials.connector_for(Connection.objects.get(pk=connection_id)).client
        barrier.wait(30)
        list(client.search_contacts(page_limit=5))
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        results.put(repr(exc))
    finally:
        from django.db import connections

        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_eight_worker_processes_with_an_expired_token_cause_one_refresh(
    clean_sandbox: Any, admin_user: Any, oauth_settings: Any
) -> None:
    import multiprocessing

    from django.db import connections

    connection = oauth_connection(clean_sandbox, admin_user)
    expire(connection)
    before_refreshes, before_reuse = refreshes(clean_sandbox)
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(WORKERS), ctx.Queue()
    connections.close_all()  # children open their own connections
    procs = [ctx.Process(target=_process_worker, args=(connection.pk, barrier, results)) for _ in range(WORKERS)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=90) for _ in procs]
    for p in procs:
        p.join(30)
    assert outcomes == ["ok"] * WORKERS
    assert refreshes(clean_sandbox) == (before_refreshes + 1, before_reuse)
    connection.refresh_from_db()
    assert connection.status == "connected" and connection.token_expires_at > timezone.now() + timedelta(hours=20)


@pytest.mark.django_db
def test_a_used_refresh_token_sets_needs_reauth_once_without_retrying(
    clean_sandbox: Any, admin_user: Any, oauth_settings: Any
) -> None:
    connection = oauth_connection(clean_sandbox, admin_user)
    sync = SyncFactory(target_connection=connection)
    # someone else (a copy of the database, a second install) already used this refresh token
    requests.post(
        f"{clean_sandbox.ghl_url}/oauth/token",
        timeout=10,
        data={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": connection.secrets["refresh_token"],
            "user_type": "Location",
        },
    ).raise_for_status()
    expire(connection)
    before_refreshes, before_reuse = refreshes(clean_sandbox)
    svc.connection_test(connection=connection)
    connection.refresh_from_db()
    assert connection.status == "needs_reauth"
    assert "already been used" in connection.last_error
    assert refreshes(clean_sandbox) == (before_refreshes, before_reuse + 1)  # one attempt, no loop
    changes = StatusChange.objects.filter(connection=connection, new_status="needs_reauth")
    assert changes.count() == 1
    sync.refresh_from_db()
    assert sync.health == "needs_reauth"
    # the periodic check leaves it alone until an admin reconnects
    svc.connection_check(connection=connection)
    assert refreshes(clean_sandbox) == (before_refreshes, before_reuse + 1)


@pytest.mark.django_db
def test_an_inactive_location_refusing_the_refresh_sets_needs_reauth(
    clean_sandbox: Any, admin_user: Any, oauth_settings: Any
) -> None:
    connection = oauth_connection(clean_sandbox, admin_user)
    clean_sandbox.admin("POST", "/ghl/_admin/locations", json={"id": clean_sandbox.location_id, "active": False})
    expire(connection)
    svc.connection_test(connection=connection)
    connection.refresh_from_db()
    assert connection.status == "needs_reauth" and "Location is not active" in connection.last_error


@pytest.mark.django_db
def test_the_periodic_check_refreshes_a_token_that_expires_soon(
    clean_sandbox: Any, admin_user: Any, oauth_settings: Any
) -> None:
    connection = oauth_connection(clean_sandbox, admin_user)
    Connection.objects.filter(pk=connection.pk).update(token_expires_at=timezone.now() + timedelta(minutes=30))
    before, _ = refreshes(clean_sandbox)
    checked = svc.connection_check(connection=Connection.objects.get(pk=connection.pk))
    assert checked.status == "connected"
    assert refreshes(clean_sandbox)[0] == before + 1
    checked.refresh_from_db()
    assert checked.token_expires_at > timezone.now() + timedelta(hours=20)
    svc.connection_check(connection=checked)  # nothing due: no second refresh
    assert refreshes(clean_sandbox)[0] == before + 1


# --- rotate / disconnect ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotating_to_a_refused_key_keeps_the_old_one(clean_sandbox: Any, admin_user: Any) -> None:
    connection = svc.connection_create(
        provider="hotspotsystem",
        auth_kind="api_key",
        name="HS",
        user=admin_user,
        secrets={"api_key": "hotspot-sandbox-key"},
        base_url=f"{clean_sandbox.url}/hotspotsystem",
    )
    with pytest.raises(svc.ConnectionActionError, match="nothing changed"):
        svc.connection_rotate_secret(connection=connection, secrets={"api_key": "wrong"}, user=admin_user)
    connection.refresh_from_db()
    assert connection.secrets == {"api_key": "hotspot-sandbox-key"} and connection.status == "connected"
    assert not AuditEntry.objects.filter(action="connection.rotate").exists()


@pytest.mark.django_db
def test_rotating_a_hubstaff_pat_stores_the_token_the_exchange_rotated_to(clean_sandbox: Any, admin_user: Any) -> None:
    base = f"{clean_sandbox.url}/hubstaff"
    first = clean_sandbox.admin("POST", "/hubstaff/_admin/pats", json={})["refresh_token"]
    connection = svc.connection_create(
        provider="hubstaff",
        auth_kind="oauth2",
        name="HS",
        user=admin_user,
        secrets={"refresh_token": first},
        external_account_id="1001",
        base_url=base,
    )
    assert connection.status == "connected", connection.last_error
    new_pat = clean_sandbox.admin("POST", "/hubstaff/_admin/pats", json={})["refresh_token"]
    svc.connection_rotate_secret(connection=connection, secrets={"refresh_token": new_pat}, user=admin_user)
    connection.refresh_from_db()
    assert connection.status == "connected", connection.last_error
    assert connection.secrets["refresh_token"] not in (first, new_pat)  # the rotated one, not the used-up one
    assert svc.connection_test(connection=connection).status == "connected"


@pytest.mark.django_db
def test_disconnect_deletes_the_secrets_and_keeps_the_connection_and_its_history(
    clean_sandbox: Any, admin_user: Any
) -> None:
    connection = svc.connection_create(
        provider="hotspotsystem",
        auth_kind="api_key",
        name="HS",
        user=admin_user,
        secrets={"api_key": "hotspot-sandbox-key"},
        base_url=f"{clean_sandbox.url}/hotspotsystem",
    )
    sync = SyncFactory(source_connection=connection)
    svc.connection_disconnect(connection=connection, user=admin_user)
    connection.refresh_from_db()
    assert connection.secrets == {} and connection.status == "disabled"
    assert Connection.objects.filter(pk=connection.pk).exists() and sync.__class__.objects.filter(pk=sync.pk).exists()
    assert list(
        AuditEntry.objects.filter(object_id=str(connection.pk)).values_list("action", flat=True).order_by("pk")
    ) == ["connection.create", "connection.disconnect"]
    with pytest.raises(svc.ConnectionActionError, match="disconnected"):
        svc.connection_test(connection=connection)
    # connecting it again (a new key on the edit page) brings it back without touching its syncs
    svc.connection_rotate_secret(connection=connection, secrets={"api_key": "hotspot-sandbox-key"}, user=admin_user)
    connection.refresh_from_db()
    assert connection.status == "connected" and connection.secrets == {"api_key": "hotspot-sandbox-key"}
    assert sync.__class__.objects.get(pk=sync.pk).source_connection_id == connection.pk


@pytest.mark.django_db
def test_after_key_rotation_every_connection_still_tests_healthy(
    clean_sandbox: Any, admin_user: Any, oauth_settings: Any
) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    oauth_settings.FIELD_ENCRYPTION_KEYS = [old_key]
    pat = clean_sandbox.admin("POST", "/hubstaff/_admin/pats", json={})["refresh_token"]
    made = [
        oauth_connection(clean_sandbox, admin_user),
        svc.connection_create(
            provider="ghl",
            auth_kind="private_token",
            name="PIT",
            user=admin_user,
            secrets={"access_token": clean_sandbox.token},
            base_url=clean_sandbox.ghl_url,
            external_account_id=clean_sandbox.location_id,
        ),
        svc.connection_create(
            provider="hubstaff",
            auth_kind="oauth2",
            name="Hub",
            user=admin_user,
            secrets={"refresh_token": pat},
            external_account_id="1001",
            base_url=f"{clean_sandbox.url}/hubstaff",
        ),
        svc.connection_create(
            provider="hotspotsystem",
            auth_kind="api_key",
            name="HS",
            user=admin_user,
            secrets={"api_key": "hotspot-sandbox-key"},
            base_url=f"{clean_sandbox.url}/hotspotsystem",
        ),
        svc.connection_create(
            provider="upguard",
            auth_kind="api_key",
            name="UG",
            user=admin_user,
            secrets={"api_key": "upguard-sandbox-key"},
            base_url=f"{clean_sandbox.url}/upguard",
        ),
    ]
    assert [c.status for c in made] == ["connected"] * len(made), [c.last_error for c in made]
    with db.cursor() as cur:
        cur.execute("SELECT secrets FROM contacts_sync_connection")
        raw = " ".join(r[0] for r in cur.fetchall())
    for secret in ("hotspot-sandbox-key", "upguard-sandbox-key", clean_sandbox.token, pat):
        assert secret not in raw

    oauth_settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys", stdout=io.StringIO())
    oauth_settings.FIELD_ENCRYPTION_KEYS = [new_key]
    for connection in Connection.objects.all():
        assert svc.connection_test(connection=connection).status == "connected", connection.last_error
