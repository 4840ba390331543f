"""Storing what a page did: write-ahead intents before creates, then one transaction per page.

- `intents_write` commits, before any create of the page is sent, a pending mark on the record links of the
  records about to be created. A crash between a create reaching the target and the page's commit leaves that
  mark behind; it is the only case in which the next run may look for the record in the target before creating.
- `page_commit` writes, in one transaction: the run's counts, cursor and heartbeat (conditional on the worker's
  claim token), the run items, the record links (clearing intents) and the API calls. Values PostgreSQL cannot
  store (NUL, lone surrogates) are stored escaped and visible. When the transaction still fails for one bad row,
  every row is written in its own savepoint and only the bad one is replaced by an item saying why; when the
  database is unreachable, the commit is retried for a while before the run gives up (its intents stay).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from contacts_sync.apiclient.calls import CallRecord
from contacts_sync.models import ApiCall, ItemAction, RecordLink, Run, RunItem, RunStatus

from .rows import insert as rows_insert

log = logging.getLogger(__name__)

ERROR_MESSAGE_MAX = 2000
# A database that does not answer is retried this long (a failover, a restart) before the run stops; its
# intents and checkpoint stay, so the resumed run neither loses nor duplicates a record.
DB_OUTAGE_RETRY_SECONDS = 90
DB_RETRY_PAUSE_SECONDS = 2.0
COUNTED = ("created", "updated", "unchanged", "skipped", "failed", "deleted")
LINK_KEY = ("sync_id", "source_id")
# what a write that reached the target sets on its link (a new link, or an existing one)
LINK_WRITTEN = (
    "target_id",
    "content_hash",
    "last_run_id",
    "updated_at",
    "failed_hash",
    "failed_error",
    "pending_since",
    "identity",
    "target_gone_at",
    "tags_written",
)


class LostOwnership(Exception):
    """The run was taken over (reaped, claimed by another worker): stop without touching it further."""


@dataclass
class Outcome:
    source_id: str
    action: str
    target_id: str = ""
    error_class: str = ""
    error_message: str = ""
    attempts: int = 1
    payload: dict[str, Any] = field(default_factory=dict)
    link_hash: str | None = None  # set when the record link must be written (a write reached the target)
    rejected_hash: str | None = None  # set when the target rejected this payload for good (not resent)
    identity: str = ""  # the target record's identity (a contact's email/phone), kept on the link
    target_gone: bool = False  # the target record was found deleted on the target's side
    tags: list[str] = field(default_factory=list)  # the tags written to the target record (RecordLink.tags_written)


def pg_safe(value: Any) -> Any:
    """The value with what PostgreSQL text/jsonb cannot hold made visible: NUL as \\x00, lone surrogates as
    \\udXXX escapes (found by the hostile-records property test)."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "\\x00")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {pg_safe(str(k)): pg_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [pg_safe(v) for v in value]
    return value


def intents_write(*, sync_id: int, run_id: int, source_ids: Iterable[str], identities: dict[str, str]) -> None:
    """Commit the pending mark of every record about to be created (one statement, before the first call)."""
    now = timezone.now().isoformat()
    rows = [
        {
            "sync_id": sync_id,
            "source_id": pg_safe(sid),
            "target_id": "",
            "content_hash": "",
            "pending_since": now,
            "identity": pg_safe(identities.get(sid, ""))[:200],
            "last_run_id": run_id,
        }
        for sid in source_ids
    ]
    if rows:
        _retrying(lambda: rows_insert(RecordLink, rows, conflict=LINK_KEY, update=("pending_since",)))


def _counts(outcomes: list[Outcome]) -> dict[str, int]:
    counts = {k: 0 for k in (*COUNTED, ItemAction.WOULD_CREATE, ItemAction.WOULD_UPDATE)}
    for o in outcomes:
        counts[o.action] = counts.get(o.action, 0) + 1
    return counts


def _item(run_id: int, o: Outcome) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "source_id": pg_safe(o.source_id)[:200],
        "target_id": pg_safe(o.target_id)[:200],
        "action": o.action,
        "error_class": pg_safe(o.error_class)[:200],
        "error_message": pg_safe(o.error_message)[:ERROR_MESSAGE_MAX],
        "attempts": min(o.attempts, 32767),
        "payload": pg_safe(o.payload),
    }


