"""The demo: connections to the local emulators of all five apps, a few syncs of each, first runs in order.

`demo_seed` runs inside `manage.py demo_setup`, before the sandbox server is up (make demo starts it next), so it
only writes rows and enqueues `demo_start_task`. That task waits for the sandbox, seeds the agency of the Fleet
page (services/demo_agency.py) and enqueues the first run of every demo sync that depends on no other one. The
syncs whose records attach to contacts (tasks, notes) and the one that reads contacts back from GHL wait for the
contact syncs named in their `after`: `demo_children_task` enqueues each one's first run only once those ended
well (re-checking every few seconds), so no note or task fails for a contact that does not exist yet.

Exactly one sync fails on purpose: UpGuard vendor contacts read with an API key that lacks UpGuard's VendorRisk
permission (the emulator answers 403, as UpGuard does). Its error says so, and its connection's name says how
to fix it. Everything is idempotent: running `make demo` again refreshes the same rows (the sandbox starts
empty every time, so the demo syncs' record links are dropped at each seed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from contacts_sync.exceptions import TransientError
from contacts_sync.models import (
    ACTIVE_RUN_STATUSES,
    AuthKind,
    Connection,
    Provider,
    RecordLink,
    Run,
    RunStatus,
    RunTrigger,
    Sync,
)
from contacts_sync.services.connections import connection_create
from contacts_sync.services.runs import run_enqueue
from contacts_sync.services.syncs import sync_create_from_recipe, sync_delete

log = logging.getLogger(__name__)

# The sandbox server's defaults (manage.py sandbox; contacts_sync/sandbox/*): location, tokens, organization.
GHL_LOCATION = "sandbox-location"
GHL_TOKEN = "pit-sandbox-token"
HUBSTAFF_ORG = "1001"
HUBSTAFF_PAT = "hubstaff-sandbox-pat"
HUBSTAFF_PROJECT = 3001
# The UpGuard emulator's key without the VendorRisk permission: the demo's one deliberately failing sync.
UPGUARD_LIMITED_KEY = "upguard-sandbox-key-breachsight"
# Seeded syncs are not due for the dispatcher before this (the sandbox starts after the seed).
SEED_HOLD_SECONDS = 300
# A sync waiting for its parents is held this long at most: if the demo's ordering task never ran (no worker),
# the dispatcher still starts it one day, and its failures then say "run the contact sync first".
CHILD_HOLD = timedelta(hours=1)
DEMO_START_TASK = "contacts_sync.tasks.demo_start_task"
DEMO_CHILDREN_TASK = "contacts_sync.tasks.demo_children_task"
# Emulator admin calls are local; anything slower means the sandbox is not up yet.
ADMIN_TIMEOUT_SECONDS = 5
# A parent's first run has "ended well" when it wrote what it could: partial runs are messy source records
# (the emulators' deliberately bad emails and phones), each one a failed item with its reason.
PARENT_DONE = (RunStatus.SUCCEEDED, RunStatus.PARTIAL)


@dataclass(frozen=True)
class DemoConnection:
    key: str
    name: str
    provider: str
    auth_kind: str
    secrets: dict[str, Any]
    account: str = ""  # external_account_id
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoSync:
    name: str
    recipe: str
    source: str  # DemoConnection.key
    target: str
    options: dict[str, Any] = field(default_factory=dict)
    after: tuple[str, ...] = ()  # names of the demo syncs whose first run must have ended well first
    failing: bool = False  # the one sync that fails on purpose


FAILING_HINT = "key without VendorRisk: fails on purpose, paste upguard-sandbox-key to fix"
DEMO_CONNECTIONS: tuple[DemoConnection, ...] = (
    DemoConnection(
        "ghl",
        "Demo GHL location (sandbox)",
        Provider.GHL,
        AuthKind.PRIVATE_TOKEN,
        {"access_token": GHL_TOKEN},
        GHL_LOCATION,
    ),
    DemoConnection(
        "hubstaff",
        "Demo Hubstaff organization (sandbox)",
        Provider.HUBSTAFF,
        AuthKind.OAUTH2,
        {"refresh_token": HUBSTAFF_PAT},
        HUBSTAFF_ORG,
    ),
    DemoConnection(
        "hotspotsystem",
        "Demo HotspotSystem account (sandbox)",
        Provider.HOTSPOTSYSTEM,
        AuthKind.API_KEY,
        {"api_key": "hotspot-sandbox-key"},
    ),
    DemoConnection(
        "starbuero",
        "Demo starbuero.de account (sandbox)",
        Provider.STARBUERO,
        AuthKind.API_KEY,
        {"api_token": "starbuero-sandbox-token"},
    ),
    DemoConnection(
        "upguard",
        "Demo UpGuard account (sandbox)",
        Provider.UPGUARD,
        AuthKind.API_KEY,
        {"api_key": "upguard-sandbox-key"},
    ),
    DemoConnection(
        "upguard_limited",
        f"Demo UpGuard ({FAILING_HINT})",
        Provider.UPGUARD,
        AuthKind.API_KEY,
        {"api_key": UPGUARD_LIMITED_KEY},
    ),
    DemoConnection(
        "custom",
        "Demo custom app (sandbox)",
        Provider.CUSTOM,
        AuthKind.WEBHOOK_SECRET,
        {"api_token": "custom-sandbox-token"},
    ),
)

# Records per source page of the big first runs: a run's counts move after each page, so at the demo location's
# shared ~10 GHL requests/s a page of 100 shows progress every minute or so instead of one jump after minutes.
PROGRESS_PAGE = 100
HUBSTAFF_CLIENTS = "Hubstaff clients → GHL contacts"
HOTSPOT_CUSTOMERS = "HotspotSystem customers → GHL contacts + onboarding tasks"
STARBUERO_CALLERS = "starbuero.de callers → GHL contacts"
UPGUARD_CONTACTS = "UpGuard vendor contacts → GHL contacts + tags"
UPGUARD_RISKS = "UpGuard risks and breaches → GHL security tasks"
# The GHL contact that takes the security tasks of vendors without a contact (the recipe's option ghl_contact_id).
DEFAULT_SECURITY_CONTACT = {
    "firstName": "Vendor security",
    "lastName": "(UpGuard)",
    "email": "vendor-security@example.com",
    "tags": ["upguard"],
    "source": "contacts-sync demo",
}
DEMO_SYNCS: tuple[DemoSync, ...] = (
    # Archived clients too: their projects' tasks and notes are synced, and attach to their contacts.
    DemoSync(
        HUBSTAFF_CLIENTS,
        "hubstaff_client_to_ghl_contact",
        "hubstaff",
        "ghl",
        {"client_status": "all", "page_limit": PROGRESS_PAGE},
    ),
    DemoSync("Hubstaff members → GHL contacts", "hubstaff_member_to_ghl_contact", "hubstaff", "ghl"),
    DemoSync("Hubstaff tasks → GHL tasks", "hubstaff_task_to_ghl_task", "hubstaff", "ghl", after=(HUBSTAFF_CLIENTS,)),
    DemoSync(
        "Hubstaff notes → GHL notes and tags", "hubstaff_note_to_ghl_note", "hubstaff", "ghl", after=(HUBSTAFF_CLIENTS,)
    ),
    # The contacts tagged "critical" are UpGuard vendor contacts (the label becomes a tag): read them once made.
    DemoSync(
        "Critical GHL contacts → Hubstaff tasks",
        "ghl_critical_contact_to_hubstaff_task",
        "ghl",
        "hubstaff",
        {"project_id": HUBSTAFF_PROJECT},
        after=(UPGUARD_CONTACTS,),
    ),
    DemoSync(
        HOTSPOT_CUSTOMERS,
        "hotspotsystem_customer_to_ghl_contact",
        "hotspotsystem",
        "ghl",
        {"page_limit": PROGRESS_PAGE // 4},
    ),  # four GHL calls per customer (contact + onboarding tasks)
    DemoSync(
        "HotspotSystem transactions → GHL notes",
        "hotspotsystem_transaction_to_ghl_note",
        "hotspotsystem",
        "ghl",
        after=(HOTSPOT_CUSTOMERS,),
    ),
    DemoSync(STARBUERO_CALLERS, "starbuero_call_to_ghl_contact", "starbuero", "ghl"),
    DemoSync(
        "starbuero.de call transcriptions → GHL notes",
        "starbuero_call_to_ghl_note",
        "starbuero",
        "ghl",
        after=(STARBUERO_CALLERS,),
    ),
    DemoSync(
        "starbuero.de call-back tasks → GHL tasks",
        "starbuero_task_to_ghl_task",
        "starbuero",
        "ghl",
        after=(STARBUERO_CALLERS,),
    ),
    DemoSync(UPGUARD_CONTACTS, "upguard_vendor_to_ghl_contact", "upguard", "ghl"),
    # Vendors without a contact have risks too: those tasks go to the default contact (demo_start makes it).
    DemoSync(UPGUARD_RISKS, "upguard_risk_to_ghl_task", "upguard", "ghl", after=(UPGUARD_CONTACTS,)),
    DemoSync(
        "UpGuard vendor contacts → GHL contacts (key without VendorRisk)",
        "upguard_vendor_to_ghl_contact",
        "upguard_limited",
        "ghl",
        failing=True,
    ),
    DemoSync("Custom app contacts → GHL contacts", "custom_contact_to_ghl_contact", "custom", "ghl"),
)
# Demo rows of earlier versions (a failing second Hubstaff organization): retired when found.
RETIRED_SYNCS = ("Hubstaff (second org) clients → GHL contacts",)
RETIRED_CONNECTIONS = ("Demo Hubstaff second organization (faulty)",)


def _connection(spec: DemoConnection, *, base: str, user: Any) -> Connection:
    """Get the demo connection by name, or create it through the connections service (not tested now: the
    sandbox is not running yet). Secrets are reset because a restarted sandbox forgets rotated tokens."""
    fields = {"external_account_id": spec.account, "base_url": f"{base}/{spec.provider}", "config": spec.config}
    existing = Connection.objects.filter(name=spec.name, provider=spec.provider).first()
    if existing is not None:
        existing.secrets = dict(spec.secrets)
        for key, value in fields.items():
            setattr(existing, key, value)
        existing.save()
        return existing
    return connection_create(
        provider=spec.provider,
        auth_kind=spec.auth_kind,
        name=spec.name,
        secrets=dict(spec.secrets),
        user=user,
        test=False,
        **fields,
    )


def _sync(spec: DemoSync, connections: dict[str, Connection], user: Any) -> Sync:
    sync = Sync.objects.filter(name=spec.name, archived_at__isnull=True).first()
    if sync is None:
        sync = sync_create_from_recipe(
            recipe=spec.recipe,
            name=spec.name,
            source_connection=connections[spec.source],
            target_connection=connections[spec.target],
            options=spec.options,
            user=user,
            live=True,
        )
    elif spec.options and any(sync.options.get(k) != v for k, v in spec.options.items()):
        sync.options = {**sync.options, **spec.options}
        sync.save(update_fields=["options", "updated_at"])
    # The sandbox starts empty each time: links to its old records would hide work from the new one.
    RecordLink.objects.filter(sync=sync).delete()
    # demo_start_task starts the first runs once the sandbox is up; the dispatcher must not beat it to it.
    Sync.objects.filter(pk=sync.pk).update(next_run_at=timezone.now() + timedelta(seconds=SEED_HOLD_SECONDS))
    return sync


def demo_seed(*, admin_email: str, enqueue_start: bool = True) -> list[Sync]:
    """Seed the demo connections and syncs; enqueue demo_start_task to prepare the sandbox and run them
    (`enqueue_start=False`: the caller runs demo_start itself)."""
    base = (getattr(settings, "SANDBOX_URL", "") or "").rstrip("/")
    if not base:
        log.warning("SANDBOX_URL is not set: no demo syncs seeded")
        return []
    user = get_user_model().objects.filter(email__iexact=admin_email).first()
    with transaction.atomic():
        _retire(user)
        connections = {spec.key: _connection(spec, base=base, user=user) for spec in DEMO_CONNECTIONS}
        syncs = [_sync(spec, connections, user) for spec in DEMO_SYNCS]
        _stop_leftover_runs()
        if enqueue_start:
            transaction.on_commit(lambda: current_app.send_task(DEMO_START_TASK))
    return syncs


def _stop_leftover_runs() -> int:
    """Runs of the demo's syncs still queued or running belong to the previous `make demo` (no worker is up yet):
    their checkpoints point into emulators that are gone, so they end here instead of resuming. The template's
    syncs are held like the others until demo_start has run."""
    from contacts_sync.services.demo_agency import TEMPLATE_NAME

    names = [spec.name for spec in DEMO_SYNCS]
    demo_syncs = Sync.objects.filter(name__in=names) | Sync.objects.filter(
        template_member__template__name=TEMPLATE_NAME
    )
    # The template's syncs read sub-accounts that demo_start creates again in the emulator: not due before it.
    demo_syncs.filter(template_member__isnull=False).update(
        next_run_at=timezone.now() + timedelta(seconds=SEED_HOLD_SECONDS)
    )
    return Run.objects.filter(sync__in=demo_syncs, status__in=ACTIVE_RUN_STATUSES).update(
        status=RunStatus.CANCELLED,
        finished_at=timezone.now(),
        error_summary="Stopped: the demo was restarted and its emulators started afresh.",
    )


def _retire(user: Any) -> None:
    """Remove the demo syncs and connections of earlier versions, so an old `.data/` shows today's demo."""
    from contacts_sync.services.connection_lifecycle import connection_archive

    for sync in Sync.objects.filter(name__in=RETIRED_SYNCS):
        Run.objects.filter(sync=sync, status__in=ACTIVE_RUN_STATUSES).update(status=RunStatus.CANCELLED)
        sync_delete(sync=sync, confirm=sync.name, user=user)
    for conn in Connection.objects.filter(name__in=RETIRED_CONNECTIONS, archived_at__isnull=True):
        connection_archive(connection=conn, user=user)


