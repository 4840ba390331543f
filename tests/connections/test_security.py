"""Standing security tests of outbound calls to user-entered URLs and of secrets shown once.

- A base URL (connection, GHL OAuth) or alert URL must be public: 10/8, 127/8, 169.254/16, 100.64/10 (CGNAT),
  IPv6 forms of them... are refused unless the host is on PRIVATE_URL_ALLOWLIST (the tests' emulators on
  127.0.0.1 are; DEBUG changes nothing).
- Moving a connection to another host needs its secrets again; the stored ones never reach the new host.
- GHL's token URL (where the client secret and refresh tokens go) comes from settings, never from a base URL or
  a stored config value.
- Redirects are never followed with credentials (every API client, the GHL token POST, the alert transports).
- The socket connects to the address that was checked (DNS rebinding reaches nothing), keeping the name for the
  Host header, TLS SNI and the certificate check.
- A generated alert-channel signing secret is shown once in the page (no-store), never in the messages cookie.

Name resolution is the one thing stubbed here (no DNS server can be run for a test): `socket.getaddrinfo`
answers for made-up `.test` names only and resolves everything else as usual. No test sends a packet anywhere
but 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.urls import reverse

from contacts_sync.alerts.transports import AlertMessage
from contacts_sync.connectors.ghl import oauth
from contacts_sync.models import AlertChannel, AuditEntry, AuthKind, ChannelKind, Connection, Provider
from contacts_sync.services import connections as svc
from contacts_sync.services import ghl_oauth
from contacts_sync.services.alerts import notification_send
from contacts_sync.services.channels import ChannelURLError, url_check
from tests.alerts.receiver import http_receiver
from tests.factories import ConnectionFactory

HOTSPOT_KEY = "hotspot-sandbox-key"
REFUSED = [
    "http://127.0.0.1:9/x",
    "http://10.1.2.3/x",
    "http://100.64.0.1/x",  # carrier-grade NAT (RFC 6598): not "private" to Python, not public either
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[::1]/x",
    "http://[::ffff:127.0.0.1]/x",  # IPv4-mapped loopback
    "http://[64:ff9b::a00:1]/x",  # NAT64 form of 10.0.0.1
    "http://localhost/x",
    "http://2130706433/x",  # 127.0.0.1 written as one number
]


@pytest.fixture
def production_allowlist(settings: Any) -> Any:
    """What production runs with: no local host allowed, DEBUG on to show it changes nothing."""
    settings.PRIVATE_URL_ALLOWLIST = []
    settings.DEBUG = True
    return settings


@contextmanager
def fake_dns(answers: dict[str, list[str]]) -> Iterator[dict[str, int]]:
    """Made-up names answer with the next address of their list (the last one repeats); counts the look-ups."""
    real = socket.getaddrinfo
    asked: dict[str, int] = {}

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, bytes):
            host = host.decode()
        if host in answers:
            n = asked[host] = asked.get(host, 0) + 1
            address = answers[host][min(n, len(answers[host])) - 1]
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    try:
        yield asked
    finally:
        socket.getaddrinfo = real  # type: ignore[assignment]


# --- the address check -------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", REFUSED)
def test_a_base_url_on_a_private_address_is_refused_and_nothing_is_stored(
    production_allowlist: Any, admin_user: Any, url: str
) -> None:
    with pytest.raises(svc.ConnectionActionError, match="private or loopback"):
        svc.connection_create(
            provider="hotspotsystem",
            auth_kind="api_key",
            name="x",
            user=admin_user,
            secrets={"api_key": "k"},
            base_url=url,
        )
    assert not Connection.objects.exists()


@pytest.mark.django_db
def test_editing_a_base_url_to_a_private_address_is_refused_on_the_page(
    production_allowlist: Any, client: Any, admin_user: Any
) -> None:
    connection = ConnectionFactory(provider="hotspotsystem", auth_kind="api_key", secrets={"api_key": "k"}, base_url="")
    client.force_login(admin_user)
    response = client.post(
        reverse("dashboard:connection_edit", args=[connection.pk]),
        {
            "name": connection.name,
            "base_url": "http://100.64.0.1/api",
            "external_account_id": "",
            "secret_api_key": "new-key",
        },
    )
    assert response.status_code == 200 and "private or loopback" in response.content.decode()
    connection.refresh_from_db()
    assert connection.base_url == "" and connection.secrets == {"api_key": "k"}


@pytest.mark.django_db
def test_the_ghl_oauth_base_url_is_checked_too(production_allowlist: Any, admin_user: Any, settings: Any) -> None:
    settings.GHL_CLIENT_ID, settings.GHL_CLIENT_SECRET = "id", "secret"
    kw = {
        "session": {},
        "user": admin_user,
        "name": "x",
        "scopes": ["contacts.readonly"],
        "redirect_uri": "http://testserver/cb/",
    }
    with pytest.raises(svc.ConnectionActionError, match="private or loopback"):
        ghl_oauth.ghl_oauth_start(base_url="http://169.254.169.254", **kw)
    # A public host is no better: the OAuth dance happens with HighLevel, so only an emulator may stand in for it.
    with pytest.raises(svc.ConnectionActionError, match="talks to HighLevel itself"):
        ghl_oauth.ghl_oauth_start(base_url="https://8.8.8.8", **kw)
    assert ghl_oauth.ghl_oauth_start(base_url="", **kw).url.startswith(settings.GHL_OAUTH_AUTHORIZE_URL)


def test_the_allowlist_names_hosts_and_optionally_ports(settings: Any) -> None:
    settings.PRIVATE_URL_ALLOWLIST = ["127.0.0.1:8010", "[::1]"]
    settings.DEBUG = True  # no loophole
    assert url_check("http://127.0.0.1:8010/ghl") == "http://127.0.0.1:8010/ghl"
    assert url_check("http://[::1]:9999/x")
    with pytest.raises(ChannelURLError, match="PRIVATE_URL_ALLOWLIST"):
        url_check("http://127.0.0.1:8011/ghl")
    with pytest.raises(ChannelURLError, match="private or loopback"):
        url_check("http://localhost:8010/ghl")  # the name is what is listed, not what it resolves to


# --- moving a connection ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_moving_a_connection_to_another_host_needs_its_secrets_and_test_sends_nothing_there(
    clean_sandbox: Any, client: Any, admin_user: Any
) -> None:
    connection = svc.connection_create(
        provider="hotspotsystem",
        auth_kind="api_key",
        name="HS",
        user=admin_user,
        secrets={"api_key": HOTSPOT_KEY},
        base_url=f"{clean_sandbox.url}/hotspotsystem",
    )
    assert connection.status == "connected"
    client.force_login(admin_user)
    with http_receiver(body=b"{}") as elsewhere:
        response = client.post(
            reverse("dashboard:connection_edit", args=[connection.pk]),
            {"name": "HS", "base_url": elsewhere.url, "external_account_id": "", "secret_api_key": ""},
        )
        assert response.status_code == 200 and "needs its secrets again (API key)" in response.content.decode()
        connection.refresh_from_db()
        assert connection.base_url == f"{clean_sandbox.url}/hotspotsystem"
        client.post(reverse("dashboard:connection_test", args=[connection.pk]))  # pressing Test afterwards
    assert elsewhere.requests == []  # the stored key never left for the new host
    assert connection.secrets == {"api_key": HOTSPOT_KEY}


@pytest.mark.django_db
def test_a_move_with_the_secrets_entered_again_is_tried_there_and_saved_at_once(
    clean_sandbox: Any, admin_user: Any, settings: Any
) -> None:
    settings.PRIVATE_URL_ALLOWLIST = ["127.0.0.1", "localhost"]  # one emulator under two names: two hosts
    connection = svc.connection_create(
        provider="custom",
        auth_kind="webhook_secret",
        name="App",
        user=admin_user,
        secrets={"api_token": "custom-sandbox-token", "webhook_secret": "whsec_" + "a" * 44},
        base_url=f"{clean_sandbox.url}/custom",
    )
    moved_url = f"http://localhost:{clean_sandbox.port}/custom"
    with pytest.raises(svc.ConnectionActionError, match="refused, nothing changed"):
        svc.connection_update(
            connection=connection, user=admin_user, base_url=moved_url, secrets={"api_token": "wrong-token"}
        )
    connection.refresh_from_db()
    assert connection.base_url == f"{clean_sandbox.url}/custom"
    assert connection.secrets["api_token"] == "custom-sandbox-token"
    svc.connection_update(
        connection=connection, user=admin_user, base_url=moved_url, secrets={"api_token": "custom-sandbox-token"}
    )
    connection.refresh_from_db()
    assert connection.base_url == moved_url and connection.status == "connected"
    assert connection.secrets["webhook_secret"] == "whsec_" + "a" * 44  # inbound only: kept
    entry = AuditEntry.objects.get(action="connection.move")
    assert entry.changes["secrets_replaced"] == ["api_token"] and "custom-sandbox-token" not in str(entry.changes)


@pytest.mark.django_db
def test_a_consent_based_connection_cannot_move_without_a_new_consent(admin_user: Any) -> None:
    connection = ConnectionFactory(
        provider=Provider.GHL,
        auth_kind=AuthKind.OAUTH2,
        secrets={"access_token": "a", "refresh_token": "r"},
        base_url="",
    )
    with pytest.raises(svc.ConnectionActionError, match="connect it again"):
        svc.connection_update(connection=connection, user=admin_user, base_url="http://127.0.0.1:9/ghl")
    connection.refresh_from_db()
    assert connection.base_url == ""


# --- the GHL token URL ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_ghl_token_url_comes_from_settings_not_from_the_connection(settings: Any) -> None:
    settings.GHL_CLIENT_ID, settings.GHL_CLIENT_SECRET = "client-id", "client-secret-42"
    with http_receiver(status=400, body=b'{"error": "invalid_grant"}') as ghl, http_receiver() as attacker:
        settings.GHL_OAUTH_TOKEN_URL = ghl.url
        for base_url, config in (
            ("", {"oauth_token_url": attacker.url}),  # a row stored before the fix
            ("https://api.example.com", {}),  # a base URL a user typed (not an allowlisted emulator)
        ):
            connection = ConnectionFactory(
                provider=Provider.GHL,
                auth_kind=AuthKind.OAUTH2,
                base_url=base_url,
                config=config,
                secrets={"access_token": "a", "refresh_token": "refresh-1"},
            )
            with pytest.raises(Exception, match="invalid_grant"):
                svc.connection_token_refresh(connection=connection, force=True)
    assert attacker.requests == []
    assert len(ghl.requests) == 2 and all(b"client-secret-42" in r.body for r in ghl.requests)


# --- redirects ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_api_client_never_follows_a_redirect_with_the_credentials(admin_user: Any) -> None:
    with http_receiver() as target:
        with http_receiver(status=307, headers={"Location": target.url}) as bouncer:
            connection = svc.connection_create(
                provider="hotspotsystem",
                auth_kind="api_key",
                name="HS",
                user=admin_user,
                secrets={"api_key": "key-that-must-stay"},
                base_url=bouncer.url,
            )
    assert bouncer.requests and target.requests == []
    assert connection.status == "error" and "redirect" in connection.last_error
    assert "not followed" in connection.last_error


def test_the_ghl_token_post_never_follows_a_redirect_with_the_client_secret() -> None:
    with http_receiver() as target:
        with http_receiver(status=307, headers={"Location": target.url}) as bouncer:
            with pytest.raises(oauth.OAuthError, match="redirect"):
                oauth.refresh_token(token_url=bouncer.url, client_id="id", client_secret="s3cret", refresh_token="r")
    assert len(bouncer.requests) == 1 and target.requests == []


# --- connecting to the checked address --------------------------------------------------------------------------


@contextmanager
def loopback_only() -> Iterator[list[Any]]:
    """A test firewall: records every socket connect and refuses any but 127.0.0.1 / ::1 before it happens, so
    a made-up name answering a public address can never send a packet there."""
    real = socket.socket.connect
    attempts: list[Any] = []

    def connect(sock: socket.socket, address: Any) -> Any:
        attempts.append(address)
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError(f"test firewall: {address[0]} is not loopback")
        return real(sock, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    try:
        yield attempts
    finally:
        socket.socket.connect = real  # type: ignore[method-assign]


@pytest.mark.django_db
@pytest.mark.parametrize("answers", [["8.8.8.8", "127.0.0.1"], ["8.8.8.8", "8.8.8.8", "127.0.0.1"]])
def test_a_name_that_rebinds_to_a_private_address_after_the_check_reaches_nothing(
    settings: Any, answers: list[str]
) -> None:
    """DNS rebinding: public when the form checks it, 127.0.0.1 later. The connect goes to the address that was
    checked in the same step, so the internal receiver is never reached, whenever the answer changes."""
    settings.PRIVATE_URL_ALLOWLIST, settings.DEBUG = [], False
    with http_receiver() as internal, loopback_only() as connects:
        port = int(internal.url.split(":")[2].split("/")[0])
        url = f"http://rebind.test:{port}/hook"
        with fake_dns({"rebind.test": answers}):
            assert url_check(url) == url  # the form's check saw a public address
            channel = AlertChannel.objects.create(
                name="hook", kind=ChannelKind.SLACK, target="#x", secrets={"url": url}
            )
            n = notification_send(channel=channel, message=AlertMessage(subject="s", text="t"))
    assert internal.requests == [] and not n.ok
    assert ("127.0.0.1", port) not in connects
    if answers[1] == "8.8.8.8":  # checked public: the connect went there (and the test firewall stopped it)
        assert connects == [("8.8.8.8", port)]
    else:
        assert "private or loopback" in n.error and connects == []


@pytest.mark.django_db
def test_a_connection_whose_host_rebinds_never_sends_its_token_inside(settings: Any, admin_user: Any) -> None:
    settings.PRIVATE_URL_ALLOWLIST, settings.DEBUG = [], False
    with http_receiver(body=b"{}") as internal, loopback_only():
        port = int(internal.url.split(":")[2].split("/")[0])
        with fake_dns({"api.rebind.test": ["8.8.8.8", "127.0.0.1"]}):
            connection = svc.connection_create(
                provider="hotspotsystem",
                auth_kind="api_key",
                name="HS",
                user=admin_user,
                secrets={"api_key": "key-that-must-stay"},
                base_url=f"http://api.rebind.test:{port}/api",
            )
    assert internal.requests == []
    assert connection.status == "error" and "private or loopback" in connection.last_error


def _self_signed(name: str, tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_the_pinned_connection_keeps_the_name_for_host_sni_and_the_certificate(settings: Any, tmp_path: Path) -> None:
    from contacts_sync.apiclient.outbound import safe_session

    name = "api.pinned.test"
    settings.PRIVATE_URL_ALLOWLIST = [name]
    cert, key = _self_signed(name, tmp_path)
    seen: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen["host"] = self.headers.get("Host")
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            return

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, server_name, ctx: seen.__setitem__("sni", server_name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        with fake_dns({name: ["127.0.0.1"]}):
            response = safe_session().get(f"https://{name}:{port}/probe", verify=str(cert), timeout=5)
            first = dict(seen)
            with pytest.raises(Exception, match=r"(?i)certificate|hostname"):
                # The same server under another allowlisted name: the certificate check still uses the name.
                settings.PRIVATE_URL_ALLOWLIST = [name, "other.pinned.test"]
                with fake_dns({"other.pinned.test": ["127.0.0.1"]}):
                    safe_session().get(f"https://other.pinned.test:{port}/probe", verify=str(cert), timeout=5)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert response.status_code == 200
    assert first["sni"] == name and first["host"] == f"{name}:{port}"
    assert seen["sni"] == "other.pinned.test"  # the refused call did present its own name


def test_the_address_rules_follow_is_global_and_embedded_ipv4() -> None:
    import ipaddress

    from contacts_sync.apiclient import outbound

    public = ["8.8.8.8", "2001:4860:4860::8888"]
    private = [
        "100.64.0.1",
        "10.0.0.1",
        "127.0.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::",
        "192.0.2.1",
    ]
    assert all(outbound.is_public(ipaddress.ip_address(a)) for a in public)
    assert not any(outbound.is_public(ipaddress.ip_address(a)) for a in private)


# --- a generated alert secret is shown once -------------------------------------------------------------------


def cookie_messages(client: Any) -> str:
    """The text of the flash messages waiting in the (signed, maybe compressed) messages cookie."""
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.test import RequestFactory

    morsel = client.cookies.get("messages")
    if morsel is None or not morsel.value:
        return ""
    return " ".join(str(m) for m in CookieStorage(RequestFactory().get("/"))._decode(morsel.value) or [])


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_a_generated_channel_secret_is_shown_once_in_the_page_not_in_the_messages_cookie(
    client: Any, admin_user: Any, htmx: bool
) -> None:
    client.force_login(admin_user)
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(
        reverse("dashboard:channel_list"),
        {"name": "ops", "kind": "webhook", "target": "https://8.8.8.8/hook"},  # accepted, never called here
        headers=headers,
    )
    secret = AlertChannel.objects.get(name="ops").secrets["secret"]
    assert secret.startswith("whsec_")
    assert secret not in cookie_messages(client) and secret not in str(dict(client.session))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert secret in response.content.decode()
    assert secret not in client.get(reverse("dashboard:channel_list")).content.decode()
