"""Translate PyMySQL/aiomysql/mysqlclient/asyncmy errors into Django's, by MySQL error number.

aiomysql raises PyMySQL's exception classes, and mysqlclient's and asyncmy's carry the error
number in ``args[0]`` as PyMySQL's do, so one table serves the four drivers; each names its
DB-API classes in a :class:`DriverErrors` (:data:`PYMYSQL` for PyMySQL and aiomysql). The
drivers apply :func:`django_error` (the name ``vinyl.pg.errors`` uses too) in their
``execute``/``fetch`` only. The Django exception
carries the driver's ``args`` unchanged (so its text is what Django's own MySQL backend
shows for the same error), the driver's exception as ``__cause__``, and ``errno``.

The driver's classes are always named through the top-level ``pymysql`` module: once
PyMySQL stands in for ``MySQLdb``, importing Django's backend loads a second copy of
``pymysql/err.py`` as ``MySQLdb.err`` and rebinds the ``pymysql.err`` attribute to it,
while PyMySQL and aiomysql keep raising the classes of the first copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pymysql
from django.db import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
)
from vinyl.query.backend import PooledConnection

__all__ = [
    "DISCONNECT_ERRNOS",
    "ERRNO_TO_EXCEPTION",
    "PYMYSQL",
    "DriverErrors",
    "django_error",
    "errno_of",
    "is_disconnect",
    "running",
]

#: Error numbers after which the connection is gone: it is discarded, never pooled again.
DISCONNECT_ERRNOS = frozenset(
    {
        1053,  # ER_SERVER_SHUTDOWN
        1927,  # ER_CONNECTION_KILLED (MariaDB)
        2006,  # CR_SERVER_GONE_ERROR
        2013,  # CR_SERVER_LOST
        2055,  # CR_SERVER_LOST_EXTENDED
        4031,  # ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8.0.24+)
    }
)

_INTEGRITY = (
    1022,  # ER_DUP_KEY
    1048,  # ER_BAD_NULL_ERROR
    1062,  # ER_DUP_ENTRY
    1169,  # ER_DUP_UNIQUE
    1216,  # ER_NO_REFERENCED_ROW
    1217,  # ER_ROW_IS_REFERENCED
    1364,  # ER_NO_DEFAULT_FOR_FIELD: a NOT NULL column left out, like PostgreSQL's 23502
    1451,  # ER_ROW_IS_REFERENCED_2
    1452,  # ER_NO_REFERENCED_ROW_2
    1557,  # ER_FOREIGN_DUPLICATE_KEY
    1586,  # ER_DUP_ENTRY_WITH_KEY_NAME
    1690,  # ER_DATA_OUT_OF_RANGE on UNSIGNED arithmetic; Django maps it so too
    3819,  # ER_CHECK_CONSTRAINT_VIOLATED (MySQL)
    4025,  # ER_CONSTRAINT_FAILED (MariaDB CHECK)
)
_DATA = (
    1264,  # ER_WARN_DATA_OUT_OF_RANGE
    1265,  # WARN_DATA_TRUNCATED
    1292,  # ER_TRUNCATED_WRONG_VALUE (bad date/time literal)
    1366,  # ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
    1367,  # ER_ILLEGAL_VALUE_FOR_TYPE
    1406,  # ER_DATA_TOO_LONG
    1441,  # ER_DATETIME_FUNCTION_OVERFLOW
    3140,  # ER_INVALID_JSON_TEXT (MySQL)
    4038,  # ER_JSON_SYNTAX (MariaDB)
)
_OPERATIONAL = (
    1040,  # ER_CON_COUNT_ERROR
    1044,  # ER_DBACCESS_DENIED_ERROR
    1045,  # ER_ACCESS_DENIED_ERROR
    1049,  # ER_BAD_DB_ERROR
    1205,  # ER_LOCK_WAIT_TIMEOUT
    1213,  # ER_LOCK_DEADLOCK
    2002,  # CR_CONNECTION_ERROR
    2003,  # CR_CONN_HOST_ERROR
    *DISCONNECT_ERRNOS,
)
_PROGRAMMING = (
    1007,  # ER_DB_CREATE_EXISTS
    1008,  # ER_DB_DROP_EXISTS
    1050,  # ER_TABLE_EXISTS_ERROR
    1051,  # ER_BAD_TABLE_ERROR
    1052,  # ER_NON_UNIQ_ERROR
    1054,  # ER_BAD_FIELD_ERROR
    1060,  # ER_DUP_FIELDNAME
    1061,  # ER_DUP_KEYNAME
    1064,  # ER_PARSE_ERROR
    1091,  # ER_CANT_DROP_FIELD_OR_KEY
    1110,  # ER_FIELD_SPECIFIED_TWICE
    1146,  # ER_NO_SUCH_TABLE
    1149,  # ER_SYNTAX_ERROR
)
_NOT_SUPPORTED = (
    1235,  # ER_NOT_SUPPORTED_YET
    1286,  # ER_UNKNOWN_STORAGE_ENGINE
    1289,  # ER_FEATURE_DISABLED
)

#: errno → Django exception class; an errno not listed falls back to the driver's class.
ERRNO_TO_EXCEPTION: dict[int, type[Error]] = {
    **dict.fromkeys(_INTEGRITY, IntegrityError),
    **dict.fromkeys(_DATA, DataError),
    **dict.fromkeys(_OPERATIONAL, OperationalError),
    **dict.fromkeys(_PROGRAMMING, ProgrammingError),
    **dict.fromkeys(_NOT_SUPPORTED, NotSupportedError),
}

# A driver's DB-API class (by its PEP 249 name) → Django's, most specific first (checked
# with isinstance).
_DBAPI_TO_DJANGO: tuple[tuple[str, type[Error]], ...] = (
    ("IntegrityError", IntegrityError),
    ("DataError", DataError),
    ("OperationalError", OperationalError),
    ("ProgrammingError", ProgrammingError),
    ("NotSupportedError", NotSupportedError),
    ("InternalError", InternalError),
    ("DatabaseError", DatabaseError),
    ("InterfaceError", InterfaceError),
)


@dataclass(frozen=True)
class DriverErrors:
    """The DB-API exception classes of one driver, and Django's class for each."""

    #: The driver's ``Error``: what :func:`running` translates.
    base: type[Exception]
    #: The driver's ``InterfaceError``: the connection can no longer be used.
    interface: type[Exception]
    #: The driver's ``OperationalError``, for the errors vinyl raises in the driver's name.
    operational: type[Exception]
    classes: tuple[tuple[type[Exception], type[Error]], ...]

    @classmethod
    def of(cls, module: ModuleType) -> DriverErrors:
        """Return the exception classes of the DB-API *module* (``pymysql``, ``MySQLdb``...)."""
        return cls(
            base=module.Error,
            interface=module.InterfaceError,
            operational=module.OperationalError,
            classes=tuple((getattr(module, name), django) for name, django in _DBAPI_TO_DJANGO),
        )


