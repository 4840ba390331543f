"""Links into HighLevel's own UI, for a person who wants to look at a record the sync touched."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from contacts_sync.connectors.spec import RecordRef

from .client import DEFAULT_BASE_URL

# HighLevel's web app; a contact's page is /v2/location/<locationId>/contacts/detail/<contactId>.
APP_URL = "https://app.gohighlevel.com"
# Tasks and notes live on a contact: their ids are stored as "<contactId>/<taskId>" (writers.join_id).
CONTACT_OBJECTS = frozenset({"contact", "task", "note"})


def record_url(ref: RecordRef) -> str:
    """The contact's page in HighLevel. A connection to another base URL (the emulator, a proxy) links to the
    same path there: the GHL emulator serves a read-only page of the contact at it."""
    contact_id = ref.record_id.split("/", 1)[0].strip()
    if ref.object_kind not in CONTACT_OBJECTS or not contact_id or not ref.account_id:
        return ""
    base = (ref.base_url or "").rstrip("/")
    root = APP_URL if not base or urlsplit(base).netloc == urlsplit(DEFAULT_BASE_URL).netloc else base
    return f"{root}/v2/location/{quote(ref.account_id, safe='')}/contacts/detail/{quote(contact_id, safe='')}"
