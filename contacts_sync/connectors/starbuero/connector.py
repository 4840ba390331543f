"""starbuero.de as a source (call records -> callers and notes; call-back tasks) and as a target (the caller
address book, and the contact bundle written into it).

The record shapes are the assumptions listed in docs/apps/starbuero.md (only a community client documents the
API); they are read in this module and in `callers.py`, nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contacts_sync.connectors.base import BaseConnector, ConnectionInfo, Page, SourceField
from contacts_sync.exceptions import ConfigurationError

from . import spec
from .callers import CALLER_FIELDS, caller_key, callers_of
from .client import API_BASE_URL, PAGE_LIMIT, StarbueroClient

CALL_FIELDS = [
    SourceField("id", "Call ID", "number"),
    SourceField("call_start", "Call start", "datetime"),
    SourceField("duration", "Duration (s)", "number"),
    SourceField("caller_name", "Caller name"),
    SourceField("caller_number", "Caller number", "phone"),
    SourceField("caller_key", "Caller (E.164 number; added by the connector)"),
    SourceField("caller_company", "Caller company"),
    SourceField("caller_email", "Caller e-mail", "email"),
    SourceField("message", "Message"),
    SourceField("transcript", "Transcript", sensitive=True),
    SourceField("employee", "For employee"),
    SourceField("callback_requested", "Call back requested", "bool"),
]
CONTACT_FIELDS = [
    SourceField("id", "Contact ID", "number"),
    SourceField("salutation", "Salutation"),
    SourceField("firstname", "First name"),
    SourceField("lastname", "Last name"),
    SourceField("company", "Company"),
    SourceField("emailAddresses.0", "E-mail", "email"),
    SourceField("phoneNumbers.0", "Phone", "phone"),
    SourceField("vip", "VIP", "bool"),
    SourceField("notice", "Notice"),
]
TASK_FIELDS = [
    SourceField("id", "Task ID", "number"),
    SourceField("call_id", "Call ID", "number"),
    SourceField("caller_key", "Caller (E.164 number of the call; added by the connector)"),
    SourceField("title", "Title"),
    SourceField("status", "Status"),
    SourceField("created_at", "Created at", "datetime"),
    SourceField("completed_at", "Completed at", "datetime"),
]
# The address-book fields a write may carry (the community client's body; docs/apps/starbuero.md).
ADDRESS_BOOK_FIELDS = (
    "salutation",
    "title",
    "firstname",
    "lastname",
    "company",
    "notice",
    "emailAddresses",
    "phoneNumbers",
    "vip",
    "employee",
    "canForward",
    "canNotifiedBySms",
)
ADDRESS_BOOK_LISTS = ("emailAddresses", "phoneNumbers")
# Numbers written without a country code are German: starbuero.de answers phones in Germany.
DEFAULT_REGION = "DE"


class StarbueroConnector(BaseConnector):
    SPEC = spec.SPEC
    API_BASE_URL = API_BASE_URL
    FIELDS = {"contact": CALL_FIELDS, "note": CALL_FIELDS, "task": TASK_FIELDS}

    def __init__(self, info: ConnectionInfo) -> None:
        super().__init__(info)
        self.client = StarbueroClient(
            api_token=self.secret("api_token"),
            base_url=self.api_base_url(),
            budget=self.budget(),
            on_call=info.on_call,
        )  # no documented limit: no budget
        self.region = str(info.config.get("default_region") or DEFAULT_REGION)
        self._calls: dict[str, dict[str, Any]] | None = None

    def fields(self, object_kind: str, *, options: dict[str, Any] | None = None) -> list[SourceField]:
        source = (options or {}).get("source")
        if object_kind == "contact" and source == "contacts":
            return list(CONTACT_FIELDS)
        if object_kind == "contact" and source == "callers":
            return list(CALLER_FIELDS)
        return super().fields(object_kind, options=options)

    def target_fields(self, object_kind: str) -> list[SourceField]:
        if object_kind != "contact":
            raise ConfigurationError("only starbuero.de address-book contacts can be written")
        return [SourceField(name, name) for name in ADDRESS_BOOK_FIELDS]

    # ---- reads -----------------------------------------------------------------------------------------------

    def read(self, object_kind: str, *, cursor: dict[str, Any] | None, options: dict[str, Any]) -> Iterator[Page]:
        """Pages by number (oldest first). For call records `options["updated_since"]` becomes startDateTime.
        contact + {"source": "callers"}: one record per caller number (all its calls read first, one page)."""
        self.fields(object_kind, options=options)  # validates the object kind
        if object_kind == "contact" and options.get("source") == "callers":
            calls = [c for page in self._call_pages(None, options) for c in page.records]
            yield Page(records=callers_of(calls), cursor=None)
            return
        if object_kind == "note" or (object_kind == "contact" and options.get("source") != "contacts"):
            yield from self._call_pages(cursor, options)
            return
        params: dict[str, Any] = {}
        if object_kind == "task":
            path, operation = "/tasks", "list tasks"
            if options.get("task_status"):
                params["status"] = options["task_status"]
        else:
            path, operation = "/addon_contact/contact", "list contacts"
        for items, nxt in self.client.pages(
            path,
            params=params,
            page=int((cursor or {}).get("page") or 1),
            limit=self._limit(options),
            operation=operation,
        ):
            if object_kind == "task":
                items = self._with_caller_keys(items)
            yield Page(records=items, cursor={"page": nxt} if nxt is not None else None)

    def _limit(self, options: dict[str, Any]) -> int:
        return min(1000, max(10, int(options.get("page_limit") or PAGE_LIMIT)))

    def _call_pages(self, cursor: dict[str, Any] | None, options: dict[str, Any]) -> Iterator[Page]:
        params: dict[str, Any] = {}
        if options.get("updated_since"):
            params["startDateTime"] = str(options["updated_since"]).replace("Z", "")[:19]
        for items, nxt in self.client.pages(
            "/call_data",
            params=params,
            page=int((cursor or {}).get("page") or 1),
            limit=self._limit(options),
            operation="list call records",
        ):
            records = [{**c, "caller_key": caller_key(c, region=self.region)} for c in items]
            yield Page(records=records, cursor={"page": nxt} if nxt is not None else None)

    def _with_caller_keys(self, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A task names its call only; the GHL recipes attach it to the caller's contact (`caller_key`)."""
        if self._calls is None:
            self._calls = {str(c.get("id")): c for page in self._call_pages(None, {}) for c in page.records}
        out = []
        for task in tasks:
            call = self._calls.get(str(task.get("call_id")))
            out.append({**task, "caller_key": call["caller_key"]} if call else task)
        return out

    def read_one(self, object_kind: str, record_id: str) -> dict[str, Any]:
        if object_kind != "contact":
            raise ConfigurationError("only starbuero.de address-book contacts can be read back")
        return self.client.contact(record_id)

    # ---- writes (the caller address book) --------------------------------------------------------------------

    def write(
        self, object_kind: str, payload: dict[str, Any], *, target_id: str | None, options: dict[str, Any]
    ) -> tuple[str, bool]:
        """Create or update an address-book contact (POST / PUT /addon_contact/contact[/{id}])."""
        if object_kind != "contact":
            raise ConfigurationError(f"writing starbuero.de {object_kind!r} records is not supported (contacts only)")
        body = address_book_body(payload)
        if target_id:
            return str(self.client.update_contact(target_id, body).get("id") or target_id), False
        return str(self.client.create_contact(body)["id"]), True

    def delete(self, object_kind: str, target_id: str, *, options: dict[str, Any]) -> None:
        if object_kind != "contact":
            raise ConfigurationError(f"deleting starbuero.de {object_kind!r} records is not supported")
        self.client.delete_contact(target_id)

    def deliver_bundle(self, bundle: dict[str, Any], *, target_id: str | None) -> tuple[str, bool]:
        """A GHL contact bundle for a caller -> the caller's address-book entry: its notice (what the agent sees
        while the phone rings) becomes the summary; a new entry also gets the contact's name, company, e-mail."""
        contact = bundle.get("contact") or {}
        caller = bundle.get("caller") or {}
        if target_id:
            return self.write("contact", {"notice": bundle.get("summary", "")}, target_id=target_id, options={})
        email = contact.get("email")
        body = {
            "firstname": contact.get("firstName") or "",
            "lastname": contact.get("lastName") or ("" if contact.get("firstName") else caller.get("name") or ""),
            "company": contact.get("companyName") or "",
            "emailAddresses": [email] if email else [],
            "phoneNumbers": [caller.get("phone") or contact.get("phone")],
            "notice": bundle.get("summary", ""),
        }
        return self.write("contact", body, target_id=None, options={})

    def probe(self) -> str:
        info = self.client.company()
        return f"starbuero.de account {info.get('info_unternehmen') or '(no company info)'}"


def address_book_body(payload: dict[str, Any]) -> dict[str, Any]:
    """A mapped payload as an address-book body: known fields only; one e-mail or number becomes a list."""
    unknown = sorted(set(payload) - set(ADDRESS_BOOK_FIELDS))
    if unknown:
        raise ValueError(f"not starbuero.de address-book fields: {', '.join(unknown)}")
    body = dict(payload)
    for key in ADDRESS_BOOK_LISTS:
        if key in body and not isinstance(body[key], list):
            body[key] = [body[key]] if body[key] not in (None, "") else []
    return body
