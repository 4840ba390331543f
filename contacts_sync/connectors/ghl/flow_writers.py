"""GHL writers of the flows that do more than one record per record: a contact with its onboarding checklist,
a contact's business association, and the "contact bundle" read for a caller. No ORM.

The identity rules of writers.py hold here too: the contact of an association is the parent the engine found
through the links of the contact sync; onboarding tasks are created once, when the sync links a contact for the
first time, and looked up by title only for a record whose write-ahead intent is still pending.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from contacts_sync.apiclient.errors import NotFoundError
from contacts_sync.connectors.base import NothingToWrite, TargetGone

from .writers import GHLContactWriter, Taken, _adoptable, _iso, join_id, split_id

# A checklist longer than this is a mistake in the template, not an onboarding (each item is one GHL call).
MAX_ONBOARDING_TASKS = 20
# Business fields CreateBusinessDto takes besides name/locationId (apps/businesses.json).
BUSINESS_FIELDS = ("phone", "email", "website", "address", "city", "postalCode", "state", "country", "description")
# The bundle summary is written into one text field of the app (starbuero's address-book "notice"):
# these many items of each kind, and at most this many characters in all.
BUNDLE_ITEMS = 3
BUNDLE_MAX_CHARS = 2000


def checklist(options: dict[str, Any]) -> list[dict[str, Any]]:
    """The sync's onboarding template (Sync.options["onboarding_tasks"]) as clean items:
    [{"title", "due_in_days", "assigned_to", "body"}]; items without a title are left out."""
    items = options.get("onboarding_tasks") or []
    out: list[dict[str, Any]] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not str(item.get("title") or "").strip():
            continue
        try:
            days = max(0, int(item.get("due_in_days") or 0))
        except (TypeError, ValueError):
            days = 0
        out.append(
            {
                "title": str(item["title"]).strip()[:255],
                "due_in_days": days,
                "assigned_to": str(item.get("assigned_to") or "").strip(),
                "body": str(item.get("body") or "").strip(),
            }
        )
    return out[:MAX_ONBOARDING_TASKS]


class GHLOnboardingContactWriter(GHLContactWriter):
    """A contact (upsert, or PUT when linked, as GHLContactWriter) plus, when this sync links the contact for
    the first time, one GHL task per item of the sync's onboarding checklist (due N days after the write)."""

    def __init__(
        self, client: Any, *, options: dict[str, Any] | None = None, now: Callable[[], datetime] | None = None
    ) -> None:
        super().__init__(client)
        self.items = checklist(options or {})
        self.now = now or (lambda: datetime.now(UTC))

    def push(
        self,
        payload: dict[str, Any],
        *,
        target_id: str | None,
        parent_id: str | None = None,
        adopt_since: datetime | None = None,
        taken: Taken | None = None,
    ) -> tuple[str, bool]:
        written, created = super().push(
            payload, target_id=target_id, parent_id=parent_id, adopt_since=adopt_since, taken=taken
        )
        if not target_id and self.items:
            contact_id, _ = split_id(written)
            self._onboard(str(contact_id), adopt_since)
        return written, created

    def _onboard(self, contact_id: str, adopt_since: datetime | None) -> None:
        existing = self.client.list_tasks(contact_id) if adopt_since else []
        for item in self.items:
            # Only after a crash (pending intent): a checklist task added since the intent is the one we made.
            if adopt_since and _adoptable(existing, "title", item["title"], adopt_since, lambda _t: True):
                continue
            body: dict[str, Any] = {
                "title": item["title"],
                "dueDate": _iso(self.now() + timedelta(days=item["due_in_days"])),
                "completed": False,
            }
            if item["body"]:
                body["body"] = item["body"]
            if item["assigned_to"]:
                body["assignedTo"] = item["assigned_to"]
            self.client.create_task(contact_id, body)


