"""The contract a vinyl backend implements.

A vinyl backend is a Django ENGINE whose ``DatabaseWrapper`` subclasses the vendor's
own Django wrapper (so migrations, ``dbshell`` and test databases keep working) and
mixes in :class:`VinylDatabaseWrapperMixin`, which names three things:

- a :class:`Dialect`: turns the SQL Django's compiler writes (``%s`` placeholders,
  ``%%`` for a literal ``%``) into what the driver expects, and holds the vendor's
  capabilities vinyl's own code needs;
- an :class:`AsyncDriver` and a :class:`SyncDriver`: each opens a :class:`AsyncPool` /
  :class:`Pool` of connections from the alias's settings.

Every driver connection runs in the server's autocommit mode: vinyl sends ``BEGIN``,
``COMMIT``, ``SAVEPOINT`` itself (see ``vinyl.query.transaction``), so a single statement
outside a transaction block costs one round trip, and nothing is left open implicitly.

Drivers translate their exceptions into Django's (``IntegrityError``, ``DataError``,
``OperationalError``, ``ProgrammingError``...) inside ``execute``/``fetch``/
``fetch_with_columns``, keeping the driver's message and chaining the original with ``from``.
Each backend names that mapper ``django_error(exc)`` (``vinyl.pg.errors``,
``vinyl.mysql.errors``): the caller writes ``raise django_error(exc) from exc``.

Pools. Every vinyl pool is a ``BasePool`` (``vinyl.query._async.BasePool``, and its sync
twin ``vinyl.query._sync.BasePool``): one piece of code decides when to open, lend, keep
and close connections, and a driver's pool only says how (``get_new_connection``,
``discard_reason``, ``close_connection``). A connection is lent out wrapped in a
:class:`PooledConnection` handle. Releasing it *detaches* the handle (as asyncpg's pool
detaches its proxies): the driver connection may already serve another task or thread,
so a stale handle raises ``InterfaceError`` (:func:`released_error`) instead of running
a statement in someone else's transaction. ``discard_reason`` is the one name, in every
backend, for "why this connection may not go back to the pool" (``None``: it may).

Deliberate deviations from the style guide, and why:

- A healthy release is not shielded (``AsyncPool.release``): it never suspends, so a
  cancellation cannot cut it in half, and a shield would cost a task per release.
- A release never resets the connection (no ``ROLLBACK``/``DISCARD ALL`` round trip, unlike
  asyncpg's and psycopg_pool's pools): vinyl ends every transaction it opens, so a
  connection left inside one was abandoned half-way and is closed instead.
"""

from __future__ import annotations

import enum
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import import_module
from typing import Any, ClassVar, Protocol, runtime_checkable

from django.conf import settings
from django.core.signals import setting_changed
from django.db import InterfaceError, OperationalError, utils

__all__ = [
    "AsyncConnection",
    "AsyncDriver",
    "AsyncPool",
    "Connection",
    "Dialect",
    "DjangoAtomic",
    "Driver",
    "DriverOnDemand",
    "Pool",
    "PoolConfig",
    "PoolState",
    "PooledConnection",
    "QueryLogging",
    "Row",
    "SyncDriverOnDemand",
    "VinylDatabaseWrapperMixin",
    "closed_error",
    "dbapi_error_class",
    "exhausted_error",
    "foreign_connection_error",
    "mark_statement_error",
    "other_loop_error",
    "released_error",
    "statement_error",
]

#: A row as the driver returns it: a tuple, or any sequence indexable by position.
Row = Sequence[Any]


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """Connection and pool settings of one alias, read from ``DATABASES[alias]``.

    ``options`` keeps every ``OPTIONS`` key vinyl does not interpret itself (SSL settings,
    driver-specific keys), for the driver to pass through.
    """

    alias: str
    host: str
    port: int | None
    user: str
    password: str
    name: str
    min_size: int = 1
    max_size: int = 10
    timeout: float = 30.0
    connect_timeout: float | None = 10.0
    isolation_level: str | None = None
    statement_cache_size: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        """Return ``host:port``, for error messages."""
        return f"{self.host}:{self.port}" if self.port else self.host


