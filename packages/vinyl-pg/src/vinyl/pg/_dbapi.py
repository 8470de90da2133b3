"""What vinyl's two sync drivers share: a handle running Django's SQL on a DB-API connection.

psycopg2 and psycopg 3 (with the client-side binding cursor Django uses on it) take
Django's SQL as it is: ``%s`` placeholders, ``%%`` for a literal ``%``. Each driver module
opens its connections and says how a cursor reads values as Django's cursor does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vinyl.pg.errors import DRIVER_ERRORS, django_error
from vinyl.query.backend import PooledConnection, Row

__all__ = ["DBAPIConnection"]


class DBAPIConnection[R](PooledConnection[R]):
    """One DB-API connection of a sync driver, taking Django's SQL and parameters."""

    __slots__ = ()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it affected."""
        with self.cursor() as cursor:
            self._run(cursor, sql, params)
            count: int = cursor.rowcount
            # Both drivers report -1 for statements without a row count (BEGIN, SET).
            return max(count, 0)

    def execute_insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT; return ``None`` (PostgreSQL returns ids with ``RETURNING``)."""
        self.execute(sql, params)
        return None

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one query and return all its rows."""
        with self.cursor() as cursor:
            self._run(cursor, sql, params)
            rows: list[Row] = cursor.fetchall()
            return rows

    def fetch_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[Row]]:
        """Run one query; return its column names and all its rows."""
        with self.cursor() as cursor:
            self._run(cursor, sql, params)
            rows: list[Row] = cursor.fetchall()
            # No description: the statement returns no result set (an UPDATE).
            return [column.name for column in cursor.description or ()], rows

    def close(self) -> None:
        """Close the connection for good."""
        self.raw.close()  # type: ignore[attr-defined]

    def cursor(self) -> Any:
        """Return a cursor of the connection that reads values as Django's cursor does."""
        raise NotImplementedError

    def _run(self, cursor: Any, sql: str, params: Sequence[Any]) -> None:
        # Cleared when the statement ends; an interruption (KeyboardInterrupt) leaves it set
        # and the pool closes the connection.
        self.busy = True
        try:
            # Always pass a sequence: both drivers turn "%%" into "%" only when they have one.
            cursor.execute(sql, tuple(params))
        except DRIVER_ERRORS as exc:
            self.busy = False
            raise django_error(exc) from exc
        self.busy = False