class GHLBusinessWriter:
    """The parent contact's business, by the mapped business name: the location's business of that name (GHL
    has no other key for it), else a new one (POST /businesses/); linked with POST /contacts/bulk/business, the
    one call GHL's spec has for it (there is no PUT /contacts/business/:businessId). Target id
    "<contactId>/<businessId>"; a delete unlinks the contact (businessId null) and keeps the business."""

    needs_parent = True

    def __init__(self, client: Any) -> None:
        self.client = client
        self._by_name: dict[str, dict[str, Any]] | None = None
        self._sent: dict[str, str] = {}  # target id -> the name sent (verified in the same run)

    def identity(self, payload: dict[str, Any]) -> str:
        return ""

    def _businesses(self) -> dict[str, dict[str, Any]]:
        if self._by_name is None:
            self._by_name = {}
            for business in self.client.list_businesses():
                self._by_name.setdefault(_key(business.get("name")), business)
        return self._by_name

    def _business_id(self, payload: dict[str, Any]) -> str:
        name = str(payload.get("name") or "").strip()
        if not name:
            raise ValueError("the business has no name after mapping")
        found = self._businesses().get(_key(name))
        if found is None:
            extra = {k: payload[k] for k in BUSINESS_FIELDS if payload.get(k) not in (None, "")}
            found = self.client.create_business({"name": name, **extra})
            self._businesses()[_key(name)] = found
        return str(found["id"])

    def push(
        self,
        payload: dict[str, Any],
        *,
        target_id: str | None,
        parent_id: str | None,
        adopt_since: datetime | None = None,
        taken: Taken | None = None,
    ) -> tuple[str, bool]:
        linked_contact, _ = split_id(target_id)
        contact_id = parent_id or linked_contact
        if not contact_id:
            raise ValueError("a business association needs the contact it belongs to")
        business_id = self._business_id(payload)
        done = self.client.bulk_business([contact_id], business_id)
        if contact_id not in (done.get("ids") or []):
            # GHL leaves unknown contact ids out of `ids`: the contact was deleted in HighLevel.
            if target_id:
                raise TargetGone(f"GHL contact {contact_id} was deleted in HighLevel")
            raise ValueError(f"GHL did not link contact {contact_id} (is it deleted in HighLevel?)")
        self._sent[join_id(contact_id, business_id)] = str(payload.get("name") or "")
        return join_id(contact_id, business_id), not target_id

    def delete(self, target_id: str) -> None:
        contact_id, _ = split_id(target_id)
        if contact_id:
            self.client.bulk_business([contact_id], None)

    def read_back(self, target_id: str) -> dict[str, Any]:
        """The name of the business the contact is linked to now: the name sent when it is the business this
        run linked (a business is matched by its name in any case: "CAFÉ NORD" is linked to "Café Nord"), else
        that other business's name, which verification reports as a difference."""
        contact_id, business_id = split_id(target_id)
        linked = str(self.client.get_contact(contact_id).get("businessId") or "")
        if linked and linked == business_id and target_id in self._sent:
            return {"name": self._sent[target_id]}
        names = {str(b.get("id")): b.get("name") for b in self._businesses().values()}
        return {"name": names.get(linked, "")}


def _key(name: Any) -> str:
    return " ".join(str(name or "").split()).casefold()