def exhausted_error(config: PoolConfig, max_size: int) -> OperationalError:
    """Return the error every pool raises when no connection frees up within its timeout."""
    return OperationalError(
        f"No connection to {config.address} (database alias {config.alias!r}) became free "
        f"within pool_timeout={config.timeout}s: all {max_size} connections of the pool "
        f"(pool_max_size={max_size}) are in use. Raise OPTIONS['pool_max_size'] or "
        f"OPTIONS['pool_timeout'], or hold connections for shorter."
    )


def other_loop_error(config: PoolConfig) -> InterfaceError:
    """Return the error every async pool raises when a task of another event loop uses it."""
    return InterfaceError(
        f"The connection pool of database alias {config.alias!r} belongs to another event "
        f"loop; asyncio connections cannot move between loops. Open one pool per loop."
    )


def closed_error(config: PoolConfig) -> InterfaceError:
    """Return the error every pool raises when used after ``close()``."""
    return InterfaceError(
        f"The connection pool of database alias {config.alias!r} is closed (by "
        f"close_pools() or its own close()). Do not keep a pool aside: go through vinyl, "
        f"which opens a new pool for the alias on its next operation."
    )


def foreign_connection_error(config: PoolConfig, connection: object) -> InterfaceError:
    """Return the error for releasing a connection a pool did not give out."""
    return InterfaceError(
        f"{connection!r} is not a connection of the pool of database alias {config.alias!r}; "
        f"release a connection to the pool it was acquired from."
    )


def released_error() -> InterfaceError:
    """Return the error for using a connection handle after it went back to its pool."""
    return InterfaceError(
        "This connection was returned to its pool and cannot be used any more: the pool may "
        "already have lent it to another task or thread. Use a connection only between "
        "acquire() and release() (inside its connection() or transaction() block), and "
        "acquire a new one for more work."
    )


def dbapi_error_class(exc: BaseException) -> type[utils.Error]:
    """Return Django's exception class for a DB-API error *exc* that carries no error code.

    Django's ``DatabaseErrorWrapper`` rule: the Django class named as *exc*'s DB-API class
    (``IntegrityError``...), the nearest one in its MRO; ``DatabaseError`` if none is.
    """
    for cls in type(exc).__mro__:
        found = getattr(utils, cls.__name__, None)
        if isinstance(found, type) and issubclass(found, utils.Error):
            return found
    return utils.DatabaseError


# Errors the server reports for one statement, whatever the driver: the connection is fine.
_STATEMENT_ERRORS = (
    utils.IntegrityError,
    utils.DataError,
    utils.ProgrammingError,
    utils.NotSupportedError,
)


def mark_statement_error[E: BaseException](error: E) -> E:
    """Mark the Django *error* a driver raises as one statement's failure; return it.

    For a driver that knows from the error's own code that only the statement failed, where
    Django's class does not tell: SQLite's "no such table" is an ``OperationalError``, as is
    a broken link. A ``transaction()`` block then rolls back on that connection rather than
    discarding it.
    """
    error.vinyl_statement_error = True  # type: ignore[attr-defined]
    return error


def statement_error(exc: BaseException) -> bool:
    """Return whether *exc* is one statement's failure, which leaves its connection usable."""
    return isinstance(exc, _STATEMENT_ERRORS) or getattr(exc, "vinyl_statement_error", False)


class PoolState(enum.Enum):
    """Where a pool is in its life: it only ever goes from OPEN to CLOSED."""

    OPEN = "open"
    CLOSED = "closed"


class Dialect(Protocol):
    """What vinyl needs to know about a vendor beyond Django's own ``ops``/``features``."""

    vendor: str
    #: ``INSERT ... RETURNING`` is available (PostgreSQL, MariaDB 10.5+).
    can_return_rows_from_insert: bool

    def prepare_sql(self, sql: str) -> str:
        """Return *sql* (Django's ``%s`` paramstyle) in the driver's paramstyle."""
        ...

    def prepare_params(self, params: Sequence[Any]) -> Sequence[Any]:
        """Return *params* as the driver takes them (e.g. JSON adapters made plain)."""
        ...

    def last_executed_query(self, sql: str, params: Sequence[Any]) -> str:
        """Return *sql* with *params* written in, as Django's ``last_executed_query()``.

        *sql* and *params* are a statement as the alias's connections take it; the values
        are written as the vendor's driver under Django writes them. Only the query log
        calls it: it returns *sql* unchanged rather than raise.
        """
        ...


