"""SQL compilers vinyl compiles with on PostgreSQL: Django's, with typed bare values.

psycopg2 interpolates parameters client-side, so ``SELECT %s`` with ``1`` reaches the
server as the integer literal ``1``. asyncpg sends parameters separately and the server
infers their types from context; a bare ``Value(1)`` (``Exists()``'s ``SELECT 1``, a
``CASE`` result, an annotation) has no context, is inferred as ``text``, and asyncpg
refuses the ``int``. Giving such a parameter the type the server gives the literal
psycopg2 writes for it keeps the result Django's on both drivers and on a plain asyncpg
connection (``vinyl.pg.to_sql``): ``1`` is an ``integer`` (so ``LEFT(name, ($1)::integer)``
and ``bits << ($1)::integer`` resolve as Django's ``LEFT(name, 1)`` does), ``1.5`` a
``numeric``. Strings need no cast: a quoted literal has no type until its context gives
one, as a parameter has none.

Only the private wrappers vinyl compiles with use these compilers
(``DatabaseOperations.compiler``); Django's own wrapper on the ENGINE keeps Django's.
"""

from __future__ import annotations

import datetime
import math
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

#: The PostgreSQL type of psycopg2's literal of each Python type, most specific type first
#: (``datetime`` before ``date``); ``bool``, ``int`` and ``float`` are typed by
#: :func:`_literal_type` itself.
_LITERAL_TYPES: tuple[tuple[type, str], ...] = (
    (Decimal, "numeric"),
    (datetime.datetime, "timestamptz"),
    (datetime.date, "date"),
    (datetime.time, "time"),
    (datetime.timedelta, "interval"),
    (uuid.UUID, "uuid"),
    (bytes, "bytea"),
)

_INT4 = 2**31
_INT8 = 2**63


def _literal_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        # psycopg2 writes the digits; the server types a whole number by its size. Compared,
        # not "in range(...)": that walks the range for an int subclass (psycopg 3's Int4,
        # which Django on psycopg 3 wraps every integer in), taking minutes.
        return (
            "integer"
            if -_INT4 <= value < _INT4
            else "bigint"
            if -_INT8 <= value < _INT8
            else "numeric"
        )
    if isinstance(value, float):
        # psycopg2 writes repr(value), a numeric literal; NaN and infinities as 'NaN'::float.
        return "numeric" if math.isfinite(value) else "double precision"
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
                # Parenthesized: psycopg2 writes -1 as " -1", and "::" binds tighter than
                # a minus sign (" -2147483648::integer" is out of range; the value is not).
                sql = f"(%s)::{db_type}"
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
