"""How a run ends: its status and summary from what it did, as a pure function (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from contacts_sync.models import RunStatus

# "Read many" for the suspicious-zero check: below this a previous run reading few records proves nothing.
SUSPICIOUS_PREVIOUS_READ_MIN = 5


@dataclass(frozen=True)
class Tally:
    """A run's counts as the finish sees them (from the run row after the last page)."""

    read: int
    done: int  # created + updated + unchanged + skipped + deleted + would_*
    failed: int
    verify_failed: int = 0
    verify_sampled: int = 0


@dataclass(frozen=True)
class Finish:
    status: str
    summary: str
    suspicious: bool = False


def run_finish(
    *, tally: Tally, cancelled: bool, fatal: str | None, previous_read: int, retry_ids_missing: int = 0
) -> Finish:
    """The status of a run that stopped: cancelled, failed (fatal, every record failed, or suspicious), partial
    (some records failed, a read-back differed, or ids to retry were gone), else succeeded."""
    if cancelled:
        return Finish(RunStatus.CANCELLED, "Cancelled by a user.")
    if fatal:
        return Finish(RunStatus.FAILED, fatal)
    if tally.read == 0 and previous_read >= SUSPICIOUS_PREVIOUS_READ_MIN:
        return Finish(
            RunStatus.FAILED,
            f"Suspicious: read 0 records where the last successful run read "
            f"{previous_read}. The source may have lost access, or a filter or account changed.",
            True,
        )
    if tally.failed and not tally.done:
        return Finish(RunStatus.FAILED, f"Every record failed ({tally.failed}).")
    parts = []
    if tally.failed:
        parts.append(f"{tally.failed} of {tally.read} records failed.")
    if tally.verify_failed:
        parts.append(
            f"{tally.verify_failed} of {tally.verify_sampled} records read back from the target "
            "differ from what was sent."
        )
    if retry_ids_missing:
        parts.append(f"{retry_ids_missing} records to retry were not found in the source any more.")
    if parts:
        return Finish(RunStatus.PARTIAL, " ".join(parts))
    return Finish(RunStatus.SUCCEEDED, "")