@runtime_checkable
class AsyncConnection(Protocol):
    """One driver connection, used by one task at a time (the scope guarantees it)."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement in the driver's paramstyle; return the affected row count."""
        ...

    async def execute_insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT without RETURNING; return the last inserted id (MySQL)."""
        ...

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one query and return all its rows (vinyl never fetches in chunks)."""
        ...

    async def fetch_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[Row]]:
        """Run one query; return its column names, in order, and all its rows.

        The names are the server's (duplicates kept), and are returned for a query that
        matches no row too: ``raw()`` maps columns to fields by name.
        """
        ...

    async def close(self) -> None:
        """Close the connection for good (never returned to a pool afterwards)."""
        ...


@runtime_checkable
class AsyncPool(Protocol):
    """A bounded pool of :class:`AsyncConnection` bound to one event loop."""

    max_size: int

    async def acquire(self) -> AsyncConnection:
        """Return a free connection, waiting up to ``PoolConfig.timeout``.

        Raise ``OperationalError`` naming the pool size when none frees up in time,
        and naming ``host:port`` when the server cannot be reached.
        """
        ...

    async def release(self, connection: AsyncConnection, *, discard: bool = False) -> None:
        """Return *connection*; close it instead when *discard* is true.

        With *discard* false and *connection* fit to be pooled again, the release must not
        suspend (no ``await`` that yields to the event loop): then a cancellation cannot
        interrupt it, and callers need not shield it (``vinyl.query._async.scope`` does
        not). A connection the pool finds unfit, or one discarded, may be closed with I/O;
        the pool shields that close itself.
        """
        ...

    async def close(self) -> None:
        """Close every connection; the pool cannot be used afterwards."""
        ...


class PooledConnection[R]:
    """The handle a pool lends out around one driver connection of type *R*.

    The pool *detaches* it on release (:meth:`detach`): from then on :attr:`raw` raises
    ``InterfaceError`` (:func:`released_error`), so a handle kept after its release fails
    loudly instead of running on a connection the pool may have lent to someone else.
    ``busy`` is true while a statement runs (still true on release when the statement was
    interrupted: a task cancelled mid-query); ``broken`` once the driver reported the
    connection lost. The driver's subclass sets both around its statements.
    """

    __slots__ = ("_raw", "broken", "busy")

    def __init__(self, raw: R) -> None:
        self._raw: R | None = raw
        self.busy = False
        self.broken = False

    @property
    def raw(self) -> R:
        """Return the driver connection; raise ``InterfaceError`` once released."""
        if self._raw is None:
            raise released_error()
        return self._raw

    def detach(self) -> R:
        """Return the driver connection and make this handle unusable."""
        raw = self.raw
        self._raw = None
        return raw

    def discard_reason(self) -> str | None:
        """Return why the connection must not go back to the pool, as far as the handle knows.

        ``None`` if the handle knows nothing against it; the pool then asks its driver
        (``BasePool.discard_reason``), which looks at the connection itself.
        """
        if self.busy:
            return "a statement was interrupted"
        if self.broken:
            return "the connection was lost"
        return None


class AsyncDriver(Protocol):
    """Opens async pools for an alias (asyncpg, aiomysql...)."""

    async def create_pool(self, config: PoolConfig, dialect: Dialect) -> AsyncPool: ...


class _OnDemand[D]:
    """A driver imported on first use: *name* of *module*.

    Two threads using it first at once may each build one; either serves, as a driver
    holds no state.
    """

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    @cached_property
    def driver(self) -> D:
        """The driver itself, imported on first use."""
        driver: D = getattr(import_module(self.module), self.name)()
        return driver


class DriverOnDemand(_OnDemand[AsyncDriver]):
    """An :class:`AsyncDriver` imported when its first pool opens: *name* of *module*.

    An ENGINE names its async driver so: a process running the sync flavor alone never
    loads the async driver's library (asyncpg, asyncmy: about 3 MiB of memory each).
    """

    async def create_pool(self, config: PoolConfig, dialect: Dialect) -> AsyncPool:
        """Return a started pool of the driver for *config*."""
        return await self.driver.create_pool(config, dialect)


