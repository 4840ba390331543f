"""Many rows of one table in one INSERT, the rows passed as one JSON array (`jsonb_populate_recordset`).

A page's run items, record links and API calls were written with `bulk_create`, which builds a model instance per
row, runs each field's `pre_save` / `get_db_prep_save`, and has psycopg quote one UNNEST array per column on the
client side: about 7 ms of worker CPU for a page of 100 run items, against 0.7 ms for one `json.dumps` of the page,
and less work for PostgreSQL too (docs/benchmarks.md, section "sync"). PostgreSQL converts the values with the
table's own row type (text, integers, timestamps, jsonb), so a row names only the columns it sets; the others take
the model's defaults, and `auto_now` / `auto_now_add` columns the statement's time, as `bulk_create` gave them.

Values must be what PostgreSQL stores (persist.pg_safe); the statement goes through Django's cursor (its execute
wrappers see it, its errors are Django's DatabaseError).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from django.db import connection, models
from django.utils import timezone
from psycopg import sql


@cache
def _shape(model: type[models.Model]) -> tuple[tuple[str, ...], tuple[tuple[str, Any], ...], tuple[str, ...]]:
    """The model's columns (its primary key aside), their defaults as JSON values, and its time-stamped columns."""
    fields = [(str(f.column), f) for f in model._meta.concrete_fields if not f.primary_key]
    stamped = tuple(c for c, f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False))
    # The defaults are computed once and cached: a callable default that gives each row its own value (uuid4,
    # timezone.now) would be frozen at the first insert. Only the empty containers are safe to share as JSON.
    varying = [
        f.name
        for c, f in fields
        if f.has_default() and callable(f.default) and f.default not in (dict, list) and c not in stamped
    ]
    if varying:
        raise TypeError(f"rows.insert cannot give {model.__name__}.{', '.join(varying)} a default per row")
    defaults = tuple((c, f.get_default()) for c, f in fields if c not in stamped)
    return tuple(c for c, _ in fields), defaults, stamped


@cache
def _sql(model: type[models.Model], conflict: tuple[str, ...], update: tuple[str, ...]) -> sql.Composed:
    """The statement: the model's own table and column names as identifiers; the rows are its one parameter."""
    table = sql.Identifier(model._meta.db_table)
    columns = sql.SQL(", ").join(map(sql.Identifier, _shape(model)[0]))
    statement = sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM jsonb_populate_recordset(NULL::{t}, %s::jsonb)")
    parts = [statement.format(t=table, c=columns)]
    if conflict:
        sets = sql.SQL(", ").join(sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in update)
        keys = sql.SQL(", ").join(map(sql.Identifier, conflict))
        parts.append(sql.SQL(" ON CONFLICT ({k}) DO UPDATE SET {s}").format(k=keys, s=sets))
    return sql.Composed(parts)


def insert(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    conflict: tuple[str, ...] = (),
    update: tuple[str, ...] = (),
) -> None:
    """Insert `rows` (column name -> value) into the model's table in one statement; with `conflict` (the columns
    of a unique constraint), a row that exists gets the `update` columns of the new one instead."""
    if not rows:
        return
    _, defaults, stamped = _shape(model)
    now = timezone.now().isoformat()
    base = {**dict(defaults), **dict.fromkeys(stamped, now)}
    document = json.dumps([{**base, **row} for row in rows])
    with connection.cursor() as cursor:
        cursor.execute(_sql(model, conflict, update), [document])
