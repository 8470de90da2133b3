"""Fixtures of vinyl-mysql's tests: the vinyl alias's backend and Django's oracle cursor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiomysql  # type: ignore[import-untyped]
import pymysql
import pytest
from django.db import connections
from vinyl.query.backend import PoolConfig
from vinyl.query.databases import Backend, get_backend
from vinyl_testing.plugin import MYSQL, flush


@pytest.fixture
def backend() -> Iterator[Backend]:
    """Return the vinyl backend of the MariaDB alias; empty the test tables afterwards."""
    yield get_backend(MYSQL.vinyl)
    flush(MYSQL.django)


@pytest.fixture
def oracle() -> Iterator[Any]:
    """Return a cursor of Django's own MySQL backend on the same database."""
    with connections[MYSQL.django].cursor() as cursor:
        yield cursor


@pytest.fixture
def own_user(backend: Backend, oracle: Any) -> Iterator[str]:
    """Return a server user of this test's own, so its connections can be counted exactly."""
    user = f"{backend.config.name}_pool"
    oracle.execute(f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY ''")
    oracle.execute(f"GRANT ALL ON `{backend.config.name}`.* TO '{user}'@'%'")
    yield user
    oracle.execute(f"DROP USER IF EXISTS '{user}'@'%'")


def _raw_kwargs(config: PoolConfig) -> dict[str, Any]:
    return {
        "host": config.host,
        "port": config.port,
        "user": config.user,
        "password": config.password,
        "charset": "utf8mb4",
        "autocommit": True,
    }


@pytest.fixture
async def raw_aiomysql(backend: Backend) -> AsyncIterator[Any]:
    """Return a plain aiomysql connection to the test database (its own converters)."""
    connection = await aiomysql.connect(db=backend.config.name, **_raw_kwargs(backend.config))
    yield connection
    connection.close()


@pytest.fixture
def raw_pymysql(backend: Backend) -> Iterator[Any]:
    """Return a plain PyMySQL connection to the test database (its own converters)."""
    connection = pymysql.connect(database=backend.config.name, **_raw_kwargs(backend.config))
    yield connection
    connection.close()
