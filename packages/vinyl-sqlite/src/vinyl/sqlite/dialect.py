"""The SQLite dialect: Django's SQL as the standard library's sqlite3 (and aiosqlite) takes it.

Django's compiler writes ``%s`` placeholders and ``%%`` for a literal ``%``; sqlite3's
``paramstyle`` is ``qmark``. Django's own SQLite cursor rewrites each statement it runs with
the pattern ``FORMAT_QMARK_REGEX`` (``%s`` → ``?``, then ``%%`` → ``%``); vinyl rewrites with
the same pattern, once per SQL text. Parameters need nothing: Django's SQLite backend
registers its adapters (``Decimal``, ``date``, ``datetime``) on the sqlite3 module itself, so
every connection in the process, aiosqlite's included, writes them as Django does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from functools import lru_cache
from typing import Any

from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX

__all__ = ["SQLITE", "SQLiteDialect"]


@lru_cache(maxsize=4096)
def _qmark(sql: str) -> str:
    """Return *sql* with ``%s`` made ``?`` and ``%%`` made ``%``, as Django's cursor does."""
    return FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")


class SQLiteDialect:
    """The :class:`vinyl.query.backend.Dialect` of SQLite, for both drivers."""

    vendor = "sqlite"
    #: ``INSERT ... RETURNING`` came with SQLite 3.35 (Django's
    #: ``can_return_columns_from_insert`` asks the same question).
    can_return_rows_from_insert = sqlite3.sqlite_version_info >= (3, 35, 0)

    def __repr__(self) -> str:
        return "SQLiteDialect()"

    def prepare_sql(self, sql: str) -> str:
        """Return *sql* (Django's ``%s`` placeholders) with sqlite3's ``?`` placeholders."""
        return _qmark(sql)

    def prepare_params(self, params: Sequence[Any]) -> Sequence[Any]:
        """Return *params* unchanged: sqlite3 adapts them with Django's adapters."""
        return params

    def last_executed_query(self, sql: str, params: Sequence[Any]) -> str:
        """Return *sql* (``?`` placeholders) with *params* written in by SQLite's ``QUOTE()``.

        As Django's SQLite backend, which quotes the values with ``SELECT QUOTE(?)`` (on a
        private in-memory database here: no I/O) and writes them into the statement.
        """
        if not params or isinstance(params, dict):
            return sql
        parts = sql.split("?")
        if len(parts) != len(params) + 1:
            # A "?" inside a literal: where each value goes is not known.
            return sql
        try:
            quoted = _quoted(params)
        except sqlite3.Error:
            return sql
        written = [part + value for part, value in zip(parts, quoted, strict=False)]
        return "".join(written) + parts[-1]


def _quoted(params: Sequence[Any]) -> list[str]:
    """Return each of *params* as SQLite's ``QUOTE()`` writes it (999 values a query)."""
    quoted: list[str] = []
    with closing(sqlite3.connect(":memory:")) as conn:
        for start in range(0, len(params), 999):
            chunk = list(params[start : start + 999])
            select = "SELECT " + ", ".join(["QUOTE(?)"] * len(chunk))
            quoted.extend(conn.execute(select, chunk).fetchone())
    return quoted


#: The dialect of both SQLite drivers and of ``vinyl.sqlite.to_sql``.
SQLITE = SQLiteDialect()
