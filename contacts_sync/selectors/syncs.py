"""The sync pages: the list, creating one from a recipe, and a sync's detail."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection as db
from django.db.models import Case, Count, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from contacts_sync.connectors import registry
from contacts_sync.models import (
    ACTIVE_RUN_STATUSES,
    STALLED_AFTER_SECONDS,
    Connection,
    ConnectionStatus,
    InboundEvent,
    ItemAction,
    Provider,
    Run,
    RunItem,
    RunStatus,
    Sync,
)
from contacts_sync.sync.recipes import RECIPES, Recipe

# The detail page shows this many recent runs and webhook events (the full history is the run list's job).
SYNC_DETAIL_RUNS = 10
SYNC_DETAIL_EVENTS = 10
# A preview lists this many failed records with their reasons (the preview run's page has the rest).
PREVIEW_FAILURES_SHOWN = 10


@dataclass
class SyncRow:
    sync: Sync
    last_run: Run | None

    @property
    def status(self) -> str:
        run = self.last_run
        return "running" if run and run.status == RunStatus.RUNNING else self.sync.health


def sync_list_rows(*, archived: bool = False) -> list[SyncRow]:
    """Every sync (or every archived one) with its connections and its latest run, in 2 queries."""
    latest = Run.objects.filter(sync=OuterRef("pk")).order_by("-created_at").values("pk")[:1]
    syncs = list(
        Sync.objects.filter(archived_at__isnull=not archived)
        .select_related("source_connection", "target_connection")
        .annotate(latest_run_id=Subquery(latest))
        .order_by("name", "pk")
    )
    runs = Run.objects.in_bulk([s.latest_run_id for s in syncs if s.latest_run_id])
    return [SyncRow(sync=s, last_run=runs.get(s.latest_run_id)) for s in syncs]


@dataclass
class RecipeCard:
    """A recipe as the pages show it: provider names instead of keys, an arrow instead of "->"."""

    recipe: Recipe

    @property
    def key(self) -> str:
        return self.recipe.key

    @property
    def title(self) -> str:
        return self.recipe.title.replace("->", "→")

    @property
    def source_label(self) -> str:
        return registry.spec(self.recipe.source_provider).title

    @property
    def target_label(self) -> str:
        return registry.spec(self.recipe.target_provider).title

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "recipe":
            raise AttributeError(name)
        return getattr(self.recipe, name)


def recipe_list() -> list[RecipeCard]:
    cards = [RecipeCard(r) for r in RECIPES.values()]
    return sorted(cards, key=lambda c: (c.recipe.source_provider != "hubstaff", c.source_label, c.title))


def recipe_get(*, key: str) -> RecipeCard | None:
    recipe = RECIPES.get(key)
    return RecipeCard(recipe) if recipe else None


def connections_for(*, provider: str) -> QuerySet[Connection]:
    """The connections a new sync may use (a GHL agency is not one: its sub-accounts are), working ones first, each with `twins`: how many other connections
    hold the same account (same app, account id and base URL; archived ones do not count)."""
    twins = (
        Connection.objects.filter(
            provider=OuterRef("provider"),
            external_account_id=OuterRef("external_account_id"),
            base_url=OuterRef("base_url"),
            archived_at__isnull=True,
        )
        .exclude(pk=OuterRef("pk"))
        .exclude(external_account_id="")
        .order_by()
        .values("provider")
        .annotate(n=Count("pk"))
        .values("n")
    )
    working = Case(When(status=ConnectionStatus.CONNECTED, then=Value(0)), default=Value(1))
    return (
        Connection.objects.accounts()
        .filter(provider=provider, archived_at__isnull=True)
        .annotate(twins=Coalesce(Subquery(twins[:1]), Value(0)), working=working)
        .order_by("working", "name", "pk")
    )


def archived_count() -> int:
    return Sync.objects.filter(archived_at__isnull=False).count()


@dataclass
class Preview:
    """The latest dry run of a sync: what a real run would create, update, refuse, and why."""

    run: Run
    errors: list[tuple[str, int]] = field(default_factory=list)  # (error class, failed items)
    failures: list[RunItem] = field(default_factory=list)  # the first PREVIEW_FAILURES_SHOWN failed items

    @property
    def sample(self) -> int:
        return int(self.run.checkpoint.get("sample") or 0)


@dataclass
class SyncDetail:
    sync: Sync
    recipe: RecipeCard | None
    active_run: Run | None
    recent_runs: list[Run]
    recent_events: list[InboundEvent]
    preview: Preview | None = None

    @property
    def status(self) -> str:
        run = self.active_run
        if run and run.status == RunStatus.RUNNING and not run.dry_run:
            return "running"
        if not self.sync.is_live:
            return "not_live"
        return "archived" if self.sync.archived_at else self.sync.health

    @property
    def status_label(self) -> str:
        labels = {"running": "Running", "not_live": "Not live yet", "archived": "Archived"}
        return labels.get(self.status) or self.sync.get_health_display()

    @property
    def connections(self) -> list[Connection]:
        return [self.sync.source_connection, self.sync.target_connection]


def _sync_events(sync: Sync) -> Any:
    """The webhooks received for the sync's source account (GHL: by location; other apps: by connection)."""
    source = sync.source_connection
    if source.provider == Provider.GHL:
        return InboundEvent.objects.filter(provider=Provider.GHL, account_id=source.external_account_id)
    return InboundEvent.objects.filter(connection=source)


