"""PostgreSQL dialect: Django's SQL and parameters, made ready for asyncpg or psycopg2.

Django's compiler writes ``%s`` placeholders and ``%%`` for a literal ``%`` (what psycopg2
takes: its DB-API ``paramstyle`` is ``pyformat``), and adapts some values with its driver's
wrappers: psycopg2's (``Json``, ``Inet``, ``Binary``, ranges) or, when psycopg 3 is
importable (Django then runs on it), psycopg 3's (``Jsonb``, ``Binary``, ``Range``) and
:mod:`ipaddress` objects. psycopg2 takes both as they are. asyncpg has no DB-API
paramstyle: it sends PostgreSQL's own numbered placeholders (``$1``), takes a ``%``
literally, and wants plain Python values.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any, Literal
from uuid import UUID

from psycopg2.extensions import Binary, adapt
from psycopg2.extras import Inet, Json, Range
from vinyl.pg.errors import DRIVER_ERRORS

__all__ = ["ASYNCPG", "PSYCOPG2", "PostgreSQLDialect"]

_PLACEHOLDER = re.compile(r"%([s%])")

try:  # psycopg 3 is optional; when importable, Django's backend runs on it.
    import psycopg  # type: ignore[import-not-found, unused-ignore]
    from psycopg.adapt import AdaptersMap, PyFormat, Transformer  # type: ignore[import-not-found, unused-ignore]
    from psycopg.types.json import Json as Json3  # type: ignore[import-not-found, unused-ignore]
    from psycopg.types.json import Jsonb as Jsonb3  # type: ignore[import-not-found, unused-ignore]
    from psycopg.types.range import Range as Range3  # type: ignore[import-not-found, unused-ignore]
    from psycopg.types.string import BytesDumper  # type: ignore[import-not-found, unused-ignore]
except ImportError:
    psycopg = None  # type: ignore[assignment, unused-ignore]
    _JSON3: tuple[type[Any], ...] = ()
    _BINARY3: tuple[type[Any], ...] = ()
    _RANGE3: tuple[type[Any], ...] = ()
    _ADDRESSES: tuple[type[Any], ...] = ()
else:
    _JSON3 = (Json3, Jsonb3)
    _BINARY3 = (psycopg.Binary,)
    _RANGE3 = (Range3,)
    # Django's GenericIPAddressField value on psycopg 3 (its ``Inet`` is ip_address()).
    _ADDRESSES = (
        ipaddress.IPv4Address,
        ipaddress.IPv6Address,
        ipaddress.IPv4Interface,
        ipaddress.IPv6Interface,
        ipaddress.IPv4Network,
        ipaddress.IPv6Network,
    )

_RANGES = (Range, *_RANGE3)
#: What writing a value as a literal may raise: a value the driver cannot adapt, or SQL
#: that is no format string.
_LITERAL_ERRORS: tuple[type[Exception], ...] = (TypeError, ValueError, *DRIVER_ERRORS)
_ADAPTERS = (Json, Inet, Range, Binary, list, *_JSON3, *_BINARY3, *_RANGE3, *_ADDRESSES)
#: Exact types of most parameters, none of them an adapter nor a subclass of one (checked
#: here): :meth:`PostgreSQLDialect.prepare_params` passes such a value by one set lookup,
#: not an ``isinstance()`` against each adapter class (up to fifteen).
_NOT_ADAPTERS = frozenset(
    kind
    for kind in (str, int, float, bool, type(None), bytes, Decimal, UUID, date, datetime, time)
    if not issubclass(kind, _ADAPTERS)
)


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
    """Return *value* without Django's psycopg2 or psycopg 3 adapter around it."""
    if isinstance(value, Json):
        return value.dumps(value.adapted)
    if isinstance(value, Inet):
        return value.addr
    if isinstance(value, Binary):
        return value.adapted
    if isinstance(value, _RANGES):
        # Only the asyncpg dialect unwraps: imported here, vinyl_sync alone never loads it.
        import asyncpg

        # psycopg2's and psycopg 3's ranges name their bounds alike.
        return asyncpg.Range(
            value.lower,
            value.upper,
            lower_inc=value.lower_inc,
            upper_inc=value.upper_inc,
            empty=value.isempty,
        )
    if isinstance(value, list):
        return [_plain(item) for item in value] if _holds_adapters(value) else value
    if isinstance(value, _JSON3):
        return _json3_text(value)
    if isinstance(value, _BINARY3):
        return value.obj
    if isinstance(value, _ADDRESSES):
        # The asyncpg connections write inet/cidr as text (asyncpg_driver).
        return str(value)
    return value