def sandbox_admin(method: str, path: str, **kw: Any) -> Any:
    """One call to the emulators' admin API; TransientError while the sandbox is not up (the task retries)."""
    base = settings.SANDBOX_URL.rstrip("/")
    try:
        resp = requests.request(method, f"{base}{path}", timeout=ADMIN_TIMEOUT_SECONDS, **kw)
    except requests.RequestException as exc:
        raise TransientError(f"sandbox not reachable: {exc}") from exc
    if resp.status_code >= 500 or (resp.status_code == 404 and path == "/_admin/health"):
        raise TransientError(f"sandbox answered {resp.status_code} to {path}")
    resp.raise_for_status()
    return resp.json() if resp.content else {}


def _demo_syncs() -> dict[str, Sync]:
    names = [spec.name for spec in DEMO_SYNCS]
    return {s.name: s for s in Sync.objects.filter(name__in=names, archived_at__isnull=True)}


def demo_first_run(sync: Sync) -> int | None:
    """Enqueue a first run now; the dispatcher takes over at the sync's polling interval."""
    run = run_enqueue(sync=sync, trigger=RunTrigger.MANUAL)
    if sync.poll_interval_seconds:
        Sync.objects.filter(pk=sync.pk).update(
            next_run_at=timezone.now() + timedelta(seconds=sync.poll_interval_seconds)
        )
    return run.pk if run is not None else None