@runtime_checkable
class Connection(Protocol):
    """The sync twin of :class:`AsyncConnection`; one thread uses it at a time."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...

    def execute_insert(self, sql: str, params: Sequence[Any] = ()) -> int | None: ...

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def fetch_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[Row]]: ...

    def close(self) -> None: ...


@runtime_checkable
class Pool(Protocol):
    """The sync twin of :class:`AsyncPool`; thread-safe."""

    max_size: int

    def acquire(self) -> Connection: ...

    def release(self, connection: Connection, *, discard: bool = False) -> None: ...

    def close(self) -> None: ...


class Driver(Protocol):
    """Opens sync pools for an alias (psycopg2, PyMySQL...)."""

    def create_pool(self, config: PoolConfig, dialect: Dialect) -> Pool: ...

    def adopt(self, raw: object, alias: str) -> Connection | None:
        """Return a connection running vinyl's statements for *alias* on *raw*, Django's own.

        Django opens *raw* with this driver's settings, so its rows read as this driver's.
        What a pool's first connection learns of the server (its version...) is recorded
        for *alias* from *raw*, as no pool need open. ``None`` when *raw* is not of this
        driver (``mysqlclient`` installed as ``MySQLdb``). The result is never pooled or
        closed: Django owns *raw* (``vinyl.query.djangoatomic``).
        """
        ...


class SyncDriverOnDemand(_OnDemand[Driver]):
    """A :class:`Driver` imported when first used: *name* of *module*.

    An ENGINE names its sync driver so: a process running the async flavor alone never
    loads vinyl_sync's pools (``vinyl.query._sync``) and the sync driver's module.
    """

    def create_pool(self, config: PoolConfig, dialect: Dialect) -> Pool:
        """Return a started pool of the driver for *config*."""
        return self.driver.create_pool(config, dialect)

    def adopt(self, raw: object, alias: str) -> Connection | None:
        """Return the driver's :meth:`Driver.adopt` of *raw*."""
        return self.driver.adopt(raw, alias)


class QueryLogging:
    """Whether a statement vinyl runs may have to be logged, known with one attribute read.

    Django logs a statement in ``connections[alias].queries_log`` (what
    ``CaptureQueriesContext`` and ``assertNumQueries`` read) when that wrapper's
    ``queries_logged`` is true: ``settings.DEBUG``, or its ``force_debug_cursor``. Asking
    costs a thread-local lookup and a settings read (~1.5 µs), too much for every statement;
    vinyl asks only while :attr:`possible` is true. The ENGINE wrappers'
    ``force_debug_cursor`` setter and ``setting_changed`` for ``DEBUG`` keep it up to date
    (``settings.DEBUG`` assigned directly, without ``override_settings``, is seen when a
    wrapper is next created or its ``force_debug_cursor`` set).
    """

    #: False: no vinyl alias logs queries (``DEBUG`` off, no ``force_debug_cursor`` set).
    possible: ClassVar[bool] = False
    #: The ENGINE wrappers whose ``force_debug_cursor`` is set.
    forced: ClassVar[weakref.WeakSet[object]] = weakref.WeakSet()

    @classmethod
    def refresh(cls) -> None:
        """Recompute :attr:`possible` from ``settings.DEBUG`` and the forced wrappers."""
        cls.possible = bool(cls.forced) or bool(settings.DEBUG)


def _debug_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "DEBUG":
        QueryLogging.refresh()


setting_changed.connect(_debug_changed)


class DjangoAtomic:
    """Whether Django's own transaction may be open on a vinyl alias, in one read.

    Django's transaction on ``connections[alias]`` is an ``atomic()`` block, or autocommit
    turned off (``transaction.set_autocommit(False)``, Django's manual transactions). A vinyl
    statement on the alias then runs on Django's connection (vinyl_sync) or is refused
    (vinyl_async): ``vinyl.query.djangoatomic``. Asking ``connections[alias]`` costs a
    thread-local lookup per statement; vinyl asks only while :attr:`possible` is true, which
    the ENGINE wrappers' ``in_atomic_block`` setter and ``set_autocommit()`` keep up to date.
    """

    #: False: no ENGINE wrapper of a vinyl alias is inside a transaction of Django's.
    possible: ClassVar[bool] = False
    #: The ENGINE wrappers inside a transaction of Django's.
    inside: ClassVar[weakref.WeakSet[object]] = weakref.WeakSet()
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def set(cls, wrapper: object, value: bool) -> None:
        """Record whether *wrapper* is inside a transaction of Django's."""
        # Under a lock: two threads entering and leaving must not leave a stale False.
        with cls._lock:
            if value:
                cls.inside.add(wrapper)
            else:
                cls.inside.discard(wrapper)
            cls.possible = bool(cls.inside)


