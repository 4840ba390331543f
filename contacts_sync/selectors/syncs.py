"""The sync pages: the list, creating one from a recipe, and a sync's detail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from contacts_sync.connectors import registry
from contacts_sync.models import ACTIVE_RUN_STATUSES, Connection, InboundEvent, Provider, Run, RunStatus, Sync
from contacts_sync.sync.recipes import RECIPES, Recipe

# The detail page shows this many recent runs and webhook events (the full history is the run list's job).
SYNC_DETAIL_RUNS = 10
SYNC_DETAIL_EVENTS = 10


@dataclass
class SyncRow:
    sync: Sync
    last_run: Run | None

    @property
    def status(self) -> str:
        run = self.last_run
        return "running" if run and run.status == RunStatus.RUNNING else self.sync.health


def sync_list_rows() -> list[SyncRow]:
    """Every sync with its connections and its latest run, in 2 queries."""
    latest = Run.objects.filter(sync=OuterRef("pk")).order_by("-created_at").values("pk")[:1]
    syncs = list(
        Sync.objects.select_related("source_connection", "target_connection")
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
    """Connections a sync can use for this app (a GHL agency is not one: its sub-accounts are)."""
    return Connection.objects.accounts().filter(provider=provider).order_by("name", "pk")


@dataclass
class SyncDetail:
    sync: Sync
    recipe: RecipeCard | None
    active_run: Run | None
    recent_runs: list[Run]
    recent_events: list[InboundEvent]

    @property
    def status(self) -> str:
        run = self.active_run
        return "running" if run and run.status == RunStatus.RUNNING else self.sync.health


def sync_events(*, sync: Sync, limit: int = SYNC_DETAIL_EVENTS) -> list[InboundEvent]:
    """The webhooks received for the sync's source account (GHL: by location; other apps: by connection)."""
    source = sync.source_connection
    if source.provider == Provider.GHL:
        qs = InboundEvent.objects.filter(provider=Provider.GHL, account_id=source.external_account_id)
    else:
        qs = InboundEvent.objects.filter(connection=source)
    return list(qs.order_by("-received_at")[:limit])


def sync_detail_get(*, sync_id: int) -> SyncDetail | None:
    sync = (
        Sync.objects.select_related("source_connection", "target_connection", "mapping_version")
        .filter(pk=sync_id)
        .first()
    )
    if sync is None:
        return None
    runs = list(Run.objects.filter(sync=sync).order_by("-created_at")[:SYNC_DETAIL_RUNS])
    active = Run.objects.filter(sync=sync, status__in=ACTIVE_RUN_STATUSES).first()
    return SyncDetail(sync=sync, recipe=recipe_get(key=sync.recipe), active_run=active, recent_runs=runs,
                      recent_events=sync_events(sync=sync))
