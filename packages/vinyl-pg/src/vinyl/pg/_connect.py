"""What both drivers send when they open a connection, and the errors they share."""

from __future__ import annotations

from django.conf import settings
from django.db import InterfaceError, OperationalError
from vinyl.query.backend import PoolConfig

#: libpq's SSL settings, passed to the drivers as they are.
SSL_OPTIONS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcrl")


def session_settings(config: PoolConfig) -> dict[str, str]:
    """Return the session settings every driver connection of *config* starts with.

    Both drivers send them in the connection packet (no extra round trip).
    """
    # Django's PostgreSQL connection runs in UTC with USE_TZ, else in TIME_ZONE; SQL such
    # as a timestamptz-to-date cast depends on it.
    result = {"TimeZone": "UTC" if settings.USE_TZ else settings.TIME_ZONE}
    if config.isolation_level:
        result["default_transaction_isolation"] = config.isolation_level
    if "application_name" in config.options:
        result["application_name"] = str(config.options["application_name"])
    return result


def connect_error(config: PoolConfig, exc: BaseException) -> OperationalError:
    """Return the error for a connection to *config*'s server that could not be opened."""
    if isinstance(exc, TimeoutError):
        detail = f"no answer within connect_timeout={config.connect_timeout}s"
    else:
        detail = str(exc).strip() or type(exc).__name__
    return OperationalError(
        f"Cannot connect to the PostgreSQL server at {config.address} (database alias "
        f"{config.alias!r}): {detail}. Check that the server is running and that HOST, "
        f"PORT, USER and PASSWORD of DATABASES[{config.alias!r}] are right."
    )


def closed_error(config: PoolConfig) -> InterfaceError:
    """Return the error for using a pool after ``close()``."""
    return InterfaceError(
        f"The connection pool of database alias {config.alias!r} is closed; "
        f"connections are only taken from a pool that vinyl opened and has not closed."
    )


def exhausted_error(config: PoolConfig, max_size: int) -> OperationalError:
    """Return the error for an acquire that found no free connection in time."""
    return OperationalError(
        f"No connection to {config.address} (database alias {config.alias!r}) became free "
        f"within pool_timeout={config.timeout}s: all {max_size} connections of the pool "
        f"(pool_max_size={max_size}) are in use. Raise OPTIONS['pool_max_size'] or "
        f"OPTIONS['pool_timeout'], or hold connections for shorter."
    )


def foreign_connection_error(config: PoolConfig, connection: object) -> InterfaceError:
    """Return the error for releasing a connection this pool did not give out."""
    return InterfaceError(
        f"{connection!r} is not a connection of the pool of database alias {config.alias!r}; "
        f"release a connection to the pool it was acquired from."
    )


def lost_error(exc: BaseException) -> OperationalError:
    """Return the error for a statement sent on a connection the server has closed."""
    return OperationalError(
        f"The connection to the PostgreSQL server was lost ({exc}); the server restarted "
        f"or ended it (pg_terminate_backend). vinyl discards it and the next operation "
        f"opens a new one."
    )


def released_error() -> InterfaceError:
    """Return the error for using a connection after it went back to its pool."""
    return InterfaceError(
        "This connection was returned to its pool and cannot be used any more; acquire a new one."
    )
