"""Structured log context: every line carries the run id and sync id when there is one."""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator

_run_id: contextvars.ContextVar[str] = contextvars.ContextVar("run_id", default="-")
_sync_id: contextvars.ContextVar[str] = contextvars.ContextVar("sync_id", default="-")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = _run_id.get()
        record.sync_id = _sync_id.get()
        return True


@contextlib.contextmanager
def log_context(*, run_id: object = None, sync_id: object = None) -> Iterator[None]:
    tokens = []
    if run_id is not None:
        tokens.append((_run_id, _run_id.set(str(run_id))))
    if sync_id is not None:
        tokens.append((_sync_id, _sync_id.set(str(sync_id))))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
