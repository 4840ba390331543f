"""The webhook inbox's one statement per request, run on Django's connection with server-side binding and as its
own connection check (services/inbox.py; measured in docs/benchmarks.md, webhooks)."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from django.db import InterfaceError, OperationalError, transaction
from django.db import connection as db_connection


def insert_returning(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    """Run an idempotent INSERT ... ON CONFLICT DO NOTHING RETURNING; its row, None when nothing was inserted.

    Inside a caller's transaction a savepoint keeps a refused INSERT from aborting it. In autocommit (a request)
    the statement is its own transaction, and it is its own connection check too: Django's health check
    (CONN_HEALTH_CHECKS) would send a SELECT 1 before it on every request, one more round trip and statement per
    webhook. A connection that turns out dead (the server restarted) is replaced and the INSERT sent once more;
    ON CONFLICT makes that safe even when the first one committed (the event is then a duplicate)."""
    if db_connection.in_atomic_block:
        with transaction.atomic():
            return _fetchone(sql, params)
    db_connection.health_check_done = True  # type: ignore[attr-defined]  # Django has it; the stubs do not declare it
    try:
        return _fetchone(sql, params)
    except (OperationalError, InterfaceError):
        db_connection.close()
        return _fetchone(sql, params)


def _fetchone(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    """One row of a statement run on Django's connection with server-side binding: psycopg sends the parameters
    apart from the text (Django's cursor quotes them into it), so PostgreSQL does not parse the event's body as a
    literal: about a third less backend CPU for this INSERT, measured. Not prepared: Django keeps psycopg's prepared
    statements off so that transaction-mode connection poolers keep working. Errors are Django's, as from its own
    cursor (the view answers 429 to them)."""
    db_connection.ensure_connection()
    started = time.monotonic()
    with db_connection.wrap_database_errors, psycopg.Cursor(db_connection.connection) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if db_connection.queries_logged:  # DEBUG, or a test counting queries: listed as Django's cursor lists its own
        db_connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return row
