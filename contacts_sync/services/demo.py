"""The demo: connections to the emulators, the Hubstaff recipes' syncs, one deliberately failing sync, first runs.

`demo_seed` runs inside `manage.py demo_setup`, before the sandbox server is up (make demo starts it next), so
it only writes rows and enqueues `demo_start_task`. That task waits for the sandbox, prepares the emulator side
(a second Hubstaff organization whose API answers 5xx through /_admin/faults, and a PAT of its own), and
enqueues the first run of every demo sync. Both are idempotent: running `make demo` again refreshes the same rows.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import requests
from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from contacts_sync.exceptions import TransientError
from contacts_sync.models import AuthKind, Connection, Provider, RecordLink, RunTrigger, Sync
from contacts_sync.services.connections import connection_create
from contacts_sync.services.runs import run_enqueue
from contacts_sync.services.syncs import sync_create_from_recipe

log = logging.getLogger(__name__)

# The sandbox server's defaults (manage.py sandbox; contacts_sync/sandbox/*): location, token, organization.
GHL_LOCATION = "sandbox-location"
GHL_TOKEN = "pit-sandbox-token"
HUBSTAFF_ORG = "1001"
HUBSTAFF_PAT = "hubstaff-sandbox-pat"
HUBSTAFF_PROJECT = 3001
# The failing demo tile: a second organization whose every API answer is a 500.
FAULTY_ORG = "1002"
FAULTY_CLIENTS = 120
# Task and note syncs start this long after the contact syncs (their records attach to those contacts).
CHILD_SYNCS_DELAY_SECONDS = 90
# Seeded syncs are not due for the dispatcher before this (the sandbox starts after the seed).
SEED_HOLD_SECONDS = 300
DEMO_START_TASK = "contacts_sync.tasks.demo_start_task"
# Emulator admin calls are local; anything slower means the sandbox is not up yet.
ADMIN_TIMEOUT_SECONDS = 5

# (name, recipe, source, options) of the demo syncs; "hubstaff"/"faulty" name the source connection.
DEMO_SYNCS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("Hubstaff clients → GHL contacts", "hubstaff_client_to_ghl_contact", "hubstaff", {}),
    ("Hubstaff members → GHL contacts", "hubstaff_member_to_ghl_contact", "hubstaff", {}),
    ("Hubstaff tasks → GHL tasks", "hubstaff_task_to_ghl_task", "hubstaff", {}),
    ("Hubstaff notes → GHL notes and tags", "hubstaff_note_to_ghl_note", "hubstaff", {}),
    ("Critical GHL contacts → Hubstaff tasks", "ghl_critical_contact_to_hubstaff_task", "ghl",
     {"project_id": HUBSTAFF_PROJECT}),
    ("Hubstaff (second org) clients → GHL contacts", "hubstaff_client_to_ghl_contact", "faulty", {}),
]


def _connection(*, name: str, provider: str, auth_kind: str, secrets: dict[str, Any], user: Any,
                **fields: Any) -> Connection:
    """Get the demo connection by name, or create it through the connections service (not tested now: the
    sandbox is not running yet). Secrets are reset because a restarted sandbox forgets rotated tokens."""
    existing = Connection.objects.filter(name=name, provider=provider).first()
    if existing is not None:
        existing.secrets = secrets
        for key, value in fields.items():
            setattr(existing, key, value)
        existing.save()
        return existing
    return connection_create(provider=provider, auth_kind=auth_kind, name=name, secrets=secrets, user=user,
                             test=False, **fields)


def demo_seed(*, admin_email: str) -> list[Sync]:
    """Seed the demo connections and syncs; enqueue demo_start_task to prepare the sandbox and run them."""
    base = (getattr(settings, "SANDBOX_URL", "") or "").rstrip("/")
    if not base:
        log.warning("SANDBOX_URL is not set: no demo syncs seeded")
        return []
    user = get_user_model().objects.filter(email__iexact=admin_email).first()
    with transaction.atomic():
        ghl = _connection(name="Demo GHL location (sandbox)", provider=Provider.GHL,
                          auth_kind=AuthKind.PRIVATE_TOKEN, secrets={"access_token": GHL_TOKEN}, user=user,
                          external_account_id=GHL_LOCATION, base_url=f"{base}/ghl")
        hub = _connection(name="Demo Hubstaff organization (sandbox)", provider=Provider.HUBSTAFF,
                          auth_kind=AuthKind.OAUTH2, secrets={"refresh_token": HUBSTAFF_PAT}, user=user,
                          external_account_id=HUBSTAFF_ORG, base_url=f"{base}/hubstaff")
        faulty = _connection(name="Demo Hubstaff second organization (faulty)", provider=Provider.HUBSTAFF,
                             auth_kind=AuthKind.OAUTH2, secrets={"refresh_token": "minted-by-demo-start"},
                             user=user, external_account_id=FAULTY_ORG, base_url=f"{base}/hubstaff")
        sources = {"hubstaff": hub, "faulty": faulty, "ghl": ghl}
        syncs = []
        for name, recipe, source_key, options in DEMO_SYNCS:
            source = sources[source_key]
            target = hub if source_key == "ghl" else ghl
            sync = Sync.objects.filter(name=name).first()
            if sync is None:
                sync = sync_create_from_recipe(recipe=recipe, name=name, source_connection=source,
                                               target_connection=target, options=options, user=user,
                                               live=True)
            # The sandbox starts empty each time: links to its old records would hide work from the new one.
            RecordLink.objects.filter(sync=sync).delete()
            # demo_start_task starts the first runs once the sandbox is up; the dispatcher must not beat it to it
            Sync.objects.filter(pk=sync.pk).update(next_run_at=timezone.now() + timedelta(seconds=SEED_HOLD_SECONDS))
            syncs.append(sync)
        transaction.on_commit(lambda: current_app.send_task(DEMO_START_TASK))
    return syncs


def _admin(method: str, path: str, **kw: Any) -> Any:
    base = settings.SANDBOX_URL.rstrip("/")
    try:
        resp = requests.request(method, f"{base}{path}", timeout=ADMIN_TIMEOUT_SECONDS, **kw)
    except requests.RequestException as exc:
        raise TransientError(f"sandbox not reachable: {exc}") from exc
    if resp.status_code >= 500 or resp.status_code == 404 and path == "/_admin/health":
        raise TransientError(f"sandbox answered {resp.status_code} to {path}")
    resp.raise_for_status()
    return resp.json() if resp.content else {}


def demo_start() -> list[int]:
    """Prepare the emulators (faulty organization, its PAT, its faults) and enqueue each demo sync's first run.

    Raises TransientError while the sandbox is not up yet (the task retries).
    """
    _admin("GET", "/_admin/health")
    _admin("POST", "/hubstaff/_admin/seed", json={"organization_id": int(FAULTY_ORG), "clients": FAULTY_CLIENTS,
                                                  "members": 0, "tasks": 0, "notes": 0})
    pat = _admin("POST", "/hubstaff/_admin/pats", json={})["refresh_token"]
    for conn in Connection.objects.filter(provider=Provider.HUBSTAFF, external_account_id=FAULTY_ORG,
                                          name__endswith="(faulty)"):
        conn.secrets = {"refresh_token": pat}
        conn.save(update_fields=["secrets", "updated_at"])
    _admin("POST", "/_admin/faults", json={"app": "hubstaff", "account": FAULTY_ORG, "error_rate": 1.0})
    started = []
    names = [name for name, *_ in DEMO_SYNCS]
    later = timezone.now() + timedelta(seconds=CHILD_SYNCS_DELAY_SECONDS)
    for sync in Sync.objects.filter(name__in=names).select_related("source_connection", "target_connection"):
        if sync.target_object in ("task", "note") and sync.target_connection.provider == Provider.GHL:
            # tasks and notes attach to the clients' contacts: the dispatcher runs them once those exist
            Sync.objects.filter(pk=sync.pk).update(next_run_at=later)
            continue
        run = run_enqueue(sync=sync, trigger=RunTrigger.MANUAL)
        if run is not None:
            started.append(run.pk)
        if sync.poll_interval_seconds:
            Sync.objects.filter(pk=sync.pk).update(
                next_run_at=timezone.now() + timedelta(seconds=sync.poll_interval_seconds))
    return started
