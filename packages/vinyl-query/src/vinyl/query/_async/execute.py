"""Run statements through vinyl in one call: SQL in the driver's or Django's paramstyle.

:func:`fetch` and :func:`fetch_with_columns` are the read path every other read takes
(vinyl-model's included): they borrow the task's connection (``connection()``) for one
statement already in the driver's paramstyle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from vinyl.query._async.scope import connection
from vinyl.query.backend import Row
from vinyl.query.compiler import compile_query, prepare
from vinyl.query.databases import get_backend
from vinyl.query.decode import decode


async def fetch(using: str, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    """Return the rows of *sql*, in the driver's paramstyle, run on *using*."""
    async with connection(using) as conn:
        return await conn.fetch(sql, params)


async def fetch_with_columns(
    using: str, sql: str, params: Sequence[Any] = ()
) -> tuple[list[str], list[Row]]:
    """Return the column names and the rows of *sql* (the driver's paramstyle), run on *using*."""
    async with connection(using) as conn:
        return await conn.fetch_with_columns(sql, params)


async def fetch_queryset(queryset: QuerySet[Any]) -> list[Any]:
    """Return what ``list(queryset)`` returns in Django, read through vinyl on ``queryset.db``.

    ``queryset.db`` must be a vinyl alias (``queryset.using("vinyl_db")``).
    """
    compiled = compile_query(queryset, queryset.db)
    rows = await fetch(queryset.db, compiled.sql, compiled.params) if compiled.sql else []
    return decode(queryset, compiled, rows)


async def fetch_sql(using: str, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    """Return the rows of *sql*, written in Django's paramstyle (``%s``), run on *using*."""
    # Not through fetch(): a coroutine fewer for every write that returns rows.
    sql, params = prepare(get_backend(using).dialect, sql, params)
    async with connection(using) as conn:
        return await conn.fetch(sql, params)


async def fetch_sql_with_columns(
    using: str, sql: str, params: Sequence[Any] = ()
) -> tuple[list[str], list[Row]]:
    """Return the column names and the rows of *sql* (Django's paramstyle), run on *using*."""
    return await fetch_with_columns(using, *prepare(get_backend(using).dialect, sql, params))


async def execute_sql(using: str, sql: str, params: Sequence[Any] = ()) -> int:
    """Run *sql*, written in Django's paramstyle (``%s``), on *using*; return the row count."""
    sql, params = prepare(get_backend(using).dialect, sql, params)
    async with connection(using) as conn:
        return await conn.execute(sql, params)


async def execute_insert_sql(using: str, sql: str, params: Sequence[Any] = ()) -> int | None:
    """Run an INSERT without RETURNING, in Django's paramstyle, on *using*; return the id the
    server gave the row (MySQL's last insert id)."""
    sql, params = prepare(get_backend(using).dialect, sql, params)
    async with connection(using) as conn:
        return await conn.execute_insert(sql, params)
