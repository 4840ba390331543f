"""Every app's recipes, in one place for the engine and the services (each app declares its own in
connectors/<app>/recipes.py), and the recipe filter shared by the engine and the webhook inbox."""

from __future__ import annotations

from typing import Any

from contacts_sync.connectors import registry
from contacts_sync.connectors.spec import MANUAL, POLL, WEBHOOK, Recipe, Writer
from contacts_sync.mapping.paths import get_path, is_empty

__all__ = [
    "MANUAL",
    "POLL",
    "RECIPES",
    "WEBHOOK",
    "Recipe",
    "Writer",
    "default_rules",
    "recipe_default_rules",
    "recipe_for",
    "record_passes_filter",
]

RECIPES: dict[str, Recipe] = registry.recipes()
default_rules = registry.default_rules
recipe_default_rules = registry.recipe_default_rules


def recipe_for(key: str) -> Recipe | None:
    return RECIPES.get(key)


def record_passes_filter(recipe: Recipe | None, options: dict[str, Any], record: dict[str, Any]) -> bool:
    """A recipe (or a sync's options) may take only some records: GHL contacts tagged "critical" ({"tag"}),
    customers with a company ({"present": "company_name"}), contacts an UpGuard sync made
    ({"field": "source", "equals": "UpGuard"}, case-insensitive)."""
    rules = dict(recipe.record_filter) if recipe else {}
    tag = rules.get("tag") or options.get("tag")
    if tag:
        tags = record.get("tags") or []
        if not isinstance(tags, list) or str(tag).lower() not in {str(t).lower() for t in tags}:
            return False
    if rules.get("present") and is_empty(get_path(record, str(rules["present"]))):
        return False
    if rules.get("field"):
        value = get_path(record, str(rules["field"]))
        if str(value or "").strip().lower() != str(rules.get("equals") or "").strip().lower():
            return False
    return True
