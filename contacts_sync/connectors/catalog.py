"""The operations catalogue: every flow (recipe) of every app, generated from the connector packages.

For each flow: its app and direction, what starts it and what it does, the objects it moves, the GHL
operations it sends (derived from the GHL reader or writer it uses, connectors/ghl/operations.py), the fewest
OAuth scopes those need (from the spec), webhook or polling, and the pytest node id of its end-to-end test.
Read by `manage.py catalog --json`, the /catalog/ page and the docs/apps pages' test. Plain data, no ORM.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from . import registry
from .ghl import operations
from .ghl.reader import READERS, WRITERS, GHLConnector
from .ghl.webhooks import EVENT_OBJECTS
from .spec import FROM_GHL, MANUAL, POLL, WEBHOOK, Recipe, Writer

# The metadata a recipe must state itself (the rest is derived); the catalogue test fails naming what is missing.
REQUIRED_METADATA = ("trigger", "action", "test")
MECHANISMS = {WEBHOOK: "webhook", POLL: "polling", MANUAL: "manual"}


@dataclass(frozen=True)
class Flow:
    app: str
    app_title: str
    flow: str
    title: str
    direction: str
    trigger: str
    action: str
    objects: list[str]
    ghl_operations: list[str]
    scopes: list[str]
    triggers: list[str]  # webhook | polling | manual
    events: list[str]  # the webhook event types that start it
    description: str
    test: str
    missing: list[str] = field(default_factory=list)  # metadata the recipe does not state

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def matches(self, query: str) -> bool:
        """Every word of the query appears somewhere in the flow (case-insensitive)."""
        text = " ".join(
            [
                self.app,
                self.app_title,
                self.flow,
                self.title,
                self.direction,
                self.trigger,
                self.action,
                self.description,
                *self.objects,
                *self.ghl_operations,
                *self.scopes,
                *self.triggers,
                *self.events,
            ]
        ).lower()
        return all(word in text for word in query.lower().split())


def _reads(kind: str) -> tuple[str, ...]:
    return operations.calls_of(GHLConnector, READERS[kind]) if kind in READERS else ()


def _writes(recipe: Recipe) -> tuple[str, ...]:
    cls = WRITERS.get(recipe.writer)
    if cls is None:
        return ()
    ops = operations.calls_of(cls)
    if recipe.writer == Writer.CONTACT and not recipe.note_from:
        ops = tuple(op for op in ops if "/notes" not in op)  # the contact writer touches notes only for note_from
    return ops


def ghl_operations(recipe: Recipe) -> list[str]:
    ops = _reads(recipe.source_object) if recipe.direction == FROM_GHL else _writes(recipe)
    return list(dict.fromkeys((*ops, *recipe.ghl_operations)))


def _events(recipe: Recipe) -> list[str]:
    if WEBHOOK not in recipe.triggers:
        return []
    if recipe.direction == FROM_GHL:
        kinds = recipe.source_objects or (recipe.source_object,)
        return [t for t, kind in EVENT_OBJECTS.items() if kind in kinds]
    hooks = registry.spec(recipe.source_provider).webhook
    if hooks is None:
        return []
    return [
        t + "*" if t.endswith(".") else t for t, kind in hooks.event_objects.items() if kind == recipe.source_object
    ]


def _objects(recipe: Recipe) -> list[str]:
    objects = [*(recipe.source_objects or (recipe.source_object,)), recipe.target_object]
    if recipe.note_from:
        objects.append("note")
    if recipe.writer == Writer.NOTE_TAGS:
        objects.append("tag")
    return list(dict.fromkeys(objects))


def _default_trigger(recipe: Recipe) -> str:
    title = registry.spec(recipe.source_provider).title
    return f"A {title} {recipe.source_object} is created or changed"


def _default_action(recipe: Recipe) -> str:
    title = registry.spec(recipe.target_provider).title
    return f"Creates or updates the {title} {recipe.target_object}"


def flow_of(recipe: Recipe) -> Flow:
    ops = ghl_operations(recipe)
    return Flow(
        app=recipe.app,
        app_title=registry.spec(recipe.app).title,
        flow=recipe.key,
        title=recipe.title,
        direction=recipe.direction,
        trigger=recipe.trigger or _default_trigger(recipe),
        action=recipe.action or _default_action(recipe),
        objects=_objects(recipe),
        ghl_operations=ops,
        scopes=sorted({*operations.scopes_for(ops), *recipe.ghl_scopes}),
        triggers=[MECHANISMS.get(t, t) for t in recipe.triggers],
        events=_events(recipe),
        description=recipe.description,
        test=recipe.test,
        missing=[name for name in REQUIRED_METADATA if not getattr(recipe, name)],
    )


def flows() -> list[Flow]:
    """Every flow, grouped by app (registry order), to GHL before from GHL, then by title."""
    order = {key: i for i, key in enumerate(registry.APPS)}
    out = [flow_of(recipe) for recipe in registry.recipes().values()]
    return sorted(out, key=lambda f: (order.get(f.app, len(order)), f.direction != "to_ghl", f.title))


def catalog_json() -> dict[str, Any]:
    return {"flows": [f.as_json() for f in flows()]}
