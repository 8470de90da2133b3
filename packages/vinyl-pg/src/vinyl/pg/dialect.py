"""PostgreSQL dialect: Django's SQL and parameters, made ready for asyncpg or psycopg2.

Django's compiler writes ``%s`` placeholders and ``%%`` for a literal ``%`` (what psycopg2
takes: its DB-API ``paramstyle`` is ``pyformat``), and adapts some values with psycopg2
wrappers (``Json``, ``Inet``, ``Binary``, ranges). psycopg2 takes both as they are. asyncpg
has no DB-API paramstyle: it sends PostgreSQL's own numbered placeholders (``$1``), takes a
``%`` literally, and wants plain Python values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

import asyncpg
import psycopg2
from psycopg2.extensions import Binary, adapt
from psycopg2.extras import Inet, Json, Range

__all__ = ["ASYNCPG", "PSYCOPG2", "PostgreSQLDialect"]

_PLACEHOLDER = re.compile(r"%([s%])")
_ADAPTERS = (Json, Inet, Range, Binary, list)


@lru_cache(maxsize=4096)
def _numbered(sql: str) -> str:
    """Return *sql* with ``%s`` numbered ``$1..$n`` and ``%%`` made ``%``."""
    counter = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal counter
        if match.group(1) == "%":
            return "%"
        counter += 1
        return f"${counter}"

    return _PLACEHOLDER.sub(replace, sql)


def _plain(value: Any) -> Any:
    """Return *value* without Django's psycopg2 adapter around it."""
    if isinstance(value, Json):
        return value.dumps(value.adapted)
    if isinstance(value, Inet):
        return value.addr
    if isinstance(value, Binary):
        return value.adapted
    if isinstance(value, Range):
        return asyncpg.Range(
            value.lower,
            value.upper,
            lower_inc=value.lower_inc,
            upper_inc=value.upper_inc,
            empty=value.isempty,
        )
    if isinstance(value, list) and _holds_adapters(value):
        return [_plain(item) for item in value]
    return value


def _holds_adapters(items: list[Any]) -> bool:
    """Return whether *items* holds a value :func:`_plain` changes.

    Each distinct type is checked once: a column of 10,000 values (an ``UNNEST`` insert)
    is one pass in C, not 10,000 calls.
    """
    return any(issubclass(kind, _ADAPTERS) for kind in set(map(type, items)))


def _literal(value: Any) -> str:
    """Return *value* as psycopg2 writes it into a statement (what Django logs)."""
    if isinstance(value, str):
        # As psycopg2 on a connection with standard_conforming_strings (PostgreSQL's
        # default): adapt() alone would escape backslashes and encode in Latin-1.
        return "'" + value.replace("'", "''") + "'"
    quoted: bytes = adapt(value).getquoted()
    return quoted.decode("utf-8", "replace")


class PostgreSQLDialect:
    """The :class:`vinyl.query.backend.Dialect` of PostgreSQL for one *driver*.

    ``"asyncpg"`` numbers the placeholders (``$1``) and unwraps psycopg2's adapters;
    ``"psycopg2"`` leaves Django's SQL and parameters untouched.
    """

    vendor = "postgresql"
    can_return_rows_from_insert = True

    def __init__(self, driver: Literal["asyncpg", "psycopg2"]) -> None:
        self.driver = driver

    def __repr__(self) -> str:
        return f"PostgreSQLDialect({self.driver!r})"

    def prepare_sql(self, sql: str) -> str:
        """Return *sql* (Django's ``%s`` placeholders) as the driver takes it."""
        return _numbered(sql) if self.driver == "asyncpg" else sql

    def prepare_params(self, params: Sequence[Any]) -> Sequence[Any]:
        """Return *params* as the driver takes them (psycopg2 adapters made plain)."""
        if self.driver == "psycopg2" or not any(isinstance(p, _ADAPTERS) for p in params):
            return params
        return [_plain(p) for p in params]

    def last_executed_query(self, sql: str, params: Sequence[Any]) -> str:
        """Return *sql* (``%s`` placeholders) with *params* written in as psycopg2 does.

        Django logs psycopg2's ``cursor.query``: the statement psycopg2 sent, values
        interpolated client-side. Both drivers' connections take Django's ``%s`` SQL.
        """
        try:
            if isinstance(params, Mapping):
                return sql % {key: _literal(value) for key, value in params.items()}
            return sql % tuple(_literal(value) for value in params)
        except (TypeError, ValueError, psycopg2.Error):
            # A value psycopg2 cannot adapt, or SQL that is no format string.
            return sql


#: The dialect of the asyncpg driver (async flavor and ``vinyl.pg.to_sql``).
ASYNCPG = PostgreSQLDialect("asyncpg")
#: The dialect of the psycopg2 driver (sync flavor).
PSYCOPG2 = PostgreSQLDialect("psycopg2")
