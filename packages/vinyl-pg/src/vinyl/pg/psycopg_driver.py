"""The sync driver on psycopg 3, the driver Django's own backend runs on when it is installed.

Django's PostgreSQL backend uses psycopg 3 whenever ``psycopg`` can be imported (else
psycopg2), and then prepares values as psycopg 3 objects (``Jsonb``, ``Range``, ``Int4``...)
and reads them through the adapters it configures (``jsonb`` and ``inet`` as text,
``timestamptz`` in the connection's time zone). vinyl's sync flavor then runs on psycopg 3
too, with Django's adapters and cursor class, so it takes and reads exactly what Django's
connection does, and can run on Django's own connection inside ``atomic()``
(``vinyl.query.djangoatomic``). The pool is vinyl's :class:`~vinyl.query._sync.BasePool`,
as for psycopg2; connections run in autocommit (vinyl sends ``BEGIN``/``COMMIT`` itself).
"""

from __future__ import annotations

import datetime
import math
import select
from typing import Any

import psycopg
from django.conf import settings
from django.db.backends.postgresql.psycopg_any import get_adapters_template, register_tzloader
from psycopg.pq import Format, TransactionStatus
from psycopg.types import TypeInfo
from psycopg.types.hstore import register_hstore
from vinyl.pg import server
from vinyl.pg._connect import SSL_OPTIONS, check_options, connect_error, libpq_options
from vinyl.pg._dbapi import DBAPIConnection
from vinyl.query._sync import BasePool
from vinyl.query.backend import Dialect, PoolConfig

__all__ = ["PsycopgConnection", "PsycopgDriver", "PsycopgPool"]

_TIMESTAMPTZ_OID = 1184
#: Marks a connection whose timestamptz loader is not one of Django's (no ``timezone``).
_NOT_DJANGOS = object()


class PsycopgDriver:
    """Open :class:`PsycopgPool` instances (the ``Driver`` of ``vinyl.postgresql_backend``)."""

    def create_pool(self, config: PoolConfig, dialect: Dialect) -> PsycopgPool:
        """Return a pool for *config* holding ``pool_min_size`` open connections.

        Raise ``ImproperlyConfigured`` for ``OPTIONS`` the driver cannot honour, and
        ``OperationalError`` if the server is unreachable.
        """
        check_options(config)
        pool = PsycopgPool(config)
        pool.start()
        return pool

    def adopt(self, raw: object, alias: str) -> PsycopgConnection | None:
        """Return a handle on *raw*, Django's psycopg 3 connection (``None`` if it is not one)."""
        if not isinstance(raw, psycopg.Connection):
            return None
        server.record_version(alias, raw.info.server_version)
        return PsycopgConnection(raw)


def _timezone() -> datetime.tzinfo | None:
    # Django's connection time zone: UTC with USE_TZ (its connections run in UTC), else
    # none, so timestamptz values read as naive datetimes in TIME_ZONE.
    return datetime.UTC if settings.USE_TZ else None


class PsycopgConnection(DBAPIConnection[psycopg.Connection[Any]]):
    """One psycopg 3 connection, taking Django's SQL and parameters."""

    __slots__ = ()

    def cursor(self) -> psycopg.Cursor[Any]:
        """Return a cursor reading datetimes as Django's psycopg 3 cursor does."""
        raw = self.raw
        cursor = raw.cursor()
        timezone = _timezone()
        loader = raw.adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT)
        if getattr(loader, "timezone", _NOT_DJANGOS) is not timezone:
            # As Django's create_cursor(): only where the connection's loader disagrees
            # (USE_TZ changed since it connected), to avoid copying the adapters map.
            register_tzloader(timezone, cursor)
        return cursor


class PsycopgPool(BasePool[psycopg.Connection[Any], PsycopgConnection]):
    """A bounded, thread-safe pool of psycopg 3 connections.

    See :class:`~vinyl.query._sync.BasePool` for its states and bounds.
    """

    def __init__(self, config: PoolConfig) -> None:
        super().__init__(config, PsycopgConnection)

    def get_new_connection(self) -> psycopg.Connection[Any]:
        """Open a psycopg 3 connection configured as Django configures its own."""
        config = self.config
        params: dict[str, Any] = {
            key: config.options[key] for key in SSL_OPTIONS if key in config.options
        }
        if config.connect_timeout is not None:
            params["connect_timeout"] = math.ceil(config.connect_timeout)
        try:
            raw = psycopg.connect(
                host=config.host or None,
                port=config.port,
                user=config.user or None,
                password=config.password or None,
                dbname=config.name or None,
                options=libpq_options(config),
                client_encoding="UTF8",
                autocommit=True,
                # Django's cursor binds parameters client-side (its default): the SQL it
                # writes (untyped bare values, "%%") is meant for that.
                cursor_factory=psycopg.ClientCursor,
                # Django's adapters: jsonb and inet read as text, its range dumper, and
                # timestamptz in Django's time zone.
                context=get_adapters_template(settings.USE_TZ, _timezone()),
                prepare_threshold=None,
                **params,
            )
        except psycopg.Error as exc:
            raise connect_error(config, exc) from exc
        # django.contrib.postgres registers hstore on Django's connections; a column of
        # that type reads as a dict only where the extension is installed.
        info = TypeInfo.fetch(raw, "hstore")
        if info is not None:
            register_hstore(info, raw)
        server.record_version(config.alias, raw.info.server_version)
        return raw

    def discard_reason(self, raw: psycopg.Connection[Any], *, returned: bool = False) -> str | None:
        """Return why *raw* must not be lent again, with no round trip; ``None`` if it may."""
        if raw.closed or raw.broken:
            return "the connection is closed"
        # An idle connection receives nothing (vinyl never LISTENs): anything readable is the
        # server's goodbye (pg_terminate_backend, shutdown) or the end of the stream.
        if not returned and select.select([raw.fileno()], [], [], 0)[0]:
            return "the server closed the connection"
        if raw.info.transaction_status != TransactionStatus.IDLE:
            # vinyl ends every transaction it opens; one left open was abandoned half-way.
            return "a transaction was left open"
        return None

    def close_connection(self, raw: psycopg.Connection[Any]) -> None:
        """Close *raw* for good."""
        raw.close()
