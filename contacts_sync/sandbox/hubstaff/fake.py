"""Deterministic, realistically messy fake values shared by the non-GHL emulators.

Real exports are not clean: names with stray spaces and odd capitalisation, umlauts and accents, e-mails in
upper case or with a leading "mailto:", phone numbers in every national format (and "n/a"), duplicates
across records, empty fields. The sync's mapping and validation must cope, so the emulators seed that.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

FIRST_NAMES = [
    "Anna",
    "José",
    "Müller",
    "Zoë",
    "Liam",
    "Olivia",
    "Noah",
    "Émilie",
    "Jürgen",
    "Sofia",
    "Mateo",
    "Chloé",
    "Ahmed",
    "Mei",
    "Björn",
    "Priya",
    "Oluwaseun",
    "Siobhán",
    "Łukasz",
    "Ines",
    "KAREN",
    "tom",
    " Grace ",
    "Dmitri",
    "Hana",
    "Carlos",
    "Fatima",
    "Yuki",
    "Nils",
    "Aroha",
]
LAST_NAMES = [
    "Schmidt",
    "García",
    "O'Brien",
    "Nguyen",
    "van der Berg",
    "Kowalski",
    "Smith",
    "SMITH",
    "de la Cruz",
    "Østergaard",
    "Müller-Lüdenscheidt",
    "Rossi",
    "Dubois",
    "Tanaka",
    "Johnson ",
    "al-Farsi",
    "Papadopoulos",
    "Fernández",
    "Ivanova",
    "Okafor",
    "MacDonald",
    "Lee",
    "Novák",
    "Andersson",
    "Brown",
    "lópez",
]
COMPANY_WORDS = [
    "Acme",
    "Blue Sky",
    "Zenith",
    "Müller & Söhne",
    "Café Lumière",
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Aperture",
    "Black Mesa",
    "Nakatomi",
    "Oscorp",
    "Pied Piper",
    "Dunder Mifflin",
    "Gringotts",
    "Wonka",
    "Bluth",
    "Prestige Worldwide",
    "Sterling Cooper",
]
COMPANY_KINDS = [
    "Consulting",
    "Labs",
    "Plumbing",
    "Dental",
    "Logistics",
    "Bakery",
    "Studio",
    "Legal",
    "Media",
]
COMPANY_SUFFIXES = ["GmbH", "LLC", "Inc.", "Ltd", "AG", "S.L.", "", "", "& Co. KG", "Pty Ltd"]
DOMAINS = ["example.com", "example.org", "mail.example.net", "EXAMPLE.DE", "example.co.uk", "firma.example"]
CITIES = [
    ("Berlin", "DE", "10115"),
    ("München", "DE", "80331"),
    ("Austin", "US", "78701"),
    ("London", "GB", "EC1A 1BB"),
    ("Zürich", "CH", "8001"),
    ("Sydney", "AU", "2000"),
    ("Toronto", "CA", "M5H 2N2"),
    ("Wien", "AT", "1010"),
]
STREETS = [
    "Hauptstraße",
    "Main St",
    "Bahnhofstr.",
    "High Street",
    "Rue de Rivoli",
    "Elm Avenue",
    "Königsallee",
]
LOREM = (
    "call back tomorrow re: invoice; prefers email; asked about pricing for 12 seats; left voicemail; "
    "wants a demo next week; Rückruf erbeten; urgent!!! server down; follow up on contract renewal; "
    "sent proposal v2; meeting moved to Thursday; needs VAT number on invoice"
).split("; ")

# "Now" for seeded timestamps: midnight UTC today, so data is deterministic within a day yet recent enough for
# windowed reads (Hubstaff notes) whatever the date.
EPOCH = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def rng(seed: int | str) -> random.Random:
    return random.Random(str(seed))


def iso(dt: datetime) -> str:
    """Hubstaff-style UTC timestamp: 2024-06-20T14:10:55.196Z."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def past(r: random.Random, *, days: int = 730, before: datetime = EPOCH) -> datetime:
    return before - timedelta(seconds=r.randint(0, days * 86_400))


def person_name(r: random.Random) -> tuple[str, str]:
    return r.choice(FIRST_NAMES), r.choice(LAST_NAMES)


def company_name(r: random.Random, n: int) -> str:
    name = f"{r.choice(COMPANY_WORDS)} {r.choice(COMPANY_KINDS)} {r.choice(COMPANY_SUFFIXES)}".strip()
    style = r.random()
    if style < 0.08:
        name = name.upper()
    elif style < 0.14:
        name = name.lower()
    elif style < 0.20:
        name = f"  {name}  "
    return f"{name} #{n}" if r.random() < 0.5 else f"{name} {n}"


def account_email(r: random.Random, local: str, n: int) -> str:
    """A Hubstaff user's sign-in address: always a working address (Hubstaff confirms it at sign-up), written
    in capitals now and then as people type it; unlike the free-text client emails of `email_for`."""
    local = "".join(ch for ch in local.lower() if ch.isalnum() or ch in "._-") or "user"
    value = f"{local}.{n}@{r.choice(DOMAINS)}"
    return value.upper() if r.random() < 0.05 else value


def email_for(r: random.Random, local: str, n: int) -> str:
    local = "".join(ch for ch in local.lower() if ch.isalnum() or ch in "._-") or "info"
    value = f"{local}.{n}@{r.choice(DOMAINS)}"
    style = r.random()
    if style < 0.05:
        return value.upper()
    if style < 0.08:
        return f" {value} "
    if style < 0.10:
        return f"mailto:{value}"
    if style < 0.12:
        return value.replace("@", " at ")  # invalid on purpose
    if style < 0.13:
        return f"{local}@"  # invalid on purpose
    return value


def phone(r: random.Random) -> str:
    d = [str(r.randint(0, 9)) for _ in range(10)]
    formats = [
        f"+1 ({''.join(d[:3])}) {''.join(d[3:6])}-{''.join(d[6:])}",
        f"{''.join(d[:3])}.{''.join(d[3:6])}.{''.join(d[6:])}",
        f"+49 30 {''.join(d[:7])}",
        f"0049 (0)89 {''.join(d[:6])}",
        f"030/{''.join(d[:7])}",
        f"+44 20 {''.join(d[:4])} {''.join(d[4:8])}",
        f"({''.join(d[:3])}) {''.join(d[3:6])}-{''.join(d[6:])} ext. {r.randint(1, 99)}",
        f"+1{''.join(d)}",
        "",
        "n/a",
        "12345",
    ]
    weights = [20, 8, 12, 5, 5, 6, 4, 20, 12, 3, 2]
    return r.choices(formats, weights=weights)[0]


def address(r: random.Random) -> str:
    if r.random() < 0.15:
        return ""
    city, _country, postcode = r.choice(CITIES)
    street = f"{r.choice(STREETS)} {r.randint(1, 240)}"
    sep = r.choice([", ", "\n", " - ", ",  "])
    return f"{street}{sep}{postcode} {city}"


def sentence(r: random.Random) -> str:
    return r.choice(LOREM)
