"""A HighLevel agency (GHL "Company"): the agency-level operations, the connector of an agency connection, and
location tokens minted from the agency's token. No ORM, no Celery.

An agency connection holds a Company token (OAuth `user_type=Company`, rotating like a location pair) or an agency
private integration token. It is not the source or target of a sync: its sub-accounts (locations) are, each as
its own connection. With a Company OAuth token a sub-account's token is minted by POST /oauth/locationToken (no
refresh token: when it expires a new one is minted from the agency's token). The spec marks locationToken and
installedLocations "Agency-Access-Only": an agency private token lists the sub-accounts (GET /locations/search,
"Agency-Access") but cannot mint their tokens, so each of its sub-accounts needs its own private token.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from contacts_sync.apiclient.errors import (
    ApiError,
    AuthError,
    ForbiddenError,
    MalformedResponseError,
    NotFoundError,
    ValidationError,
)
from contacts_sync.apiclient.tokens import TokenGrant, TokenRefused
from contacts_sync.connectors.base import BaseConnector, ConnectionInfo

from . import spec
from .client import GHLClient

# Rows per page of GET /oauth/installedLocations and GET /locations/search (their defaults are 20 and 10).
LOCATIONS_PAGE = 100
# An agency with more sub-accounts than this is listed up to here (GHL's largest agencies have a few thousand).
LOCATIONS_MAX = 10_000
# GHL answers 201 to POST /oauth/locationToken where the spec declares 200 (observed); any 2xx is a token.
MINT_OK = tuple(range(200, 300))


class GHLAgencyClient(GHLClient):
    """The agency-level operations, spending the agency's own rate budget (per app per Company)."""

    def __init__(self, *, company_id: str, **kw: Any) -> None:
        super().__init__(location_id="", **kw)
        self.company_id = company_id

    def location_token(self, location_id: str) -> dict[str, Any]:
        """POST /oauth/locationToken (form: companyId, locationId): `{access_token, expires_in, scope, ...}`."""
        op = "location_token"
        body = self._request(
            "POST",
            "/oauth/locationToken",
            data={"companyId": self.company_id, "locationId": location_id},
            operation=op,
            expected=MINT_OK,
        )
        if not isinstance(body, dict) or not body.get("access_token"):
            raise MalformedResponseError(
                f"{op}: the answer carries no access_token", operation=op, provider=self.provider
            )
        return body

    def installed_locations(self, *, app_id: str) -> Iterator[dict[str, Any]]:
        """Every sub-account of the agency with `isInstalled` for our app (GET /oauth/installedLocations)."""
        op = "installed_locations"
        skip = 0
        while skip < LOCATIONS_MAX:
            body = self._request(
                "GET",
                "/oauth/installedLocations",
                params={"companyId": self.company_id, "appId": app_id, "skip": str(skip), "limit": str(LOCATIONS_PAGE)},
                operation=op,
            )
            rows = self._many(body, "locations", op)
            yield from rows
            skip += len(rows)
            total = body.get("count") if isinstance(body, dict) else None
            if len(rows) < LOCATIONS_PAGE or (isinstance(total, int) and skip >= total):
                return

    def search_locations(self) -> Iterator[dict[str, Any]]:
        """Every sub-account of the agency (GET /locations/search; agency OAuth or private token)."""
        op = "search_locations"
        skip = 0
        while skip < LOCATIONS_MAX:
            body = self._request(
                "GET",
                "/locations/search",
                params={"companyId": self.company_id, "skip": str(skip), "limit": str(LOCATIONS_PAGE)},
                operation=op,
            )
            rows = self._many(body, "locations", op)
            yield from rows
            skip += len(rows)
            if len(rows) < LOCATIONS_PAGE:
                return

    def location(self, location_id: str) -> dict[str, Any]:
        """GET /locations/{locationId} of one of the agency's sub-accounts."""
        op = "get_location"
        body = self._request("GET", "/locations/{locationId}", operation=op, path_params={"locationId": location_id})
        return self._one(body, "location", op)


def location_row(row: dict[str, Any]) -> dict[str, Any]:
    """One sub-account as the directory keeps it, from either listing (installedLocations rows use `_id`)."""
    installed = row.get("isInstalled")
    return {
        "id": str(row.get("_id") or row.get("id") or ""),
        "name": str(row.get("name") or ""),
        "email": str(row.get("email") or ""),
        "address": str(row.get("address") or ""),
        "installed": installed if isinstance(installed, bool) else None,
    }