class GHLContactBundleWriter:
    """For a caller's number: the GHL contact with that number (GET /contacts/search/duplicate), then in one step
    the contact, its tasks, notes and appointments (GET /contacts/:id, /tasks, /notes, /appointments), summed up
    in a few lines and handed to the app through `deliver.deliver_bundle(bundle, target_id=)` (starbuero.de
    writes it into the caller's address-book entry: the one a "GHL contact -> address book" sync made for that
    contact when there is one, else this sync's own). A number no GHL contact has is a skipped item."""

    needs_parent = False

    def __init__(self, client: Any, *, deliver: Any, entries: Callable[[str], str | None] | None = None) -> None:
        if not hasattr(deliver, "deliver_bundle"):
            raise ValueError(f"{getattr(deliver, 'provider', 'this app')} cannot take a contact bundle")
        self.client = client
        self.deliver = deliver
        # GHL contact id -> the app's entry another sync already made for that contact (by its link), if any.
        self.entries = entries

    def identity(self, payload: dict[str, Any]) -> str:
        return ""

    def push(
        self,
        payload: dict[str, Any],
        *,
        target_id: str | None,
        parent_id: str | None = None,
        adopt_since: datetime | None = None,
        taken: Taken | None = None,
    ) -> tuple[str, bool]:
        phone = str(payload.get("phone") or "").strip()
        if not phone:
            raise NothingToWrite("The call has no caller number: there is nothing to look up in HighLevel.")
        found = self.client.search_duplicate(phone=phone)
        if not found:
            raise NothingToWrite(f"No HighLevel contact has the number {phone}: an unknown caller.")
        bundle = self.fetch(str(found["id"]))
        bundle["caller"] = payload
        entry = (self.entries(str(found["id"])) if self.entries else None) or target_id
        try:
            written, created = self.deliver.deliver_bundle(bundle, target_id=entry)
        except NotFoundError:
            if not entry:
                raise
            raise TargetGone(f"the {self.deliver.provider} entry {entry} was deleted") from None
        return str(written), bool(created)

    def fetch(self, contact_id: str) -> dict[str, Any]:
        """The contact with its tasks, notes and appointments, and a summary of them (`summary`)."""
        contact = self.client.get_contact(contact_id)
        tasks = self.client.list_tasks(contact_id)
        notes = self.client.list_notes(contact_id)
        appointments = self.client.list_appointments(contact_id)
        return {
            "contact": contact,
            "tasks": tasks,
            "notes": notes,
            "appointments": appointments,
            "summary": bundle_summary(contact, tasks, notes, appointments),
        }


def _day(value: Any) -> str:
    return str(value or "")[:10] or "?"


def bundle_summary(
    contact: dict[str, Any],
    tasks: list[dict[str, Any]],
    notes: list[dict[str, Any]],
    appointments: list[dict[str, Any]],
) -> str:
    """A few lines a call agent reads while the phone rings: who, open tasks, last notes, next appointments."""
    name = (
        " ".join(filter(None, (contact.get("firstName"), contact.get("lastName"))))
        or contact.get("name")
        or contact.get("companyName")
        or contact.get("email")
        or contact.get("id")
    )
    lines = [f"HighLevel: {name}" + (f" ({contact['companyName']})" if contact.get("companyName") else "")]
    if contact.get("tags"):
        lines.append("Tags: " + ", ".join(str(t) for t in contact["tags"]))
    open_tasks = sorted((t for t in tasks if not t.get("completed")), key=lambda t: str(t.get("dueDate") or ""))
    lines.append(f"Open tasks: {len(open_tasks)}")
    lines += [f"- {t.get('title') or '(untitled)'} (due {_day(t.get('dueDate'))})" for t in open_tasks[:BUNDLE_ITEMS]]
    recent = sorted(notes, key=lambda n: str(n.get("dateAdded") or ""), reverse=True)
    if recent:
        lines.append(f"Notes: {len(notes)}, latest:")
        lines += [
            f"- {_day(n.get('dateAdded'))}: {' '.join(str(n.get('body') or '').split())[:160]}"
            for n in recent[:BUNDLE_ITEMS]
        ]
    by_start = sorted(appointments, key=lambda a: str(a.get("startTime") or ""))
    today = datetime.now(UTC).date().isoformat()
    upcoming = [a for a in by_start if str(a.get("startTime") or "")[:10] >= today] or by_start[::-1]
    if upcoming:
        lines.append(f"Appointments: {len(appointments)}")
        lines += [
            f"- {str(a.get('startTime') or '?')[:16].replace('T', ' ')} {a.get('title') or ''}".rstrip()
            + (f" [{a['appointmentStatus']}]" if a.get("appointmentStatus") else "")
            for a in upcoming[:BUNDLE_ITEMS]
        ]
    text = "\n".join(lines)
    return text if len(text) <= BUNDLE_MAX_CHARS else text[: BUNDLE_MAX_CHARS - 3] + "..."
