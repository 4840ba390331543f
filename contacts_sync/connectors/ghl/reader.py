"""GHL as a source connector (contacts through POST /contacts/search) and the factory of its target writers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contacts_sync.connectors.base import BaseConnector, ConnectionInfo, Page, SourceField
from contacts_sync.exceptions import ConfigurationError
from contacts_sync.mapping.phones import region_for_country

from . import spec
from .auth import build_client
from .client import GHLClient
from .flow_writers import GHLBusinessWriter, GHLContactBundleWriter, GHLOnboardingContactWriter
from .writers import GHLContactWriter, GHLNoteTagsWriter, GHLTaskWriter

# Records per page of a GHL contact read (the engine checkpoints after each page).
DEFAULT_PAGE_LIMIT = 100

CONTACT_FIELDS = [
    SourceField("id", "Contact id"), SourceField("firstName", "First name"), SourceField("lastName", "Last name"),
    SourceField("name", "Name"), SourceField("email", "Email", "email"), SourceField("phone", "Phone", "phone"),
    SourceField("companyName", "Company"), SourceField("address1", "Address"), SourceField("city", "City"),
    SourceField("state", "State"), SourceField("postalCode", "Postal code"), SourceField("country", "Country"),
    SourceField("website", "Website"), SourceField("tags", "Tags", "list"), SourceField("source", "Source"),
    SourceField("dateOfBirth", "Date of birth", "date", sensitive=True), SourceField("ssn", "SSN", sensitive=True),
    SourceField("dateUpdated", "Updated", "datetime"),
]


class GHLConnector(BaseConnector):
    """GHL as a source (contacts through POST /contacts/search) and the target writers (writers.py)."""

    SPEC = spec.SPEC
    FIELDS = {"contact": CONTACT_FIELDS}

    def __init__(self, info: ConnectionInfo, *, client: GHLClient | None = None) -> None:
        super().__init__(info)
        self.client = client or build_client(info)

    def objects(self) -> list[str]:
        return ["contact"]

    def read(self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]) -> Iterator[Page]:
        if object_kind != "contact":
            raise ValueError(f"GHL can be read for contacts only, not {object_kind!r}")
        limit = int(options.get("page_limit") or DEFAULT_PAGE_LIMIT)
        query = options.get("query") or None
        tag = options.get("tag")
        filters = [{"field": "tags", "operator": "eq", "value": tag}] if tag else None
        after = (cursor or {}).get("search_after")  # the last contact's searchAfter: resume exactly there
        batch: list[dict[str, Any]] = []
        for contact in self.client.search_contacts(query=query, filters=filters, page_limit=limit,
                                                   search_after=after):
            batch.append(contact)
            if len(batch) >= limit and contact.get("searchAfter"):
                yield Page(records=batch, cursor={"search_after": contact["searchAfter"]})
                batch = []
        yield Page(records=batch, cursor=None)

    def sample(self, object_kind: str, *, limit: int = 5, options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        self.check_object(object_kind)
        out: list[dict[str, Any]] = []
        for contact in self.client.search_contacts(page_limit=limit):
            out.append(contact)
            if len(out) >= limit:
                break
        return out

    def custom_fields(self, object_kind: str) -> Any:
        """The location's custom field definitions (GET /locations/{id}/customFields)."""
        return self.client.list_custom_fields(model=object_kind)

    def account_defaults(self) -> dict[str, str]:
        """What the location itself says about mapping defaults: its country as the phone region, its timezone."""
        location = self.client.get_location()
        out = {}
        region = region_for_country(location.get("country"))
        if region:
            out["default_region"] = region
        if location.get("timezone"):
            out["timezone"] = str(location["timezone"])
        return out

    def probe(self) -> str:
        next(iter(self.client.search_contacts(page_limit=1)), None)
        return f"HighLevel location {self.client.location_id}"

    def test(self) -> str:
        return self.probe()  # GHL's own error messages already say what is wrong (scope, token, location)

    def writer(self, kind: str, *, options: dict[str, Any] | None = None, deliver: Any = None) -> Any:
        """The target writer of a recipe's writer kind (see connectors.spec.Writer). `options` are the sync's
        (the onboarding checklist); `deliver` is the source app's connector a contact bundle is handed to."""
        writers: dict[str, Any] = {
            "contact": GHLContactWriter, "task": GHLTaskWriter, "note_tags": GHLNoteTagsWriter,
            "business": GHLBusinessWriter,
            "contact_onboarding": lambda client: GHLOnboardingContactWriter(client, options=options),
            "contact_bundle": lambda client: GHLContactBundleWriter(client, deliver=deliver),
        }
        if kind not in writers:
            raise ConfigurationError(f"GHL has no writer {kind!r}")
        return writers[kind](self.client)
