"""The OAuth scopes this product can ask HighLevel for, with what each is for (least privilege, from the spec)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ScopeInfo:
    scope: str
    purpose: str
    write: bool


SCOPES: tuple[ScopeInfo, ...] = (
    ScopeInfo("contacts.readonly", "Read contacts and their tasks, notes, tags and appointments", False),
    ScopeInfo("contacts.write", "Create and update contacts, tasks, notes and tags", True),
    ScopeInfo("locations/customFields.readonly", "Read custom field definitions for the mapping editor", False),
    ScopeInfo("businesses.readonly", "Read businesses", False),
    ScopeInfo("businesses.write", "Link contacts to businesses", True),
    ScopeInfo("calendars/events.readonly", "Read appointments", False),
    ScopeInfo("locations/tasks.readonly", "Search tasks across the location (reconcile polls)", False),
    ScopeInfo("users.readonly", "Look up users to assign tasks to", False),
    ScopeInfo("locations.readonly", "List an agency's sub-accounts; read a sub-account's country and time zone", False),
    ScopeInfo("oauth.readonly", "Agency: list the sub-accounts where the app is installed", False),
    ScopeInfo("oauth.write", "Agency: get each sub-account's access token from the agency's", True),
)
INDEX = {s.scope: s for s in SCOPES}
# What every GHL connection needs: the test reads one contact; the mapping editor reads custom fields.
BASE_SCOPES = ("contacts.readonly", "locations/customFields.readonly")
# What an agency (Company) install needs on top: list its sub-accounts and mint their tokens
# (POST /oauth/locationToken is oauth.write, GET /oauth/installedLocations oauth.readonly).
AGENCY_SCOPES = ("locations.readonly", "oauth.readonly", "oauth.write")


def needed(uses: Iterable[tuple[str, bool]], *, any_sync: bool) -> list[str]:
    """The fewest scopes for GHL objects used as (object kind, written?). With no sync yet, the contact
    read/write pair every recipe that touches GHL needs."""
    wanted = set(BASE_SCOPES)
    if not any_sync:
        wanted.add("contacts.write")
    for obj, writes in uses:
        if obj == "business":
            wanted.add("businesses.write" if writes else "businesses.readonly")
            if writes:
                wanted.add("contacts.write")
        elif obj == "appointment":
            wanted.add("calendars/events.readonly")
        elif obj == "bundle":
            pass  # a contact bundle only reads: GET /contacts/:id, /tasks, /notes, /appointments (contacts.readonly)
        elif writes:
            wanted.add("contacts.write")
        if obj == "task" and not writes:
            wanted.add("locations/tasks.readonly")
    return [s.scope for s in SCOPES if s.scope in wanted]


def rows(scopes: list[str]) -> list[ScopeInfo]:
    """Granted scopes with their purpose and read/write marker (unknown scopes shown as they are)."""
    return [INDEX.get(scope) or ScopeInfo(scope, "", not scope.endswith(".readonly")) for scope in scopes]
