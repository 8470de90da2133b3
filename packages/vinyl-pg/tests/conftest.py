"""Fixtures of vinyl-pg's tests: the PostgreSQL alias's backend and a raw asyncpg connection."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import pytest
from vinyl.query.backend import PoolConfig
from vinyl.query.databases import Backend, get_backend
from vinyl_testing.plugin import PG, flush


@pytest.fixture
def backend() -> Iterator[Backend]:
    """Return the vinyl backend of the PostgreSQL alias; empty the test tables afterwards."""
    yield get_backend(PG.vinyl)
    flush(PG.django)


@pytest.fixture
def pool_config(backend: Backend) -> Callable[..., PoolConfig]:
    """Return a factory of the alias's ``PoolConfig`` with some fields changed."""

    def make(**changes: Any) -> PoolConfig:
        return dataclasses.replace(backend.config, **changes)

    return make


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
