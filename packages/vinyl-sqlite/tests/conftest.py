"""Fixtures of vinyl-sqlite's tests: the SQLite alias's backend, Django's cursor, spare files."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django.test import override_settings
from vinyl.query.backend import PoolConfig
from vinyl.query.databases import Backend, get_backend
from vinyl_testing.plugin import SQLITE, flush


@pytest.fixture
def backend(sqlite_database: str) -> Iterator[Backend]:
    """Return the vinyl backend of the SQLite alias; empty the test tables afterwards."""
    yield get_backend(SQLITE.vinyl)
    flush(SQLITE.django)


@pytest.fixture
def oracle(backend: Backend) -> Iterator[Any]:
    """Return a cursor of Django's own SQLite backend on the same database file."""
    with connections[SQLITE.django].cursor() as cursor:
        yield cursor


@pytest.fixture
def database_file(tmp_path: Path, backend: Backend) -> PoolConfig:
    """Return the alias's ``PoolConfig`` on a new, empty database file of this test's own."""
    return dataclasses.replace(backend.config, name=str(tmp_path / "own.sqlite3"))


@pytest.fixture
def extra_alias() -> Iterator[Callable[..., None]]:
    """Return a function adding a database alias for one test: ``add(alias, **settings)``.

    The entry starts as the vinyl alias's and takes *settings* over it; Django's
    connections and vinyl (``settings.DATABASES``) both see it until the test ends.
    """
    added: list[tuple[str, Any]] = []

    def add(alias: str, **changes: Any) -> None:
        entry = {**settings.DATABASES[SQLITE.vinyl], "TEST": {}, **changes}
        # configure_settings fills in Django's defaults; it insists on a "default" entry.
        configured = connections.configure_settings({"default": entry, alias: entry})[alias]
        override = override_settings(DATABASES={**settings.DATABASES, alias: entry})
        override.enable()
        added.append((alias, override))
        connections.settings[alias] = configured

    yield add
    for alias, override in reversed(added):
        connections[alias].close()
        del connections[alias]
        del connections.settings[alias]
        override.disable()
