"""What both drivers set up on a connection (and Django's own on the ENGINE: the journal).

A vinyl SQLite connection is what Django's SQLite backend opens (``detect_types``, Django's
SQL functions, ``PRAGMA foreign_keys = ON``, ``legacy_alter_table = OFF``, the
``init_command`` statements), in autocommit mode (vinyl sends ``BEGIN`` itself), plus what
makes concurrent writers wait for each other instead of failing:

- ``journal_mode`` (default ``WAL``): readers never block the writer nor the writer them;
- ``timeout`` (sqlite3's busy timeout, default :data:`DEFAULT_TIMEOUT` seconds): how long a
  connection waits for the write lock before ``database is locked``;
- ``transaction_mode`` (default ``IMMEDIATE``, Django's option): vinyl's ``BEGIN IMMEDIATE``
  takes the write lock when the block opens, so two blocks that read and then write never
  deadlock upgrading their read locks (SQLite would refuse one at once, whatever the
  timeout).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from django.db.backends.sqlite3._functions import (  # type: ignore[import-untyped]
    register as register_functions,
)
from django.db.backends.sqlite3.creation import DatabaseCreation
from vinyl.query.backend import PoolConfig

__all__ = [
    "DEFAULT_TIMEOUT",
    "SQLiteConnection",
    "check_config",
    "SQLiteOptions",
    "connect_error",
    "is_shared_cache",
    "open_connection",
    "read_options",
    "set_up",
]

#: Seconds a connection waits for another's write lock (sqlite3's own default is 5).
DEFAULT_TIMEOUT = 20.0
DEFAULT_TRANSACTION_MODE = "IMMEDIATE"
DEFAULT_JOURNAL_MODE = "WAL"

TRANSACTION_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})
JOURNAL_MODES = frozenset({"DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF"})
#: Every ``OPTIONS`` key, beyond vinyl's pool keys, that the drivers honour.
ACCEPTED_OPTIONS = frozenset(
    {"timeout", "transaction_mode", "journal_mode", "init_command", "cached_statements"}
)


@dataclass(frozen=True, slots=True)
class SQLiteOptions:
    """The SQLite ``OPTIONS`` of one alias, checked, with vinyl's defaults filled in."""

    timeout: float = DEFAULT_TIMEOUT
    transaction_mode: str | None = DEFAULT_TRANSACTION_MODE
    journal_mode: str = DEFAULT_JOURNAL_MODE
    init_command: str = ""
    cached_statements: int | None = None

    @property
    def begin_sql(self) -> str:
        """Return the statement that opens a transaction (``BEGIN IMMEDIATE`` by default)."""
        return f"BEGIN {self.transaction_mode}" if self.transaction_mode else "BEGIN"


def read_options(alias: str, options: Mapping[str, Any]) -> SQLiteOptions:
    """Return the SQLite options in *options* (``OPTIONS`` without vinyl's pool keys).

    Raise ``ImproperlyConfigured`` naming a key the drivers do not take or a wrong value.
    """
    where = f"DATABASES[{alias!r}]['OPTIONS']"
    unknown = sorted(options.keys() - ACCEPTED_OPTIONS)
    if unknown:
        raise ImproperlyConfigured(
            f"{where} has {', '.join(map(repr, unknown))}, which vinyl's SQLite drivers do "
            f"not take. Besides the pool keys they take "
            f"{', '.join(map(repr, sorted(ACCEPTED_OPTIONS)))}; remove the others."
        )
    timeout = options.get("timeout", DEFAULT_TIMEOUT)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout < 0:
        raise ImproperlyConfigured(
            f"{where}['timeout'] is {timeout!r}; use the seconds (>= 0) a connection waits "
            f"for another connection's write lock."
        )
    mode = options.get("transaction_mode", DEFAULT_TRANSACTION_MODE)
    if mode is not None and (not isinstance(mode, str) or mode.upper() not in TRANSACTION_MODES):
        raise ImproperlyConfigured(
            f"{where}['transaction_mode'] is {mode!r}; use one of "
            f"{', '.join(map(repr, sorted(TRANSACTION_MODES)))}, or None for a plain BEGIN "
            f"('IMMEDIATE', vinyl's default, keeps blocks that read then write from "
            f"deadlocking)."
        )
    journal = options.get("journal_mode", DEFAULT_JOURNAL_MODE)
    if not isinstance(journal, str) or journal.upper() not in JOURNAL_MODES:
        raise ImproperlyConfigured(
            f"{where}['journal_mode'] is {journal!r}; use one of "
            f"{', '.join(map(repr, sorted(JOURNAL_MODES)))}."
        )
    return SQLiteOptions(
        timeout=float(timeout),
        transaction_mode=mode.upper() if mode else None,
        journal_mode=journal.upper(),
        init_command=str(options.get("init_command", "")),
        cached_statements=options.get("cached_statements"),
    )


