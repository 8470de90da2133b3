"""The async driver on asyncmy (Cython), the ENGINE's choice when asyncmy is installed.

asyncmy speaks MySQL's protocol as aiomysql does, compiled: on MariaDB it spends about half
of aiomysql's CPU on a get by primary key and a fifth on a page of ~100 rows (benchmarks/
RESULTS.md). Statements and pool rules are :mod:`vinyl.mysql._aio`'s, shared with
:mod:`vinyl.mysql.aiomysql_driver`; this module opens asyncmy connections, reads their
state, and decodes values as Django's backend on mysqlclient does.

What differs from aiomysql:

- A statement runs on the connection itself (``query()``), its rows read from the
  buffered result (``_result``, public in asyncmy's declarations): no cursor, and none of
  the cursor's ``SHOW WARNINGS`` round trip after a statement the server warned about
  (neither Django's mysqlclient nor PyMySQL sends one).
- Its converters are asyncmy's own, compiled, but for the values where they differ from
  the ones Django's connection on mysqlclient uses (:data:`CONVERSIONS`): a zero or
  invalid DATE or DATETIME (``'0000-00-00'``, stored under a lenient ``sql_mode``) reads as
  ``None``, not as the string, and TIME as ``datetime.time``, not ``timedelta``.
- asyncmy raises its own exception classes (:data:`ASYNCMY`).
- Given ``OPTIONS['ssl']``, asyncmy itself refuses a server without TLS (aiomysql goes on
  in clear text, and the pool refuses it after the fact).
"""

from __future__ import annotations

import inspect
from typing import Any

import asyncmy
import asyncmy.converters
import asyncmy.version
from django.db.backends import utils as backend_utils
from pymysql.constants import CLIENT, FIELD_TYPE
from vinyl.mysql._aio import TLS_REFUSED, AsyncConnection, AsyncDriver, AsyncPool, Outcome
from vinyl.mysql._connect import (
    ConnectionSetup,
    check_asyncmy_release,
    forget_result,
    mysqlclient_dates,
)
from vinyl.mysql.errors import DriverErrors
from vinyl.query.backend import Dialect, PoolConfig

__all__ = ["ASYNCMY", "CONVERSIONS", "AsyncmyConnection", "AsyncmyDriver", "AsyncmyPool"]

check_asyncmy_release(asyncmy.version.__VERSION__)

_CONNECT_PARAMETERS = frozenset(inspect.signature(asyncmy.connect).parameters)

#: asyncmy's exception classes (its own, not PyMySQL's).
ASYNCMY = DriverErrors.of(asyncmy)

#: Bytes of a new connection's receive buffer (asyncmy's own: 256 KiB), enough for a
#: page of ~100 rows.
RECEIVE_BUFFER = 16384

#: An asyncmy connection (its stubs leave most of it untyped).
type Raw = Any


#: asyncmy's converters, with the decoders Django's backend on mysqlclient reads with.
CONVERSIONS: dict[Any, Any] = {
    **asyncmy.converters.conversions,
    **mysqlclient_dates(asyncmy.converters.convert_date, asyncmy.converters.convert_datetime),
    FIELD_TYPE.TIME: backend_utils.typecast_time,
}


class AsyncmyConnection(AsyncConnection[Raw]):
    """One asyncmy connection, used by one task at a time; unusable once released."""

    __slots__ = ()

    errors = ASYNCMY

    async def send(self, query: str) -> Outcome:
        """Send *query*, complete SQL, and read its whole (buffered) result."""
        raw = self.raw
        await raw.query(query)
        result = raw._result
        forget_result(raw)
        return Outcome(
            result.affected_rows, result.insert_id, result.description, result.rows or ()
        )


class AsyncmyPool(AsyncPool[Raw, AsyncmyConnection]):
    """A bounded pool of asyncmy connections on the event loop that created it.

    See :class:`~vinyl.mysql._aio.AsyncPool` for its rules.
    """

    def __init__(self, config: PoolConfig, dialect: Dialect) -> None:
        setup = ConnectionSetup(config, _CONNECT_PARAMETERS, "asyncmy")
        setup.kwargs["conv"] = CONVERSIONS
        super().__init__(config, AsyncmyConnection, setup)
        self.dialect = dialect

    async def open(self) -> Raw:
        """Open an asyncmy connection; refuse with PyMySQL's words a server without TLS.

        asyncmy never goes on in clear text when ``ssl`` is given, but fails on a server
        without TLS with the TLS library's words (``WRONG_VERSION_NUMBER``); the server's
        greeting, read first, says whether it has TLS.
        """
        kwargs = self.setup.kwargs
        # Made, then connected, to read the greeting's capabilities if connecting fails.
        raw = asyncmy.Connection(**kwargs)  # type: ignore[no-untyped-call]
        try:
            await raw.connect()
        except ASYNCMY.base as exc:
            capabilities = getattr(raw, "server_capabilities", None)
            if kwargs.get("ssl") and capabilities is not None and not capabilities & CLIENT.SSL:
                raise ASYNCMY.operational(*TLS_REFUSED) from exc
            raise
        # asyncmy fills a 256 KiB receive buffer per connection up front: 2.5 MiB for a
        # pool of ten before a row is read. Idle (the handshake read), it starts smaller;
        # asyncmy doubles it when a reply needs more (to 1 MiB for 10,000 books). The
        # receive state is public in asyncmy's declarations, not in its stubs.
        proto = raw._proto  # type: ignore[attr-defined]
        if proto.length == proto.pos:
            proto.buffer, proto.length, proto.pos = bytearray(RECEIVE_BUFFER), 0, 0
        return raw

    def lost(self, raw: Raw) -> bool:
        """Return whether *raw* is closed or its socket saw EOF."""
        return not raw.connected or bool(raw._stream_broken)

    def in_transaction(self, raw: Raw) -> bool:
        """Return whether the server's last reply said *raw* is inside a transaction."""
        return bool(raw.get_transaction_status())


class AsyncmyDriver(AsyncDriver[Raw, AsyncmyConnection]):
    """Opens :class:`AsyncmyPool` pools (the ENGINE's async driver with asyncmy)."""

    def __init__(self) -> None:
        super().__init__(AsyncmyPool)