def demo_start() -> list[int]:
    """Seed the agency of the Fleet page, enqueue the first run of every demo sync that waits for none, and
    hand the others to demo_children_task. Raises TransientError while the sandbox is not up yet."""
    from contacts_sync.services.demo_agency import demo_agency_seed

    sandbox_admin("GET", "/_admin/health")
    since = timezone.now()
    try:
        started = [pk for pk in demo_agency_seed() if pk is not None]
    except TransientError:
        raise
    except Exception:  # the Fleet page's agency is an extra: the demo's own syncs start without it
        log.exception("demo: the agency and its template were not seeded")
        started = []
    syncs = _demo_syncs()
    _default_contact(syncs.get(UPGUARD_RISKS))
    for spec in DEMO_SYNCS:
        sync = syncs.get(spec.name)
        if sync is None:
            continue
        if spec.after:
            Sync.objects.filter(pk=sync.pk).update(next_run_at=since + CHILD_HOLD)
            continue
        run_id = demo_first_run(sync)
        if run_id is not None:
            started.append(run_id)
    transaction.on_commit(lambda: current_app.send_task(DEMO_CHILDREN_TASK, args=[since.isoformat()], countdown=2))
    return started


def _default_contact(sync: Sync | None) -> None:
    """Upsert the default security contact in the demo GHL location and point the risk sync's option at it."""
    if sync is None:
        return
    from contacts_sync.services.credentials import connector_for

    contact, _new = connector_for(sync.target_connection).client.upsert_contact(dict(DEFAULT_SECURITY_CONTACT))
    Sync.objects.filter(pk=sync.pk).update(options={**sync.options, "ghl_contact_id": str(contact["id"])})


