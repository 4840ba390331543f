"""Every app's recipes, in one place for the engine and the services (each app declares its own in
connectors/<app>/recipes.py), and the recipe filter shared by the engine and the webhook inbox."""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors import registry
from contacts_sync.connectors.spec import MANUAL, POLL, WEBHOOK, Recipe, Writer

__all__ = ["MANUAL", "POLL", "RECIPES", "WEBHOOK", "Recipe", "Writer", "default_rules", "recipe_for",
           "record_passes_filter"]

RECIPES: dict[str, Recipe] = registry.recipes()
default_rules = registry.default_rules


def recipe_for(key: str) -> Recipe | None:
    return RECIPES.get(key)


def record_passes_filter(recipe: Recipe | None, options: dict[str, Any], record: dict[str, Any]) -> bool:
    """A recipe (or a sync's options) may take only records with a tag, e.g. GHL contacts tagged "critical"."""
    tag = (recipe.record_filter.get("tag") if recipe else None) or options.get("tag")
    if not tag:
        return True
    tags = record.get("tags") or []
    return str(tag).lower() in {str(t).lower() for t in tags}