def _links(sync_id: int, run_id: int, outcomes: list[Outcome]) -> tuple[list[dict[str, Any]], list[RecordLink]]:
    now = timezone.now()
    written = [
        {
            "sync_id": sync_id,
            "source_id": pg_safe(o.source_id)[:200],
            "target_id": pg_safe(o.target_id)[:200],
            "content_hash": o.link_hash,
            "last_run_id": run_id,
            "identity": pg_safe(o.identity)[:200],
            "pending_since": None,
            "target_gone_at": None,
            "failed_hash": "",
            "failed_error": "",
            "tags_written": pg_safe(o.tags),
        }
        for o in outcomes
        if o.link_hash is not None
    ]
    other = [
        RecordLink(
            sync_id=sync_id,
            source_id=pg_safe(o.source_id)[:200],
            target_id=pg_safe(o.target_id)[:200],
            content_hash="",
            failed_hash=o.rejected_hash or "",
            last_run_id=run_id,
            failed_error=pg_safe(f"{o.error_class}: {o.error_message}")[:ERROR_MESSAGE_MAX],
            target_gone_at=now if o.target_gone else None,
            pending_since=None,
        )
        for o in outcomes
        if o.link_hash is None and (o.rejected_hash is not None or o.target_gone)
    ]
    return written, other


def _write_links(written: list[dict[str, Any]], other: list[RecordLink]) -> None:
    rows_insert(RecordLink, written, conflict=LINK_KEY, update=LINK_WRITTEN)
    for link in other:  # a rejection or a deleted target keeps the link's hash: only that fact is remembered
        fields = {
            "failed_hash": link.failed_hash,
            "failed_error": link.failed_error,
            "last_run_id": link.last_run_id,
            "pending_since": None,
            "updated_at": timezone.now(),
        }
        if link.target_gone_at:
            fields["target_gone_at"] = link.target_gone_at
        if not RecordLink.objects.filter(sync_id=link.sync_id, source_id=link.source_id).update(**fields):
            link.content_hash = ""
            RecordLink.objects.bulk_create([link], ignore_conflicts=True)


def _calls(run_id: int, calls: list[CallRecord]) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run_id,
            "provider": c.provider[:32],
            "method": c.method[:8],
            "path_template": c.path_template[:300],
            "status": c.status,
            "duration_ms": max(0, int(c.duration_ms)),
            "attempts": min(c.attempts, 32767),
        }
        for c in calls
    ]


def _run_update(
    run: Run, token: str, counts: dict[str, int], calls: list[CallRecord], checkpoint: dict[str, Any]
) -> None:
    rate_limited = sum(c.rate_limited + (1 if c.status == 429 else 0) for c in calls)
    updated = Run.objects.filter(pk=run.pk, worker=token, status=RunStatus.RUNNING).update(
        read_count=F("read_count") + sum(counts.values()),
        created_count=F("created_count") + counts["created"],
        updated_count=F("updated_count") + counts["updated"],
        deleted_count=F("deleted_count") + counts["deleted"],
        unchanged_count=F("unchanged_count") + counts["unchanged"],
        skipped_count=F("skipped_count") + counts["skipped"],
        failed_count=F("failed_count") + counts["failed"],
        would_create_count=F("would_create_count") + counts[ItemAction.WOULD_CREATE],
        would_update_count=F("would_update_count") + counts[ItemAction.WOULD_UPDATE],
        api_calls=F("api_calls") + len(calls),
        http_429s=F("http_429s") + rate_limited,
        checkpoint=pg_safe(checkpoint),
        heartbeat_at=timezone.now(),
    )
    if not updated:
        raise LostOwnership()


def _clear_intents(sync_id: int, unsent: list[str]) -> None:
    """Creates that were never sent reached nothing: their intents go (a pure intent row goes with it)."""
    if not unsent:
        return
    rows = RecordLink.objects.filter(sync_id=sync_id, source_id__in=unsent)
    rows.filter(target_id="", failed_hash="", acknowledged_hash="").delete()
    rows.update(pending_since=None)


def _commit_together(
    run: Run,
    token: str,
    outcomes: list[Outcome],
    calls: list[CallRecord],
    checkpoint: dict[str, Any],
    unsent: list[str],
) -> None:
    with transaction.atomic():
        _run_update(run, token, _counts(outcomes), calls, checkpoint)
        _clear_intents(run.sync_id, unsent)
        rows_insert(RunItem, [_item(run.pk, o) for o in outcomes])
        _write_links(*_links(run.sync_id, run.pk, outcomes))
        if calls:
            rows_insert(ApiCall, _calls(run.pk, calls))


