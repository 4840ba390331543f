"""The one list of apps. Adding an app is one line here, one package under connectors/ and its emulator.

Each package `contacts_sync.connectors.<key>` exposes:
- `SPEC`: an `AppSpec` (connect form, objects, rate limits, webhooks);
- `connector(info: ConnectionInfo)`: its connector (reads pages, samples, fields, test; `write` for targets);
- `RECIPES`: the flows it offers, in both directions;
- `MAPPINGS`: default field mappings by (source app, source object, target app, target object).
The Connect page, the recipe picker, webhook routing, the emulators (`contacts_sync.sandbox.<key>`) and the
catalogue are all derived from this dict.
"""

from __future__ import annotations

import copy
import importlib
from functools import cache
from types import ModuleType
from typing import Any

from contacts_sync.exceptions import ConfigurationError
from contacts_sync.mapping.defaults import dedupe_targets

from .base import ConnectionInfo
from .spec import AppSpec, ConnectOption, Recipe, RecordRef

APPS: dict[str, str] = {
    "ghl": "contacts_sync.connectors.ghl",
    "hubstaff": "contacts_sync.connectors.hubstaff",
    "hotspotsystem": "contacts_sync.connectors.hotspotsystem",
    "starbuero": "contacts_sync.connectors.starbuero",
    "upguard": "contacts_sync.connectors.upguard",
    "custom": "contacts_sync.connectors.custom",
}


def app(key: str) -> ModuleType:
    try:
        return importlib.import_module(APPS[key])
    except KeyError:
        raise ConfigurationError(f"no connector for {key!r}") from None


def spec(key: str) -> AppSpec:
    return app(key).SPEC  # type: ignore[no-any-return]


def specs() -> list[AppSpec]:
    return [spec(key) for key in APPS]


def choices() -> list[tuple[str, str]]:
    """(key, title) of every app: the choices of Connection.provider."""
    return [(s.key, s.title) for s in specs()]


def get_connector(info: ConnectionInfo) -> Any:
    return app(info.provider).connector(info)


@cache
def recipes() -> dict[str, Recipe]:
    out: dict[str, Recipe] = {}
    for key in APPS:
        for recipe in app(key).RECIPES:
            if recipe.key in out:
                raise ConfigurationError(f"recipe {recipe.key!r} is declared twice")
            out[recipe.key] = recipe
    return out


@cache
def _mappings() -> dict[tuple[str, str, str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for key in APPS:
        for pair, rules in app(key).MAPPINGS.items():
            if pair in out:
                raise ConfigurationError(f"the default mapping {pair} is declared twice")
            out[pair] = rules
    return out


def default_rules(
    source_provider: str, source_object: str, target_provider: str, target_object: str
) -> list[dict[str, Any]]:
    """A deep copy of the default rules for this pair; an empty list when no app declares one."""
    rules = _mappings().get((source_provider, source_object, target_provider, target_object), [])
    return copy.deepcopy(dedupe_targets(rules))


def recipe_default_rules(recipe: Recipe) -> list[dict[str, Any]]:
    """A recipe's default mapping: its own rules, else its pair's; a contact recipe that also leaves a note
    gets the note's body rule as its "note" target."""
    if recipe.rules:
        return copy.deepcopy(dedupe_targets(list(recipe.rules)))
    rules = default_rules(recipe.source_provider, recipe.source_object, recipe.target_provider, recipe.target_object)
    if recipe.note_from:
        for rule in default_rules(recipe.source_provider, recipe.note_from, recipe.target_provider, "note"):
            if rule.get("target") == "body":
                rules.append({**rule, "target": "note", "required": False})
    return rules


def default_pairs() -> list[tuple[str, str, str, str]]:
    return list(_mappings())


def connect_options() -> dict[str, ConnectOption]:
    """The Connect page's forms, by kind, in registry order."""
    return {option.key: option for s in specs() for option in s.connect}


def record_url(provider: str, ref: RecordRef) -> str:
    """The record's page in its app's UI, or "" when the app declares no such page (or the provider is gone)."""
    try:
        build = spec(provider).record_url
    except ConfigurationError:
        return ""
    return build(ref) if build is not None and ref.record_id else ""
