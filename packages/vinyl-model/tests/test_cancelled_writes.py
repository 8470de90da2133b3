"""1,000 writing tasks cancelled at random points inside transaction() blocks.

Async only: the sync flavor has no equivalent, because a thread cannot be cancelled, so
nothing cuts a sync block or statement off half-way (a ``KeyboardInterrupt`` reaches the
main thread alone).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import pytest
from django.db.models import Count
from vinyl.query import get_backend
from vinyl.query._async import get_pool
from vinyl_async import transaction
from vinyl_testapp.models.writes import WCascade, WTarget
from vinyl_testing.concurrency import AEvent, agather
from vinyl_testing.plugin import DB, servers_only
from vinyl_testing.sessions import server_sessions

SEED = 16
TASKS = 1000
#: Tasks started together: four times the pool, so that some wait for a connection and
#: the others are inside their blocks when cancelled.
WAVE = 20
#: Each cancellation comes this many event-loop turns, or this many seconds, at most after
#: its task started: anywhere from waiting for a connection to the COMMIT.
TURNS = 60
DELAY = 0.02
#: Hang guard: far beyond what the test needs, short of a stuck CI job.
HANG_GUARD = 60.0
#: How long the server may take to forget a connection vinyl closed (a liveness bound).
FORGET = 10.0
SESSION_ID = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}


def target_name(number: int) -> str:
    """Return block *number*'s target name, which says how many parts the block writes."""
    return f"{number}:{number % 3 + 1}"


async def write_block(db: DB, number: int) -> None:
    """Write block *number*'s target and its parts (two tables) in one block."""
    name = target_name(number)
    async with transaction(using=db.vinyl):
        target = await WTarget.avinyl.using(db.vinyl).create(name=name)
        for part in range(int(name.split(":")[1])):
            await WCascade.avinyl.using(db.vinyl).create(name=f"{number}.{part}", target=target)


def half_committed(db: DB) -> list[tuple[str, int]]:
    """Return the targets (name, parts found) whose block is not whole, as Django sees them."""
    found = WTarget.objects.using(db.django).annotate(found=Count("cascades"))
    return [
        (name, count)
        for name, count in found.values_list("name", "found")
        if int(name.split(":")[1]) != count
    ]


def committed_names(db: DB) -> set[str]:
    return set(WTarget.objects.using(db.django).values_list("name", flat=True))


async def pool_sessions(db: DB) -> set[int]:
    """Take every connection of the alias's pool at once; return their server session ids.

    A slot a cancelled task kept would make this wait ``pool_timeout`` and fail.
    """
    pool = await get_pool(get_backend(db.vinyl))
    taken = [await pool.acquire() for _ in range(pool.max_size)]
    try:
        return {(await conn.fetch(SESSION_ID[db.vendor]))[0][0] for conn in taken}
    finally:
        for conn in taken:
            await pool.release(conn)


async def cancel_after_turns(task: asyncio.Task[None], turns: int) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()


# The leak check compares the server's sessions with the pool's; SQLite has no sessions to
# list (vinyl-sqlite's test_a_cancelled_statement_is_interrupted_and_its_connection_closed).
@servers_only
async def test_1000_blocks_cancelled_at_random_points_leak_nothing(
    db: DB, caplog: pytest.LogCaptureFixture
) -> None:
    """Each task writes a target and its parts in a block; nine in ten are cancelled, after
    a random number of event-loop turns or a random delay (seeded), twenty tasks at a time.

    Afterwards: nothing but ``CancelledError`` came out; no block is half-committed, and
    every block whose task returned is committed; the server has exactly the connections
    the pool holds (none leaked); and the pool serves new blocks.
    """
    rng = random.Random(SEED)
    loop = asyncio.get_running_loop()
    before = server_sessions(db)
    results: list[BaseException | None] = []
    with caplog.at_level(logging.INFO, logger="vinyl.query"):
        for wave in range(TASKS // WAVE):
            tasks = [
                asyncio.create_task(write_block(db, number))
                for number in range(wave * WAVE, (wave + 1) * WAVE)
            ]
            cancellers = []
            for task in tasks:
                draw = rng.random()
                if draw < 0.45:
                    turns = rng.randrange(TURNS)
                    cancellers.append(asyncio.create_task(cancel_after_turns(task, turns)))
                elif draw < 0.9:
                    loop.call_later(rng.uniform(0, DELAY), task.cancel)
            results += await asyncio.wait_for(
                asyncio.gather(*tasks, return_exceptions=True), HANG_GUARD
            )
            await asyncio.gather(*cancellers)
    errors = [r for r in results if r is not None and not isinstance(r, asyncio.CancelledError)]
    assert errors == []
    returned = [number for number, result in enumerate(results) if result is None]
    assert 0 < len(returned) < TASKS
    # Cancellations did cut blocks off inside: connections were discarded, not pooled.
    assert any(r.getMessage().startswith("Discarding a connection") for r in caplog.records)

    assert half_committed(db) == []
    assert {target_name(number) for number in returned} <= committed_names(db)

    # The server may take a moment to forget the connections vinyl closed.
    held = await pool_sessions(db)
    for _ in range(int(FORGET / 0.05)):
        if server_sessions(db) - before == held:
            break
        await asyncio.sleep(0.05)
    assert server_sessions(db) - before == held

    more = range(TASKS, TASKS + 20)
    await asyncio.wait_for(asyncio.gather(*(write_block(db, n) for n in more)), HANG_GUARD)
    assert half_committed(db) == []
    assert {target_name(number) for number in more} <= committed_names(db)


async def test_a_hang_guard_that_fires_leaves_no_block_running(db: DB) -> None:
    """``agather(..., timeout=...)`` timing out cancels its tasks and waits for their ends.

    It returned as soon as the first cancelled task ended (``asyncio.gather``), while a task
    cut off inside a block still rolled back and gave its connection back: a test's
    teardown (Django's flush, which blocks the loop's thread) then waited for the row lock
    that block held, and the block waited for the loop: a hang.
    """
    WTarget.objects.using(db.django).create(name="locked")
    locked = AEvent()
    tasks: list[asyncio.Task[Any]] = []

    async def hold() -> None:
        tasks.append(asyncio.current_task())  # type: ignore[arg-type]
        async with transaction(using=db.vinyl):
            await WTarget.avinyl.using(db.vinyl).select_for_update().get(name="locked")
            locked.set()
            await asyncio.sleep(HANG_GUARD)

    async def wait() -> None:
        await locked.wait()
        await asyncio.sleep(HANG_GUARD)

    with pytest.raises(TimeoutError):
        await agather(hold, wait, timeout=3.0)
    assert locked.is_set()
    assert [task for task in tasks if not task.done()] == []
    assert WTarget.objects.using(db.django).filter(name="locked").update(name="free") == 1
