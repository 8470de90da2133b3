"""What the drivers share on a connection: what opens it (arguments, session set-up), how
it decodes dates as mysqlclient (:func:`mysqlclient_dates`), how it forgets a result
once read (:func:`forget_result`), and which asyncmy releases vinyl runs on
(:func:`check_asyncmy_release`)."""

from __future__ import annotations

import datetime
import re
import ssl
from collections.abc import Callable, Collection, Sequence
from typing import Any

import pymysql
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from django.db.backends import utils as backend_utils
from pymysql.constants import CLIENT, FIELD_TYPE
from pymysql.converters import conversions
from vinyl.mysql.errors import errno_of
from vinyl.mysql.server import ServerData, learn_server
from vinyl.query.backend import PoolConfig

#: Django's MySQL backend reads TIME columns as ``datetime.time``, not ``timedelta``.
CONVERSIONS: dict[Any, Any] = {**conversions, FIELD_TYPE.TIME: backend_utils.typecast_time}


#: The asyncmy releases vinyl_async runs on, from the first up to the next minor release:
#: vinyl reads a connection's buffered result and receive buffer directly, for speed, and
#: asyncmy does not promise to keep those between releases.
ASYNCMY_RELEASES = ((0, 2, 18), (0, 3))


def check_asyncmy_release(version: str) -> None:
    """Raise ImproperlyConfigured unless asyncmy *version* is one vinyl_async runs on.

    As Django's MySQL backend refuses a mysqlclient it does not support, when the first
    pool opens rather than on the first read that an unknown asyncmy would break.
    """
    release = tuple(int(part) for part in re.findall(r"\d+", version)[:3])
    if not ASYNCMY_RELEASES[0] <= release < ASYNCMY_RELEASES[1]:
        lowest, beyond = (".".join(map(str, bound)) for bound in ASYNCMY_RELEASES)
        raise ImproperlyConfigured(
            f"vinyl_async runs on asyncmy {lowest} up to (not including) {beyond}; you have "
            f"asyncmy {version}. Install a supported release (pip install "
            f"'asyncmy>={lowest},<{beyond}'), or uninstall asyncmy to run on aiomysql."
        )


def mysqlclient_dates(
    convert_date: Callable[[str], Any], convert_datetime: Callable[[str], Any]
) -> dict[int, Callable[[str], datetime.date | None]]:
    """Return DATE, DATETIME and TIMESTAMP decoders that read as mysqlclient reads.

    PyMySQL's and asyncmy's converters (*convert_date*, *convert_datetime*) return a value
    Python cannot hold (``'0000-00-00'``, stored under a lenient ``sql_mode``) as the string
    itself; mysqlclient, and so Django's connection on it, reads it as ``None``.
    """

    def or_none(convert: Callable[[str], Any]) -> Callable[[str], datetime.date | None]:
        def decode(value: str) -> datetime.date | None:
            converted = convert(value)
            return converted if isinstance(converted, datetime.date) else None

        return decode

    date, moment = or_none(convert_date), or_none(convert_datetime)
    return {FIELD_TYPE.DATE: date, FIELD_TYPE.DATETIME: moment, FIELD_TYPE.TIMESTAMP: moment}


#: Django's default isolation level on MySQL/MariaDB (the server's own is REPEATABLE READ).
DEFAULT_ISOLATION_LEVEL = "read committed"


class ConnectionSetup:
    """What a pool sends to each connection it opens: ``connect()``'s arguments, then SQL.

    The pool's first connection reads the server's data (``SERVER_DATA_SQL``) and hands
    the row to :meth:`learn`; every connection then runs :attr:`statements`.
    """

    def __init__(self, config: PoolConfig, accepted: Collection[str], driver: str) -> None:
        self.config = config
        self.kwargs = connect_kwargs(config, accepted, driver)
        self.server: ServerData | None = None
        self.statements: list[str] = []

    def learn(self, row: Sequence[Any]) -> None:
        """Record the server *row* describes, and the session statements it calls for."""
        self.server = learn_server(self.config.alias, row)
        self.statements = session_sql(self.config, self.server)


