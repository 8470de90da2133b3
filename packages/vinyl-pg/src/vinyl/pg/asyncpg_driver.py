"""The async driver: asyncpg connections in a small pool of vinyl's own.

asyncpg's ``Pool`` costs a task, a future and a proxy per acquire and release; vinyl's
pool (a :class:`~vinyl.query._async.BasePool`, as every vinyl pool) keeps a list
of idle connections behind ``max_size`` slots, and releasing a healthy connection does no
I/O and never suspends. What else vinyl changes in asyncpg's defaults, and why:

- **No reset on release.** asyncpg's default ``Connection.reset()`` costs a round trip
  on every release. vinyl ends every transaction it opens, so a released connection is
  clean. One released inside a transaction, interrupted mid-statement, found lost or
  discarded by the caller (``release(discard=True)``) is closed instead of pooled, with
  the reason logged; an idle one the server closed meanwhile is replaced when taken.
- **Django's values.** ``inet``/``cidr`` read as ``str`` and ``bytea`` as ``memoryview``
  (as psycopg2 returns them; as ``bytes`` where Django runs on psycopg 3, as it returns
  them), ``hstore`` as ``dict``, and, with ``USE_TZ = False``, ``timestamptz`` as naive
  datetimes in ``TIME_ZONE``: what Django's connection returns. (Ranges are converted by
  the ENGINE's ``DatabaseOperations``.) ``date.max``/``date.min`` and
  ``datetime.max``/``datetime.min`` are written as the dates and moments Django writes, not
  as asyncpg's ``'infinity'`` and ``'-infinity'``; these infinities read as psycopg2 reads
  them (Django on psycopg 3 raises).
- **Django's paramstyle.** Connections take Django's SQL (``%s``) and number its
  placeholders (``$1``), cached per SQL text, so one backend dialect serves both flavors.
- **Typed parameters.** asyncpg refuses a parameter whose Python type does not match
  the type the server inferred (an ``int`` for a ``text`` parameter), before sending
  anything. The connection then converts the parameters to the inferred types and
  retries once; the transaction is untouched since nothing reached the server.
"""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import asyncpg
from django.conf import settings
from django.db.backends.postgresql.psycopg_any import is_psycopg3
from vinyl.pg import server
from vinyl.pg._connect import SSL_OPTIONS, check_options, connect_error, session_settings
from vinyl.pg.dialect import ASYNCPG
from vinyl.pg.errors import django_error, lost_error
from vinyl.query._async import BasePool
from vinyl.query.backend import Dialect, PoolConfig, PooledConnection, Row

__all__ = ["AsyncpgConnection", "AsyncpgDriver", "AsyncpgPool"]

logger = logging.getLogger(__name__)

_ARGUMENT_ERROR = "invalid input for query argument"
_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
_DAY = datetime.timedelta(days=1)


class AsyncpgDriver:
    """Open :class:`AsyncpgPool` instances (the ``AsyncDriver`` of ``vinyl.postgresql_backend``)."""

    async def create_pool(self, config: PoolConfig, dialect: Dialect) -> AsyncpgPool:
        """Return a started pool for *config*.

        Raise ``ImproperlyConfigured`` for ``OPTIONS`` the driver cannot honour, and
        ``OperationalError`` if the server is unreachable.
        """
        check_options(config)
        pool = AsyncpgPool(config)
        await pool.start()
        return pool


