"""GHL as a source connector (contacts through POST /contacts/search) and as the target writer. No ORM.

The connectors and ghl packages are independent layers, so this package never imports contacts_sync.ghl: the
services layer builds the GHLClient (`services.connections.ghl_client_for`: token provider, the location's shared
rate budget) and wraps it with `GHLConnector(client=...)`. Nothing is registered under "ghl" in the connector
registry for that reason; `connector_for` on a GHL connection raises ConfigurationError.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contacts_sync.connectors.base import FieldSpec, Page

from .writer import GHLContactWriter, GHLNoteTagsWriter, GHLTaskWriter

# Records per page of a GHL contact read (the engine checkpoints after each page).
DEFAULT_PAGE_LIMIT = 100

CONTACT_FIELDS = [
    FieldSpec("id", "Contact id"), FieldSpec("firstName", "First name"), FieldSpec("lastName", "Last name"),
    FieldSpec("name", "Name"), FieldSpec("email", "Email", "email"), FieldSpec("phone", "Phone", "phone"),
    FieldSpec("companyName", "Company"), FieldSpec("address1", "Address"), FieldSpec("city", "City"),
    FieldSpec("state", "State"), FieldSpec("postalCode", "Postal code"), FieldSpec("country", "Country"),
    FieldSpec("website", "Website"), FieldSpec("tags", "Tags", "list"), FieldSpec("source", "Source"),
    FieldSpec("dateOfBirth", "Date of birth", "date", sensitive=True), FieldSpec("ssn", "SSN", sensitive=True),
    FieldSpec("dateUpdated", "Updated", "datetime"),
]


class GHLConnector:
    provider = "ghl"

    def __init__(self, *, client: Any) -> None:
        self.client = client

    def objects(self) -> list[str]:
        return ["contact"]

    def fields(self, object_kind: str) -> list[FieldSpec]:
        return list(CONTACT_FIELDS) if object_kind == "contact" else []

    def record_id(self, object_kind: str, record: dict[str, Any]) -> str:
        return str(record["id"])

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
        out: list[dict[str, Any]] = []
        for contact in self.client.search_contacts(page_limit=limit):
            out.append(contact)
            if len(out) >= limit:
                break
        return out

    def test(self) -> str:
        self.sample("contact", limit=1)
        return f"GHL location {self.client.location_id}"

    def writer(self, kind: str) -> Any:
        """The target writer of a recipe's writer kind (see sync.recipes.Writer)."""
        writers = {"contact": GHLContactWriter, "task": GHLTaskWriter, "note_tags": GHLNoteTagsWriter}
        if kind not in writers:
            raise ValueError(f"GHL has no writer {kind!r}")
        return writers[kind](self.client)
