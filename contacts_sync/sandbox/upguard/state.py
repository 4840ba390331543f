"""The UpGuard emulator's state: seeded vendors, their contacts, risks and notifications, and its webhooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from contacts_sync.sandbox.hubstaff import fake

APP = "upguard"
API_KEY = "upguard-sandbox-key"
LIMITED_KEY = "upguard-sandbox-key-breachsight"  # a key without the VendorRisk permission
DEFAULT_VENDORS = 60
RISKS = [
    {
        "id": "domain_expiring",
        "riskType": "domain_expiring",
        "riskSubtype": "",
        "category": "dns",
        "severity": "medium",
        "finding": "Domain expires soon",
        "risk": "Loss of the domain",
        "description": "The domain expires within 30 days.",
        "remediation": "Renew the domain.",
    },
    {
        "id": "tls_old_version",
        "riskType": "tls_old_version",
        "riskSubtype": "TLSv1.0",
        "category": "encryption",
        "severity": "low",
        "finding": "TLS 1.0 supported",
        "risk": "Weak encryption",
        "description": "The server accepts TLS 1.0.",
        "remediation": "Disable TLS 1.0 and 1.1.",
    },
    {
        "id": "spf_missing",
        "riskType": "spf_missing",
        "riskSubtype": "",
        "category": "email",
        "severity": "high",
        "finding": "SPF record missing",
        "risk": "E-mail spoofing",
        "description": "No SPF record was found.",
        "remediation": "Publish an SPF record.",
    },
    {
        "id": "open_port_rdp",
        "riskType": "open_port",
        "riskSubtype": "3389",
        "category": "network",
        "severity": "critical",
        "finding": "RDP port open to the internet",
        "risk": "Remote takeover",
        "description": "Port 3389 answers from the internet.",
        "remediation": "Close the port or use a VPN.",
    },
]
NOTIFICATIONS = [
    ("VendorScoreDropped", "The score of vendor '{name}' dropped below 600"),
    ("RiskAssessmentPublished", "User published a new risk assessment for vendor '{name}'"),
    ("IdentityBreachDetected", "A new identity breach affects staff at '{name}'"),
    ("DataLeakPublished", "A data leak mentioning '{name}' was published"),
]
LABELS = ["critical", "payments", "IT", "marketing", "Tier-1 supplier", "GDPR"]
# Webhook notification types (GET /webhooks/notification_types): our notification kinds and a breach kind more.
NOTIFICATION_TYPES = {
    kind: f"{n + 10}-0000-0000-{n:016d}"
    for n, kind in enumerate([k for k, _ in NOTIFICATIONS] + ["VendorDataBreach", "ReportReady"])
}
SEVERITIES = {"pass": 0, "info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}


class UpGuardState:
    def __init__(self, vendors: int = DEFAULT_VENDORS) -> None:
        self.vendors: list[dict[str, Any]] = []
        self.contacts: list[dict[str, Any]] = []
        self.risks: dict[int, list[dict[str, Any]]] = {}
        self.notifications: list[dict[str, Any]] = []
        # vendor id -> [(risk, resolved at)]: what /risks/vendors/diffs reports as risksResolved
        self.resolved: dict[int, list[tuple[dict[str, Any], datetime]]] = {}
        self.webhooks: list[dict[str, Any]] = []  # {id, name, url, enabled, notification_type_ids, secret}
        self.requests = 0
        self.seed(vendors)

    def seed(self, count: int) -> int:
        r = fake.rng(f"upguard-{len(self.vendors)}")
        for _ in range(count):
            vid = 5000 + len(self.vendors) + 1
            name = fake.company_name(r, vid).strip()
            host = self._hostname(name, vid)
            score = r.randint(300, 950)
            vendor = {
                "id": vid,
                "name": name,
                "primary_hostname": host,
                "labels": r.sample(LABELS, r.randint(0, 3)),
                "tier": r.choice([1, 2, 3]),
                "monitored": True,
                "overallScore": score,
                "automatedScore": score - r.randint(0, 40),
                "score": score,
                "assessmentStatus": r.choice(["Published", "In progress", "Not assessed"]),
            }
            if r.random() < 0.4:
                vendor["attributes"] = {"owner": r.choice(["procurement", "it-sec"])}
            self.vendors.append(vendor)
            self.risks[vid] = [
                dict(
                    RISKS[k],
                    firstDetected=fake.iso(fake.past(r, days=300)),
                    hostnames=[host],
                    hostnameCount=1,
                )
                for k in r.sample(range(len(RISKS)), r.choice([0, 0, 1, 2, 3]))
            ]
            if r.random() < 0.5:
                kind, text = r.choice(NOTIFICATIONS)
                self.notifications.append(
                    {
                        "notification_id": str(len(self.notifications) + 1),
                        "type": kind,
                        "description": text.format(name=name),
                        "occurred_at": fake.iso(fake.past(r, days=7)),
                        "context": {"vendor_id": vid, "vendor_primary_hostname": host},
                    }
                )
            for _c in range(r.choice([0, 1, 1, 2, 3, 4])):
                cid = 70_000 + len(self.contacts) + 1
                first, last = fake.person_name(r)
                created = fake.past(r, days=500)
                self.contacts.append(
                    {
                        "id": cid,
                        "vendor_id": vid,
                        "name": f"{first} {last}",
                        "title": r.choice(["CISO", "Account Manager", "Security Lead", "", "DPO"]),
                        "email_address": fake.email_for(r, f"{first}.{last}", cid),
                        "phone_mobile": fake.phone(r),
                        "notes": fake.sentence(r) if r.random() < 0.3 else "",
                        "created_at": fake.iso(created),
                        "updated_at": fake.iso(created + timedelta(days=r.randint(0, 60))),
                    }
                )
        return len(self.vendors)

    def _hostname(self, name: str, vid: int) -> str:
        """A primary hostname names one vendor: two vendors whose names start alike get different ones."""
        host = "".join(ch for ch in name.lower() if ch.isalnum())[:20] + ".example.com"
        return f"{vid}-{host}" if any(v["primary_hostname"] == host for v in self.vendors) else host

    def notify(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A notification happening now about a vendor (admin: tests add one and deliver it as a webhook)."""
        vendor = next((v for v in self.vendors if v["id"] == int(fields.get("vendor_id") or 0)), None)
        note = {
            "notification_id": str(len(self.notifications) + 1),
            "type": str(fields.get("type") or "VendorScoreDropped"),
            "description": str(fields.get("description") or f"Something happened at '{(vendor or {}).get('name')}'"),
            "occurred_at": fake.iso(datetime.now(UTC)),
            "context": {"vendor_id": vendor["id"], "vendor_primary_hostname": vendor["primary_hostname"]}
            if vendor
            else {},
        }
        self.notifications.append(note)
        return note