class AsyncpgConnection(PooledConnection[asyncpg.Connection]):
    """One asyncpg connection, taking Django's SQL and parameters."""

    __slots__ = ()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it affected."""
        # Without parameters asyncpg uses the simple protocol: no prepare round trip.
        status = await self._call(self.raw.execute, ASYNCPG.prepare_sql(sql), params)
        return _rowcount(status)

    async def execute_insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT; return ``None`` (PostgreSQL returns ids with ``RETURNING``)."""
        await self.execute(sql, params)
        return None

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one query and return all its rows."""
        rows: list[Row] = await self._call(self.raw.fetch, ASYNCPG.prepare_sql(sql), params)
        return rows

    async def fetch_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[Row]]:
        """Run one query; return its column names and all its rows."""
        result: tuple[list[str], list[Row]] = await self._call(
            self._fetch_with_columns, ASYNCPG.prepare_sql(sql), params
        )
        return result

    async def _fetch_with_columns(self, sql: str, *args: Any) -> tuple[list[str], list[Row]]:
        # The prepared statement names its columns even when no row comes back. Its own
        # fetch() ends the exchange: after prepare() alone, asyncpg leaves the server inside
        # the statement's implicit transaction, holding its table locks. Unnamed (as the
        # retry's below): used once, so nothing outlives the exchange on a server connection
        # a pooler (PgBouncer) lends to other clients next; asyncpg before 0.31 named it.
        statement = await self.raw.prepare(sql, name="")
        rows: list[Row] = await statement.fetch(*args)
        return [attribute.name for attribute in statement.get_attributes()], rows

    async def close(self) -> None:
        """Close the connection for good."""
        await self.raw.close()

    async def _call(self, method: Callable[..., Any], sql: str, params: Sequence[Any]) -> Any:
        args = ASYNCPG.prepare_params(params)
        # Cleared when the statement ends, with a result or an error; a cancellation
        # (or any BaseException) leaves it set and the pool closes the connection.
        self.busy = True
        # One coroutine between the caller and asyncpg: each level costs every statement.
        try:
            try:
                result = await method(sql, *args)
            except asyncpg.DataError as exc:
                if not str(exc).startswith(_ARGUMENT_ERROR):
                    raise
                result = await self._retry(method, sql, args, exc)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            self.busy = False
            if _lost(self.raw):
                self.broken = True
                raise lost_error(exc) from exc
            raise django_error(exc, args) from exc
        except asyncpg.exceptions.InternalClientError as exc:
            # The protocol met a message it did not expect, such as the FATAL a server
            # sends an idle connection it terminates: the connection is unusable.
            self.busy = False
            self.broken = True
            raise lost_error(exc) from exc
        except Exception:
            self.busy = False
            raise
        self.busy = False
        return result

    async def _retry(
        self, method: Callable[..., Any], sql: str, args: Sequence[Any], exc: asyncpg.DataError
    ) -> Any:
        """Run *method* again with *args* converted to the types the server inferred.

        asyncpg refused *args* client-side (*exc*), before sending anything. Raise *exc*
        when they do not convert ("abc" for an integer): asyncpg's refusal is the error.
        """
        statement = await self.raw.prepare(sql, name="")
        try:
            coerced = _coerce_params(args, [t.name for t in statement.get_parameters()])
        except (TypeError, ValueError, ArithmeticError):
            raise exc from None
        return await method(sql, *coerced)


class AsyncpgPool(BasePool[asyncpg.Connection, AsyncpgConnection]):
    """A bounded pool of asyncpg connections on the event loop that created it.

    See :class:`~vinyl.query._async.BasePool` for its states and bounds.
    """

    def __init__(self, config: PoolConfig) -> None:
        super().__init__(config, AsyncpgConnection)

    async def get_new_connection(self) -> asyncpg.Connection:
        """Open an asyncpg connection that reads and writes Django's values."""
        config = self.config
        ssl = {key: config.options[key] for key in SSL_OPTIONS if key in config.options}
        kwargs: dict[str, Any] = {}
        if config.statement_cache_size is not None:
            kwargs["statement_cache_size"] = config.statement_cache_size
        try:
            connection = await asyncpg.connect(
                # asyncpg reads libpq's SSL settings from a DSN only.
                f"postgresql://?{urlencode(ssl)}" if ssl else None,
                host=config.host or None,
                port=config.port,
                user=config.user or None,
                password=config.password or None,
                database=config.name or None,
                timeout=config.connect_timeout,
                server_settings=session_settings(config),
                **kwargs,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise connect_error(config, exc) from exc
        try:
            await _init_connection(connection)
        except BaseException:
            connection.terminate()
            raise
        server.record_version(config.alias, _version_num(connection.get_server_version()))
        return connection

    def discard_reason(self, raw: asyncpg.Connection, *, returned: bool = False) -> str | None:
        """Return why *raw* must not be lent again, with no I/O; ``None`` if it may."""
        if _lost(raw):
            return "the server closed the connection"
        if raw.is_in_transaction():
            # vinyl ends every transaction it opens; one left open was abandoned half-way.
            return "a transaction was left open"
        return None

    async def close_connection(self, raw: asyncpg.Connection) -> None:
        """Close *raw*, asking the server to cancel a statement it may still run."""
        # close(), unlike terminate(), first waits until asyncpg has asked the server to
        # cancel an interrupted statement: a dropped socket alone leaves the server
        # running it, holding a backend beyond pool_max_size.
        try:
            await raw.close(timeout=self.config.timeout)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
            logger.info("Closing a connection of alias %r failed; dropping it.", self.config.alias)
            if not _lost(raw):
                raw.terminate()


def _lost(raw: asyncpg.Connection) -> bool:
    """Return whether *raw*'s link to the server is gone."""
    try:
        return bool(raw.is_closed())
    except asyncpg.InterfaceError:
        # asyncpg hands a connection whose socket closed back to its pool by itself.
        return True


def _coerce_params(params: Sequence[Any], type_names: Sequence[str]) -> list[Any]:
    """Return *params* converted to the PostgreSQL types *type_names* the server inferred."""
    return [
        _COERCIONS.get(name, _keep)(value) if value is not None else None
        for value, name in zip(params, type_names, strict=True)
    ]


def _keep(value: Any) -> Any:
    return value


def _to_str(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _to_int(value: Any) -> Any:
    return value if isinstance(value, int) else int(value)


def _to_decimal(value: Any) -> Any:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _to_float(value: Any) -> Any:
    return value if isinstance(value, float) else float(value)


def _to_uuid(value: Any) -> Any:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _to_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


_COERCIONS: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(("text", "varchar", "bpchar", "name", "citext", "unknown"), _to_str),
    **dict.fromkeys(("int2", "int4", "int8", "oid"), _to_int),
    "numeric": _to_decimal,
    **dict.fromkeys(("float4", "float8"), _to_float),
    "uuid": _to_uuid,
    **dict.fromkeys(("json", "jsonb"), _to_json),
}


def _version_num(version: Any) -> int:
    # The server_version_num form Django's pg_version uses: 15.4 is 150004 (PostgreSQL 10+).
    return int(version.major * 10000 + version.micro)


def _rowcount(status: str) -> int:
    # asyncpg returns the command tag ("UPDATE 3", "INSERT 0 1", "BEGIN").
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


async def _init_connection(connection: asyncpg.Connection) -> None:
    """Make a new connection read and write the values Django's connection does."""
    for name in ("inet", "cidr"):
        await connection.set_type_codec(
            name, schema="pg_catalog", encoder=str, decoder=str, format="text"
        )
    await connection.set_type_codec(
        "bytea", schema="pg_catalog", encoder=bytes, decoder=_BYTEA_DECODER, format="binary"
    )
    # The session's time zone: the server reads a naive value for a timestamptz in it, and
    # converts an aware one (a timestamptz, as Django's drivers pass it) to a date or a
    # timestamp in it.
    zone = ZoneInfo(settings.TIME_ZONE) if not settings.USE_TZ else datetime.UTC
    await connection.set_type_codec(
        "date",
        schema="pg_catalog",
        encoder=partial(_encode_date, zone=zone),
        decoder=_decode_date,
        format="tuple",
    )
    await connection.set_type_codec(
        "timestamp",
        schema="pg_catalog",
        encoder=partial(_encode_timestamp, zone=zone),
        decoder=_decode_timestamp,
        format="tuple",
    )
    await connection.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=partial(_encode_timestamptz, zone=zone),
        decoder=_decode_timestamptz if settings.USE_TZ else partial(_decode_naive, zone=zone),
        format="tuple",
    )
    try:
        await connection.set_builtin_type_codec("hstore", codec_name="pg_contrib.hstore")
    except ValueError:
        # The hstore extension is not installed in this database; nothing reads it.
        pass


