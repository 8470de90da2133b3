"""What vinyl's two sync drivers share: PyMySQL and mysqlclient run Django's SQL alike.

Both take Django's SQL as it is (``%s`` placeholders, ``%%`` for a literal ``%`` when given
parameters), report the rows an UPDATE matched (``FOUND_ROWS``) and the AUTO_INCREMENT id,
and raise DB-API errors carrying the MySQL error number in ``args[0]``. So the statements
(:class:`DBAPIConnection`), the pool's rules (:class:`DBAPIPool`) and the driver's pools and
``adopt()`` (:class:`DBAPIDriver`) are written once; each driver module opens its
connections and says how to read a connection's state without a round trip.

The pool rules, as :mod:`vinyl.mysql.aiomysql_driver`'s: no round trip of its own; a
connection interrupted mid-statement, reported lost, or left inside a transaction is closed
instead of pooled (the reason logged); an idle connection the server closed is noticed when
taken (its socket is readable: EOF or an unsolicited error packet); a released handle is
detached, and using it raises ``InterfaceError``.
"""

from __future__ import annotations

import select
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from vinyl.mysql._connect import ConnectionSetup
from vinyl.mysql.errors import DriverErrors, running
from vinyl.mysql.server import SERVER_DATA_SQL, is_known, learn_server
from vinyl.query._sync import BasePool
from vinyl.query.backend import Dialect, PoolConfig, PooledConnection, Row

__all__ = ["DBAPIConnection", "DBAPIDriver", "DBAPIPool", "close"]


class DBAPIConnection[R](PooledConnection[R]):
    """One connection of a sync driver, used by one thread at a time; unusable once released.

    ``busy`` also catches a statement interrupted by ``KeyboardInterrupt``.
    """

    __slots__ = ()

    #: The driver's exception classes, translated into Django's by :func:`running`.
    errors: ClassVar[DriverErrors]

    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        with running(self, self.errors):
            cursor = self.raw.cursor()  # type: ignore[attr-defined]
            # Always a sequence: both drivers turn "%%" into "%" only when given one.
            cursor.execute(sql, tuple(params))
        return cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it matched."""
        return int(self._run(sql, params).rowcount)

    def execute_insert(self, sql: str, params: Sequence[Any] = ()) -> int | None:
        """Run an INSERT; return the first AUTO_INCREMENT id it generated, if any."""
        return self._run(sql, params).lastrowid or None

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one query; return all its rows as tuples."""
        return list(self._run(sql, params).fetchall())

    def fetch_with_columns(
        self, sql: str, params: Sequence[Any] = ()
    ) -> tuple[list[str], list[Row]]:
        """Run one query; return its column names and all its rows as tuples."""
        cursor = self._run(sql, params)
        # No description: the statement returns no result set (an UPDATE).
        names = [column[0] for column in cursor.description or ()]
        return names, list(cursor.fetchall())

    def close(self) -> None:
        """Close the connection (QUIT is sent without waiting for an answer)."""
        close(self.raw)


class DBAPIPool[R, H: DBAPIConnection[Any]](BasePool[R, H]):
    """A bounded, thread-safe pool of one sync driver's connections.

    See :class:`~vinyl.query._sync.BasePool` for its states and bounds. A driver's subclass
    opens a connection (:meth:`connect`) and reads its socket and transaction state
    (:meth:`fileno`, :meth:`in_transaction`); this class sets each connection up as
    Django's backend does and decides which may be lent again.
    """

    def __init__(self, config: PoolConfig, handle: type[H], setup: ConnectionSetup) -> None:
        super().__init__(config, handle)
        self.setup = setup

    def start(self) -> None:
        """Open ``min_size`` connections (at least one: it reads the server's settings)."""
        self.fill(max(self.config.min_size, 1))

    def connect(self) -> R:
        """Open a connection with ``setup.kwargs``; raise ``connect_error()`` if it fails."""
        raise NotImplementedError

    def fileno(self, raw: R) -> int | None:
        """Return the file descriptor of *raw*'s socket; ``None`` once it is closed."""
        raise NotImplementedError

    def in_transaction(self, raw: R) -> bool:
        """Return whether *raw* is inside a transaction, as far as known without a round trip."""
        raise NotImplementedError

    def get_new_connection(self) -> R:
        """Open a connection and set its session up as Django's backend does."""
        raw = self.connect()
        connection = self._handle(raw)
        try:
            if self.setup.server is None:
                self.setup.learn(connection.fetch(SERVER_DATA_SQL)[0])
            for sql in self.setup.statements:
                connection.execute(sql)
        except BaseException:
            close(raw)
            raise
        return raw

    def discard_reason(self, raw: R, *, returned: bool = False) -> str | None:
        """Return why *raw* must not be lent again, with no round trip; ``None`` if it may."""
        fd = self.fileno(raw)
        # An idle connection has nothing to read; anything readable means the server
        # closed it (EOF, or its "connection killed" error packet first).
        if fd is None or (not returned and select.select([fd], [], [], 0)[0]):
            return "the server closed the connection"
        if self.in_transaction(raw):
            return "a transaction was left open"
        return None

    def close_connection(self, raw: R) -> None:
        """Close *raw* (QUIT is sent without waiting for an answer)."""
        close(raw)


class DBAPIDriver[R, H: DBAPIConnection[Any]]:
    """Opens one sync driver's pools, and runs on Django's own connection of that driver."""

    def __init__(
        self,
        raw_class: type[Any],
        handle_class: type[H],
        pool_class: Callable[[PoolConfig, Dialect], DBAPIPool[R, H]],
    ) -> None:
        self._raw_class = raw_class
        self._handle_class = handle_class
        self._pool_class = pool_class

    def create_pool(self, config: PoolConfig, dialect: Dialect) -> DBAPIPool[R, H]:
        """Open a pool for *config* and read the server's version and settings."""
        pool = self._pool_class(config, dialect)
        pool.start()
        return pool

    def adopt(self, raw: object, alias: str) -> H | None:
        """Return a handle on *raw*, Django's connection, if this driver opened it.

        The first time for *alias* (no pool read its server yet), it reads the server's
        version and settings on *raw*, as a pool's first connection does.
        """
        if not isinstance(raw, self._raw_class):
            return None
        handle = self._handle_class(raw)
        if not is_known(alias):
            learn_server(alias, handle.fetch(SERVER_DATA_SQL)[0])
        return handle


def close(raw: Any) -> None:
    """Close *raw* unless it is closed already (both drivers have ``open``)."""
    if raw.open:
        raw.close()
