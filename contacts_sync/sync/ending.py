"""The end of a run: verified delivery (read back a sample of what the run wrote) and the summary of its errors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Count

from contacts_sync.apiclient.errors import ApiError
from contacts_sync.models import ItemAction, Run, RunItem, RunStatus, RunTrigger

from . import persist, verify
from .persist import Outcome

log = logging.getLogger(__name__)


def run_verify(*, run: Run, writer: Any, token: str, recorder: Any) -> None:
    """Read back a sample of what this run wrote and compare it with what was sent (same rate budget)."""
    read_back = getattr(writer, "read_back", None)
    size = verify.sample_size(run.created_count + run.updated_count)
    if read_back is None or not size:
        return
    items = list(
        RunItem.objects.filter(run=run, action__in=[ItemAction.CREATED, ItemAction.UPDATED])
        .exclude(target_id="")
        .order_by("?")[:size]
    )
    checked = matched = 0
    mismatches: list[Outcome] = []
    for item in items:
        try:
            stored = read_back(item.target_id)
        except NotImplementedError:
            return
        except (ApiError, ValueError, KeyError) as exc:
            log.info("run %s: read-back of %s failed: %s", run.pk, item.target_id, exc)
            continue  # not readable now is not a mismatch; the sample is smaller
        checked += 1
        diffs = verify.differences(item.payload, stored if isinstance(stored, dict) else {})
        if diffs:
            mismatches.append(
                Outcome(
                    item.source_id,
                    ItemAction.VERIFY_FAILED,
                    target_id=item.target_id,
                    error_class="VerificationFailed",
                    payload=item.payload,
                    error_message="Verification failed: " + "; ".join(diffs),
                )
            )
        else:
            matched += 1
    persist.verification_commit(
        run=run, token=token, checked=checked, matched=matched, mismatches=mismatches, calls=recorder.drain()
    )


def top_errors(run: Run) -> str:
    rows = (
        RunItem.objects.filter(run=run, action=ItemAction.FAILED)
        .values("error_class")
        .annotate(n=Count("id"))
        .order_by("-n")[:3]
    )
    return "Errors: " + ", ".join(f"{r['error_class'] or 'unknown'} x{r['n']}" for r in rows) if rows else ""


def announce(run_id: int, on_finish: Callable[[Run], Any] | None) -> None:
    """The caller's step after a run ended (the sync's health), in a savepoint: a bug there is logged and never
    undoes the run's own ending."""
    if on_finish is None:
        return
    try:
        with transaction.atomic():
            on_finish(Run.objects.select_related("sync").get(pk=run_id))
    except Exception:  # logged: the run ended; its health is recomputed by the next run
        log.exception("the step after run %s ended failed", run_id)


def previous_read(run: Run) -> int:
    """What the last successful full run of the sync read (for the suspicious-zero check)."""
    prev = (
        Run.objects.filter(sync_id=run.sync_id, status__in=[RunStatus.SUCCEEDED, RunStatus.PARTIAL], dry_run=False)
        .exclude(pk=run.pk)
        .exclude(trigger__in=[RunTrigger.RETRY, RunTrigger.WEBHOOK])
        .order_by("-finished_at")
        .values_list("read_count", flat=True)
        .first()
    )
    return int(prev or 0)