#: PostgreSQL counts days from 2000-01-01; these day numbers are its infinities.
_DATE_EPOCH = datetime.date(2000, 1, 1).toordinal()
_DATE_INFINITY = 2**31 - 1
_DATE_MINUS_INFINITY = -(2**31)
_from_ordinal = datetime.date.fromordinal


def _encode_date(value: datetime.date, zone: datetime.tzinfo) -> tuple[int]:
    # asyncpg's own encoder writes date.max and date.min as 'infinity' and '-infinity';
    # Django's drivers write the dates (9999-12-31, 0001-01-01), which Django on psycopg 3
    # can read back (it raises on infinity).
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        value = value.astimezone(zone)
    return (value.toordinal() - _DATE_EPOCH,)


def _decode_date(value: tuple[int]) -> datetime.date:
    # The infinities (written by hand, or by an older vinyl) read as psycopg2 and asyncpg
    # read them. No date Python has is one of them, so they are looked for only when
    # fromordinal() refuses the day: comparing every day with them first was half of this
    # function's instructions. A day refused otherwise raises fromordinal()'s error.
    try:
        return _from_ordinal(value[0] + _DATE_EPOCH)
    except (ValueError, OverflowError):
        days = value[0]
        if days == _DATE_INFINITY:
            return datetime.date.max
        if days == _DATE_MINUS_INFINITY:
            return datetime.date.min
        raise