def _commit_row_by_row(
    run: Run,
    token: str,
    outcomes: list[Outcome],
    calls: list[CallRecord],
    checkpoint: dict[str, Any],
    unsent: list[str],
) -> None:
    """One savepoint per link and per item: a row the database refuses costs only itself. A write that reached
    the target keeps its link even when its item is refused; the item is replaced by one saying why."""
    with transaction.atomic():
        _clear_intents(run.sync_id, unsent)
        kept: list[Outcome] = []
        for o in outcomes:
            problems = []
            try:
                with transaction.atomic():
                    _write_links(*_links(run.sync_id, run.pk, [o]))
            except DatabaseError as exc:
                problems.append(f"its link ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
            try:
                with transaction.atomic():
                    rows_insert(RunItem, [_item(run.pk, o)])
                kept.append(o)
                continue
            except DatabaseError as exc:
                problems.append(f"its item ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
            log.warning("run %s: the outcome of %r could not be stored: %s", run.pk, o.source_id, problems)
            note = Outcome(
                o.source_id,
                o.action,
                o.target_id,
                "NotStored",
                f"The database refused to store {' and '.join(problems)}; the record was {o.action} as this item says.",
            )
            with transaction.atomic():
                rows_insert(RunItem, [_item(run.pk, note)])
            kept.append(note)
        _run_update(run, token, _counts(kept), calls, checkpoint)
        if calls:
            rows_insert(ApiCall, _calls(run.pk, calls))


def page_commit(
    *,
    run: Run,
    token: str,
    outcomes: list[Outcome],
    calls: list[CallRecord],
    checkpoint: dict[str, Any],
    unsent: list[str] | None = None,
) -> None:
    """Store one page's outcomes; raises LostOwnership when another worker owns the run now."""

    def attempt() -> None:
        try:
            _commit_together(run, token, outcomes, calls, checkpoint, unsent or [])
        except (OperationalError, InterfaceError):
            raise
        except DatabaseError as exc:
            log.warning("run %s: the page could not be stored at once (%s); storing it row by row", run.pk, exc)
            _commit_row_by_row(run, token, outcomes, calls, checkpoint, unsent or [])

    _retrying(attempt)


def _retrying(action: Callable[[], Any]) -> Any:
    """Run `action`, retrying while the database is unreachable (DB_OUTAGE_RETRY_SECONDS in all)."""
    deadline = time.monotonic() + DB_OUTAGE_RETRY_SECONDS
    while True:
        try:
            return action()
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("database unreachable (%s); retrying in %.0f s", type(exc).__name__, DB_RETRY_PAUSE_SECONDS)
            connection.close()  # a broken connection is replaced on the next query
            time.sleep(DB_RETRY_PAUSE_SECONDS)


class OutageTolerance:
    """The engine's liveness queries (heartbeat, cancel flag) ride out a database outage as page commits do.

    While the database is unreachable the query's answer is assumed (still ours, not cancelled) and the records
    go on being written: their write-ahead intents are committed, and the page is stored, retrying, once the
    database is back. Only an outage longer than DB_OUTAGE_RETRY_SECONDS stops the run, still below the reaper's
    REAP_AFTER_SECONDS. Before, a 10 s PostgreSQL restart failed the run as an internal error and alerted
    (tests/reliability/test_fault_postgres_stopped.py).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.away_since: float | None = None

    def __call__(self, query: Callable[[], bool], *, assume: bool) -> bool:
        try:
            answer = query()
        except (OperationalError, InterfaceError) as exc:
            now = self.clock()
            if self.away_since is None:
                self.away_since = now
                log.warning("database unreachable (%s); writing on until the page is stored", type(exc).__name__)
            if now - self.away_since > DB_OUTAGE_RETRY_SECONDS:
                raise
            connection.close()  # a broken connection is replaced on the next query
            return assume
        self.away_since = None
        return answer


def verification_commit(
    *, run: Run, token: str, checked: int, matched: int, mismatches: list[Outcome], calls: list[CallRecord]
) -> None:
    """The read-back's result: counts on the run, one item per record that differs, the calls it made."""

    def attempt() -> None:
        with transaction.atomic():
            if not Run.objects.filter(pk=run.pk, worker=token, status=RunStatus.RUNNING).update(
                verify_sampled=checked,
                verified_count=matched,
                verify_failed_count=len(mismatches),
                api_calls=F("api_calls") + len(calls),
                heartbeat_at=timezone.now(),
            ):
                raise LostOwnership()
            rows_insert(RunItem, [_item(run.pk, o) for o in mismatches])
            if calls:
                rows_insert(ApiCall, _calls(run.pk, calls))

    _retrying(attempt)
