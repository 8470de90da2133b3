"""Find the vinyl backend of a Django database alias.

``get_backend(alias)`` reads ``settings.DATABASES[alias]`` once and keeps the result until
``DATABASES`` changes (``override_settings`` included).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend
from django.utils.connection import ConnectionDoesNotExist as DjangoConnectionDoesNotExist
from vinyl.query.backend import AsyncDriver, Dialect, Driver, PoolConfig, VinylDatabaseWrapperMixin

__all__ = [
    "POOL_OPTIONS",
    "VINYL_ENGINES",
    "Backend",
    "ConnectionDoesNotExist",
    "get_backend",
    "read_pool_config",
]

#: The ENGINEs vinyl ships, named in the error raised for a non-vinyl alias.
VINYL_ENGINES: Final = ("vinyl.postgresql_backend", "vinyl.mysql_backend", "vinyl.sqlite3_backend")

#: The ``OPTIONS`` keys vinyl interprets itself; a backend's ``DatabaseWrapper`` removes
#: them before handing ``OPTIONS`` to Django's own driver (migrations, ``dbshell``).
POOL_OPTIONS: Final = frozenset(
    {
        "pool_min_size",
        "pool_max_size",
        "pool_timeout",
        "connect_timeout",
        "isolation_level",
        "statement_cache_size",
    }
)

ISOLATION_LEVELS: Final = frozenset(
    {"read uncommitted", "read committed", "repeatable read", "serializable"}
)


class ConnectionDoesNotExist(DjangoConnectionDoesNotExist, ImproperlyConfigured):
    """An alias that is not in ``DATABASES``: Django's error for it (``connections[alias]``).

    Also an ``ImproperlyConfigured``, which vinyl raised for it before.
    """


@dataclass(frozen=True, slots=True, eq=False)
class Backend:
    """Everything vinyl needs to run queries on one alias.

    ``wrapper`` is a private instance of the ENGINE's ``DatabaseWrapper`` that is never
    connected: it only feeds Django's compilers and converters. vinyl never touches
    ``django.db.connections[alias]``, whose state every coroutine of a thread shares.
    """

    alias: str
    config: PoolConfig
    dialect: Dialect
    async_driver: AsyncDriver
    sync_driver: Driver
    wrapper: BaseDatabaseWrapper
    #: The statement that opens a transaction on the alias (``wrapper.vinyl_begin_sql()``).
    begin_sql: str = "BEGIN"


_backends: dict[str, Backend] = {}
_lock = threading.Lock()


def get_backend(alias: str) -> Backend:
    """Return the vinyl backend of *alias*, built on first use and cached.

    Raise :class:`ConnectionDoesNotExist` (Django's, as ``connections[alias]``) when *alias*
    is not in ``DATABASES``; ``ImproperlyConfigured`` when its ENGINE is not a vinyl
    backend, or when its pool ``OPTIONS`` are invalid.
    """
    try:
        return _backends[alias]
    except KeyError:
        pass
    with _lock:
        if alias not in _backends:
            _backends[alias] = _build_backend(alias)
        return _backends[alias]


def _build_backend(alias: str) -> Backend:
    if alias not in settings.DATABASES:
        raise ConnectionDoesNotExist(
            f"The connection {alias!r} doesn't exist. The database alias {alias!r} is not in "
            f"settings.DATABASES (configured aliases: {', '.join(map(repr, settings.DATABASES))})."
        )
    # Django's defaults (TIME_ZONE, OPTIONS...) filled in as for its own connections: the
    # converters of the private wrapper read them. Copied: configure_settings() edits in place.
    settings_dict = connections.configure_settings(copy.deepcopy(settings.DATABASES))[alias]
    engine = settings_dict["ENGINE"]
    wrapper_class = load_backend(engine).DatabaseWrapper
    if not issubclass(wrapper_class, VinylDatabaseWrapperMixin):
        raise ImproperlyConfigured(
            f"The database alias {alias!r} uses ENGINE {engine!r}, which is not a vinyl "
            f"backend. Point vinyl at an alias whose ENGINE is one of "
            f"{', '.join(map(repr, VINYL_ENGINES))} (or another backend whose "
            f"DatabaseWrapper mixes in vinyl.query.backend.VinylDatabaseWrapperMixin)."
        )
    config = read_pool_config(alias, settings_dict)
    wrapper = wrapper_class(settings_dict, alias)
    return Backend(
        alias=alias,
        config=config,
        dialect=wrapper_class.vinyl_dialect,
        async_driver=wrapper_class.vinyl_async_driver,
        sync_driver=wrapper_class.vinyl_sync_driver,
        wrapper=wrapper,
        begin_sql=wrapper.vinyl_begin_sql(),
    )


def read_pool_config(alias: str, settings_dict: Mapping[str, Any]) -> PoolConfig:
    """Return the ``PoolConfig`` of *alias* from its ``DATABASES`` entry.

    Raise ``ImproperlyConfigured`` naming the alias and the option when a pool option has
    the wrong type or value.
    """
    options = dict(settings_dict.get("OPTIONS") or {})
    vinyl_options = {key: options.pop(key) for key in POOL_OPTIONS & options.keys()}
    min_size = _int_option(alias, vinyl_options, "pool_min_size", 1, minimum=0)
    max_size = _int_option(alias, vinyl_options, "pool_max_size", 10, minimum=1)
    if min_size > max_size:
        raise ImproperlyConfigured(
            f"DATABASES[{alias!r}]['OPTIONS']: pool_min_size ({min_size}) is larger than "
            f"pool_max_size ({max_size}); make pool_min_size <= pool_max_size."
        )
    isolation_level = vinyl_options.get("isolation_level")
    if isolation_level is not None:
        if not isinstance(isolation_level, str) or (
            isolation_level.lower() not in ISOLATION_LEVELS
        ):
            raise ImproperlyConfigured(
                f"DATABASES[{alias!r}]['OPTIONS']['isolation_level'] is "
                f"{isolation_level!r}; use one of "
                f"{', '.join(map(repr, sorted(ISOLATION_LEVELS)))}."
            )
        isolation_level = isolation_level.lower()
    port = settings_dict.get("PORT")
    return PoolConfig(
        alias=alias,
        host=settings_dict.get("HOST") or "",
        port=int(port) if port else None,
        user=settings_dict.get("USER") or "",
        password=settings_dict.get("PASSWORD") or "",
        name=settings_dict.get("NAME") or "",
        min_size=min_size,
        max_size=max_size,
        timeout=_seconds_option(alias, vinyl_options, "pool_timeout", 30.0),
        connect_timeout=_seconds_option(alias, vinyl_options, "connect_timeout", 10.0),
        isolation_level=isolation_level,
        statement_cache_size=(
            _int_option(alias, vinyl_options, "statement_cache_size", 0, minimum=0)
            if "statement_cache_size" in vinyl_options
            else None
        ),
        options=options,
    )


def _int_option(
    alias: str, options: Mapping[str, Any], name: str, default: int, *, minimum: int
) -> int:
    value = options.get(name, default)
    # bool is an int subclass; True as a pool size is a mistake worth reporting.
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ImproperlyConfigured(
            f"DATABASES[{alias!r}]['OPTIONS'][{name!r}] is {value!r}; use an integer >= {minimum}."
        )
    return value


def _seconds_option(alias: str, options: Mapping[str, Any], name: str, default: float) -> float:
    value = options.get(name, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ImproperlyConfigured(
            f"DATABASES[{alias!r}]['OPTIONS'][{name!r}] is {value!r}; use a number of seconds > 0."
        )
    return float(value)


def _forget_backends(*, setting: str, **kwargs: Any) -> None:
    # override_settings(DATABASES=...) must not leave a stale backend behind.
    if setting == "DATABASES":
        with _lock:
            _backends.clear()


setting_changed.connect(_forget_backends)
