"""What both drivers send when they open a connection, and the error when they cannot."""

from __future__ import annotations

import math
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from vinyl.query.backend import PoolConfig

#: libpq's SSL settings, passed to the drivers as they are.
SSL_OPTIONS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcrl")
#: Every ``OPTIONS`` key, beyond vinyl's pool keys, that both drivers honour.
ACCEPTED_OPTIONS = frozenset({*SSL_OPTIONS, "application_name", "options"})

# One token of libpq's "options": characters other than spaces, a backslash escaping the
# next character.
_TOKEN = re.compile(r"(?:\\.|[^\s\\])+")
_ESCAPE = re.compile(r"\\(.)")


def check_options(config: PoolConfig) -> None:
    """Raise ``ImproperlyConfigured`` naming an ``OPTIONS`` key the drivers cannot honour."""
    unknown = sorted(config.options.keys() - ACCEPTED_OPTIONS)
    if unknown:
        raise ImproperlyConfigured(
            f"DATABASES[{config.alias!r}]['OPTIONS'] has {', '.join(map(repr, unknown))}, "
            f"which vinyl's PostgreSQL drivers do not take. Besides the pool keys they take "
            f"{', '.join(map(repr, sorted(ACCEPTED_OPTIONS)))}; remove the others."
        )
    libpq_settings(config)


def libpq_settings(config: PoolConfig) -> dict[str, str]:
    """Return the session settings of libpq's ``OPTIONS['options']`` (``-c name=value``)."""
    found: dict[str, str] = {}
    raw = config.options.get("options", "")
    tokens = iter(_ESCAPE.sub(r"\1", token) for token in _TOKEN.findall(raw))
    for token in tokens:
        if token == "-c":
            token = next(tokens, "")
        elif token.startswith(("-c", "--")):
            token = token.removeprefix("-c").removeprefix("--")
        else:
            token = ""
        name, equals, value = token.partition("=")
        if not (name and equals):
            raise ImproperlyConfigured(
                f"DATABASES[{config.alias!r}]['OPTIONS']['options'] is {raw!r}; vinyl takes "
                f"only session settings there, written as libpq does: "
                f"'-c name=value -c other=value'."
            )
        found[name.replace("-", "_")] = value
    return found


def session_settings(config: PoolConfig) -> dict[str, str]:
    """Return the session settings every driver connection of *config* starts with.

    Both drivers send them in the connection packet (no extra round trip).
    """
    result = libpq_settings(config)
    # Django's PostgreSQL connection runs in UTC with USE_TZ, else in TIME_ZONE (whatever
    # OPTIONS['options'] says); SQL such as a timestamptz-to-date cast depends on it.
    result["TimeZone"] = "UTC" if settings.USE_TZ else settings.TIME_ZONE
    if config.isolation_level:
        result["default_transaction_isolation"] = config.isolation_level
    if "application_name" in config.options:
        result["application_name"] = str(config.options["application_name"])
    return result


def libpq_params(config: PoolConfig) -> dict[str, Any]:
    """Return the connection parameters of *config* for a libpq driver (psycopg2, psycopg 3).

    The session settings go in libpq's ``options``, sent in the connection packet: no round
    trip.
    """
    params: dict[str, Any] = {
        "host": config.host or None,
        "port": config.port,
        "user": config.user or None,
        "password": config.password or None,
        "dbname": config.name or None,
        "options": " ".join(
            f"-c {name}={_libpq_option(value)}" for name, value in session_settings(config).items()
        ),
    }
    params.update((key, config.options[key]) for key in SSL_OPTIONS if key in config.options)
    if config.connect_timeout is not None:
        # libpq takes whole seconds.
        params["connect_timeout"] = math.ceil(config.connect_timeout)
    return params


def _libpq_option(value: str) -> str:
    # libpq splits "options" on spaces; a backslash escapes a space or itself.
    return value.replace("\\", "\\\\").replace(" ", "\\ ")


def connect_error(config: PoolConfig, exc: BaseException) -> OperationalError:
    """Return the error for a connection to *config*'s server that could not be opened."""
    if isinstance(exc, TimeoutError):
        detail = f"no answer within connect_timeout={config.connect_timeout}s"
    else:
        # libpq's message spans lines and may end in a question ("... accepting TCP/IP
        # connections?"): one line, and no full stop after its own.
        detail = " ".join(str(exc).split()) or type(exc).__name__
    if not detail.endswith((".", "?", "!")):
        detail += "."
    return OperationalError(
        f"Cannot connect to the PostgreSQL server at {config.address} (database alias "
        f"{config.alias!r}): {detail} Check that the server is running and that HOST, "
        f"PORT, USER and PASSWORD of DATABASES[{config.alias!r}] are right."
    )