def connect_kwargs(config: PoolConfig, accepted: Collection[str], driver: str) -> dict[str, Any]:
    """Return the keyword arguments of *driver*'s ``connect``, which takes *accepted*.

    Autocommit is on: vinyl sends ``BEGIN``/``COMMIT`` itself. ``FOUND_ROWS`` makes an
    UPDATE report the rows it matched, as Django's MySQL backend does. Raise
    ``ImproperlyConfigured`` naming an ``OPTIONS`` key the driver does not take.
    """
    unknown = sorted(config.options.keys() - set(accepted))
    if unknown:
        raise ImproperlyConfigured(
            f"DATABASES[{config.alias!r}]['OPTIONS'] has {', '.join(map(repr, unknown))}, "
            f"which {driver}'s connect() does not take (vinyl passes OPTIONS other than its "
            f"pool keys to the driver). Remove it, or use the driver's name for the setting "
            f"(TLS settings go in OPTIONS['ssl'] as a dict: 'ca', 'cert', 'key'...)."
        )
    kwargs: dict[str, Any] = {
        "user": config.user or None,
        "password": config.password,
        "charset": "utf8mb4",
        "conv": CONVERSIONS,
        "client_flag": CLIENT.FOUND_ROWS,
        "autocommit": True,
        "database": config.name or None,
    }
    if config.connect_timeout is not None:
        kwargs["connect_timeout"] = config.connect_timeout
    if config.host.startswith("/"):
        kwargs["unix_socket"] = config.host
    else:
        kwargs["host"] = config.host or "localhost"
        kwargs["port"] = config.port or 3306
    kwargs.update(config.options)
    if isinstance(kwargs.get("ssl"), dict):
        kwargs["ssl"] = ssl_context(config, kwargs["ssl"])
    return kwargs


def ssl_context(config: PoolConfig, settings: dict[str, Any]) -> ssl.SSLContext:
    """Return the ``SSLContext`` PyMySQL builds from its ``ssl`` dict (``ca``, ``cert``...).

    aiomysql only takes a context; building it once, with PyMySQL's own rules, gives both
    drivers (and Django's backend on PyMySQL) the same TLS behaviour for one setting.
    Raise ``ImproperlyConfigured`` when the files it names cannot be loaded.
    """
    # A method that does not use its instance; PyMySQL exposes no function for it.
    create = pymysql.connections.Connection._create_ssl_ctx  # type: ignore[attr-defined]
    try:
        context: ssl.SSLContext = create(None, settings)
    except (OSError, ssl.SSLError) as exc:
        raise ImproperlyConfigured(
            f"DATABASES[{config.alias!r}]['OPTIONS']['ssl'] could not be loaded: {exc}. "
            f"Point 'ca', 'cert' and 'key' at readable PEM files."
        ) from exc
    return context


def session_sql(config: PoolConfig, server: ServerData) -> list[str]:
    """Return the statements that set up each new connection, as Django's backend does."""
    statements = []
    if server.sql_auto_is_null:
        # Otherwise "WHERE id IS NULL" right after an INSERT finds the new row.
        statements.append("SET SQL_AUTO_IS_NULL = 0")
    level = config.isolation_level or DEFAULT_ISOLATION_LEVEL
    statements.append(f"SET SESSION TRANSACTION ISOLATION LEVEL {level.upper()}")
    return statements


def connect_error(config: PoolConfig, exc: BaseException) -> OperationalError:
    """Return the error for a connection to *config*'s server that could not be opened."""
    if isinstance(exc, TimeoutError):
        detail = f"no answer within connect_timeout={config.connect_timeout}s"
    else:
        detail = str(exc)
    error = OperationalError(
        f"Cannot connect to the MySQL/MariaDB server at {config.address} (database alias "
        f"{config.alias!r}): {detail}. Check that the server is running and that HOST, "
        f"PORT, USER and PASSWORD of DATABASES[{config.alias!r}] are right."
    )
    error.errno = errno_of(exc)  # type: ignore[attr-defined]
    return error


def forget_result(raw: Any) -> None:
    """Make *raw* (a PyMySQL, aiomysql or asyncmy connection) drop its last result, read.

    The three keep it until the connection's next statement, so an idle pooled connection
    would hold the last read's rows and values (3 MiB for 10,000 books). One followed by
    more results (a ``CALL``) stays: the next statement reads the rest first.
    """
    result = raw._result
    if result is not None and not result.has_next:
        raw._result = None