def sync_events(*, sync: Sync, limit: int = SYNC_DETAIL_EVENTS) -> list[InboundEvent]:
    return list(_sync_events(sync).order_by("-received_at")[:limit])


def sync_event_get(*, sync: Sync, event_id: int) -> InboundEvent | None:
    """One webhook of the sync's inbox (None when it belongs to another account)."""
    return _sync_events(sync).filter(pk=event_id).first()


def sync_detail_get(*, sync_id: int) -> SyncDetail | None:
    sync = (
        Sync.objects.select_related("source_connection", "target_connection", "mapping_version")
        .filter(pk=sync_id)
        .first()
    )
    if sync is None:
        return None
    runs = list(Run.objects.filter(sync=sync).order_by("-created_at")[:SYNC_DETAIL_RUNS])
    active = next((r for r in runs if r.status in ACTIVE_RUN_STATUSES), None)
    return SyncDetail(
        sync=sync,
        recipe=recipe_get(key=sync.recipe),
        active_run=active,
        recent_runs=runs,
        recent_events=sync_events(sync=sync),
        preview=_preview(sync),
    )


def _preview(sync: Sync) -> Preview | None:
    """The latest preview (dry run) of a sync that is not live yet, or of one whose last run was a preview."""
    run = Run.objects.filter(sync=sync, dry_run=True).order_by("-created_at").first()
    if run is None:
        return None
    if sync.is_live and Run.objects.filter(sync=sync, dry_run=False, created_at__gt=run.created_at).exists():
        return None  # a real run came after it: the run history tells the rest
    failed = RunItem.objects.filter(run=run, action=ItemAction.FAILED)
    errors = [
        (r["error_class"] or "(none)", r["n"])
        for r in failed.values("error_class").annotate(n=Count("*")).order_by("-n", "error_class")
    ]
    return Preview(run=run, errors=errors, failures=list(failed.order_by("pk")[:PREVIEW_FAILURES_SHOWN]))


_SYNC_TOKEN_SQL = """
SELECT s.updated_at, s.health, s.enabled, s.went_live_at, s.archived_at, s.next_run_at,
  src.status, src.updated_at, tgt.status, tgt.updated_at,
  (SELECT coalesce(string_agg(r.id || ':' || r.status || ':' || r.read_count || ':' || r.failed_count || ':'
      || (r.created_count + r.updated_count + r.unchanged_count + r.skipped_count + r.deleted_count
          + r.would_create_count + r.would_update_count) || ':' || r.verify_sampled || ':'
      || CASE WHEN r.status = 'running' AND r.heartbeat_at < now() - %(stalled)s
         THEN floor(extract(epoch FROM now() - r.heartbeat_at) / %(step)s)::int ELSE 0 END, ','), '')
     FROM (SELECT * FROM contacts_sync_run WHERE sync_id = s.id ORDER BY created_at DESC LIMIT %(runs)s) r)
FROM contacts_sync_sync s
JOIN contacts_sync_connection src ON src.id = s.source_connection_id
JOIN contacts_sync_connection tgt ON tgt.id = s.target_connection_id
WHERE s.id = %(sync)s
"""


def sync_token(*, sync_id: int) -> tuple[str, bool] | None:
    """(fingerprint, a run is active) of what the sync detail shows live: its health and settings, both
    connections' status, its recent runs' progress and stalls. One query; None when the sync is gone."""
    with db.cursor() as cur:
        # django-stubs' cursor parameters leave out timedelta, which psycopg sends as an interval.
        cur.execute(
            _SYNC_TOKEN_SQL,
            {
                "stalled": timedelta(seconds=STALLED_AFTER_SECONDS),  # type: ignore[dict-item]
                "step": STALLED_AFTER_SECONDS,
                "runs": SYNC_DETAIL_RUNS,
                "sync": sync_id,
            },
        )
        row = cur.fetchone()
    if row is None:
        return None
    active = any(part.split(":")[1] in ACTIVE_RUN_STATUSES for part in row[-1].split(",") if part)
    return hashlib.blake2s(repr(row).encode(), digest_size=8).hexdigest(), active


def clone_name(sync: Sync) -> str:
    return f"Copy of {sync.name}"[:200]
