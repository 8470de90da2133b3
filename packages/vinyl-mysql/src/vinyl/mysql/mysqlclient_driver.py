"""The sync driver on mysqlclient, the driver Django's backend runs on when it is installed.

Django's MySQL backend imports ``MySQLdb``: mysqlclient when it is installed (the C driver
Django recommends), else PyMySQL, which the ENGINE installs in its place. vinyl's sync
flavor runs on the driver Django's connection does, configured as Django configures it
(its converters, ``FOUND_ROWS``, its session set-up), so it reads the values Django's
connection reads and can run on Django's own connection inside ``atomic()``
(``vinyl.query.djangoatomic``). The ENGINE imports this module only then: importing it
without mysqlclient would import PyMySQL under the name ``MySQLdb``. Statements and pool
rules are :mod:`vinyl.mysql._dbapi`'s, shared with :mod:`vinyl.mysql.pymysql_driver`.

What differs from PyMySQL:

- mysqlclient does not expose the server's status flags (PyMySQL's ``server_status``), so
  whether a pooled connection was left inside a transaction is recorded from the
  statements vinyl runs on it: ``BEGIN``/``START TRANSACTION`` open one, ``COMMIT`` and
  ``ROLLBACK`` (not ``ROLLBACK TO SAVEPOINT``) end it. A connection is discarded when one
  is open; a transaction ended by the server alone (a DDL statement's implicit commit)
  only costs a reconnection.
- ``OPTIONS['ssl']`` is passed as given (mysqlclient's keys: ``ca``, ``cert``, ``key``,
  ``capath``, ``cipher``) and mysqlclient's ``ssl_mode`` is taken. Without ``ssl_mode``
  it is what PyMySQL and aiomysql do with the same dict (TLS required; the server's
  certificate, and its name unless ``check_hostname`` is false, verified when a ``ca``
  or ``capath`` is given), not mysqlclient's default, which falls back to clear text.
  mysqlclient built on MariaDB Connector/C connects in clear text even with
  ``ssl_mode='REQUIRED'`` (seen with mysqlclient 2.3.2 on Connector/C 3.3), so when TLS is
  required a new connection's ``Ssl_cipher`` is read once, and a connection without one is
  closed with the error PyMySQL raises.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import Sequence
from typing import Any

import MySQLdb  # type: ignore[import-untyped]
import MySQLdb.connections  # type: ignore[import-untyped]
from django.db.backends.mysql.base import django_conversions
from vinyl.mysql._connect import ConnectionSetup, connect_error
from vinyl.mysql._dbapi import DBAPIConnection, DBAPIDriver, DBAPIPool, close
from vinyl.mysql.errors import DriverErrors
from vinyl.query.backend import Dialect, PoolConfig

__all__ = ["MySQLclientConnection", "MySQLclientDriver", "MySQLclientPool"]

#: What mysqlclient's ``connect()`` takes: its C part's keywords (not introspectable) and
#: those its ``Connection`` reads itself (mysqlclient 2.2's docstring).
_CONNECT_PARAMETERS = frozenset(
    {
        # _mysql.connection
        "host",
        "user",
        "password",
        "database",
        "port",
        "unix_socket",
        "conv",
        "connect_timeout",
        "compress",
        "named_pipe",
        "init_command",
        "read_default_file",
        "read_default_group",
        "client_flag",
        "ssl",
        "ssl_mode",
        "local_infile",
        "read_timeout",
        "write_timeout",
        "charset",
        "auth_plugin",
        "server_public_key_path",
        "local_infile_dir",
        # MySQLdb.connections.Connection
        "db",
        "passwd",
        "cursorclass",
        "collation",
        "use_unicode",
        "sql_mode",
        "binary_prefix",
        "executemany_fallback",
        "multi_statements",
        "autocommit",
    }
)

#: The attribute of a mysqlclient connection that records a transaction vinyl opened on it.
_IN_TRANSACTION = "vinyl_in_transaction"

#: A mysqlclient connection (mysqlclient ships no type information).
type Raw = Any


def _in_transaction_after(sql: str, before: bool) -> bool:
    """Return whether a connection is inside a transaction once *sql* ran on it."""
    head = sql[:40].lstrip().upper()
    if head.startswith(("BEGIN", "START TRANSACTION")):
        return True
    if head.startswith(("COMMIT", "ROLLBACK")) and " TO " not in head:
        return False
    return before


class MySQLclientConnection(DBAPIConnection[Raw]):
    """One mysqlclient connection, used by one thread at a time; unusable once released."""

    __slots__ = ()

    errors = DriverErrors.of(MySQLdb)

    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        cursor = super()._run(sql, params)
        raw = self.raw
        setattr(raw, _IN_TRANSACTION, _in_transaction_after(sql, in_transaction(raw)))
        return cursor


def in_transaction(raw: Raw) -> bool:
    """Return whether vinyl's statements left *raw* inside a transaction."""
    return bool(getattr(raw, _IN_TRANSACTION, False))


