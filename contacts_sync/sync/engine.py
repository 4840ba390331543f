"""The engine: pull -> map -> diff -> push, one page at a time (DESIGN.md section 5, "The life of one record").

The engine gets everything built for it (source connector, target writer, rules, the run row it owns) and knows
nothing of Celery or browser requests. Per page it does a fixed number of queries (links of the page, parent
links, one transaction with the run update, the items, the links and the API calls), so the database cost per
record stays far below three queries.

Ownership: the run row carries the claim token of the worker executing it (`Run.worker`). Every write of the
engine is conditional on that token; when the reaper or another worker took the run over, the page transaction
is rolled back and the engine stops without finishing the run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from contacts_sync.apiclient.calls import CallRecord
from contacts_sync.apiclient.errors import ApiError, AuthError, ForbiddenError, ServerError, TransportError
from contacts_sync.connectors.base import Page
from contacts_sync.exceptions import ConfigurationError, TransientError
from contacts_sync.mapping.paths import get_path
from contacts_sync.models import (
    ApiCall,
    ItemAction,
    RecordLink,
    Run,
    RunItem,
    RunStatus,
    RunTrigger,
    SyncMode,
)
from contacts_sync.sync.recipes import Recipe, record_passes_filter
from contacts_sync.sync.redaction import Redactor

log = logging.getLogger(__name__)

# Between two heartbeats the run may not look dead to the reaper (REAP_AFTER_SECONDS is much larger).
HEARTBEAT_SECONDS = 5.0
# How often the cancel flag is re-read inside a page (it is also read before each page).
CANCEL_CHECK_SECONDS = 1.0
# This many write failures in a row that the client already retried (5xx, timeouts) mean the target is down:
# the run stops as failed instead of burning the rate budget on every remaining record.
MAX_CONSECUTIVE_TRANSIENT_FAILURES = 25
# "Read many" for the suspicious-zero check: below this a previous run reading few records proves nothing.
SUSPICIOUS_PREVIOUS_READ_MIN = 5
ERROR_MESSAGE_MAX = 2000


class TargetWriter(Protocol):
    needs_parent: bool

    def push(self, payload: dict[str, Any], *, target_id: str | None, parent_id: str | None,
             adopt: bool) -> tuple[str, bool]: ...  # (target id, created?)


class LostOwnership(Exception):
    """The run was taken over (reaped, claimed by another worker): stop without touching it further."""


class FatalRunError(Exception):
    """The run cannot go on (credentials rejected, source unreadable, target down)."""


@dataclass
class Outcome:
    source_id: str
    action: str
    target_id: str = ""
    error_class: str = ""
    error_message: str = ""
    attempts: int = 1
    payload: dict[str, Any] = field(default_factory=dict)
    link_hash: str | None = None  # set when the record link must be written
    rejected_hash: str | None = None  # set when the target rejected this payload for good (not resent)


@dataclass
class CallRecorder:
    """Collects CallRecords from the source and target clients; the engine flushes them per page."""

    records: list[CallRecord] = field(default_factory=list)

    def __call__(self, record: CallRecord) -> None:
        self.records.append(record)

    def drain(self) -> list[CallRecord]:
        out, self.records = self.records, []
        return out


@dataclass
class ParentLookup:
    """Finds the GHL contact id of a task's/note's parent in the links of the contact syncs (one query/page)."""

    sync_ids: list[int]
    default_parent_id: str | None = None

    def resolve(self, parent_source_ids: set[str]) -> dict[str, str]:
        if not parent_source_ids or not self.sync_ids:
            return {}
        rows = RecordLink.objects.filter(sync_id__in=self.sync_ids, source_id__in=parent_source_ids)
        return {sid: tid.split("/", 1)[0] for sid, tid in rows.values_list("source_id", "target_id")}


class Engine:
    def __init__(
        self,
        *,
        run: Run,
        worker_token: str,
        recipe: Recipe,
        source: Any,
        writer: TargetWriter | None,
        rules: list[dict[str, Any]],
        apply: Callable[..., Any],
        content_hash: Callable[[dict[str, Any]], str],
        context: Any = None,
        recorder: CallRecorder | None = None,
        redactor: Redactor | None = None,
        parents: ParentLookup | None = None,
        source_options: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run = run
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
        self.remaining = set(self.only_ids) if self.only_ids else None
        self.resumed = bool(run.checkpoint.get("cursor") or run.checkpoint.get("reaps"))
        self.ignore_hash = run.mode == SyncMode.FULL
        self.consecutive_transient = 0
        self._last_beat = clock()
        self._last_cancel_check = clock()
        self.cancelled = False
        self._partial: list[Outcome] = []

    # ----- the run --------------------------------------------------------------------------------------
    def execute(self) -> None:
        """Run to the end (or cancel / fatal error) and write the final status. Raises nothing but bugs."""
        fatal: str | None = None
        try:
            for page in self._pages():
                if self._cancel_requested(force=True):
                    break
                self._partial = []
                try:
                    outcomes = self._process_page(page)
                except FatalRunError:
                    # keep what this page already did (its writes happened); the cursor stays before the page
                    self._commit_page(self._partial, self.run.checkpoint.get("cursor"))
                    raise
                self._commit_page(outcomes, page.cursor)
                self.resumed = False
                if self.cancelled or (self.remaining is not None and not self.remaining) or page.cursor is None:
                    break
        except LostOwnership:
            log.warning("run %s was taken over by another worker; stopping", self.run.pk)
            return
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

    def _pages(self) -> Iterator[Page]:
        event = self.run.event if self.run.event_id else None
        contact_event = not event or not event.event_type or event.event_type.startswith("Contact")
        if event is not None and event.provider == self.recipe.source_provider == "ghl" and contact_event \
                and self.object_kind == "contact":
            record = _event_record(event.body)
            if record is not None:
                yield Page(records=[record], cursor=None)
                return
        cursor = self.run.checkpoint.get("cursor")
        yield from self.source.read(self.object_kind, cursor=cursor, options=self.options)

    # ----- one page ---------------------------------------------------------------------------------------
    def _record_id(self, record: dict[str, Any], index: int) -> str:
        try:
            return str(self.source.record_id(self.object_kind, record))[:200]
        except (ApiError, KeyError, TypeError, ValueError):
            return ""

    def _process_page(self, page: Page) -> list[Outcome]:
        ids = [self._record_id(r, i) for i, r in enumerate(page.records)]
        links = {
            link.source_id: link
            for link in RecordLink.objects.filter(sync_id=self.run.sync_id, source_id__in=ids).only(
                "source_id", "target_id", "content_hash", "failed_hash", "failed_error"
            )
        }
        parent_ids: dict[str, str] = {}
        if self.writer is not None and self.writer.needs_parent and self.recipe.parent_path and self.parents:
            wanted = {str(p) for r in page.records if (p := get_path(r, self.recipe.parent_path)) not in (None, "")}
            parent_ids = self.parents.resolve(wanted)
        outcomes: list[Outcome] = []
        self._partial = outcomes
        for record, sid in zip(page.records, ids, strict=True):
            if self._cancel_requested():
                break
            self._beat()
            if not sid:
                if self.only_ids is None:
                    outcomes.append(Outcome(f"(no id: {str(record)[:80]})", ItemAction.FAILED,
                                            error_class="MissingId", payload={"source": self.redactor.source(record)},
                                            error_message="The source record has no id; it cannot be linked."))
                continue
            if self.only_ids is not None:
                if sid not in self.only_ids or sid not in (self.remaining or set()):
                    continue
                self.remaining.discard(sid)  # type: ignore[union-attr]
            outcomes.append(self._one(record, sid, links.get(sid), parent_ids))
        return outcomes

    def _one(self, record: dict[str, Any], sid: str, link: RecordLink | None,
             parent_ids: dict[str, str]) -> Outcome:
        if not self._passes_filter(record):
            return Outcome(sid, ItemAction.SKIPPED, target_id=link.target_id if link else "",
                           error_message="Does not match the recipe's filter.")
        result = self.apply(record, self.rules, context=self.context)
        if not result.ok:
            return Outcome(sid, ItemAction.FAILED, error_class="MappingError", error_message=result.reasons(),
                           payload={"source": self.redactor.source(record)})
        payload = result.payload
        # Optional values a transform refused (rule on_invalid="skip"): the record goes, the item says what was left out.
        warnings = result.warning_text()[:ERROR_MESSAGE_MAX]
        digest = self.content_hash(payload)
        shown = self.redactor.payload(payload)
        if link is not None and link.target_id and link.content_hash == digest and not self.ignore_hash:
            # no payload: it is the one the last change stored, and unchanged items are most of every poll
            return Outcome(sid, ItemAction.UNCHANGED, target_id=link.target_id)
        if (link is not None and link.failed_hash == digest and not self.ignore_hash and not self.run.dry_run
                and self.run.trigger != RunTrigger.RETRY):
            # The target rejected exactly this payload before (400/422): sending it again cannot succeed.
            cls, _, msg = link.failed_error.partition(": ")
            return Outcome(sid, ItemAction.FAILED, target_id=link.target_id, error_class=cls or "Rejected",
                           error_message=f"Not sent again: unchanged since the target rejected it. {msg}",
                           payload=shown)
        link_target = link.target_id if link is not None and link.target_id else None
        if self.run.dry_run:
            action = ItemAction.WOULD_UPDATE if link_target else ItemAction.WOULD_CREATE
            return Outcome(sid, action, target_id=link_target or "", payload=shown, error_message=warnings)
        if self.writer is None:
            raise FatalRunError(f"No writer for {self.recipe.target_provider} {self.recipe.target_object}.")
        parent_id = None
        if self.writer.needs_parent:
            psid = get_path(record, self.recipe.parent_path) if self.recipe.parent_path else None
            parent_id = parent_ids.get(str(psid)) if psid not in (None, "") else None
            parent_id = parent_id or (self.parents.default_parent_id if self.parents else None)
            if not parent_id:
                return Outcome(sid, ItemAction.FAILED, error_class="ParentNotLinked",
                               error_message=f"No GHL contact is linked to {self.recipe.parent_path}={psid!r}; "
                               "run the contact sync first or set a default contact.", payload=shown)
        before = len(self.recorder.records)
        try:
            target_id, created = self.writer.push(payload, target_id=link_target, parent_id=parent_id,
                                                  adopt=self.resumed or link_target is None)
        except (AuthError, ForbiddenError) as exc:
            raise FatalRunError(f"{self.recipe.target_provider} rejected the credentials: {exc}") from exc
        except (ValueError, TypeError, KeyError, ConfigurationError) as exc:  # this record cannot be written
            return Outcome(sid, ItemAction.FAILED, target_id=link_target or "",
                           error_class=type(exc).__name__, error_message=str(exc)[:ERROR_MESSAGE_MAX],
                           payload=shown)
        except ApiError as exc:
            attempts = max([c.attempts for c in self.recorder.records[before:]] or [1])
            if isinstance(exc, TransientError | ServerError | TransportError):
                self.consecutive_transient += 1
                if self.consecutive_transient >= MAX_CONSECUTIVE_TRANSIENT_FAILURES:
                    raise FatalRunError(
                        f"{self.consecutive_transient} writes in a row failed after retries; last: {exc}"
                    ) from exc
            permanent = not exc.retryable and not isinstance(exc, TransientError)
            return Outcome(sid, ItemAction.FAILED, target_id=link_target or "",
                           error_class=type(exc).__name__, error_message=_error_text(exc), attempts=attempts,
                           payload=shown, rejected_hash=digest if permanent else None)
        self.consecutive_transient = 0
        attempts = max([c.attempts for c in self.recorder.records[before:]] or [1])
        action = ItemAction.CREATED if created else ItemAction.UPDATED
        return Outcome(sid, action, target_id=target_id, attempts=attempts, payload=shown, link_hash=digest,
                       error_message=warnings)

    def _passes_filter(self, record: dict[str, Any]) -> bool:
        return record_passes_filter(self.recipe, self.options, record)

    # ----- writes -----------------------------------------------------------------------------------------
    def _commit_page(self, outcomes: list[Outcome], cursor: dict[str, Any] | None) -> None:
        counts = {k: 0 for k in ("created", "updated", "unchanged", "skipped", "failed")}
        would = {"would_create": 0, "would_update": 0}
        for o in outcomes:
            if o.action in counts:
                counts[o.action] += 1
            else:
                would[o.action] += 1
        calls = self.recorder.drain()
        rate_limited = sum(c.rate_limited + (1 if c.status == 429 else 0) for c in calls)
        checkpoint = {k: v for k, v in self.run.checkpoint.items() if k != "cursor"}
        if cursor is not None:
            checkpoint["cursor"] = cursor
        now = timezone.now()
        with transaction.atomic():
            updated = Run.objects.filter(pk=self.run.pk, worker=self.token, status=RunStatus.RUNNING).update(
                read_count=F("read_count") + len(outcomes),
                created_count=F("created_count") + counts["created"],
                updated_count=F("updated_count") + counts["updated"],
                unchanged_count=F("unchanged_count") + counts["unchanged"],
                skipped_count=F("skipped_count") + counts["skipped"],
                failed_count=F("failed_count") + counts["failed"],
                would_create_count=F("would_create_count") + would["would_create"],
                would_update_count=F("would_update_count") + would["would_update"],
                api_calls=F("api_calls") + len(calls),
                http_429s=F("http_429s") + rate_limited,
                checkpoint=checkpoint,
                heartbeat_at=now,
            )
            if not updated:
                raise LostOwnership()
            RunItem.objects.bulk_create(
                [
                    RunItem(run_id=self.run.pk, source_id=o.source_id, target_id=o.target_id, action=o.action,
                            error_class=o.error_class[:200], error_message=o.error_message[:ERROR_MESSAGE_MAX],
                            attempts=min(o.attempts, 32767), payload=o.payload)
                    for o in outcomes
                ]
            )
            links = [
                RecordLink(sync_id=self.run.sync_id, source_id=o.source_id, target_id=o.target_id,
                           content_hash=o.link_hash, last_run_id=self.run.pk)
                for o in outcomes
                if o.link_hash is not None
            ]
            if links:
                RecordLink.objects.bulk_create(
                    links, update_conflicts=True, unique_fields=["sync", "source_id"],
                    update_fields=["target_id", "content_hash", "last_run", "updated_at", "failed_hash",
                                   "failed_error"],
                )
            rejected = [
                RecordLink(sync_id=self.run.sync_id, source_id=o.source_id, target_id="", content_hash="",
                           failed_hash=o.rejected_hash, last_run_id=self.run.pk,
                           failed_error=f"{o.error_class}: {o.error_message}"[:ERROR_MESSAGE_MAX])
                for o in outcomes
                if o.rejected_hash is not None
            ]
            if rejected:  # keeps an existing link's target and hash: only the rejection is remembered
                RecordLink.objects.bulk_create(
                    rejected, update_conflicts=True, unique_fields=["sync", "source_id"],
                    update_fields=["failed_hash", "failed_error", "updated_at"],
                )
            if calls:
                ApiCall.objects.bulk_create(
                    [
                        ApiCall(run_id=self.run.pk, provider=c.provider[:32], method=c.method[:8],
                                path_template=c.path_template[:300], status=c.status,
                                duration_ms=max(0, int(c.duration_ms)), attempts=min(c.attempts, 32767))
                        for c in calls
                    ]
                )
        self.run.checkpoint = checkpoint
        self._last_beat = self.clock()

    def _beat(self) -> None:
        if self.clock() - self._last_beat < HEARTBEAT_SECONDS:
            return
        self._last_beat = self.clock()
        if not Run.objects.filter(pk=self.run.pk, worker=self.token, status=RunStatus.RUNNING).update(
            heartbeat_at=timezone.now()
        ):
            raise LostOwnership()

    def _cancel_requested(self, *, force: bool = False) -> bool:
        if self.cancelled:
            return True
        if not force and self.clock() - self._last_cancel_check < CANCEL_CHECK_SECONDS:
            return False
        self._last_cancel_check = self.clock()
        self.cancelled = bool(
            Run.objects.filter(pk=self.run.pk, cancel_requested=True).exists()
        )
        return self.cancelled

    # ----- the end ----------------------------------------------------------------------------------------
    def _finish(self, fatal: str | None) -> None:
        self._commit_page([], self.run.checkpoint.get("cursor"))  # flush API calls made after the last page
        run = Run.objects.get(pk=self.run.pk)
        summary = ""
        suspicious = False
        done = run.created_count + run.updated_count + run.unchanged_count + run.skipped_count
        done += run.would_create_count + run.would_update_count
        if self.cancelled:
            status, summary = RunStatus.CANCELLED, "Cancelled by a user."
        elif fatal:
            status, summary = RunStatus.FAILED, fatal
        elif run.read_count == 0 and (previous := self._previous_read()) >= SUSPICIOUS_PREVIOUS_READ_MIN:
            status, suspicious = RunStatus.FAILED, True
            summary = (f"Suspicious: read 0 records where the last successful run read {previous}. "
                       "The source may have lost access, or a filter or account changed.")
        elif run.failed_count and not done:
            status, summary = RunStatus.FAILED, f"Every record failed ({run.failed_count})."
        elif run.failed_count:
            status, summary = RunStatus.PARTIAL, f"{run.failed_count} of {run.read_count} records failed."
        elif self.only_ids is not None and self.remaining:
            status = RunStatus.PARTIAL
            summary = f"{len(self.remaining)} records to retry were not found in the source any more."
        else:
            status = RunStatus.SUCCEEDED
        if run.failed_count and status in (RunStatus.FAILED, RunStatus.PARTIAL, RunStatus.CANCELLED):
            top = _top_errors(run)
            summary = f"{summary} {top}".strip() if top else summary
        with transaction.atomic():
            if not Run.objects.filter(pk=run.pk, worker=self.token, status=RunStatus.RUNNING).update(
                status=status, finished_at=timezone.now(), error_summary=summary[:ERROR_MESSAGE_MAX],
                suspicious=suspicious, heartbeat_at=timezone.now(),
            ):
                raise LostOwnership()
        log.info("run %s finished: %s read=%s created=%s updated=%s unchanged=%s failed=%s",
                 run.pk, status, run.read_count, run.created_count, run.updated_count, run.unchanged_count,
                 run.failed_count)

    def _previous_read(self) -> int:
        if (self.recipe.incremental_source or self.run.trigger in (RunTrigger.RETRY, RunTrigger.WEBHOOK)
                or self.only_ids is not None or self.options.get("updated_since")):
            return 0
        prev = (
            Run.objects.filter(sync_id=self.run.sync_id, status__in=[RunStatus.SUCCEEDED, RunStatus.PARTIAL],
                               dry_run=False)
            .exclude(pk=self.run.pk)
            .exclude(trigger__in=[RunTrigger.RETRY, RunTrigger.WEBHOOK])
            .order_by("-finished_at")
            .values_list("read_count", flat=True)
            .first()
        )
        return int(prev or 0)


def _top_errors(run: Run) -> str:
    rows = (
        RunItem.objects.filter(run=run, action=ItemAction.FAILED)
        .values("error_class")
        .annotate(n=Count("id"))
        .order_by("-n")[:3]
    )
    return "Errors: " + ", ".join(f"{r['error_class'] or 'unknown'} x{r['n']}" for r in rows) if rows else ""


def _error_text(exc: ApiError) -> str:
    messages = getattr(exc, "messages", None) or []
    text = str(exc)
    extra = [m for m in messages if m not in text]
    if extra:
        text += " | " + "; ".join(extra)
    if exc.request_id:
        text += f" (request id {exc.request_id})"
    return text


def _event_record(body: str) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("contact"), dict):
        data = data["contact"]
    return data if isinstance(data, dict) and data.get("id") else None