def list_locations(client: GHLAgencyClient, *, app_id: str, oauth: bool) -> list[dict[str, Any]]:
    """The agency's sub-accounts: with a Company OAuth token and our app id, with whether the app is installed on
    each (installedLocations); otherwise every sub-account, installed unknown (locations/search)."""
    rows = client.installed_locations(app_id=app_id) if oauth and app_id else client.search_locations()
    return [r for r in (location_row(row) for row in rows) if r["id"]]


def mint_grant(
    client: GHLAgencyClient, location_id: str, *, now: datetime | None = None, facts: dict[str, Any] | None = None
) -> TokenGrant:
    """A new location token from the agency's; every refusal becomes a TokenRefused saying whose fault it is.

    Permanent: the agency's token is refused for good (its own refresh failed: the agency needs re-auth), the
    app is not installed on the location (400), the location is not the agency's (403/404), a malformed answer.
    Transient (the token provider raises, the next call tries again): rate limits, 5xx, timeouts.
    """
    try:
        body = client.location_token(location_id)
    except TokenRefused as exc:  # the agency's own token could not be refreshed
        raise TokenRefused(
            f"the agency's HighLevel authorization failed: {exc}; reconnect the agency",
            permanent=exc.permanent,
            operation="location_token",
            provider="ghl",
        ) from exc
    except (AuthError, ForbiddenError, NotFoundError, ValidationError, MalformedResponseError) as exc:
        raise TokenRefused(
            f"HighLevel refused a token for location {location_id}: {exc}",
            permanent=True,
            status=exc.status,
            operation="location_token",
            provider="ghl",
        ) from exc
    except ApiError as exc:
        raise TokenRefused(
            f"no token for location {location_id} yet: {exc}",
            permanent=False,
            status=exc.status,
            operation="location_token",
            provider="ghl",
        ) from exc
    try:
        lifetime = float(body.get("expires_in") or 0)
    except (TypeError, ValueError):
        lifetime = 0.0
    if lifetime <= 0:
        raise TokenRefused(
            "location_token: the answer has no expires_in", permanent=True, operation="location_token", provider="ghl"
        )
    if facts is not None:  # what the answer says besides the token (appId, versionId, userId): no secret
        facts.update({k: v for k, v in body.items() if k in ("appId", "versionId", "userId", "locationId")})
    expires_at = (now or datetime.now(UTC)) + timedelta(seconds=lifetime)
    return TokenGrant(str(body["access_token"]), None, expires_at, str(body.get("scope") or "").split())


class GHLAgencyConnector(BaseConnector):
    """An agency connection: its test lists one sub-account; it reads and writes no records itself."""

    SPEC = spec.SPEC

    def __init__(self, info: ConnectionInfo, *, client: GHLAgencyClient | None = None) -> None:
        super().__init__(info)
        if client is None:
            from .auth import build_agency_client  # auth builds clients of both kinds

            client = build_agency_client(info)
        self.client = client

    def objects(self) -> list[str]:
        return []

    def read(self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]) -> Any:
        raise ValueError("an agency is not read: sync its sub-accounts (locations)")

    def sample(self, object_kind: str, *, limit: int = 5, options: dict[str, Any] | None = None) -> list[Any]:
        return []

    def probe(self) -> str:
        next(iter(self.client.search_locations()), None)
        return f"HighLevel agency {self.client.company_id}"

    def test(self) -> str:
        return self.probe()

    def locations(self, *, app_id: str) -> list[dict[str, Any]]:
        return list_locations(self.client, app_id=app_id, oauth=self.info.auth_kind == "oauth2")

    def location(self, location_id: str) -> dict[str, Any]:
        return self.client.location(location_id)

    def mint(self, location_id: str) -> tuple[TokenGrant, dict[str, Any]]:
        """A location token for one sub-account, and the answer's other facts (appId...)."""
        if self.info.auth_kind != "oauth2":
            raise TokenRefused(
                "an agency private integration token cannot get sub-account tokens (HighLevel allows "
                "POST /oauth/locationToken to an agency OAuth install only); connect the sub-account with its own "
                "private integration token",
                permanent=True,
                operation="location_token",
                provider="ghl",
            )
        facts: dict[str, Any] = {}
        return mint_grant(self.client, location_id, facts=facts), facts
