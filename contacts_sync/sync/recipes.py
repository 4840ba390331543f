"""Ready-made syncs for the flows the product documents name (DESIGN.md section 6).

A recipe fixes the source and target (provider + object), the triggers it supports, the options passed to the
source connector and the writer the engine uses to push a mapped payload. The field mapping itself comes from
`mapping.defaults.default_rules(...)` when a sync is created from the recipe and is edited per sync afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Writer:
    """How the engine pushes one mapped payload to the target (see sync/writers.py)."""

    CONTACT = "contact"  # upsert, or PUT when linked; payload keys "note" / "tags" become a note / tags
    TASK = "task"  # a task on the parent contact: create, update, complete
    NOTE_TAGS = "note_tags"  # a note on the parent contact, plus tags
    APP_WRITE = "app_write"  # the target app's WritableConnector.write (e.g. a Hubstaff task)


@dataclass(frozen=True)
class Recipe:
    key: str
    title: str
    source_provider: str
    source_object: str
    target_provider: str
    target_object: str
    triggers: tuple[str, ...]
    description: str
    writer: str = Writer.CONTACT
    source_options: dict[str, Any] = field(default_factory=dict)
    # The source id of the GHL contact a task/note belongs to, looked up in the links of the contact syncs that
    # read from the same source connection. A dotted path into the source record.
    parent_path: str | None = None
    # True when the source hands only changed records (a search by dateUpdated); a full listing is expected to
    # return about as many records as last time, so reading 0 is suspicious.
    incremental_source: bool = False
    # Only records for which this returns True are synced (e.g. the "critical" tag); others are skipped items.
    record_filter: dict[str, Any] = field(default_factory=dict)
    # A contact recipe that also leaves a note: the source object whose default note mapping fills the
    # contact payload's "note" pseudo-target (the writer creates/updates the note after the upsert).
    note_from: str | None = None


MANUAL = "manual"
POLL = "poll"
WEBHOOK = "webhook"

RECIPES: dict[str, Recipe] = {
    r.key: r
    for r in [
        Recipe(
            key="hubstaff_client_to_ghl_contact",
            title="Hubstaff client -> GHL contact",
            source_provider="hubstaff",
            source_object="contact",
            target_provider="ghl",
            target_object="contact",
            triggers=(MANUAL, POLL, WEBHOOK),
            description="Each Hubstaff client becomes a GHL contact (upsert), and is updated when it changes.",
            source_options={"source": "clients"},
        ),
        Recipe(
            key="hubstaff_member_to_ghl_contact",
            title="Hubstaff member -> GHL contact",
            source_provider="hubstaff",
            source_object="contact",
            target_provider="ghl",
            target_object="contact",
            triggers=(MANUAL, POLL),
            description="Each member of the Hubstaff organization becomes a GHL contact.",
            source_options={"source": "members"},
        ),
        Recipe(
            key="hubstaff_task_to_ghl_task",
            title="Hubstaff task -> GHL task",
            source_provider="hubstaff",
            source_object="task",
            target_provider="ghl",
            target_object="task",
            triggers=(MANUAL, POLL, WEBHOOK),
            description="Hubstaff to-dos become tasks on the client's GHL contact: created, updated, completed.",
            writer=Writer.TASK,
            parent_path="client_id",
        ),
        Recipe(
            key="hubstaff_note_to_ghl_note",
            title="Hubstaff notes and metadata -> GHL notes and tags",
            source_provider="hubstaff",
            source_object="note",
            target_provider="ghl",
            target_object="note",
            triggers=(MANUAL, POLL),
            description="Hubstaff time-slot notes become notes on the client's contact; metadata become tags.",
            writer=Writer.NOTE_TAGS,
            parent_path="client_id",
        ),
        Recipe(
            key="ghl_critical_contact_to_hubstaff_task",
            title="Critical GHL contact -> Hubstaff task",
            source_provider="ghl",
            source_object="contact",
            target_provider="hubstaff",
            target_object="task",
            triggers=(WEBHOOK, POLL, MANUAL),
            description="A GHL contact tagged 'critical' opens a Hubstaff to-do in the configured project.",
            writer=Writer.APP_WRITE,
            source_options={"tag": "critical"},
            record_filter={"tag": "critical"},
        ),
        Recipe(
            key="hotspotsystem_customer_to_ghl_contact",
            title="HotspotSystem customer -> GHL contact",
            source_provider="hotspotsystem",
            source_object="contact",
            target_provider="ghl",
            target_object="contact",
            triggers=(MANUAL, POLL),
            description="New HotspotSystem customers become GHL contacts.",
        ),
        Recipe(
            key="upguard_vendor_to_ghl_contact",
            title="UpGuard vendor contact -> GHL contact + tags",
            source_provider="upguard",
            source_object="contact",
            target_provider="ghl",
            target_object="contact",
            triggers=(MANUAL, POLL),
            description="UpGuard vendor contacts become GHL contacts; vendor labels become tags.",
        ),
        Recipe(
            key="starbuero_call_to_ghl_contact",
            title="starbuero.de call -> GHL contact + note",
            source_provider="starbuero",
            source_object="contact",
            target_provider="ghl",
            target_object="contact",
            triggers=(WEBHOOK, MANUAL, POLL),
            description="Each call record becomes a lead contact with a note carrying the message.",
            note_from="note",
        ),
        Recipe(
            key="custom_contact_to_ghl_contact",
            title="Your app -> GHL contact",
            source_provider="custom",
            source_object="contact",
            target_provider="ghl",
            target_object="contact",
            triggers=(WEBHOOK, MANUAL, POLL),
            description="Contacts from your own app (REST poll or signed webhook) become GHL contacts.",
        ),
    ]
}


def recipe_for(key: str) -> Recipe | None:
    return RECIPES.get(key)


def record_passes_filter(recipe: Recipe | None, options: dict[str, Any], record: dict[str, Any]) -> bool:
    """A recipe (or a sync's options) may take only records with a tag, e.g. GHL contacts tagged "critical"."""
    tag = (recipe.record_filter.get("tag") if recipe else None) or options.get("tag")
    if not tag:
        return True
    tags = record.get("tags") or []
    return str(tag).lower() in {str(t).lower() for t in tags}
