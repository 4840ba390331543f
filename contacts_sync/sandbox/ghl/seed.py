"""A deterministic generator of realistic, messy GHL data: unicode names, international phone formats,
mixed-case emails, near-duplicates, tags, custom field values; tasks, notes, appointments, businesses,
users and custom field definitions."""

from __future__ import annotations

import random
import time
from typing import Any

from contacts_sync.sandbox.ghl.state import Location, iso, new_id, normalize_phone

FIRST = [
    "José",
    "Zoë",
    "Łukasz",
    "Ngozi",
    "Søren",
    "Ольга",
    "太郎",
    "Aoife",
    "François",
    "Mária",
    "Dmitrij",
    "Anne-Marie",
    "Kwame",
    "Siobhán",
    "Jürgen",
    "Björk",
    "Ana Lucía",
    "Mohammed",
    "Priya",
    "Chloé",
    "Nguyễn",
    "Émile",
    "Lars",
    "Renée",
    "O'Neil",
    "John",
    "Mary",
    "james",
    "PATRICIA",
    "  Robert ",
    "Li",
    "Fatma",
    "Åsa",
    "Ümit",
    "Zsófia",
]
LAST = [
    "García",
    "Müller",
    "Dvořák",
    "O'Brien",
    "山田",
    "Smirnova",
    "Nakamura",
    "van der Berg",
    "Ó Súilleabháin",
    "Kowalski",
    "Øster",
    "Nguyen",
    "Da Silva",
    "Schäfer",
    "MacDonald",
    "d'Artagnan",
    "Smith-Jones",
    "ÇELIK",
    "Papadopoulos",
    "Ruiz",
    "Johansson",
    "Lefèvre",
    "Horváth",
    "Şahin",
    "Björnsson",
    "brown",
    "WILLIAMS",
    "Lee",
]
DOMAINS = [
    "example.com",
    "Example.org",
    "mail.example.net",
    "EXAMPLE.de",
    "posteo.example",
    "firma.example.co.uk",
]
PHONE_FORMATS = [
    "+1 (415) 555-{a:04d}",
    "(212) 555-{a:04d}",
    "+49 30 {b:07d}",
    "0049 89 {b:07d}",
    "+44 20 7946 {a:04d}",
    "+33 1 42 68 {c:02d} {d:02d}",
    "+81-3-{a:04d}-{e:04d}",
    "+34 612 {f:03d} {g:03d}",
    "+1.646.555.{a:04d}",
    "+61 2 9{b:07d}"[:16],
    "+55 11 9{b:08d}",
    "+91 98{b:08d}",
]
COMPANIES = [
    "Acme GmbH",
    "Globex Ltd.",
    "Initech",
    "Umbrella S.A.",
    "Soylent & Co.",
    "Müller Bäckerei",
    "株式会社テスト",
]
CITIES = [
    ("Berlin", "BE", "DE", "10115"),
    ("München", "BY", "DE", "80331"),
    ("San Francisco", "CA", "US", "94103"),
    ("New York", "NY", "US", "10001"),
    ("London", "", "GB", "EC1A 1BB"),
    ("Paris", "", "FR", "75001"),
    ("Tōkyō", "", "JP", "100-0001"),
    ("São Paulo", "SP", "BR", "01000-000"),
]
TAGS = [
    "vip",
    "Lead",
    "customer",
    "newsletter",
    "hubstaff",
    "wifi-guest",
    "Vendor",
    "at-risk",
    "  spaced tag ",
]
SOURCES = ["hubstaff", "hotspotsystem", "web form", "import", "starbuero", "upguard", "manual"]
NOTE_BODIES = [
    "Called, left voicemail.",
    "<p>Asked for a <b>quote</b> – follow up next week.</p>",
    "Rückruf erbeten 📞",
    "Meeting notes:\n- pricing\n- onboarding",
    "顧客は満足しています。",
    'Transcript: "Hi, this is Zoë…"',
]
TASK_TITLES = [
    "Send proposal",
    "Follow up call",
    "Onboarding checklist",
    "Review breach report",
    "Ship hardware",
]
CUSTOM_FIELDS = [
    ("industry", "Industry", "TEXT"),
    ("employees", "Employees", "NUMERICAL"),
    ("plan", "Plan", "SINGLE_OPTIONS"),
    ("hubstaff_id", "Hubstaff ID", "TEXT"),
]


