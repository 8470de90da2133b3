"""The sync driver on psycopg2, where psycopg 3 is not installed (Django's backend then uses it).

Connections run in autocommit (vinyl sends ``BEGIN``/``COMMIT`` itself), in the time zone
Django's connection uses, and read ``jsonb`` as text and datetimes as Django's psycopg2
connection does. The pool is :class:`~vinyl.pg._dbapi.LibpqPool`.
"""

from __future__ import annotations

import psycopg2
import psycopg2.extensions
import psycopg2.extras
from django.conf import settings
from vinyl.pg import server
from vinyl.pg._connect import connect_error, libpq_params
from vinyl.pg._dbapi import DBAPIConnection, LibpqDriver, LibpqPool

__all__ = ["Psycopg2Connection", "Psycopg2Driver", "Psycopg2Pool"]

type Raw = psycopg2.extensions.connection


class Psycopg2Connection(DBAPIConnection[Raw]):
    """One psycopg2 connection, taking Django's SQL and parameters."""

    __slots__ = ()

    def cursor(self) -> psycopg2.extensions.cursor:
        """Return a cursor reading datetimes as Django's psycopg2 cursor does."""
        cursor = self.raw.cursor()
        if not settings.USE_TZ:
            # As Django's psycopg2 cursors: naive datetimes in TIME_ZONE without USE_TZ.
            cursor.tzinfo_factory = None
        return cursor


class Psycopg2Pool(LibpqPool[Raw, Psycopg2Connection]):
    """A bounded, thread-safe pool of psycopg2 connections."""

    def get_new_connection(self) -> Raw:
        """Open a psycopg2 connection that reads Django's values."""
        config = self.config
        try:
            raw = psycopg2.connect(**libpq_params(config))
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


class Psycopg2Driver(LibpqDriver[Raw, Psycopg2Connection]):
    """Open :class:`Psycopg2Pool` instances (the ``Driver`` of ``vinyl.postgresql_backend``)."""

    def __init__(self) -> None:
        super().__init__(psycopg2.extensions.connection, Psycopg2Connection, Psycopg2Pool)
