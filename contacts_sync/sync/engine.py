"""The engine: pull -> map -> diff -> push, one page at a time (DESIGN.md section 5, "The life of one record").

The engine gets everything built for it (sync/plan.py) and knows nothing of Celery or browser requests. A page
goes through three steps:
1. decide (sync/decide.py), per record and without I/O: skip (filter, delete policy), fail (mapping, duplicate identity, no
   parent), unchanged (content hash), would-create/update (dry run), or push (create, update, delete, tag);
2. commit the write-ahead intents of the creates (one statement), then push, record by record; an unexpected
   error costs only its record;
3. store the page (sync/persist.py): items, links, API calls, counts, cursor, in one transaction.

Ownership: the run row carries the claim token of the worker executing it (`Run.worker`). Every write of the
engine is conditional on that token; when the reaper or another worker took the run over, the page transaction
is rolled back and the engine stops without finishing the run.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from contacts_sync.apiclient.errors import (
    ApiError,
)
from contacts_sync.connectors.base import Page
from contacts_sync.connectors.spec import Recipe
from contacts_sync.exceptions import ConfigurationError
from contacts_sync.mapping.paths import get_path
from contacts_sync.models import (
    ItemAction,
    RecordLink,
    Run,
    RunStatus,
    RunTrigger,
    Sync,
    SyncMode,
)

from . import ending, persist, sources
from .decide import Deciding
from .finish import Finish, Tally, run_finish
from .parts import CallRecorder, ParentLookup, Step
from .persist import LostOwnership, Outcome
from .push import TARGET_DOWN_WINDOW, FatalRunError, Pushing
from .redaction import Redactor

__all__ = ["CallRecorder", "Engine", "FatalRunError", "LostOwnership", "Outcome", "ParentLookup"]

log = logging.getLogger(__name__)

# Between two heartbeats the run may not look dead to the reaper (REAP_AFTER_SECONDS is much larger).
HEARTBEAT_SECONDS = 5.0
# How often the cancel flag is re-read inside a page (it is also read before each page): a query per run each
# time, so a fleet of runs at full rate does not pay one every few requests.
CANCEL_CHECK_SECONDS = 2.0
ERROR_MESSAGE_MAX = persist.ERROR_MESSAGE_MAX
LINK_FIELDS = (
    "source_id",
    "target_id",
    "content_hash",
    "failed_hash",
    "failed_error",
    "acknowledged_hash",
    "pending_since",
    "identity",
    "target_gone_at",
    "tags_written",
)


class Engine(Deciding, Pushing):
    def __init__(
        self,
        *,
        run: Run,
        worker_token: str,
        recipe: Recipe,
        source: Any,
        writer: Any,
        rules: list[dict[str, Any]],
        apply: Callable[..., Any],
        content_hash: Callable[[Any], str],
        context: Any = None,
        recorder: CallRecorder | None = None,
        redactor: Redactor | None = None,
        parents: ParentLookup | None = None,
        source_options: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        change_path: str | None = None,
        on_finish: Callable[[Run], Any] | None = None,
        slice_seconds: float | None = None,
        stop_requested: Callable[[], bool] | None = None,
    ) -> None:
        self.on_finish = on_finish  # the sync's health step, run in the transaction that ends the run
        self.run = run
        self.sync = run.sync
        self.token = worker_token
        self.recipe = recipe
        self.source = source
        self.writer = writer
        self.rules = rules
        self.apply = apply
        self.content_hash = content_hash
        self.context = context
        self.recorder = recorder or CallRecorder()
        self.redactor = redactor or Redactor()
        self.parents = parents
        self.options = {**recipe.source_options, **(source_options or {})}
        self.clock = clock
        self.object_kind = run.sync.source_object
        self.only_ids: set[str] | None = set(run.checkpoint.get("only_ids") or []) or None
        # a continuation resumes with the ids an earlier slice had not reached yet
        left = run.checkpoint.get("only_ids_left")
        self.remaining = (set(left) if left is not None else set(self.only_ids)) if self.only_ids else None
        # A preview of a sample (services.runs.run_preview): stop after the page that reaches this many records.
        self.sample = int(run.checkpoint.get("sample") or 0) if run.dry_run else 0
        self.read_so_far = 0
        self.slice_seconds = slice_seconds
        self.stop_requested = stop_requested  # the worker is shutting down: yield at the next page boundary
        self._slice_started = clock()
        self.ignore_hash = run.mode == SyncMode.FULL
        self.recent_writes: deque[bool] = deque(maxlen=TARGET_DOWN_WINDOW)  # True: failed after retries
        self._last_beat = clock()
        self._last_cancel_check = clock()
        self._db = persist.OutageTolerance(clock)
        self.cancelled = False
        self._done: list[Outcome] = []
        self._unsent: list[str] = []
        self._page_targets: set[str] = set()
        self.source_title = recipe.source_provider
        self.target_title = recipe.target_provider
        self.event_only = False
        self.watermark = sources.Watermark(change_path)

    # ----- the run --------------------------------------------------------------------------------------
    def execute(self) -> str:  # noqa: C901 - the page loop with its stop conditions (cancel, slice, fatal)
        """Run to the end (or cancel / fatal error) and write the final status; or, when the time slice is over
        with pages still to read, hand the run back (queued, checkpoint saved) for a continuation to go on.

        Returns "finished", "yielded" (the caller sends the continuation) or "lost" (taken over by another
        worker). Raises nothing but bugs.
        """
        fatal: str | None = None
        try:
            for page in self._pages():
                if self._cancel_requested(force=True):
                    break
                self._done = []
                try:
                    self._process_page(page)
                except FatalRunError:
                    # keep what this page already did (its writes happened); the cursor stays before the page
                    self._commit(self._done, self.run.checkpoint.get("cursor"))
                    raise
                self._commit(self._done, page.cursor)
                self._saw(page)
                self.read_so_far += len(page.records)
                if self.cancelled or (self.remaining is not None and not self.remaining) or page.cursor is None:
                    break
                if self.sample and self.read_so_far >= self.sample:
                    break
                if self._slice_over():
                    return self._yield()
        except LostOwnership:
            log.warning("run %s was taken over by another worker; stopping", self.run.pk)
            return "lost"
        except FatalRunError as exc:
            fatal = str(exc)
        except ApiError as exc:  # reading the source failed after the client's retries
            fatal = f"Reading {self.recipe.source_provider} failed: {type(exc).__name__}: {exc}"
        except ConfigurationError as exc:
            fatal = f"Configuration problem: {exc}"
        except Exception as exc:  # a bug must end the run as failed with its reason, not leave it running
            log.exception("run %s crashed", self.run.pk)
            fatal = f"Internal error: {type(exc).__name__}: {exc}"
        try:
            self._finish(fatal)
        except LostOwnership:
            log.warning("run %s was taken over before it could finish", self.run.pk)
            return "lost"
        return "finished"

    # ----- time slices ------------------------------------------------------------------------------------
    def _slice_over(self) -> bool:
        if self.stop_requested is not None and self.stop_requested():
            return True
        return self.slice_seconds is not None and self.clock() - self._slice_started >= self.slice_seconds

    def _yield(self) -> str:
        """Between two pages, after the page's commit: the run goes back to queued with its checkpoint (the cursor
        of the next page) and one more continuation counted. Not a reap: nothing was lost and nothing is retried.
        """
        checkpoint = {
            **self.run.checkpoint,
            "continuations": int(self.run.checkpoint.get("continuations", 0)) + 1,
            "queued_at": time.time(),
        }
        if self.remaining is not None:
            checkpoint["only_ids_left"] = sorted(self.remaining)
        if not Run.objects.filter(pk=self.run.pk, worker=self.token, status=RunStatus.RUNNING).update(
            status=RunStatus.QUEUED, worker="", checkpoint=persist.pg_safe(checkpoint), heartbeat_at=timezone.now()
        ):
            log.warning("run %s was taken over before it could yield", self.run.pk)
            return "lost"
        self.run.checkpoint = checkpoint
        log.info(
            "run %s yields after %.0fs of its time slice; continuation %s goes on from its checkpoint",
            self.run.pk,
            self.clock() - self._slice_started,
            checkpoint["continuations"],
        )
        return "yielded"

    def _pages(self) -> Iterator[Page]:
        page = sources.event_page(
            self.run.event if self.run.event_id else None,
            source_provider=self.recipe.source_provider,
            object_kind=self.object_kind,
        )
        if page is not None:
            self.event_only = True
            yield page
            return
        if self.run.trigger == RunTrigger.WEBHOOK and self.run.event_id is None:
            # a coalesced webhook run: a GHL source syncs the records its events carry; another app's source is
            # read once (incrementally) for every event that waited
            if self.recipe.source_provider == "ghl":
                self.event_only = True
                yield from sources.pending_event_pages(self.run, object_kind=self.object_kind)
                return
            if not self.run.checkpoint.get("continuations"):  # a continuation reads on from its cursor: events
                sources.events_done(sources.claim_events(self.run, limit=None))  # since then wait for the next run
        cursor = self.run.checkpoint.get("cursor")
        yield from self.source.read(self.object_kind, cursor=cursor, options=self.options)

    def _saw(self, page: Page) -> None:
        """Feed the change cursor: a record whose write failed for a passing reason is read again next time."""
        retry = {o.source_id for o in self._done if o.action == ItemAction.FAILED and o.rejected_hash is None}
        for record in page.records:
            self.watermark.saw(record, retry_later=self._record_id(record) in retry)

    def _commit(self, outcomes: list[Outcome], cursor: dict[str, Any] | None) -> None:
        checkpoint = {k: v for k, v in self.run.checkpoint.items() if k != "cursor"}
        if cursor is not None:
            checkpoint["cursor"] = cursor
        persist.page_commit(
            run=self.run,
            token=self.token,
            outcomes=outcomes,
            calls=self.recorder.drain(),
            checkpoint=checkpoint,
            unsent=self._unsent,
        )
        self._unsent = []
        self.run.checkpoint = checkpoint
        self._last_beat = self.clock()

    # ----- one page ---------------------------------------------------------------------------------------
    def _record_id(self, record: dict[str, Any]) -> str:
        try:
            return str(persist.pg_safe(str(self.source.record_id(self.object_kind, record))))[:200]
        except (ApiError, KeyError, TypeError, ValueError):
            return ""

    def _process_page(self, page: Page) -> None:
        self._page_targets = set()
        ids = [self._record_id(r) for r in page.records]
        links = {
            link.source_id: link
            for link in RecordLink.objects.filter(sync_id=self.run.sync_id, source_id__in=ids).only(*LINK_FIELDS)
        }
        parent_ids = self._parents_of(page.records)
        steps: list[Step] = []
        for record, sid in zip(page.records, ids, strict=True):
            if not sid:
                if self.only_ids is None:
                    self._done.append(
                        Outcome(
                            f"(no id: {str(record)[:80]})",
                            ItemAction.FAILED,
                            error_class="MissingId",
                            payload={"source": self.redactor.source(record)},
                            error_message="The source record has no id; it cannot be linked.",
                        )
                    )
                continue
            if self.only_ids is not None:
                remaining = self.remaining if self.remaining is not None else set()
                if sid not in self.only_ids or sid not in remaining:
                    continue
                remaining.discard(sid)
            steps.append(self._safely(sid, partial(self._decide, record, sid, links.get(sid), parent_ids)))
        self._refuse_shared_identities(steps)
        creates = [s for s in steps if s.outcome is None and s.action == "push" and not s.target_id]
        persist.intents_write(
            sync_id=self.run.sync_id,
            run_id=self.run.pk,
            source_ids=[s.sid for s in creates],
            identities={s.sid: s.identity for s in creates},
        )
        try:
            for step in steps:
                if step.outcome is None:
                    if self._cancel_requested():
                        break
                    self._beat()
                    step.outcome = self._safely(step.sid, partial(self._push, step)).outcome
                if step.outcome is not None:  # always set: by the decision, the push, or the push's failure
                    self._done.append(step.outcome)
        finally:
            # creates never sent (cancelled, or the run stopped at a refused credential) reached nothing
            self._unsent = [s.sid for s in creates if s.outcome is None]

    def _safely(self, sid: str, work: Callable[[], Step | Outcome]) -> Step:
        """One record's bug or unexpected error is that record's failed item; the page goes on."""
        try:
            result = work()
        except (FatalRunError, LostOwnership):
            raise
        except Exception as exc:  # logged; isolation: everything else becomes this record's item
            log.exception("run %s: record %s failed unexpectedly", self.run.pk, sid)
            return Step(
                sid,
                Outcome(
                    sid,
                    ItemAction.FAILED,
                    error_class=type(exc).__name__,
                    error_message=f"Internal error: {exc}"[:ERROR_MESSAGE_MAX],
                ),
            )
        return result if isinstance(result, Step) else Step(sid, result)

    def _parents_of(self, records: list[dict[str, Any]]) -> dict[str, str]:
        if self.writer is None or not self.writer.needs_parent or not self.recipe.parent_path or not self.parents:
            return {}
        wanted = {str(p) for r in records if (p := get_path(r, self.recipe.parent_path)) not in (None, "")}
        return self.parents.resolve(wanted)

    # ----- liveness -----------------------------------------------------------------------------------------
    def _beat(self) -> None:
        if self.clock() - self._last_beat < HEARTBEAT_SECONDS:
            return
        self._last_beat = self.clock()
        if not self._db(
            lambda: bool(
                Run.objects.filter(pk=self.run.pk, worker=self.token, status=RunStatus.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
            ),
            assume=True,
        ):
            raise LostOwnership()

    def _cancel_requested(self, *, force: bool = False) -> bool:
        if self.cancelled:
            return True
        if not force and self.clock() - self._last_cancel_check < CANCEL_CHECK_SECONDS:
            return False
        self._last_cancel_check = self.clock()
        self.cancelled = self._db(
            lambda: Run.objects.filter(pk=self.run.pk, cancel_requested=True).exists(), assume=False
        )
        return self.cancelled

    # ----- the end ----------------------------------------------------------------------------------------
    def _finish(self, fatal: str | None) -> None:
        self._commit([], self.run.checkpoint.get("cursor"))  # flush API calls made after the last page
        run = Run.objects.get(pk=self.run.pk)
        if not fatal and not self.cancelled and not run.dry_run:
            # verified delivery: read back a sample of what this run wrote (same rate budget)
            ending.run_verify(run=run, writer=self.writer, token=self.token, recorder=self.recorder)
            run.refresh_from_db()
        end, summary = self._ending(run, fatal)
        with transaction.atomic():  # the run's end and the sync's health become visible together
            if not Run.objects.filter(pk=run.pk, worker=self.token, status=RunStatus.RUNNING).update(
                status=end.status,
                finished_at=timezone.now(),
                error_summary=summary[:ERROR_MESSAGE_MAX],
                suspicious=end.suspicious,
                heartbeat_at=timezone.now(),
            ):
                raise LostOwnership()
            if (
                end.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)
                and not run.dry_run
                and not self.event_only
                and self.only_ids is None
                and (cursor := self.watermark.cursor()) is not None
            ):
                Sync.objects.filter(pk=run.sync_id).update(source_cursor=cursor)
            ending.announce(run.pk, self.on_finish)
        log.info(
            "run %s finished: %s read=%s created=%s updated=%s unchanged=%s failed=%s verified=%s/%s",
            run.pk,
            end.status,
            run.read_count,
            run.created_count,
            run.updated_count,
            run.unchanged_count,
            run.failed_count,
            run.verified_count,
            run.verify_sampled,
        )

    def _ending(self, run: Run, fatal: str | None) -> tuple[Finish, str]:
        """The run's final status (finish.run_finish, a pure function of its counts) and its summary."""
        done = (
            run.created_count
            + run.updated_count
            + run.unchanged_count
            + run.skipped_count
            + run.deleted_count
            + run.would_create_count
            + run.would_update_count
        )
        tally = Tally(
            read=run.read_count,
            done=done,
            failed=run.failed_count,
            verify_failed=run.verify_failed_count,
            verify_sampled=run.verify_sampled,
        )
        end = run_finish(
            tally=tally,
            cancelled=self.cancelled,
            fatal=fatal,
            previous_read=self._previous_read(),
            retry_ids_missing=len(self.remaining) if self.only_ids is not None and self.remaining else 0,
        )
        summary = end.summary
        if run.failed_count and end.status in (RunStatus.FAILED, RunStatus.PARTIAL, RunStatus.CANCELLED):
            top = ending.top_errors(run)
            summary = f"{summary} {top}".strip() if top else summary
        return end, summary

    def _previous_read(self) -> int:
        if (
            self.recipe.incremental_source
            or self.run.trigger in (RunTrigger.RETRY, RunTrigger.WEBHOOK)
            or self.only_ids is not None
            or self.options.get("updated_since")
        ):
            return 0
        return ending.previous_read(self.run)