#: PyMySQL's classes, which aiomysql raises too.
PYMYSQL = DriverErrors.of(pymysql)


def errno_of(exc: BaseException) -> int | None:
    """Return the MySQL error number a driver exception carries, if any."""
    args = exc.args
    return args[0] if args and isinstance(args[0], int) else None


def is_disconnect(exc: BaseException, errors: DriverErrors = PYMYSQL) -> bool:
    """Return whether the driver's *exc* means the connection can no longer be used."""
    if isinstance(exc, errors.interface):
        return True
    return errno_of(exc) in DISCONNECT_ERRNOS


def django_error(exc: Exception, errors: DriverErrors = PYMYSQL) -> Error:
    """Return the Django exception for the driver's *exc*, to be raised ``from exc``.

    *errors* names the driver's classes (PyMySQL's, which aiomysql raises, by default).
    """
    errno = errno_of(exc)
    cls = ERRNO_TO_EXCEPTION.get(errno) if errno is not None else None
    if cls is None:
        cls = next(
            (django for driver, django in errors.classes if isinstance(exc, driver)),
            Error,
        )
    error = cls(*exc.args)
    error.errno = errno  # type: ignore[attr-defined]
    return error


@contextmanager
def running(connection: PooledConnection[Any], errors: DriverErrors = PYMYSQL) -> Iterator[None]:
    """Run one statement on *connection*: ``busy`` meanwhile, driver errors as Django's.

    *errors* names the driver's classes (PyMySQL's, which aiomysql raises, by default).

    A driver error ends the statement (``busy`` cleared), marks the connection ``broken``
    when it means the connection is gone, and is raised as :func:`django_error` ``from`` it.
    Anything else (a cancellation, ``KeyboardInterrupt``) leaves ``busy`` set: the pool then
    closes the connection instead of lending it in an unknown state.
    """
    connection.busy = True
    try:
        yield
    except errors.base as exc:
        connection.busy = False
        connection.broken = is_disconnect(exc, errors)
        raise django_error(exc, errors) from exc
    connection.busy = False