def demo_children_start(*, since: datetime) -> tuple[list[int], int]:
    """Enqueue the first run of each waiting demo sync whose parents' first runs (since `since`) ended well.

    Returns (runs enqueued, syncs still waiting). A sync whose parent failed is not started: its first run would
    only fail record by record; it is left to the dispatcher at its polling interval instead.
    """
    syncs = _demo_syncs()
    started: list[int] = []
    waiting = 0
    for spec in DEMO_SYNCS:
        sync = syncs.get(spec.name)
        if sync is None or not spec.after:
            continue
        if Run.objects.filter(sync=sync, created_at__gte=since).exclude(trigger=RunTrigger.WEBHOOK).exists():
            continue  # started already (by an earlier pass of this task, or by hand)
        parents = [syncs[name] for name in spec.after if name in syncs]
        ends = [_first_end(parent, since) for parent in parents]
        if any(end is None for end in ends):
            waiting += 1
            continue
        if all(end in PARENT_DONE for end in ends):
            run_id = demo_first_run(sync)
            if run_id is not None:
                started.append(run_id)
        else:
            Sync.objects.filter(pk=sync.pk).update(
                next_run_at=timezone.now() + timedelta(seconds=sync.poll_interval_seconds or 0)
            )
    return started, waiting


def _first_end(sync: Sync, since: datetime) -> str | None:
    """How the sync's first run since `since` ended; None while it has not (or has not started)."""
    run = Run.objects.filter(sync=sync, created_at__gte=since).order_by("pk").first()
    if run is None or run.status in ACTIVE_RUN_STATUSES:
        return None
    return str(run.status)
