"""A server restart under load, on a private server (``vinyl_testing.private_server``).

The server is made by the test on a port of its own, so the shared servers and the tests
running beside it are untouched. Tasks (threads in the sync flavor) write in
``transaction()`` blocks while it stops and starts again.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from functools import partial

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import override_settings
from vinyl.query._async import close_pools, execute_sql, transaction
from vinyl_testing.concurrency import AEvent, ablocking, agather, asleep
from vinyl_testing.private_server import PrivateServer, private_server

ALIAS = "vinyl_private"
ENGINES = {"postgresql": "vinyl.postgresql_backend", "mysql": "vinyl.mysql_backend"}
WRITERS = 50
#: Blocks committed before the restart: the load is running.
WARM_UP = 200
#: Hang guard: far beyond what the test needs, short of a stuck CI job.
HANG_GUARD = 60.0
#: After the server is back, every writer commits a new block within this (a liveness bound).
RECOVERY = 2.0

# Each block writes a head and its parts: a head without all its parts, or a part without
# its head, is a half-committed block. No foreign key: the check itself must find them.
TABLES = [
    "CREATE TABLE block_head (id BIGINT PRIMARY KEY, parts INTEGER NOT NULL)",
    "CREATE TABLE block_part (id BIGINT PRIMARY KEY, head_id BIGINT NOT NULL)",
]
HALF_COMMITTED = """
    SELECT h.id, h.parts, COUNT(p.id) FROM block_head h
    LEFT JOIN block_part p ON p.head_id = h.id
    GROUP BY h.id, h.parts HAVING COUNT(p.id) <> h.parts
    UNION ALL
    SELECT p.head_id, NULL, COUNT(*) FROM block_part p
    WHERE p.head_id NOT IN (SELECT id FROM block_head) GROUP BY p.head_id
"""


@pytest.fixture(params=["postgresql", "mysql"], ids=["pg", "mysql"])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[PrivateServer]:
    """Start a private server, with a vinyl alias on it (a pool of 5) and the two tables."""
    with private_server(request.param) as server:
        for sql in TABLES:
            server.query(sql)
        options: dict[str, object] = {"pool_max_size": 5, "connect_timeout": 2}
        if server.vendor == "mysql":
            options["charset"] = "utf8mb4"
        entry = server.database(ENGINES[server.vendor], **options)
        with override_settings(DATABASES={**settings.DATABASES, ALIAS: entry}):
            try:
                yield server
            finally:
                # Before the server goes: its connections close cleanly.
                await close_pools()


async def write_block(head: int, parts: int) -> None:
    """Write head *head* and its *parts* parts in one block."""
    async with transaction(using=ALIAS):
        await execute_sql(
            ALIAS, "INSERT INTO block_head (id, parts) VALUES (%s, %s)", [head, parts]
        )
        for part in range(parts):
            await execute_sql(
                ALIAS,
                "INSERT INTO block_part (id, head_id) VALUES (%s, %s)",
                [head * 10 + part, head],
            )


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
async def test_a_restart_under_load_fails_blocks_whole_and_recovers(server: PrivateServer) -> None:
    """50 writers, each writing block after block, while the server restarts.

    During the restart a block fails with Django's ``OperationalError`` and nothing else,
    and a block begun once the server is back does not fail; every block is all or nothing
    (no head without its parts, no part without its head); every block whose commit
    returned is on the server; no writer hangs (a hang guard); and within 2 s of the server
    accepting connections again, every writer has committed a block it began after that (a
    liveness bound, not a speed measure).
    """
    committed: list[int] = []
    #: (began once the server was back, the error) of each block that failed.
    failures: list[tuple[bool, OperationalError]] = []
    back = AEvent()
    done = AEvent()
    recovered: set[int] = set()

    async def writer(number: int) -> None:
        for count in itertools.count():
            if done.is_set():
                return
            head = number * 100_000 + count
            began_after_restart = back.is_set()
            try:
                await write_block(head, count % 3 + 1)
            except OperationalError as exc:
                failures.append((began_after_restart, exc))
                # Back off a little, as a client would, instead of spinning on refusals.
                await asleep(0.01)
                continue
            committed.append(head)
            if began_after_restart:
                recovered.add(number)

    async def restarter() -> None:
        while len(committed) < WARM_UP:
            await asleep(0.01)
        await ablocking(server.restart)
        back.set()
        restarted = time.monotonic()
        while len(recovered) < WRITERS and time.monotonic() - restarted < RECOVERY:
            await asleep(0.01)
        done.set()

    writers = [partial(writer, number) for number in range(WRITERS)]
    await agather(*writers, restarter, timeout=HANG_GUARD)

    assert sorted(recovered) == list(range(WRITERS))
    # The restart cut blocks off, and they raised OperationalError (nothing else came out);
    # once the server was back, no block failed (no dead connection was lent).
    assert failures
    assert [exc for began_after_restart, exc in failures if began_after_restart] == []
    assert server.query(HALF_COMMITTED) == []
    heads = {head for (head,) in server.query("SELECT id FROM block_head")}
    assert set(committed) <= heads
