"""Translate sqlite3 (and aiosqlite) errors into Django's, by SQLite result code.

aiosqlite raises the standard library's sqlite3 exceptions, so one table serves both
drivers. An error carries SQLite's extended result code (``sqlite_errorcode``, such as
``SQLITE_CONSTRAINT_UNIQUE``); the table maps its primary code (the low byte) to the class
Django's own SQLite backend raises for it. An error without a code (a wrong number of
parameters, a type sqlite3 cannot bind) is classified by its DB-API class, as Django does.
The Django exception keeps sqlite3's message, chains the original (``from``), and carries
``sqlite_errorcode`` and ``sqlite_errorname``. Only the drivers' ``execute``/``fetch``
apply :func:`django_error`.

:class:`LockWait` says when to run again a statement that a shared-cache in-memory
database refused because another connection held a table lock: SQLite's busy timeout
never waits for those (``SQLITE_LOCKED_SHAREDCACHE``), so the drivers wait instead, within
the same ``OPTIONS['timeout']``.
"""

from __future__ import annotations

import sqlite3

from django.db import utils
from vinyl.query.backend import dbapi_error_class, mark_statement_error

__all__ = ["RESULT_CODE_TO_EXCEPTION", "STATEMENT_CODES", "LockWait", "django_error"]

#: SQLite primary result code → Django exception class (what sqlite3 raises, so Django).
RESULT_CODE_TO_EXCEPTION: dict[int, type[utils.Error]] = {
    **dict.fromkeys((sqlite3.SQLITE_INTERNAL, sqlite3.SQLITE_NOTFOUND), utils.InternalError),
    **dict.fromkeys(
        (
            sqlite3.SQLITE_ERROR,  # syntax errors, no such table/column: OperationalError
            sqlite3.SQLITE_PERM,
            sqlite3.SQLITE_ABORT,
            sqlite3.SQLITE_BUSY,
            sqlite3.SQLITE_LOCKED,
            sqlite3.SQLITE_READONLY,
            sqlite3.SQLITE_INTERRUPT,
            sqlite3.SQLITE_IOERR,
            sqlite3.SQLITE_FULL,
            sqlite3.SQLITE_CANTOPEN,
            sqlite3.SQLITE_PROTOCOL,
            sqlite3.SQLITE_EMPTY,
            sqlite3.SQLITE_SCHEMA,
        ),
        utils.OperationalError,
    ),
    sqlite3.SQLITE_CORRUPT: utils.DatabaseError,
    sqlite3.SQLITE_TOOBIG: utils.DataError,
    **dict.fromkeys((sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH), utils.IntegrityError),
    **dict.fromkeys((sqlite3.SQLITE_MISUSE, sqlite3.SQLITE_RANGE), utils.InterfaceError),
}

#: Primary result codes of a statement that failed on its own (SQL that does not compile, a
#: constraint, a value out of range): the connection and its transaction go on. Django's
#: class for the first is ``OperationalError``, which on a server can mean a broken link, so
#: the error is marked (``mark_statement_error``) for vinyl's blocks to roll back and reuse it.
STATEMENT_CODES = frozenset(
    (
        sqlite3.SQLITE_ERROR,
        sqlite3.SQLITE_CONSTRAINT,
        sqlite3.SQLITE_MISMATCH,
        sqlite3.SQLITE_TOOBIG,
        sqlite3.SQLITE_RANGE,
    )
)

_LOCKED_ADVICE = (
    " (another connection held the database's write lock for longer than "
    "OPTIONS['timeout'] seconds: raise OPTIONS['timeout'], or keep write transactions short)"
)


def django_error(exc: sqlite3.Error) -> utils.Error:
    """Return the Django exception for the driver's *exc*, to be raised ``from exc``.

    A lock that was not free in time (``database is locked``) says which option to raise.
    """
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    cls = RESULT_CODE_TO_EXCEPTION.get(code & 0xFF) if code is not None else None
    message = str(exc)
    if code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        message += _LOCKED_ADVICE
    error = (cls or dbapi_error_class(exc))(message)
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    error.sqlite_errorname = getattr(exc, "sqlite_errorname", None)  # type: ignore[attr-defined]
    if code is not None and code & 0xFF in STATEMENT_CODES:
        mark_statement_error(error)
    return error


class LockWait:
    """When to run a statement again that a shared-cache table lock refused (no I/O).

    SQLite's busy handler waits for another connection's *file* lock, but in a shared-cache
    in-memory database (``file:name?mode=memory&cache=shared``) connections lock tables in
    the shared cache and a refused statement fails at once (``SQLITE_LOCKED_SHAREDCACHE``),
    having done nothing. :meth:`delay` returns how long to sleep before the next try (doubling
    from 1 ms to 50 ms), or ``None`` when *exc* is another error or *timeout* seconds have
    passed since the first refusal: then the caller raises.
    """

    __slots__ = ("_deadline", "_delay", "timeout")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._deadline: float | None = None
        self._delay = 0.001

    def delay(self, exc: sqlite3.Error, now: float) -> float | None:
        """Return the seconds to wait before trying again, or ``None`` to raise *exc*."""
        if getattr(exc, "sqlite_errorcode", None) != sqlite3.SQLITE_LOCKED_SHAREDCACHE:
            return None
        if self._deadline is None:
            self._deadline = now + self.timeout
        left = self._deadline - now
        if left <= 0:
            return None
        delay = min(self._delay, left)
        self._delay = min(self._delay * 2, 0.05)
        return delay
