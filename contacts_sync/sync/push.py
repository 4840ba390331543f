"""Pushing one decided record to the target (the engine's second step): the write, and what each failure means
for the record (a failed item, a deleted target, nothing to write) or for the run (refused credentials, a target
that is down)."""

from __future__ import annotations

from collections import deque
from typing import Any

from contacts_sync.apiclient.errors import (
    ApiError,
    AuthError,
    ForbiddenError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from contacts_sync.connectors.base import NothingToWrite, TargetGone
from contacts_sync.connectors.spec import Recipe
from contacts_sync.exceptions import ConfigurationError, TransientError
from contacts_sync.models import ItemAction, RecordLink, Run, Sync

from . import persist
from .parts import CallRecorder, Step, error_text
from .persist import Outcome

# The target is down when TARGET_DOWN_FAILURES of the last TARGET_DOWN_WINDOW writes failed even after the
# client's retries (5xx, timeouts, 429s): the run stops as failed (and alerts) instead of burning the rate budget
# on every remaining record. "25 in a row" never tripped against a GHL answering 90 % of requests with 500, since
# 41 % of writes still got through in five attempts: the run went on for hours (tests/reliability/test_fault_ghl.py).
TARGET_DOWN_WINDOW = 20
TARGET_DOWN_FAILURES = 10
ERROR_MESSAGE_MAX = persist.ERROR_MESSAGE_MAX
TRANSIENT = (TransientError, ServerError, TransportError, RateLimitedError)


class FatalRunError(Exception):
    """The run cannot go on (credentials rejected, source unreadable, target down)."""


class Pushing:
    """The engine's push step; the engine provides these attributes."""

    run: Run
    sync: Sync
    recipe: Recipe
    writer: Any
    recorder: CallRecorder
    recent_writes: deque[bool]  # the last TARGET_DOWN_WINDOW writes; True: failed after the client's retries
    _done: list[Outcome]
    source_title: str
    target_title: str
    _page_targets: set[str]

    def _taken(self, target_id: str) -> bool:
        """Linked to a record already: in the database, or written earlier in this page (not committed yet)."""
        if target_id in self._page_targets:
            return True
        return RecordLink.objects.filter(sync_id=self.run.sync_id, target_id=target_id).exists()

    def _push(self, step: Step) -> Outcome:
        before = len(self.recorder.records)
        try:
            outcome = self._write(step)
        except TargetGone as exc:
            return self._gone(step, str(exc))
        except NothingToWrite as exc:  # the writer checked the target: no write is due (it says why)
            if exc.target_id:
                return Outcome(
                    step.sid,
                    ItemAction.UNCHANGED,
                    target_id=exc.target_id,
                    payload=step.shown,
                    link_hash=step.digest,
                    error_message=exc.reason[:ERROR_MESSAGE_MAX],
                )
            return Outcome(
                step.sid,
                ItemAction.SKIPPED,
                target_id=step.target_id or "",
                payload=step.shown,
                error_class="NothingToWrite",
                error_message=exc.reason[:ERROR_MESSAGE_MAX],
            )
        except (AuthError, ForbiddenError) as exc:
            raise FatalRunError(f"{self.recipe.target_provider} rejected the credentials: {exc}") from exc
        except (ValueError, TypeError, KeyError, ConfigurationError) as exc:  # this record cannot be written
            return Outcome(
                step.sid,
                ItemAction.FAILED,
                target_id=step.target_id or "",
                error_class=type(exc).__name__,
                error_message=str(exc)[:ERROR_MESSAGE_MAX],
                payload=step.shown,
            )
        except ApiError as exc:
            return self._api_failure(step, exc, before)
        self.recent_writes.append(False)
        outcome.attempts = max([c.attempts for c in self.recorder.records[before:]] or [1])
        if outcome.target_id:
            self._page_targets.add(outcome.target_id)
        return outcome

    def _write(self, step: Step) -> Outcome:
        if step.action == "delete":
            self.writer.delete(step.target_id)
            return Outcome(
                step.sid,
                ItemAction.DELETED,
                target_id=step.target_id or "",
                target_gone=True,
                error_message=f"Deleted in {self.source_title}: deleted in {self.target_title} too "
                "(the sync's delete policy is 'mirror').",
            )
        if step.action == "tag":
            tag = self.sync.delete_tag or f"deleted-in-{self.recipe.source_provider}"
            self.writer.tag(step.target_id, [tag])
            return Outcome(
                step.sid,
                ItemAction.UPDATED,
                target_id=step.target_id or "",
                error_message=f"Deleted in {self.source_title}: tagged {tag!r} (the sync's delete policy is 'tag').",
            )
        # "remove_tags": a pseudo-target (like "note") the contact writer sends as DELETE /contacts/{id}/tags
        payload = {**step.payload, "remove_tags": step.untag} if step.untag else step.payload
        target_id, created = self.writer.push(
            payload, target_id=step.target_id, parent_id=step.parent_id, adopt_since=step.adopt_since, taken=self._taken
        )
        message = step.warnings
        if step.adopt_since and not created and not step.target_id:
            message = (
                "Found in the target: an earlier attempt had written it before it could be recorded. " + message
            ).strip()
        return Outcome(
            step.sid,
            ItemAction.CREATED if created else ItemAction.UPDATED,
            target_id=target_id,
            payload=step.shown,
            link_hash=step.digest,
            error_message=message,
            identity=step.identity,
            tags=step.tags,
        )

    def _gone(self, step: Step, reason: str) -> Outcome:
        """The linked record was deleted in the target: say so; re-create it only when the sync says so."""
        if step.action == "push" and self.sync.recreate_deleted:
            persist.intents_write(
                sync_id=self.run.sync_id,
                run_id=self.run.pk,
                source_ids=[step.sid],
                identities={step.sid: step.identity},
            )
            step.target_id = None
            outcome = self._write(step)
            outcome.error_message = f"{reason}; re-created (the sync re-creates records deleted in the target)."
            return outcome
        return Outcome(
            step.sid,
            ItemAction.SKIPPED,
            target_id=step.target_id or "",
            error_class="DeletedInTarget",
            error_message=f"{reason}; not re-created (the sync's setting 'Re-create records deleted in "
            "the target' is off).",
            payload=step.shown,
            target_gone=True,
        )

    def _api_failure(self, step: Step, exc: ApiError, before: int) -> Outcome:
        attempts = max([c.attempts for c in self.recorder.records[before:]] or [1])
        permanent = not exc.retryable and not isinstance(exc, TransientError)
        outcome = Outcome(
            step.sid,
            ItemAction.FAILED,
            target_id=step.target_id or "",
            error_class=type(exc).__name__,
            error_message=error_text(exc),
            attempts=attempts,
            payload=step.shown,
            rejected_hash=step.digest if permanent else None,
        )
        self.recent_writes.append(isinstance(exc, TRANSIENT))
        if self.recent_writes[-1] and sum(self.recent_writes) >= TARGET_DOWN_FAILURES:
            # the write that tips it is a failed item like the others (its intent kept: a timed-out create may
            # have reached the target), not a record the run forgets
            step.outcome = outcome
            self._done.append(outcome)
            raise FatalRunError(
                f"{sum(self.recent_writes)} of the last {len(self.recent_writes)} writes failed after retries: "
                f"{self.recipe.target_provider} looks down; last: {exc}"
            ) from exc
        return outcome
