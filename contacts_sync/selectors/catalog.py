"""The /catalog/ page and `manage.py catalog`: every flow of every app, grouped by app and direction, searchable.

The facts come from the connector packages (connectors/catalog.py); this module only filters and groups them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from contacts_sync.connectors import catalog, catalog_docs, registry
from contacts_sync.connectors.catalog import Flow
from contacts_sync.connectors.spec import TO_GHL

# A search box query longer than this is cut: no flow's text needs more, and the page stays cheap.
QUERY_MAX = 200
DIRECTION_TITLES = {TO_GHL: "Into HighLevel", "from_ghl": "From HighLevel"}


@dataclass
class Group:
    app: str
    app_title: str
    direction: str
    direction_title: str
    flows: list[Flow]


def catalog_groups(*, query: str = "") -> list[Group]:
    """The flows matching every word of `query`, grouped by (app, direction) in catalogue order."""
    query = query.strip()[:QUERY_MAX]
    groups: list[Group] = []
    for flow in catalog.flows():
        if query and not flow.matches(query):
            continue
        if not groups or (groups[-1].app, groups[-1].direction) != (flow.app, flow.direction):
            groups.append(Group(flow.app, flow.app_title, flow.direction, DIRECTION_TITLES[flow.direction], []))
        groups[-1].flows.append(flow)
    return groups


def catalog_json() -> dict[str, Any]:
    return catalog.catalog_json()


def app_pages_write() -> list[Path]:
    """Rewrite the generated block of every app's docs page (docs/apps/<app>.md); the prose around it stays."""
    written = []
    for spec in registry.specs():
        path = Path(settings.BASE_DIR) / spec.docs
        text = path.read_text() if path.exists() else f"# {spec.title}\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(catalog_docs.page_with_block(text, catalog_docs.generated_block(spec.key)))
        written.append(path)
    return written
