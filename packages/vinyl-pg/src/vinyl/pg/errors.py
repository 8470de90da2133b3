"""Translate asyncpg, psycopg2 and psycopg 3 exceptions into Django's database exceptions.

One table maps a SQLSTATE to a Django exception class: the exact five-character code
first, then its two-character class (as the DB-API drivers classify them). Errors that
carry no SQLSTATE (a lost connection, a client-side argument check) are classified by
the driver's exception type. Only the drivers' ``execute``/``fetch`` apply this module.
:func:`lost_error` is the error for a statement sent on a connection the server closed.

asyncpg is not imported here: only asyncpg raises its errors, so where it was never
imported (a process running vinyl_sync alone) no error can be one of them, and the
process does without its 3 MiB.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import psycopg2
from django.db import utils
from vinyl.query.backend import dbapi_error_class

if TYPE_CHECKING:
    import asyncpg

__all__ = ["DRIVER_ERRORS", "django_error", "exception_class", "lost_error"]

try:
    import psycopg
    from psycopg.types.numeric import Int2, Int4, Int8
except ImportError:  # psycopg 3 is optional: Django's backend then runs on psycopg2
    #: The base classes of the sync drivers' errors.
    DRIVER_ERRORS: tuple[type[Exception], ...] = (psycopg2.Error,)
    #: Django's typed integers on psycopg 3 (``adapt_integerfield_value``): the name and
    #: range of each type. A list of them is a typed literal, ``'{0,2147483648}'::int4[]``.
    _TYPED_INTEGERS: dict[type, tuple[str, int]] = {}
else:
    DRIVER_ERRORS = (psycopg2.Error, psycopg.Error)
    _TYPED_INTEGERS = {Int2: ("smallint", 2**15), Int4: ("integer", 2**31), Int8: ("bigint", 2**63)}

#: Exact SQLSTATE codes whose class alone would say something else.
_BY_CODE: dict[str, type[utils.Error]] = {
    "0A000": utils.NotSupportedError,  # feature_not_supported
    "57P01": utils.OperationalError,  # admin_shutdown (pg_terminate_backend)
    "57014": utils.OperationalError,  # query_canceled (statement_timeout, cancel)
}

#: Two-character SQLSTATE classes.
_BY_CLASS: dict[str, type[utils.Error]] = {
    "08": utils.OperationalError,  # connection exception
    "0A": utils.NotSupportedError,
    "20": utils.ProgrammingError,  # case not found
    "21": utils.ProgrammingError,  # cardinality violation
    "22": utils.DataError,  # data exception
    "23": utils.IntegrityError,  # integrity constraint violation
    "24": utils.InternalError,  # invalid cursor state
    "25": utils.InternalError,  # invalid transaction state (e.g. in failed transaction)
    "26": utils.OperationalError,  # invalid SQL statement name
    "27": utils.OperationalError,  # triggered data change violation
    "28": utils.OperationalError,  # invalid authorization specification
    "2B": utils.InternalError,
    "2D": utils.InternalError,
    "2F": utils.InternalError,
    "34": utils.OperationalError,  # invalid cursor name
    "38": utils.InternalError,
    "39": utils.InternalError,
    "3B": utils.InternalError,  # savepoint exception
    "3D": utils.ProgrammingError,  # invalid catalog name
    "3F": utils.ProgrammingError,  # invalid schema name
    "40": utils.OperationalError,  # transaction rollback (serialization, deadlock)
    "42": utils.ProgrammingError,  # syntax error or access rule violation
    "44": utils.ProgrammingError,  # WITH CHECK OPTION violation
    "53": utils.OperationalError,  # insufficient resources
    "54": utils.OperationalError,  # program limit exceeded
    "55": utils.OperationalError,  # object not in prerequisite state
    "57": utils.OperationalError,  # operator intervention
    "58": utils.OperationalError,  # system error
    "F0": utils.InternalError,
    "HV": utils.OperationalError,  # foreign data wrapper
    "P0": utils.InternalError,  # PL/pgSQL
    "XX": utils.InternalError,
}

#: asyncpg checks an integer argument's range itself, before sending it; the server (so
#: psycopg2, and Django) reports the same value as SQLSTATE 22003 with these messages.
_ARGUMENT_RANGE = re.compile(r"\(value out of (int16|int32|int64) range\)")
_SERVER_RANGE_MESSAGES = {
    "int16": "smallint out of range",
    "int32": "integer out of range",
    "int64": "bigint out of range",
}
#: The argument asyncpg names when it refuses one: ``query argument $3: ...``.
_ARGUMENT_NUMBER = re.compile(r"query argument \$(\d+):")

#: What to do when asyncpg's named statements meet a pooler in transaction mode.
_BEHIND_A_POOLER = (
    "A connection pooler in transaction mode (PgBouncer) sits between vinyl and PostgreSQL "
    "and runs this connection's statements on several server connections: set "
    "'statement_cache_size': 0 in the vinyl alias's OPTIONS (vinyl-pg's README, "
    "'Behind PgBouncer')."
)
_ASYNCPG_STATEMENT = "__asyncpg_stmt_"


def exception_class(sqlstate: str | None) -> type[utils.Error]:
    """Return the Django exception class for *sqlstate* (``DatabaseError`` if unknown)."""
    if not sqlstate:
        return utils.DatabaseError
    return _BY_CODE.get(sqlstate) or _BY_CLASS.get(sqlstate[:2], utils.DatabaseError)


def django_error(exc: BaseException, params: Sequence[Any] = ()) -> utils.Error:
    """Return the Django exception for driver error *exc*, with the driver's message.

    *params*: the statement's parameters, as Django gave them (an error about one of them
    is worded as the server words it for Django's driver). The caller raises the result
    ``from exc``. The SQLSTATE, when there is one, is kept on the result as ``sqlstate``.
    """
    sqlstate: str | None
    cls: type[utils.Error]
    asyncpg = _asyncpg()
    if asyncpg is not None and isinstance(exc, asyncpg.PostgresError):
        sqlstate, cls, message = _from_asyncpg(asyncpg, exc, params)
    elif isinstance(exc, DRIVER_ERRORS):
        sqlstate = exc.pgcode if isinstance(exc, psycopg2.Error) else exc.sqlstate  # type: ignore[attr-defined]
        # Without a SQLSTATE (e.g. "server closed the connection unexpectedly") the
        # driver's own DB-API class is the classification.
        cls = exception_class(sqlstate) if sqlstate else dbapi_error_class(exc)
        message = str(exc)
    else:
        sqlstate = None
        cls = _client_error_class(exc)
        message = str(exc) or type(exc).__name__
    error = cls(message)
    error.sqlstate = sqlstate  # type: ignore[attr-defined]
    return error


def lost_error(exc: BaseException) -> utils.OperationalError:
    """Return the error for a statement sent on a connection the server has closed."""
    return utils.OperationalError(
        f"The connection to the PostgreSQL server was lost ({exc}); the server restarted "
        f"or ended it (pg_terminate_backend). vinyl discards it and the next operation "
        f"opens a new one."
    )


def _asyncpg() -> ModuleType | None:
    """Return asyncpg if it was imported, else ``None`` (see the module's docstring)."""
    return sys.modules.get("asyncpg")


def _from_asyncpg(
    asyncpg: ModuleType, exc: asyncpg.PostgresError, params: Sequence[Any]
) -> tuple[str | None, type[utils.Error], str]:
    """Return the SQLSTATE, Django exception class and message of asyncpg's *exc*."""
    found = _ARGUMENT_RANGE.search(str(exc)) if isinstance(exc, asyncpg.DataError) else None
    if found is not None:
        # asyncpg refused the argument client-side (its DataError is a PostgresError with
        # no server behind it): the server's error for the same value, so both drivers
        # raise the same one; asyncpg's own message stays on the chained exception.
        message = _typed_array_message(str(exc), params) or _SERVER_RANGE_MESSAGES[found.group(1)]
        return "22003", utils.DataError, message
    statement_errors = (
        asyncpg.exceptions.InvalidSQLStatementNameError,
        asyncpg.exceptions.DuplicatePreparedStatementError,
    )
    if isinstance(exc, statement_errors) and _ASYNCPG_STATEMENT in str(exc):
        # A statement asyncpg prepared on one server connection, used on another: a pooler
        # in transaction mode sits in between. asyncpg's hint names its own settings.
        message = f"{str(exc).splitlines()[0]}. {_BEHIND_A_POOLER}"
        return exc.sqlstate, exception_class(exc.sqlstate), message
    # asyncpg's text already carries the DETAIL and HINT lines, as psycopg2's does.
    return exc.sqlstate, exception_class(exc.sqlstate), str(exc)


def _typed_array_message(text: str, params: Sequence[Any]) -> str | None:
    """Return the server's message for the argument asyncpg refused in *text*, when it is
    a list of Django's typed integers (an ``UNNEST`` insert's column, on psycopg 3).

    Django's driver writes that list as a typed literal, and the server names its first
    item out of range: ``value "2147483648" is out of range for type integer``. Plain
    integers (psycopg2's, or a list given to a cursor) get the scalar's message.
    """
    found = _ARGUMENT_NUMBER.search(text)
    index = int(found.group(1)) - 1 if found is not None else len(params)
    argument = params[index] if index < len(params) else None
    if not isinstance(argument, list):
        return None
    for item in argument:
        typed = _TYPED_INTEGERS.get(type(item))
        if typed is not None and not -typed[1] <= item < typed[1]:
            return f'value "{int(item)}" is out of range for type {typed[0]}'
    return None


def _client_error_class(exc: BaseException) -> type[utils.Error]:
    """Return the Django exception class of *exc*, an error without a SQLSTATE."""
    if isinstance(exc, OSError):
        return utils.OperationalError
    # (asyncpg's errors of a lost connection are PostgresErrors: _from_asyncpg's.)
    asyncpg = _asyncpg()
    if asyncpg is not None and isinstance(exc, asyncpg.InterfaceError):
        return utils.InterfaceError
    return utils.DatabaseError