def connect_kwargs(setup: ConnectionSetup) -> dict[str, Any]:
    """Return mysqlclient's ``connect()`` arguments: *setup*'s, with Django's converters."""
    kwargs = {**setup.kwargs, "conv": django_conversions}
    settings = setup.config.options.get("ssl")
    if isinstance(settings, dict):
        # setup built the context PyMySQL would (loading the files, or raising
        # ImproperlyConfigured); mysqlclient takes the dict, and a mode as strict.
        kwargs.setdefault("ssl_mode", _ssl_mode(kwargs["ssl"]))
        kwargs["ssl"] = settings
    if setup.config.connect_timeout is not None:
        # Whole seconds: mysqlclient takes an int.
        kwargs["connect_timeout"] = math.ceil(setup.config.connect_timeout)
    # mysqlclient takes no None for a string (no USER or NAME: its default).
    return {key: value for key, value in kwargs.items() if value is not None}


#: The ``ssl_mode`` values that refuse a connection in clear text.
_TLS_REQUIRED = frozenset({"REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"})
_SSL_CIPHER_SQL = "SHOW SESSION STATUS LIKE 'Ssl_cipher'"


def _ssl_mode(context: ssl.SSLContext) -> str:
    if context.verify_mode == ssl.CERT_NONE:
        return "REQUIRED"
    return "VERIFY_IDENTITY" if context.check_hostname else "VERIFY_CA"


class MySQLclientPool(DBAPIPool[Raw, MySQLclientConnection]):
    """A bounded, thread-safe pool of mysqlclient connections.

    See :class:`~vinyl.mysql._dbapi.DBAPIPool` for its rules.
    """

    def __init__(self, config: PoolConfig, dialect: Dialect) -> None:
        setup = ConnectionSetup(config, _CONNECT_PARAMETERS, "mysqlclient")
        super().__init__(config, MySQLclientConnection, setup)
        self.dialect = dialect
        self.kwargs = connect_kwargs(setup)
        # A dict came with an ssl_mode (above); anything else true is mysqlclient's ssl=True.
        tls, mode = self.kwargs.get("ssl"), self.kwargs.get("ssl_mode")
        self.tls_required = (bool(tls) and not isinstance(tls, dict)) or (
            isinstance(mode, str) and mode.upper() in _TLS_REQUIRED
        )

    def connect(self) -> Raw:
        """Open a mysqlclient connection; refuse one in clear text when TLS is required."""
        try:
            raw = MySQLdb.connect(**self.kwargs)
            if self.tls_required:
                cursor = raw.cursor()
                cursor.execute(_SSL_CIPHER_SQL)
                if not cursor.fetchone()[1]:
                    close(raw)
                    # CR_SSL_CONNECTION_ERROR, with PyMySQL's words for it.
                    raise MySQLdb.OperationalError(
                        2026, "SSL is required but the server doesn't support it"
                    )
        except (MySQLdb.Error, OSError) as exc:
            raise connect_error(self.config, exc) from exc
        return raw

    def fileno(self, raw: Raw) -> int | None:
        """Return the file descriptor of *raw*'s socket; ``None`` once it is closed."""
        return int(raw.fileno()) if raw.open else None

    def in_transaction(self, raw: Raw) -> bool:
        """Return whether vinyl's statements left *raw* inside a transaction."""
        return in_transaction(raw)


class MySQLclientDriver(DBAPIDriver[Raw, MySQLclientConnection]):
    """Opens :class:`MySQLclientPool` pools (the ENGINE's sync driver with mysqlclient)."""

    def __init__(self) -> None:
        super().__init__(MySQLdb.connections.Connection, MySQLclientConnection, MySQLclientPool)
