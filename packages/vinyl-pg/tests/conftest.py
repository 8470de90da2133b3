"""Fixtures of vinyl-pg's tests: the PostgreSQL alias's backend and a raw asyncpg connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import pytest
from django.conf import settings
from django.db import connections
from vinyl.query.databases import Backend, get_backend
from vinyl_testing.pgbouncer import pgbouncer
from vinyl_testing.plugin import PG, flush


@pytest.fixture
def backend() -> Iterator[Backend]:
    """Return the vinyl backend of the PostgreSQL alias; empty the test tables afterwards."""
    yield get_backend(PG.vinyl)
    flush(PG.django)


@pytest.fixture
async def raw_asyncpg(backend: Backend) -> AsyncIterator[asyncpg.Connection]:
    """Return a plain asyncpg connection to the test database (asyncpg's own codecs).

    Like any asyncpg user of hstore, it registers asyncpg's built-in hstore codec.
    """
    config = backend.config
    connection = await asyncpg.connect(
        host=config.host, port=config.port, user=config.user, database=config.name
    )
    await connection.set_builtin_type_codec("hstore", codec_name="pg_contrib.hstore")
    yield connection
    await connection.close()


@pytest.fixture
def oracle() -> Iterator[Any]:
    """Return a cursor of Django's own PostgreSQL backend on the same database."""
    with connections[PG.django].cursor() as cursor:
        yield cursor


@pytest.fixture
def server_connections(oracle: Any) -> Callable[[], set[int]]:
    """Return a function listing the server's connections (backend pids) to the test database.

    Django's own oracle connection is left out. A set, not a count: a connection an earlier
    test closed may still be listed for a moment, then go, while the caller counts.
    """

    def pids() -> set[int]:
        oracle.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {int(pid) for (pid,) in oracle.fetchall()}

    return pids


@pytest.fixture(scope="module")
def bouncer() -> Iterator[tuple[str, int]]:
    """Run a PgBouncer in transaction mode before the PostgreSQL test server; return its
    address."""
    server = settings.DATABASES[PG.vinyl]
    with pgbouncer(server["HOST"], int(server["PORT"]), server["USER"]) as address:
        yield address
