"""The contenders: how each one connects, and what its workload implementations receive.

Each contender runs alone in its own worker process. An async contender's ``open``/
``close`` are coroutines run on the worker's event loop (uvloop when it is installed);
a sync contender's are plain calls. ``baseline`` marks the raw async driver every ratio
is computed against. Workload implementations read what ``open`` set up:

- ``conn``: one connection, for the serial workloads;
- ``pool``: an async pool of ``POOL_SIZE`` connections (raw async drivers), for W2 and W9
  (aiosqlite has no pool: :class:`QueuePool` is the least one);
- ``executor``: ``POOL_SIZE`` threads (sync contenders), for W2, each thread with its own
  connection (``thread_connection()`` for the raw drivers; Django and vinyl keep their own);
- ``authors``/``books``: the managers an ORM contender reads and writes through, and
  ``alias`` the database alias they use (W9's transactions name it).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, ClassVar

from vinyl_bench import settings
from vinyl_bench.scale import Scale

POSTGRESQL = "postgresql"
MYSQL = "mysql"
SQLITE = "sqlite"
VENDORS = (POSTGRESQL, MYSQL, SQLITE)

DJANGO_ALIAS = {POSTGRESQL: "default", MYSQL: "mysql", SQLITE: "sqlite"}
VINYL_ALIAS = {POSTGRESQL: "vinyl_pg", MYSQL: "vinyl_mysql", SQLITE: "vinyl_sqlite"}


class Contender:
    """Base of the contenders; a subclass names itself and sets up its connections."""

    name: ClassVar[str]
    vendors: ClassVar[tuple[str, ...]] = VENDORS
    is_async: ClassVar[bool]
    baseline: ClassVar[bool] = False

    def __init__(self, vendor: str, scale: Scale) -> None:
        self.vendor = vendor
        self.scale = scale
        self.conn: Any = None
        self.pool: Any = None
        self.executor: ThreadPoolExecutor | None = None
        self.authors: Any = None
        self.books: Any = None
        self.alias = ""

    def open(self) -> Any:
        """Connect (a coroutine for an async contender)."""
        raise NotImplementedError

    def close(self) -> Any:
        """Disconnect (a coroutine for an async contender)."""
        raise NotImplementedError


class SyncContender(Contender):
    is_async = False

    def open(self) -> None:
        """Start the ``POOL_SIZE`` threads of W2 now, each with its connection open.

        The barrier holds every thread until all of them exist, so the executor starts
        them all here and no timed run pays for a new thread or a new connection.
        """
        self.executor = ThreadPoolExecutor(settings.POOL_SIZE, thread_name_prefix=self.name)
        barrier = threading.Barrier(settings.POOL_SIZE, timeout=60)

        def start(_: int) -> None:
            barrier.wait()
            self.open_thread()

        list(self.executor.map(start, range(settings.POOL_SIZE)))

    def open_thread(self) -> None:
        """Open the calling thread's connection when the contender keeps one per thread."""

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown()


class AsyncContender(Contender):
    is_async = True

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        """Release nothing: a contender that opens connections of its own closes them."""


class Asyncpg(AsyncContender):
    name = "asyncpg"
    vendors = (POSTGRESQL,)
    baseline = True

    async def open(self) -> None:
        import asyncpg

        kwargs = _pg_kwargs()
        self.conn = await asyncpg.connect(**kwargs)
        # asyncpg's pool as shipped: it resets each connection when it is released.
        self.pool = await asyncpg.create_pool(
            min_size=settings.POOL_SIZE, max_size=settings.POOL_SIZE, **kwargs
        )

    async def close(self) -> None:
        await self.conn.close()
        await self.pool.close()


class Aiomysql(AsyncContender):
    name = "aiomysql"
    vendors = (MYSQL,)
    baseline = True

    async def open(self) -> None:
        import aiomysql

        kwargs = _mysql_kwargs()
        self.conn = await aiomysql.connect(**kwargs)
        self.pool = await aiomysql.create_pool(
            minsize=settings.POOL_SIZE, maxsize=settings.POOL_SIZE, **kwargs
        )

    async def close(self) -> None:
        self.conn.close()
        self.pool.close()
        await self.pool.wait_closed()


class QueuePool:
    """The least pool of aiosqlite connections: a queue of open ones, lent one at a time.

    ``async with pool.acquire() as conn`` waits for a free connection and puts it back.
    """

    def __init__(self, connections: list[Any]) -> None:
        self.connections = connections
        self._free: asyncio.Queue[Any] = asyncio.Queue()
        for conn in connections:
            self._free.put_nowait(conn)

    def acquire(self) -> _Lease:
        return _Lease(self._free)

    async def close(self) -> None:
        for conn in self.connections:
            await conn.close()


class _Lease:
    def __init__(self, free: asyncio.Queue[Any]) -> None:
        self._free = free
        self._conn: Any = None

    async def __aenter__(self) -> Any:
        self._conn = await self._free.get()
        return self._conn

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._free.put_nowait(self._conn)


class Aiosqlite(AsyncContender):
    """aiosqlite: each connection runs sqlite3 on a thread of its own (SQLite's calls block)."""

    name = "aiosqlite"
    vendors = (SQLITE,)
    baseline = True

    async def open(self) -> None:
        import aiosqlite

        from vinyl_bench import sqlite_types

        sqlite_types.register()
        self.conn = await aiosqlite.connect(settings.SQLITE_FILE, **_sqlite_kwargs())
        self.pool = QueuePool(
            [
                await aiosqlite.connect(settings.SQLITE_FILE, **_sqlite_kwargs())
                for _ in range(settings.POOL_SIZE)
            ]
        )

    async def close(self) -> None:
        await self.conn.close()
        await self.pool.close()


