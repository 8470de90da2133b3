"""The sync driver: psycopg2 connections in a thread-safe pool of vinyl's own.

``psycopg2.pool`` has no acquire timeout, so the pool is vinyl's
:class:`~vinyl.query._sync.BasePool`, the sync twin of the asyncpg driver's. Connections
run in autocommit (vinyl sends ``BEGIN``/``COMMIT`` itself), in the time zone Django's
connection uses, and read ``jsonb`` as text and datetimes as Django's psycopg2 connection
does.
"""

from __future__ import annotations

import logging
import math
import select
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras
from django.conf import settings
from vinyl.pg import server
from vinyl.pg._connect import SSL_OPTIONS, check_options, connect_error, libpq_options
from vinyl.pg._dbapi import DBAPIConnection
from vinyl.query._sync import BasePool
from vinyl.query.backend import Dialect, PoolConfig

__all__ = ["Psycopg2Connection", "Psycopg2Driver", "Psycopg2Pool"]

logger = logging.getLogger(__name__)


class Psycopg2Driver:
    """Open :class:`Psycopg2Pool` instances (the ``Driver`` of ``vinyl.postgresql_backend``)."""

    def create_pool(self, config: PoolConfig, dialect: Dialect) -> Psycopg2Pool:
        """Return a pool for *config* holding ``pool_min_size`` open connections.

        Raise ``ImproperlyConfigured`` for ``OPTIONS`` the driver cannot honour, and
        ``OperationalError`` if the server is unreachable.
        """
        check_options(config)
        pool = Psycopg2Pool(config)
        pool.start()
        return pool

    def adopt(self, raw: object, alias: str) -> Psycopg2Connection | None:
        """Return a handle on *raw*, Django's psycopg2 connection (``None`` if it is not one)."""
        if not isinstance(raw, psycopg2.extensions.connection):
            return None
        server.record_version(alias, raw.server_version)
        return Psycopg2Connection(raw)


class Psycopg2Connection(DBAPIConnection[psycopg2.extensions.connection]):
    """One psycopg2 connection, taking Django's SQL and parameters."""

    __slots__ = ()

    def cursor(self) -> psycopg2.extensions.cursor:
        """Return a cursor reading datetimes as Django's psycopg2 cursor does."""
        cursor = self.raw.cursor()
        if not settings.USE_TZ:
            # As Django's psycopg2 cursors: naive datetimes in TIME_ZONE without USE_TZ.
            cursor.tzinfo_factory = None
        return cursor


class Psycopg2Pool(BasePool[psycopg2.extensions.connection, Psycopg2Connection]):
    """A bounded, thread-safe pool of psycopg2 connections.

    See :class:`~vinyl.query._sync.BasePool` for its states and bounds.
    """

    def __init__(self, config: PoolConfig) -> None:
        super().__init__(config, Psycopg2Connection)

    def get_new_connection(self) -> psycopg2.extensions.connection:
        """Open a psycopg2 connection that reads Django's values."""
        config = self.config
        params: dict[str, Any] = {
            key: config.options[key] for key in SSL_OPTIONS if key in config.options
        }
        if config.connect_timeout is not None:
            params["connect_timeout"] = math.ceil(config.connect_timeout)
        try:
            raw = psycopg2.connect(
                host=config.host or None,
                port=config.port,
                user=config.user or None,
                password=config.password or None,
                dbname=config.name or None,
                options=libpq_options(config),
                **params,
            )
        except psycopg2.Error as exc:
            raise connect_error(config, exc) from exc
        raw.autocommit = True
        # Django's psycopg2 connection reads jsonb as text for JSONField.from_db_value.
        psycopg2.extras.register_default_jsonb(conn_or_curs=raw, loads=lambda text: text)
        try:
            psycopg2.extras.register_hstore(raw)
        except psycopg2.ProgrammingError:
            # The hstore extension is not installed in this database; nothing reads it.
            pass
        server.record_version(config.alias, raw.server_version)
        return raw

    def discard_reason(
        self, raw: psycopg2.extensions.connection, *, returned: bool = False
    ) -> str | None:
        """Return why *raw* must not be lent again, with no round trip; ``None`` if it may."""
        if raw.closed:
            return "the connection is closed"
        # An idle connection receives nothing (vinyl never LISTENs): anything readable is the
        # server's goodbye (pg_terminate_backend, shutdown) or the end of the stream.
        if not returned and select.select([raw], [], [], 0)[0]:
            return "the server closed the connection"
        if raw.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            # vinyl ends every transaction it opens; one left open was abandoned half-way.
            return "a transaction was left open"
        return None

    def close_connection(self, raw: psycopg2.extensions.connection) -> None:
        """Close *raw* for good."""
        raw.close()
