"""The sync driver on psycopg 3, the driver Django's own backend runs on when it is installed.

Django's PostgreSQL backend uses psycopg 3 whenever ``psycopg`` can be imported (else
psycopg2), and then prepares values as psycopg 3 objects (``Jsonb``, ``Range``, ``Int4``...)
and reads them through the adapters it configures (``jsonb`` and ``inet`` as text,
``timestamptz`` in the connection's time zone). vinyl's sync flavor then runs on psycopg 3
too, with Django's adapters and cursor class, so it takes and reads exactly what Django's
connection does, and can run on Django's own connection inside ``atomic()``
(``vinyl.query.djangoatomic``). Connections run in autocommit (vinyl sends
``BEGIN``/``COMMIT`` itself); the pool is :class:`~vinyl.pg._dbapi.LibpqPool`.
"""

from __future__ import annotations

import datetime
from typing import Any

import psycopg
from django.conf import settings
from django.db.backends.postgresql.psycopg_any import get_adapters_template, register_tzloader
from psycopg.pq import Format
from psycopg.types import TypeInfo
from psycopg.types.hstore import register_hstore
from vinyl.pg import server
from vinyl.pg._connect import connect_error, libpq_params
from vinyl.pg._dbapi import DBAPIConnection, LibpqDriver, LibpqPool

__all__ = ["PsycopgConnection", "PsycopgDriver", "PsycopgPool"]

type Raw = psycopg.Connection[Any]

_TIMESTAMPTZ_OID = 1184
#: Marks a connection whose timestamptz loader is not one of Django's (no ``timezone``).
_NOT_DJANGOS = object()


def _timezone() -> datetime.tzinfo | None:
    # Django's connection time zone: UTC with USE_TZ (its connections run in UTC), else
    # none, so timestamptz values read as naive datetimes in TIME_ZONE.
    return datetime.UTC if settings.USE_TZ else None


class PsycopgConnection(DBAPIConnection[Raw]):
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


class PsycopgPool(LibpqPool[Raw, PsycopgConnection]):
    """A bounded, thread-safe pool of psycopg 3 connections."""

    def get_new_connection(self) -> Raw:
        """Open a psycopg 3 connection configured as Django configures its own."""
        config = self.config
        try:
            raw = psycopg.connect(
                **libpq_params(config),
                client_encoding="UTF8",
                autocommit=True,
                # Django's cursor binds parameters client-side (its default): the SQL it
                # writes (untyped bare values, "%%") is meant for that.
                cursor_factory=psycopg.ClientCursor,
                # Django's adapters: jsonb and inet read as text, its range dumper, and
                # timestamptz in Django's time zone.
                context=get_adapters_template(settings.USE_TZ, _timezone()),
                prepare_threshold=None,
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


class PsycopgDriver(LibpqDriver[Raw, PsycopgConnection]):
    """Open :class:`PsycopgPool` instances (the ``Driver`` of ``vinyl.postgresql_backend``)."""

    def __init__(self) -> None:
        super().__init__(psycopg.Connection, PsycopgConnection, PsycopgPool)