class SQLiteConnection(sqlite3.Connection):
    """A sqlite3 connection that knows the options it was opened with."""

    options: SQLiteOptions
    #: The database is a shared-cache in-memory one: table locks fail at once (``LockWait``).
    shared_cache: bool


def database_name(config: PoolConfig) -> str:
    """Return the ``NAME`` of *config*, refusing an in-memory database one pool cannot share.

    Every connection to ``:memory:`` (or ``file:...?mode=memory`` without a shared cache)
    opens an empty database of its own, so a pool's connections would not see each other's
    rows.
    """
    name = config.name
    if not name:
        raise ImproperlyConfigured(
            f"DATABASES[{config.alias!r}]['NAME'] is empty; give the path of the SQLite "
            f"database file (or 'file:<name>?mode=memory&cache=shared' for an in-memory one)."
        )
    if DatabaseCreation.is_in_memory_db(name) and "cache=shared" not in name:
        raise ImproperlyConfigured(
            f"DATABASES[{config.alias!r}]['NAME'] is {name!r}: each connection to it opens "
            f"an empty in-memory database of its own, and a vinyl pool holds several. Use "
            f"NAME 'file:{config.alias}?mode=memory&cache=shared', an in-memory database "
            f"that every connection of the process shares (as Django's test database)."
        )
    return name


def is_shared_cache(name: str) -> bool:
    """Return whether the database *name* is a shared-cache in-memory one (table locks)."""
    return DatabaseCreation.is_in_memory_db(name)


def check_config(config: PoolConfig) -> None:
    """Raise ``ImproperlyConfigured`` for a ``NAME`` or ``OPTIONS`` the drivers cannot use."""
    read_options(config.alias, config.options)
    database_name(config)


def connect_error(config: PoolConfig, exc: BaseException) -> OperationalError:
    """Return the error for a database *config* names that could not be opened."""
    error = OperationalError(
        f"Cannot open the SQLite database {config.name!r} (database alias {config.alias!r}): "
        f"{exc}. Check that NAME of DATABASES[{config.alias!r}] is the path of a database "
        f"file in a folder that exists and that this process may write to."
    )
    error.sqlite_errorcode = getattr(exc, "sqlite_errorcode", None)  # type: ignore[attr-defined]
    return error


def set_up(connection: sqlite3.Connection, options: SQLiteOptions) -> None:
    """Run on a new *connection* what Django's SQLite backend runs, then the journal mode."""
    register_functions(connection)
    connection.execute("PRAGMA foreign_keys = ON")
    # The macOS SQLite defaults legacy_alter_table ON (Django sets it OFF as well).
    connection.execute("PRAGMA legacy_alter_table = OFF")
    for command in options.init_command.split(";"):
        if command := command.strip():
            connection.execute(command)
    set_journal_mode(connection, options)


def set_journal_mode(connection: sqlite3.Connection, options: SQLiteOptions) -> None:
    """Put the database in *options*' journal mode (an in-memory one stays ``memory``)."""
    # Kept in the database file: only the first connection switches it, the others read it.
    connection.execute(f"PRAGMA journal_mode = {options.journal_mode}")


def open_connection(config: PoolConfig) -> SQLiteConnection:
    """Return a new connection to *config*'s database, set up as :func:`set_up` says.

    Blocking; the async driver runs it on the aiosqlite connection's own thread. Raise
    ``OperationalError`` (:func:`connect_error`) when the database cannot be opened.
    """
    options = read_options(config.alias, config.options)
    name = database_name(config)
    kwargs: dict[str, Any] = {}
    if options.cached_statements is not None:
        kwargs["cached_statements"] = options.cached_statements
    try:
        connection = sqlite3.connect(
            name,
            timeout=options.timeout,
            detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES,
            # Autocommit: vinyl sends BEGIN/COMMIT itself, as Django's connection does.
            isolation_level=None,
            # A pool lends a connection to one thread at a time, not always the same one.
            check_same_thread=False,
            uri=True,
            factory=SQLiteConnection,
            **kwargs,
        )
    except sqlite3.Error as exc:
        raise connect_error(config, exc) from exc
    try:
        set_up(connection, options)
    except sqlite3.Error as exc:
        connection.close()
        raise connect_error(config, exc) from exc
    except BaseException:
        connection.close()
        raise
    connection.options = options
    connection.shared_cache = is_shared_cache(name)
    return connection