def _json3_text(value: Any) -> str:
    """Return the JSON text psycopg 3 sends for its ``Json``/``Jsonb`` *value*.

    Django gives its ``dumps`` (its encoder's); without one, psycopg 3's global dumper's
    (``json.dumps`` unless ``psycopg.types.json.set_json_dumps()`` changed it).
    """
    if value.dumps is not None:
        data = value.dumps(value.obj)
    else:
        dumper = psycopg.adapters.get_dumper(type(value), PyFormat.TEXT)
        data = dumper(type(value)).dump(value)
    return data if isinstance(data, str) else bytes(data).decode()


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


@cache
def _psycopg3_adapters() -> Any:
    """Return psycopg 3's adapters as on Django's connection, to write literals with.

    Django registers its range dumper on its connections. Without a connection psycopg 3
    writes ``bytea`` in the escape format; on one (standard_conforming_strings, PostgreSQL's
    default) it writes hex, as here.
    """
    from django.db.backends.postgresql.psycopg_any import DjangoRangeDumper

    class HexBytesDumper(BytesDumper):  # type: ignore[misc, unused-ignore]
        def quote(self, obj: Any) -> bytes:
            data = obj.obj if isinstance(obj, psycopg.Binary) else obj
            return b"'\\x" + bytes(data).hex().encode() + b"'"

    adapters = AdaptersMap(psycopg.adapters)
    adapters.register_dumper(Range3, DjangoRangeDumper)
    for kind in (bytes, bytearray, memoryview, psycopg.Binary):
        adapters.register_dumper(kind, HexBytesDumper)
    return adapters


def _psycopg3_literal() -> Callable[[Any], str]:
    """Return a function writing a value as psycopg 3's ``ClientCursor.mogrify()`` does."""
    transformer = Transformer(_psycopg3_adapters())

    def literal(value: Any) -> str:
        quoted: bytes = transformer.as_literal(value)
        return quoted.decode()

    return literal


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
        """Return *params* as the driver takes them (psycopg adapters made plain)."""
        if self.driver == "psycopg2":
            return params
        # A loop, not any() over a generator: every statement with parameters comes here.
        for param in params:
            if type(param) not in _NOT_ADAPTERS and isinstance(param, _ADAPTERS):
                return [_plain(p) for p in params]
        return params

    def last_executed_query(self, sql: str, params: Sequence[Any]) -> str:
        """Return *sql* (``%s`` placeholders) with *params* written in as Django's driver does.

        Django logs psycopg2's ``cursor.query`` (the statement psycopg2 sent, values
        interpolated client-side) or, on psycopg 3, the statement its ``ClientCursor``
        writes. Both drivers' connections take Django's ``%s`` SQL.
        """
        try:
            literal = _literal if psycopg is None else _psycopg3_literal()
            if isinstance(params, Mapping):
                return sql % {key: literal(value) for key, value in params.items()}
            return sql % tuple(literal(value) for value in params)
        except _LITERAL_ERRORS:
            # A value the driver cannot adapt, or SQL that is no format string.
            return sql


#: The dialect of the asyncpg driver (async flavor and ``vinyl.pg.to_sql``).
ASYNCPG = PostgreSQLDialect("asyncpg")
#: The dialect of the psycopg2 driver (sync flavor).
PSYCOPG2 = PostgreSQLDialect("psycopg2")
