"""Deciding what to do with one record, without I/O (the engine's first step): skip (filter, delete policy), fail
(mapping, duplicate identity, no parent), unchanged (content hash), would-create/update (dry run), or push (create,
update, delete, tag)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contacts_sync.connectors.spec import Recipe
from contacts_sync.mapping.paths import get_path
from contacts_sync.models import DeletePolicy, ItemAction, RecordLink, Run, RunTrigger, Sync

from .parts import ParentLookup, Step, source_hash, tag_changes
from .persist import ERROR_MESSAGE_MAX, Outcome
from .push import FatalRunError
from .recipes import record_passes_filter
from .redaction import Redactor


class Deciding:
    """The engine's decide step; the engine provides these attributes."""

    run: Run
    sync: Sync
    recipe: Recipe
    source: Any
    writer: Any
    rules: list[dict[str, Any]]
    apply: Callable[..., Any]
    content_hash: Callable[[Any], str]
    context: Any
    redactor: Redactor
    parents: ParentLookup | None
    options: dict[str, Any]
    object_kind: str
    ignore_hash: bool
    source_title: str
    target_title: str

    def _decide(self, record: dict[str, Any], sid: str, link: RecordLink | None, parent_ids: dict[str, str]) -> Step:
        deleted = self._deleted_in_source(record)
        # A tombstone (a GHL ContactDelete) no longer carries the tags a filter reads: a record this sync linked
        # follows the delete policy whatever the filter says.
        if not (deleted and link is not None and link.target_id) and not record_passes_filter(
            self.recipe, self.options, record
        ):
            return Step(
                sid,
                Outcome(
                    sid,
                    ItemAction.SKIPPED,
                    target_id=link.target_id if link else "",
                    error_message="Does not match the recipe's filter.",
                ),
            )
        if deleted:
            return self._on_source_delete(sid, link)
        result = self.apply(record, self.rules, context=self.context)
        if not result.ok:
            failed = source_hash(record, self.content_hash)
            if link is not None and link.acknowledged_hash == failed:
                return Step(sid, self._acknowledged(sid, link))
            return Step(
                sid,
                Outcome(
                    sid,
                    ItemAction.FAILED,
                    target_id=link.target_id if link else "",
                    error_class="MappingError",
                    error_message=result.reasons(),
                    payload={"source": self.redactor.source(record)},
                    rejected_hash=failed,
                ),
            )
        return self._decide_mapped(sid, link, result, record, parent_ids)

    def _decide_mapped(
        self, sid: str, link: RecordLink | None, result: Any, record: dict[str, Any], parent_ids: dict[str, str]
    ) -> Step:
        payload = result.payload
        # Optional values a transform refused (rule on_invalid="skip"), text cut to the target's limits: the
        # record goes, the item says what was changed or left out.
        warnings = result.warning_text()[:ERROR_MESSAGE_MAX]
        digest = self.content_hash(payload)
        linked = link.target_id if link is not None and link.target_id else None
        if (
            linked
            and link is not None
            and link.content_hash == digest
            and not self.ignore_hash
            and not link.target_gone_at
        ):
            # no payload: it is the one the last change stored, and unchanged items are most of every poll
            return Step(sid, Outcome(sid, ItemAction.UNCHANGED, target_id=linked))
        shown = self.redactor.payload(payload)
        if link is not None and (held := self._held_back(sid, link, digest, shown)) is not None:
            return held
        if link is not None and link.target_gone_at:
            linked = None  # re-created (_held_back let it through): the old target record is gone
        if self.run.dry_run:
            action = ItemAction.WOULD_UPDATE if linked else ItemAction.WOULD_CREATE
            return Step(sid, Outcome(sid, action, target_id=linked or "", payload=shown, error_message=warnings))
        if self.writer is None:
            raise FatalRunError(f"No writer for {self.recipe.target_provider} {self.recipe.target_object}.")
        parent_id = None
        if self.writer.needs_parent:
            psid = get_path(record, self.recipe.parent_path) if self.recipe.parent_path else None
            parent_id = parent_ids.get(str(psid)) if psid not in (None, "") else None
            parent_id = parent_id or (self.parents.default_parent_id if self.parents else None)
            if not parent_id:
                return Step(
                    sid,
                    Outcome(
                        sid,
                        ItemAction.FAILED,
                        error_class="ParentNotLinked",
                        payload=shown,
                        error_message=self._unlinked(psid)[:ERROR_MESSAGE_MAX],
                    ),
                )
        tags, untag = tag_changes(payload, link) if getattr(self.writer, "removes_tags", False) else ([], [])
        return Step(
            sid,
            payload=payload,
            shown=shown,
            digest=digest,
            warnings=warnings,
            target_id=linked,
            parent_id=parent_id,
            identity=self.writer.identity(payload),
            adopt_since=link.pending_since if link is not None else None,
            tags=tags,
            untag=untag if linked else [],
        )

    def _held_back(self, sid: str, link: RecordLink, digest: str, shown: Any) -> Step | None:
        """A linked record that is not sent: the target refused this exact payload before, or deleted it."""
        if (
            link.failed_hash == digest
            and not self.ignore_hash
            and not self.run.dry_run
            and self.run.trigger != RunTrigger.RETRY
        ):
            if link.acknowledged_hash == digest:
                return Step(sid, self._acknowledged(sid, link))
            # The target rejected exactly this payload before (400/422): sending it again cannot succeed.
            cls, _, msg = link.failed_error.partition(": ")
            return Step(
                sid,
                Outcome(
                    sid,
                    ItemAction.FAILED,
                    target_id=link.target_id or "",
                    error_class=cls or "Rejected",
                    error_message=f"Not sent again: unchanged since it was refused. {msg}",
                    payload=shown,
                    rejected_hash=digest,
                ),
            )
        if link.target_id and link.target_gone_at and not self.sync.recreate_deleted:
            return Step(
                sid,
                Outcome(
                    sid,
                    ItemAction.SKIPPED,
                    target_id=link.target_id,
                    error_class="DeletedInTarget",
                    error_message=f"Deleted in {self.target_title} on {link.target_gone_at:%Y-%m-%d %H:%M} UTC; "
                    "not re-created (the sync's setting 'Re-create records deleted in the target' is off).",
                    payload=shown,
                ),
            )
        return None

    def _unlinked(self, psid: Any) -> str:
        """Why a task or note has no contact: its contact's record failed in the contact sync, or it never ran."""
        where = f"No GHL contact is linked to {self.recipe.parent_path}={psid!r}"
        reason = self.parents.failed.get(str(psid)) if self.parents else None
        if reason:
            return (
                f"{where}: the contact sync could not write that record ({reason}). Fix that record or the "
                "contact sync's mapping, then retry the failed records here."
            )
        return (
            f"{where}: no contact sync of these connections has written that record; run it first (it must "
            "read that record too: mind its filters, e.g. archived clients) or set a default contact."
        )

    def _deleted_in_source(self, record: dict[str, Any]) -> bool:
        if record.get("_deleted") is True:
            return True
        check = getattr(self.source, "is_deleted", None)
        return bool(check(self.object_kind, record)) if check is not None else False

    def _on_source_delete(self, sid: str, link: RecordLink | None) -> Step:
        """Deletes never create or update a record unless the sync's delete policy says what to do."""
        linked = link.target_id if link is not None and link.target_id and not link.target_gone_at else ""
        policy = self.sync.delete_policy
        where = f"Deleted in {self.source_title}"
        if not linked:
            return Step(
                sid,
                Outcome(
                    sid,
                    ItemAction.SKIPPED,
                    error_class="DeletedInSource",
                    error_message=f"{where}; it has no record in the target: nothing to do.",
                ),
            )
        tag_impossible = policy == DeletePolicy.TAG and not hasattr(self.writer, "tag")
        if policy == DeletePolicy.IGNORE or self.run.dry_run or self.writer is None or tag_impossible:
            note = (
                "a dry run changes nothing"
                if self.run.dry_run
                else f"{self.target_title} {self.recipe.target_object} records cannot be tagged"
                if tag_impossible
                else "the sync's delete policy is 'ignore'"
            )
            return Step(
                sid,
                Outcome(
                    sid,
                    ItemAction.SKIPPED,
                    target_id=linked,
                    error_class="DeletedInSource",
                    error_message=f"{where}; the target record is kept ({note}).",
                ),
            )
        return Step(sid, action="delete" if policy == DeletePolicy.MIRROR else "tag", target_id=linked)

    def _acknowledged(self, sid: str, link: RecordLink) -> Outcome:
        return Outcome(
            sid,
            ItemAction.SKIPPED,
            target_id=link.target_id,
            error_class="Acknowledged",
            error_message="A person acknowledged this failure; it is not reported again until the "
            f"record changes. {link.failed_error}"[:ERROR_MESSAGE_MAX],
        )

    def _refuse_shared_identities(self, steps: list[Step]) -> None:
        """Two source records with the same email/phone would become one target record: the second is refused
        (a failed item naming the first), never merged."""
        pushes = [s for s in steps if s.outcome is None and s.identity]
        if not pushes:
            return
        owners = dict(
            RecordLink.objects.filter(sync_id=self.run.sync_id, identity__in={s.identity for s in pushes})
            .exclude(target_id="")
            .values_list("identity", "source_id")
        )
        for step in pushes:
            owner = owners.setdefault(step.identity, step.sid)
            if owner != step.sid:
                kind, _, value = step.identity.partition(":")
                step.outcome = Outcome(
                    step.sid,
                    ItemAction.FAILED,
                    error_class="DuplicateSourceRecord",
                    payload=step.shown,
                    error_message=f"Another {self.source_title} record ({owner}) has the same {kind} {value!r} and "
                    f"already syncs to one {self.target_title} record; two source records are never merged into "
                    "one. Fix the duplicate in the source.",
                    rejected_hash=step.digest,
                )
