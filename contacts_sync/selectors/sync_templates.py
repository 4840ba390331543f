"""Sync template pages: the list, one template with its locations, and the choices of the create form."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from contacts_sync.connectors import registry
from contacts_sync.models import Connection, Provider, Sync, SyncHealth, SyncTemplate, SyncTemplateMember
from contacts_sync.selectors.syncs import RecipeCard, recipe_list
from contacts_sync.sync.recipes import RECIPES, Recipe


@dataclass
class TemplateRow:
    template: SyncTemplate
    locations: int
    paused: int
    problems: int


@dataclass
class MemberRow:
    member: SyncTemplateMember

    @property
    def sync(self) -> Sync:
        return self.member.sync

    @property
    def current(self) -> bool:
        return self.member.applied_revision == self.member.template.revision

    @property
    def override_targets(self) -> list[str]:
        rules = self.member.overrides.get("rules") or []
        return [str(r.get("target")) for r in rules if isinstance(r, dict)]

    @property
    def omitted(self) -> list[str]:
        return [str(t) for t in self.member.overrides.get("omit") or []]


PROBLEM_HEALTH = [SyncHealth.FAILING, SyncHealth.DEGRADED, SyncHealth.STALE, SyncHealth.NEEDS_REAUTH]


def template_recipes() -> list[RecipeCard]:
    """Recipes a template can use: every flow with HighLevel on one side."""
    return [c for c in recipe_list() if Provider.GHL in (c.recipe.source_provider, c.recipe.target_provider)]


def recipe_get(*, key: str) -> RecipeCard | None:
    recipe = RECIPES.get(key)
    if recipe is None or Provider.GHL not in (recipe.source_provider, recipe.target_provider):
        return None
    return RecipeCard(recipe)


def counterpart_title(*, recipe: Recipe) -> str:
    """The app on the other side of HighLevel, e.g. "Hubstaff"."""
    other = recipe.target_provider if recipe.source_provider == Provider.GHL else recipe.source_provider
    return registry.spec(other).title


def agency_get(*, pk: int) -> Connection | None:
    return Connection.objects.agencies().filter(pk=pk).defer("secrets").first()


def template_list() -> list[TemplateRow]:
    templates = (
        SyncTemplate.objects.select_related("counterpart", "agency")
        .defer("counterpart__secrets", "agency__secrets")
        .annotate(
            n=Count("members", distinct=True),
            n_paused=Count("members", filter=Q(members__sync__enabled=False), distinct=True),
            n_problems=Count("members", filter=Q(members__sync__health__in=PROBLEM_HEALTH), distinct=True),
        )
        .order_by("name")
    )
    return [TemplateRow(template=t, locations=t.n, paused=t.n_paused, problems=t.n_problems) for t in templates]


def template_get(*, pk: int) -> SyncTemplate | None:
    return (
        SyncTemplate.objects.select_related("counterpart", "agency")
        .defer("counterpart__secrets", "agency__secrets")
        .filter(pk=pk)
        .first()
    )


def template_members(*, template: SyncTemplate) -> list[MemberRow]:
    members = (
        template.members.select_related("sync__mapping_version", "location", "template")
        .defer("location__secrets")
        .order_by("location__name", "pk")
    )
    return [MemberRow(member=m) for m in members]


def member_get(*, template: SyncTemplate, member_id: int) -> SyncTemplateMember | None:
    return (
        template.members.select_related("sync__source_connection", "sync__target_connection", "location", "template")
        .filter(pk=member_id)
        .first()
    )


def location_choices(
    *, agency: int | None = None, exclude_template: SyncTemplate | None = None
) -> QuerySet[Connection]:
    """HighLevel sub-account connections (optionally one agency's), minus a template's members."""
    qs = Connection.objects.accounts().filter(provider=Provider.GHL).exclude(external_account_id="")
    if agency is not None:
        qs = qs.filter(agency_id=agency)
    if exclude_template is not None:
        qs = qs.exclude(pk__in=exclude_template.members.values("location_id"))
    return qs.select_related("agency").defer("secrets", "agency__secrets").order_by("name", "pk")


def counterpart_choices(*, recipe: Recipe) -> QuerySet[Connection]:
    provider = recipe.target_provider if recipe.source_provider == Provider.GHL else recipe.source_provider
    return Connection.objects.accounts().filter(provider=provider).defer("secrets").order_by("name", "pk")


def agency_choices() -> list[tuple[int, str]]:
    return list(Connection.objects.agencies().order_by("name").values_list("pk", "name"))