def seed_reference_data(loc: Location, rng: random.Random) -> None:
    """Users, custom field definitions and businesses (idempotent: only when the location has none)."""
    if not loc.users:
        for first, last in [("Sandra", "Admin"), ("Ömer", "Sales"), ("Kim", "Support")]:
            uid = new_id()
            loc.users[uid] = {
                "id": uid,
                "name": f"{first} {last}",
                "firstName": first,
                "lastName": last,
                "email": f"{first.lower()}.{last.lower()}@sandbox.example",
                "phone": "+14155550100",
                "roles": {
                    "type": "account",
                    "role": "admin" if last == "Admin" else "user",
                    "locationIds": [loc.id],
                },
                "deleted": False,
            }
    if not loc.custom_fields:
        for pos, (key, name, dtype) in enumerate(CUSTOM_FIELDS):
            fid = new_id()
            field: dict[str, Any] = {
                "id": fid,
                "name": name,
                "fieldKey": f"contact.{key}",
                "dataType": dtype,
                "position": pos,
                "locationId": loc.id,
                "model": "contact",
                "placeholder": "",
            }
            if dtype == "SINGLE_OPTIONS":
                field["picklistOptions"] = ["free", "pro", "enterprise"]
            loc.custom_fields[fid] = field
    if not loc.businesses:
        for name in COMPANIES[:5]:
            bid = new_id()
            city, state, country, postal = rng.choice(CITIES)
            now = iso()
            loc.businesses[bid] = {
                "id": bid,
                "name": name,
                "locationId": loc.id,
                "phone": "+4930123456",
                "email": "info@example.com",
                "website": "https://example.com",
                "address": "Hauptstraße 1",
                "city": city,
                "state": state,
                "postalCode": postal,
                "country": country,
                "description": "",
                "createdAt": now,
                "updatedAt": now,
            }


def _phone(rng: random.Random) -> str:
    fmt = rng.choice(PHONE_FORMATS)
    return fmt.format(
        a=rng.randrange(10_000),
        b=rng.randrange(10_000_000),
        c=rng.randrange(100),
        d=rng.randrange(100),
        e=rng.randrange(10_000),
        f=rng.randrange(1000),
        g=rng.randrange(1000),
    )


def make_contact(loc: Location, rng: random.Random, created: float) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = f"{first.strip()}.{last}".replace(" ", "").replace("'", "")
    ascii_local = local.encode("ascii", "ignore").decode() or f"user{rng.randrange(10**6)}"
    email = None if rng.random() < 0.08 else f"{ascii_local}{rng.randrange(1000)}@{rng.choice(DOMAINS)}"
    if email and rng.random() < 0.3:
        email = email.upper() if rng.random() < 0.3 else email.title()
    phone = None if rng.random() < 0.15 else _phone(rng)
    city, state, country, postal = rng.choice(CITIES)
    cid = new_id()
    fields = list(loc.custom_fields.values())
    contact: dict[str, Any] = {
        "id": cid,
        "locationId": loc.id,
        "firstName": first,
        "lastName": last,
        "name": f"{first.strip()} {last}",
        "email": email,
        "phone": normalize_phone(phone) or None,
        "companyName": rng.choice(COMPANIES) if rng.random() < 0.6 else None,
        "address1": f"{rng.randrange(1, 300)} {rng.choice(['Main St', 'Hauptstraße', 'Rue de Rivoli', '1st Ave'])}",
        "city": city,
        "state": state or None,
        "country": country,
        "postalCode": postal,
        "website": "https://example.com" if rng.random() < 0.2 else None,
        "timezone": "Europe/Berlin",
        "dnd": rng.random() < 0.05,
        "source": rng.choice(SOURCES),
        "type": "lead",
        "tags": sorted({t.strip().lower() for t in rng.sample(TAGS, rng.randrange(0, 4))}),
        "customFields": [
            {"id": f["id"], "value": str(rng.choice(["SaaS", "42", "pro", "hs-1234"]))}
            for f in rng.sample(fields, min(len(fields), rng.randrange(0, 3)))
        ],
        "dateAdded": iso(created),
        "dateUpdated": iso(created),
        "businessId": rng.choice(list(loc.businesses)) if loc.businesses and rng.random() < 0.3 else None,
        "assignedTo": rng.choice(list(loc.users)) if loc.users and rng.random() < 0.5 else None,
    }
    if rng.random() < 0.1 and email:
        contact["additionalEmails"] = [f"alt.{email.lower()}"]
    return contact