class DbApi(SyncContender):
    """A raw sync DB-API driver: one connection here, one more per W2 thread."""

    def open(self) -> None:
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()
        self.conn = self.connect()
        super().open()

    def open_thread(self) -> None:
        self.thread_connection()

    def connect(self) -> Any:
        """Return a new autocommit connection of this driver."""
        raise NotImplementedError

    def thread_connection(self) -> Any:
        """Return this thread's own connection, opening it on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.connect()
            with self._lock:
                self._opened.append(conn)
        return conn

    def close(self) -> None:
        super().close()
        for conn in [self.conn, *self._opened]:
            conn.close()


class Psycopg2(DbApi):
    name = "psycopg2"
    vendors = (POSTGRESQL,)

    def connect(self) -> Any:
        import psycopg2

        kwargs = _pg_kwargs()
        conn = psycopg2.connect(dbname=kwargs.pop("database"), **kwargs)
        conn.autocommit = True
        return conn


class Pymysql(DbApi):
    name = "pymysql"
    vendors = (MYSQL,)

    def connect(self) -> Any:
        import pymysql

        return pymysql.connect(**_mysql_kwargs())


class Sqlite3(DbApi):
    """The standard library's sqlite3 (sync), which aiosqlite runs on its threads."""

    name = "sqlite3"
    vendors = (SQLITE,)

    def open(self) -> None:
        from vinyl_bench import sqlite_types

        sqlite_types.register()
        super().open()

    def connect(self) -> Any:
        import sqlite3

        # Each W2 or W9 thread uses only the connection it opened; close() closes them all
        # from the main thread.
        return sqlite3.connect(settings.SQLITE_FILE, check_same_thread=False, **_sqlite_kwargs())


class DjangoSync(SyncContender):
    name = "django_sync"

    def open(self) -> None:
        from django.db import connections

        from benchapp.models import Author, Book

        self.alias = DJANGO_ALIAS[self.vendor]
        self.authors = Author.objects.db_manager(self.alias)
        self.books = Book.objects.db_manager(self.alias)
        connections[self.alias].ensure_connection()
        super().open()

    def open_thread(self) -> None:
        from django.db import connections

        connections[self.alias].ensure_connection()


class DjangoAsync(AsyncContender):
    """Django's a-methods (``aget``, ``async for``), run from the event loop."""

    name = "django_async"

    async def open(self) -> None:
        from benchapp.models import Author, Book

        self.alias = DJANGO_ALIAS[self.vendor]
        self.authors = Author.objects.db_manager(self.alias)
        self.books = Book.objects.db_manager(self.alias)


def _attach_vinyl_managers(manager_class: Any, alias: str) -> tuple[Any, Any]:
    """Give the benchmark's models a ``vinyl`` manager on *alias*; return Author's and Book's."""
    from benchapp.models import Author, Book, Tag

    for model in (Author, Book, Tag):
        model.add_to_class("vinyl", manager_class(using=alias))
    # The attribute exists from the line above on; no static type knows it.
    return Author.vinyl, Book.vinyl  # type: ignore[attr-defined]


class VinylAsync(AsyncContender):
    name = "vinyl_async"

    async def open(self) -> None:
        from vinyl_async import VinylManager

        self.alias = VINYL_ALIAS[self.vendor]
        self.authors, self.books = _attach_vinyl_managers(VinylManager, self.alias)

    async def close(self) -> None:
        from vinyl_async import close_pools

        await close_pools()


class VinylSync(SyncContender):
    name = "vinyl_sync"

    def open(self) -> None:
        from vinyl_sync import VinylManager

        super().open()
        self.alias = VINYL_ALIAS[self.vendor]
        self.authors, self.books = _attach_vinyl_managers(VinylManager, self.alias)

    def close(self) -> None:
        from vinyl_sync import close_pools

        super().close()
        close_pools()


def _pg_kwargs() -> dict[str, Any]:
    server = settings.PG
    return {
        "host": server["HOST"],
        "port": int(server["PORT"]),
        "user": server["USER"],
        "password": server["PASSWORD"],
        "database": server["NAME"],
    }


def _mysql_kwargs() -> dict[str, Any]:
    server = settings.MYSQL
    return {
        "host": server["HOST"],
        "port": int(server["PORT"]),
        "user": server["USER"],
        "password": server["PASSWORD"],
        "db": server["NAME"],
        "charset": "utf8mb4",
        "autocommit": True,
    }


def _sqlite_kwargs() -> dict[str, Any]:
    """Return sqlite3's arguments of the raw contenders: as vinyl-sqlite opens a connection.

    Autocommit (``isolation_level=None``: a transaction is an explicit ``BEGIN``), the same
    busy timeout, and the declared types' converters (:mod:`vinyl_bench.sqlite_types`).
    The file is in WAL mode already (``database.recreate``).
    """
    import sqlite3

    return {
        "timeout": settings.SQLITE_TIMEOUT,
        "isolation_level": None,
        "detect_types": sqlite3.PARSE_DECLTYPES,
    }


#: Every contender, in the order of the table's columns (the baselines first).
CONTENDERS: dict[str, type[Contender]] = {
    c.name: c
    for c in (
        Asyncpg,
        Aiomysql,
        Aiosqlite,
        Psycopg2,
        Pymysql,
        Sqlite3,
        VinylAsync,
        VinylSync,
        DjangoSync,
        DjangoAsync,
    )
}
