"""Agencies for tests: an agency in the GHL emulator, connected to us through the real OAuth Company flow (or its
agency private token), and the emulator's counters the tests compare against."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from contacts_sync.models import Connection
from contacts_sync.services import agencies, ghl_oauth
from tests.sandbox.ghl_support import Agency

CLIENT_ID, CLIENT_SECRET = "sandbox-client-id", "sandbox-client-secret"
REDIRECT_URI = "http://testserver/connections/highlevel/callback/"
SCOPES = ["contacts.readonly", "contacts.write", "locations/customFields.readonly"]


@pytest.fixture
def agency_settings(settings: Any) -> Any:
    """Our OAuth client and app id are the emulator's Marketplace app."""
    settings.GHL_CLIENT_ID, settings.GHL_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    settings.GHL_APP_ID = "sandbox-app"
    return settings


def consent(sandbox: Any, *, state: str, scopes: list[str], **choice: str) -> str:
    """What the admin's browser does on the emulator's consent page: pick the agency, follow the redirect."""
    r = requests.get(
        f"{sandbox.ghl_url}/oauth/chooselocation",
        allow_redirects=False,
        timeout=10,
        params={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "state": state,
            "scope": " ".join(scopes),
            **choice,
        },
    )
    assert r.status_code == 302, r.text
    return parse_qs(urlsplit(r.headers["location"]).query)["code"][0]


def oauth_agency(
    sandbox: Any, user: Any, *, name: str = "Acme Agency", connect_all: bool = False, **settings: Any
) -> tuple[Agency, Connection]:
    """An emulator agency (`settings` as for /_admin/agencies) connected through our OAuth Company flow."""
    agency = Agency(sandbox, name=name, **settings)
    session: dict[str, Any] = {}
    start = ghl_oauth.ghl_oauth_start(
        session=session,
        user=user,
        name=name,
        scopes=list(SCOPES),
        redirect_uri=REDIRECT_URI,
        base_url=sandbox.ghl_url,
        kind="agency",
        connect_all=connect_all,
    )
    asked = session[ghl_oauth.OAUTH_SESSION_KEY]
    scopes = next(iter(asked.values()))["scopes"]
    code = consent(sandbox, state=start.state, scopes=scopes, company_id=agency.id)
    connection = ghl_oauth.ghl_oauth_finish(session=session, user=user, state=start.state, code=code)
    return agency, connection


def pit_agency(sandbox: Any, user: Any, *, name: str = "PIT Agency", **settings: Any) -> tuple[Agency, Connection, str]:
    """An emulator agency connected with an agency private integration token."""
    agency = Agency(sandbox, name=name, **settings)
    token = sandbox.admin("POST", "/ghl/_admin/tokens", json={"companyId": agency.id})["token"]
    connection = agencies.agency_connect_private_token(
        name=name, company_id=agency.id, token=token, user=user, base_url=sandbox.ghl_url
    )
    return agency, connection, token


def stats(sandbox: Any) -> dict[str, Any]:
    return dict(sandbox.admin("GET", "/ghl/_admin/stats"))