def _bytea_view(data: bytes) -> memoryview[bytes]:
    # psycopg2's memoryview has format "c", and memoryviews of other formats compare unequal.
    return memoryview(data).cast("c")


#: ``bytea`` as Django's driver reads it: psycopg 3 gives ``bytes``, psycopg2 a memoryview.
_BYTEA_DECODER: Callable[[bytes], Any] = bytes if is_psycopg3 else _bytea_view


#: PostgreSQL counts microseconds from 2000-01-01 00:00 (UTC for timestamptz); the
#: largest and smallest counts are its infinities, read as psycopg2 reads them.
_NAIVE_EPOCH = datetime.datetime(2000, 1, 1)
_MICROSECOND = datetime.timedelta(microseconds=1)
_NAIVE_INFINITIES = {2**63 - 1: datetime.datetime.max, -(2**63): datetime.datetime.min}
_AWARE_INFINITIES = {
    count: moment.replace(tzinfo=datetime.UTC) for count, moment in _NAIVE_INFINITIES.items()
}

# asyncpg's own timestamp codecs write datetime.max and datetime.min (naive, or aware at
# that instant in UTC) as 'infinity' and '-infinity', and refuse an aware value past them
# in UTC; Django's drivers write the moments. These encode the microsecond count, and
# decode it faster than asyncpg's (a timedelta product, not its constructor).


def _encode_timestamp(value: datetime.date, zone: datetime.tzinfo) -> tuple[int]:
    # An aware value is the moment's time in *zone*, the session's time zone.
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime(value.year, value.month, value.day)
    elif value.tzinfo is not None:
        value = value.astimezone(zone).replace(tzinfo=None)
    return ((value - _NAIVE_EPOCH) // _MICROSECOND,)


def _encode_timestamptz(value: datetime.date, zone: datetime.tzinfo) -> tuple[int]:
    # A naive value is a time in *zone*, the session's time zone.
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return ((value - _EPOCH) // _MICROSECOND,)


def _decode_timestamp(value: tuple[int]) -> datetime.datetime:
    try:
        return _NAIVE_EPOCH + _MICROSECOND * value[0]
    except OverflowError:
        return _infinity(value[0], _NAIVE_INFINITIES)


def _decode_timestamptz(value: tuple[int]) -> datetime.datetime:
    try:
        return _EPOCH + _MICROSECOND * value[0]
    except OverflowError:
        return _infinity(value[0], _AWARE_INFINITIES)


def _infinity(count: int, infinities: dict[int, datetime.datetime]) -> datetime.datetime:
    # The infinities were written by hand or by an older vinyl. Other moments outside years
    # 1-9999 raise, as with Django's drivers.
    try:
        return infinities[count]
    except KeyError:
        raise OverflowError("date value out of range") from None


def _decode_naive(value: tuple[int], zone: datetime.tzinfo) -> datetime.datetime:
    # USE_TZ = False: the moment in TIME_ZONE, naive, as Django's connection returns it.
    if value[0] in _NAIVE_INFINITIES:
        return _NAIVE_INFINITIES[value[0]]
    instant = _MICROSECOND * value[0]
    try:
        return (_EPOCH + instant).astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        # Past datetime.max in UTC but not in local time (9999-12-31 west of UTC):
        # convert a day earlier, then step the local time a day forward.
        return ((_EPOCH + (instant - _DAY)).astimezone(zone) + _DAY).replace(tzinfo=None)
