"""Reach each test server through each real driver vinyl uses, in the database the plugin made.

These are the first tests CI runs against the services that ``scripts/services.sh`` starts;
a failure here means the environment, not vinyl, is broken.
"""

from __future__ import annotations

import aiomysql  # type: ignore[import-untyped]  # ships no type information
import asyncpg
import psycopg2
import pymysql
from vinyl_testing.settings import MYSQL, PG

ROUND_TRIP = "SELECT %s::int + 1, current_database(), current_setting('server_version_num')::int"


def test_postgresql_through_psycopg2() -> None:
    conn = psycopg2.connect(
        host=PG.host, port=PG.port, user=PG.user, password=PG.password, dbname=PG.name
    )
    try:
        with conn.cursor() as cursor:
            cursor.execute(ROUND_TRIP, [41])
            answer, database, version = cursor.fetchone()
    finally:
        conn.close()
    assert (answer, database) == (42, PG.name)
    assert version >= 130000, f"vinyl supports PostgreSQL 13+, the server is {version}"


async def test_postgresql_through_asyncpg() -> None:
    conn = await asyncpg.connect(
        host=PG.host, port=PG.port, user=PG.user, password=PG.password or None, database=PG.name
    )
    try:
        row = await conn.fetchrow(ROUND_TRIP.replace("%s", "$1"), 41)
    finally:
        await conn.close()
    assert (row[0], row[1]) == (42, PG.name)


def test_mariadb_through_pymysql() -> None:
    conn = pymysql.connect(
        host=MYSQL.host,
        port=MYSQL.port,
        user=MYSQL.user,
        password=MYSQL.password,
        database=MYSQL.name,
    )
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT %s + 1, DATABASE(), VERSION()", [41])
            row = cursor.fetchone()
            assert row is not None
            answer, database, version = row
    finally:
        conn.close()
    assert (answer, database) == (42, MYSQL.name)
    assert "MariaDB" in version or int(version.split(".")[0]) >= 8, version


async def test_mariadb_through_aiomysql() -> None:
    conn = await aiomysql.connect(
        host=MYSQL.host,
        port=MYSQL.port,
        user=MYSQL.user,
        password=MYSQL.password,
        db=MYSQL.name,
    )
    try:
        async with conn.cursor() as cursor:
            await cursor.execute("SELECT %s + 1, DATABASE()", [41])
            row = await cursor.fetchone()
    finally:
        conn.close()
    assert row == (42, MYSQL.name)
