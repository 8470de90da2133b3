"""SQL compilers of the ``vinyl.postgresql_backend`` ENGINE: Django's, with typed bare values.

psycopg2 interpolates parameters client-side, so ``SELECT %s`` with ``1`` reaches the
server as the integer literal ``1``. asyncpg sends parameters separately and the server
infers their types from context; a bare ``Value(1)`` (``Exists()``'s ``SELECT 1``, a
``CASE`` result, an annotation) has no context, is inferred as ``text``, and asyncpg
refuses the ``int``. Giving such a parameter the type its literal would have had
(``$1::bigint``) keeps the result Django's on both drivers and on a plain asyncpg
connection (``vinyl.pg.to_sql``). Strings need no cast: ``text`` is what they are.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

from django.db.backends.postgresql import compiler as postgresql
from django.db.models import Value

__all__ = [
    "SQLAggregateCompiler",
    "SQLCompiler",
    "SQLDeleteCompiler",
    "SQLInsertCompiler",
    "SQLUpdateCompiler",
]

#: The PostgreSQL type of a literal of each Python type, most specific type first.
_LITERAL_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "bigint"),
    (float, "double precision"),
    (Decimal, "numeric"),
    (datetime.datetime, "timestamptz"),
    (datetime.date, "date"),
    (datetime.time, "time"),
    (datetime.timedelta, "interval"),
    (uuid.UUID, "uuid"),
    (bytes, "bytea"),
)


def _literal_type(value: Any) -> str | None:
    if isinstance(value, datetime.datetime) and value.tzinfo is None:
        # psycopg2 writes a naive datetime as a timestamp without time zone.
        return "timestamp"
    for python_type, db_type in _LITERAL_TYPES:
        if isinstance(value, python_type):
            return db_type
    return None


class _TypedValues:
    """Cast a ``Value`` compiled to a bare ``%s`` to its literal's type."""

    def compile(self, node: Any) -> tuple[str, list[Any]]:
        sql, params = super().compile(node)  # type: ignore[misc]
        if isinstance(node, Value) and sql == "%s" and len(params) == 1:
            db_type = _literal_type(params[0])
            if db_type is not None:
                sql = f"%s::{db_type}"
        return sql, params


class SQLCompiler(_TypedValues, postgresql.SQLCompiler):  # type: ignore[misc]
    pass


class SQLInsertCompiler(_TypedValues, postgresql.SQLInsertCompiler):  # type: ignore[misc]
    pass


class SQLDeleteCompiler(_TypedValues, postgresql.SQLDeleteCompiler):  # type: ignore[misc]
    pass


class SQLUpdateCompiler(_TypedValues, postgresql.SQLUpdateCompiler):  # type: ignore[misc]
    pass


class SQLAggregateCompiler(_TypedValues, postgresql.SQLAggregateCompiler):  # type: ignore[misc]
    pass