class VinylDatabaseWrapperMixin:
    """Mixed into a Django ``DatabaseWrapper`` to make its ENGINE a vinyl backend.

    vinyl finds the backend of an alias by this mixin: an alias whose wrapper lacks it is
    not a vinyl database, and using it through vinyl raises ``ImproperlyConfigured``.
    """

    vinyl_dialect: ClassVar[Dialect]
    vinyl_async_driver: ClassVar[AsyncDriver]
    vinyl_sync_driver: ClassVar[Driver]

    #: What :meth:`vinyl_server_fact` read from Django's own connection, once.
    _vinyl_connected_fact: Any = None

    _vinyl_force_debug_cursor = False
    _vinyl_in_atomic_block = False
    #: Autocommit was turned off by ``set_autocommit(False)`` (Django's ``atomic()`` does too).
    vinyl_manual_transaction = False

    @property
    def in_atomic_block(self) -> bool:
        """Return Django's flag: Django's ``atomic()`` is open on this connection.

        Django's ``Atomic`` sets it; vinyl reads it to run its statements inside that block,
        or refuse them (:class:`DjangoAtomic`).
        """
        return self._vinyl_in_atomic_block

    @in_atomic_block.setter
    def in_atomic_block(self, value: bool) -> None:
        self._vinyl_in_atomic_block = value
        DjangoAtomic.set(self, value or self.vinyl_manual_transaction)

    def set_autocommit(
        self, autocommit: bool, force_begin_transaction_with_broken_autocommit: bool = False
    ) -> None:
        """Django's ``set_autocommit()``; vinyl notes a transaction of Django's left open."""
        super().set_autocommit(  # type: ignore[misc]
            autocommit, force_begin_transaction_with_broken_autocommit
        )
        self.vinyl_manual_transaction = not autocommit
        DjangoAtomic.set(self, self._vinyl_in_atomic_block or not autocommit)

    @property
    def force_debug_cursor(self) -> bool:
        """Return Django's flag: log this alias's queries even without ``DEBUG``.

        ``CaptureQueriesContext`` and ``assertNumQueries`` set it on ``connections[alias]``;
        vinyl then logs its own statements on the alias there too (:class:`QueryLogging`).
        """
        return self._vinyl_force_debug_cursor

    @force_debug_cursor.setter
    def force_debug_cursor(self, value: bool) -> None:
        self._vinyl_force_debug_cursor = value
        if value:
            QueryLogging.forced.add(self)
        else:
            QueryLogging.forced.discard(self)
        QueryLogging.refresh()

    def vinyl_begin_sql(self) -> str:
        """Return the statement that opens a transaction on this alias: ``BEGIN``.

        A backend whose plain ``BEGIN`` would leave writers to fight over a lock later
        overrides it (SQLite's ``BEGIN IMMEDIATE``).
        """
        return "BEGIN"

    def vinyl_server_fact[T](
        self, override: T | None, known: Callable[[str], T], read: Callable[[Any], T]
    ) -> T:
        """Return what the wrapper knows of its server (a version...), with no I/O if it can.

        *override* wins (a wrapper made to describe a given server: ``to_sql``). A wrapper
        that is not connected (the one vinyl compiles with) answers ``known(alias)``, what a
        vinyl pool last read from the server. A connected one (Django's own, in Django's
        sync code) answers ``read(connection)``, read once, as Django's backends do.
        """
        if override is not None:
            return override
        connection = getattr(self, "connection", None)
        if connection is None:
            return known(getattr(self, "alias", ""))
        if self._vinyl_connected_fact is None:
            self._vinyl_connected_fact = read(connection)
        fact: T = self._vinyl_connected_fact
        return fact
