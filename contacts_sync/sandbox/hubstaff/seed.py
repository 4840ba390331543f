"""Seeding of the Hubstaff emulator: organizations with messy but schema-valid members, clients, projects, tasks
and notes (mixed into HubstaffState; state.py holds the rules of the API)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import fake

DEFAULT_ORG_ID = 1001
DEFAULT_PAT = "hubstaff-sandbox-pat"  # the seeded personal access token (a refresh token)
DEFAULT_USER_ID = 7001  # the PAT's owner, an owner member of DEFAULT_ORG_ID
DEFAULT_PROJECT_ID = 3001  # the first seeded project (target of "GHL event -> Hubstaff task")
DEFAULT_CLIENTS = 2500  # "a few thousand clients for the demo"
DEFAULT_MEMBERS = 25
DEFAULT_PROJECTS = 6
DEFAULT_TASKS = 400
DEFAULT_NOTES = 300


class Seeder:
    """The seeding half of HubstaffState: it uses the state's dicts, lock and id counters."""

    if TYPE_CHECKING:
        orgs: dict[int, dict[str, Any]]
        users: dict[int, dict[str, Any]]
        members: dict[int, dict[int, dict[str, Any]]]
        clients: dict[int, dict[str, Any]]
        projects: dict[int, dict[str, Any]]
        tasks: dict[int, dict[str, Any]]
        notes: dict[int, dict[str, Any]]
        _lock: threading.Lock
        _ids: dict[str, Iterator[int]]

        def next_id(self, kind: str) -> int: ...

    def seed(
        self,
        *,
        organization_id: int = DEFAULT_ORG_ID,
        clients: int = DEFAULT_CLIENTS,
        members: int = DEFAULT_MEMBERS,
        projects: int = DEFAULT_PROJECTS,
        tasks: int = DEFAULT_TASKS,
        notes: int = DEFAULT_NOTES,
        owner_user_id: int = DEFAULT_USER_ID,
    ) -> dict[str, int]:
        """Create (or grow) an organization with messy but schema-valid data; the PAT's owner is its owner."""
        r = fake.rng(f"hubstaff-{organization_id}-{len(self.clients)}-{len(self.tasks)}")
        with self._lock:
            self._ensure_org(r, organization_id, owner_user_id)
            for _ in range(members):
                uid = self.next_id("user")
                first, last = fake.person_name(r)
                self._add_user(r, uid, first=first, last=last, email=fake.account_email(r, f"{first}.{last}", uid))
                self._add_member(r, organization_id, uid, role=r.choice(["user", "user", "manager", "viewer"]))
            org_projects = [p for p in self.projects.values() if p["organization_id"] == organization_id]
            for _ in range(max(0, projects - len(org_projects))):
                org_projects.append(self._add_project(r, organization_id))
            new_clients = [self._add_client(r, organization_id) for _ in range(clients)]
            for project in org_projects:
                if project.get("client_id") is None and new_clients:
                    client = r.choice(new_clients)
                    project["client_id"] = client["id"]
                    client["project_ids"].append(project["id"])
            member_ids = list(self.members[organization_id])
            new_tasks = [self._add_task(r, r.choice(org_projects), member_ids) for _ in range(tasks)]
            for _ in range(notes):
                task = r.choice(new_tasks) if new_tasks else None
                self._add_note(r, organization_id, task, member_ids, org_projects)
        return {
            "organization_id": organization_id,
            "clients": clients,
            "members": members,
            "tasks": tasks,
            "notes": notes,
            "projects": len(org_projects),
        }

    def _ensure_org(self, r: Any, organization_id: int, owner_user_id: int) -> None:
        """The organization and its owner member, created on first use."""
        if organization_id not in self.orgs:
            created = fake.iso(fake.past(r, days=1500))
            self.orgs[organization_id] = {
                "id": organization_id,
                "name": f"Sandbox Org {organization_id}",
                "status": "active",
                "created_at": created,
                "updated_at": created,
                "member_profile_fields": [],
                "metadata": {},
                "invite_url": f"https://app.hubstaff.com/invites/{organization_id}",
            }
            self.members[organization_id] = {}
        if owner_user_id not in self.users:
            self._add_user(r, owner_user_id, first="Sandra", last="Owner", email="owner@sandbox.example")
        if owner_user_id not in self.members[organization_id]:
            self._add_member(r, organization_id, owner_user_id, role="owner")

    def _add_user(self, r: Any, uid: int, *, first: str, last: str, email: str) -> dict[str, Any]:
        created = fake.past(r)
        user = {
            "id": uid,
            "name": f"{first} {last}".strip(),
            "first_name": first,
            "last_name": last,
            "email": email,
            "time_zone": r.choice(["Europe/Berlin", "America/New_York", "UTC", "Asia/Tokyo", "Australia/Sydney"]),
            "ip_address": f"203.0.113.{r.randint(1, 254)}",
            "status": "active",
            "created_at": fake.iso(created),
            "updated_at": fake.iso(created + timedelta(days=r.randint(0, 90))),
        }
        self.users[uid] = user
        return user

    def _add_member(self, r: Any, org_id: int, uid: int, *, role: str) -> None:
        created = fake.past(r, days=400)
        self.members[org_id][uid] = {
            "user_id": uid,
            "membership_role": role,
            "membership_status": "active",
            "effective_role": role,
            "trackable": "enabled",
            "view_only": role == "viewer",
            "created_at": fake.iso(created),
            "updated_at": fake.iso(created + timedelta(days=r.randint(0, 30))),
            "last_client_activity": fake.iso(fake.past(r, days=30)),
            "profile": {
                "job_title": r.choice(["Developer", "Designer", "Support", "Sales", ""]),
                "location": r.choice(["Berlin", "Remote", "NYC", ""]),
                "custom_fields": {},
            },
            "metadata": {},
        }

    def _add_project(self, r: Any, org_id: int) -> dict[str, Any]:
        pid = self.next_id("project")
        created = fake.iso(fake.past(r))
        project = {
            "id": pid,
            "organization_id": org_id,
            "name": f"{r.choice(fake.COMPANY_WORDS)} project {pid}",
            "description": "",
            "status": "active",
            "type": "project",
            "client_id": None,
            "billable": True,
            "created_at": created,
            "updated_at": created,
            "metadata": {},
        }
        self.projects[pid] = project
        return project

    def _add_client(self, r: Any, org_id: int, **given: Any) -> dict[str, Any]:
        cid = self.next_id("client")
        name = given.get("name") or fake.company_name(r, cid)
        emails = given.get("emails")
        if emails is None:
            local = name.strip().split(" ")[0] or "info"
            emails = [fake.email_for(r, local, cid + i) for i in range(r.choices([0, 1, 2, 3], [12, 60, 20, 8])[0])]
            if emails and r.random() < 0.03:
                emails.append(emails[0])  # duplicate inside one record
        created = fake.past(r)
        updated = created + timedelta(days=r.randint(0, 200))
        metadata = {}
        if r.random() < 0.4:
            metadata = {
                "industry": r.choice(["retail", "saas", "health", "legal"]),
                "tier": r.choice(["gold", "silver", "bronze"]),
            }
        client = {
            "id": cid,
            "organization_id": org_id,
            "name": name,
            "emails": list(emails),
            "phone": given.get("phone", fake.phone(r)),
            "address": given.get("address", fake.address(r)),
            "project_ids": [],
            "inherit_invoice_notes": True,
            "invoice_notes": given.get("invoice_notes", ""),
            "inherit_net_terms": True,
            "net_terms": str(given.get("net_terms", r.choice([14, 30, 30, 60]))),
            "status": "archived" if r.random() < 0.07 else "active",
            "created_at": fake.iso(created),
            "updated_at": fake.iso(min(updated, fake.EPOCH)),
            "metadata": given.get("metadata", metadata),
        }
        if "name" in given:
            client["status"] = "active"
            now = fake.iso(datetime.now(UTC))
            client["created_at"] = client["updated_at"] = now
        self.clients[cid] = client
        return client

    def _add_task(self, r: Any, project: dict[str, Any], member_ids: list[int]) -> dict[str, Any]:
        tid = self.next_id("task")
        created = fake.past(r, days=200)
        done = r.random() < 0.3
        task = {
            "id": tid,
            "integration_id": None,
            "status": "completed" if done else "active",
            "project_id": project["id"],
            "project_type": "project",
            "summary": r.choice(["", "  "]) + fake.sentence(r).capitalize() + f" (#{tid})",
            "details": fake.sentence(r) if r.random() < 0.5 else "",
            "remote_id": None,
            "remote_alternate_id": None,
            "lock_version": r.randint(0, 4),
            "assignee_ids": r.sample(member_ids, k=min(len(member_ids), r.choice([0, 1, 1, 2]))),
            "metadata": {"ghl_priority": "high"} if r.random() < 0.1 else {},
            "completed_at": fake.iso(created + timedelta(days=r.randint(1, 20))) if done else None,
            "due_at": fake.iso(created + timedelta(days=r.randint(3, 40))) if r.random() < 0.6 else None,
            "created_at": fake.iso(created),
            "updated_at": fake.iso(created + timedelta(days=r.randint(0, 25))),
            "global_todo_id": None,
        }
        self.tasks[tid] = task
        return task

    def _add_note(
        self,
        r: Any,
        org_id: int,
        task: dict[str, Any] | None,
        member_ids: list[int],
        projects: list[dict[str, Any]],
    ) -> dict[str, Any]:
        nid = self.next_id("note")
        slot = fake.past(r, days=90).replace(second=0, microsecond=0)
        slot = slot - timedelta(minutes=slot.minute % 10)
        recorded = slot + timedelta(minutes=r.randint(0, 9), seconds=r.randint(0, 59))
        project_id = task["project_id"] if task else r.choice(projects)["id"]
        note = {
            "id": nid,
            "organization_id": org_id,
            "date": slot.date().isoformat(),
            "time_slot": fake.iso(slot),
            "recorded_at": fake.iso(recorded),
            "created_at": fake.iso(recorded),
            "updated_at": fake.iso(recorded),
            "note": fake.sentence(r) + (" — " + fake.sentence(r) if r.random() < 0.3 else ""),
            "user_id": r.choice(member_ids),
            "project_id": project_id,
            "task_id": task["id"] if task else 0,
        }
        self.notes[nid] = note
        return note