def near_duplicate(original: dict[str, Any], loc: Location, rng: random.Random, created: float) -> dict[str, Any]:
    """The same person again: email in other case, or the phone only, or a typo in the name."""
    dup = dict(original, id=new_id(), dateAdded=iso(created), dateUpdated=iso(created), tags=list(original["tags"]))
    variant = rng.randrange(3)
    if variant == 0 and original.get("email"):
        dup["email"] = original["email"].swapcase()
        dup["phone"] = None
    elif variant == 1:
        dup["email"] = None
    else:
        dup["firstName"] = (original["firstName"] or "x").strip()[:-1] or "X"
        dup["name"] = f"{dup['firstName']} {dup['lastName']}"
    dup["customFields"] = [dict(c) for c in original["customFields"]]
    return dup


def seed_location(loc: Location, n: int, seed: int = 1, *, children: bool = True) -> list[str]:
    """Add n contacts (about 5 % near-duplicates) plus tasks, notes and appointments; return the new ids."""
    rng = random.Random(seed)
    seed_reference_data(loc, rng)
    start = time.time() - n - 86_400
    ids: list[str] = []
    made: list[dict[str, Any]] = []
    for i in range(n):
        created = start + i  # distinct dateAdded, in insertion order
        if made and rng.random() < 0.05:
            contact = near_duplicate(rng.choice(made), loc, rng, created)
        else:
            contact = make_contact(loc, rng, created)
        contact = {k: v for k, v in contact.items() if v is not None}
        loc.contacts[contact["id"]] = contact
        loc.index(contact)
        made.append(contact)
        ids.append(contact["id"])
        if children and i < 2000:
            _children(loc, contact, rng, created)
    return ids


def _children(loc: Location, contact: dict[str, Any], rng: random.Random, created: float) -> None:
    cid = contact["id"]
    for _ in range(rng.randrange(0, 3)):
        tid = new_id()
        loc.tasks.setdefault(cid, {})[tid] = {
            "id": tid,
            "title": rng.choice(TASK_TITLES),
            "body": rng.choice(NOTE_BODIES),
            "contactId": cid,
            "dueDate": iso(created + 86_400 * rng.randrange(1, 30)),
            "completed": rng.random() < 0.3,
            "assignedTo": contact.get("assignedTo") or "",
            "dateAdded": iso(created),
            "dateUpdated": iso(created),
        }
    for _ in range(rng.randrange(0, 3)):
        nid = new_id()
        loc.notes.setdefault(cid, {})[nid] = {
            "id": nid,
            "body": rng.choice(NOTE_BODIES),
            "contactId": cid,
            "dateAdded": iso(created),
            "userId": next(iter(loc.users), ""),
        }
    if rng.random() < 0.2:
        aid = new_id()
        start = created + 86_400 * rng.randrange(1, 10)
        loc.appointments[aid] = {
            "id": aid,
            "calendarId": "sandbox-calendar",
            "status": "booked",
            "title": "Intro call",
            "assignedUserId": next(iter(loc.users), ""),
            "notes": "",
            "startTime": iso(start),
            "endTime": iso(start + 1800),
            "address": "https://meet.example.com/abc",
            "locationId": loc.id,
            "contactId": cid,
            "groupId": "",
            "appointmentStatus": "confirmed",
            "users": [],
            "dateAdded": iso(created),
            "dateUpdated": iso(created),
            "assignedResources": [],
        }
