"""What only the async flavor has: cancelled tasks, and tasks started inside a block.

The sync flavor has neither (a thread is not cancelled, and does not inherit the block of
the thread that started it), so these tests are written for the async flavor alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest
from django.db.transaction import TransactionManagementError
from vinyl.query import get_backend
from vinyl.query._async import (
    close_pools,
    connection,
    execute_sql,
    fetch_sql,
    on_commit,
    transaction,
)
from vinyl.query._compat import ASemaphore
from vinyl.query.compiler import prepare
from vinyl_testapp.models import QAuthor
from vinyl_testing.plugin import DB
from vinyl_testing.sessions import SESSION_ID, SQLITE_SPIN

SLEEP = {"postgresql": "SELECT pg_sleep(30)", "mysql": "SELECT SLEEP(30)", "sqlite": SQLITE_SPIN}


@pytest.fixture(autouse=True)
async def _fresh_pools() -> AsyncIterator[None]:
    yield
    await close_pools()


async def test_200_tasks_cancelled_mid_query_leave_the_pool_usable(
    db: DB, caplog: pytest.LogCaptureFixture
) -> None:
    dialect = get_backend(db.vinyl).dialect
    running = 0
    pool_busy = asyncio.Event()

    async def sleeper() -> None:
        nonlocal running
        async with connection(db.vinyl) as conn:
            running += 1
            if running == 5:
                pool_busy.set()
            await conn.fetch(*prepare(dialect, SLEEP[db.vendor], ()))

    with caplog.at_level(logging.INFO, logger="vinyl.query._async.scope"):
        tasks = [asyncio.create_task(sleeper()) for _ in range(200)]
        await pool_busy.wait()
        # Let the five queries reach the server before cutting them off.
        await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(result, asyncio.CancelledError) for result in results)
    # The five connections cut off mid-query were closed, not pooled.
    discards = [r for r in caplog.records if "interrupted by CancelledError" in r.getMessage()]
    assert running == len(discards) == 5
    # All five slots work again, at once, without waiting for the server-side sleeps.
    answers = await asyncio.wait_for(
        asyncio.gather(*(fetch_sql(db.vinyl, "SELECT %s + 0", [n]) for n in range(5))),
        timeout=10,
    )
    assert answers == [[(n,)] for n in range(5)]


async def test_a_task_cancelled_inside_a_block_discards_its_connection(db: DB) -> None:
    started = asyncio.Event()

    async def holder() -> None:
        async with transaction(db.vinyl):
            [(pid,)] = await fetch_sql(db.vinyl, "SELECT 1")
            started.set()
            await fetch_sql(db.vinyl, SLEEP[db.vendor])

    task = asyncio.create_task(holder())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with transaction(db.vinyl):
        assert await fetch_sql(db.vinyl, "SELECT 1") == [(1,)]


async def session(db: DB) -> list[Any]:
    """Return the id of the session (connection) the current task's statements run on."""
    *first, query = SESSION_ID[db.vendor]
    for sql in first:
        await execute_sql(db.vinyl, sql)
    return await fetch_sql(db.vinyl, query)


async def test_tasks_started_inside_a_block_share_its_connection(db: DB) -> None:
    async with transaction(db.vinyl):
        [(block_pid,)] = await session(db)
        pids = await asyncio.gather(*(session(db) for _ in range(10)))
        assert pids == [[(block_pid,)]] * 10

        async def nested() -> list[Any]:
            async with transaction(db.vinyl):
                return await session(db)

        # A task's own block nests in the block it was started in, on its connection.
        assert await asyncio.create_task(nested()) == [(block_pid,)]
    # Outside the block, ten tasks at once run on as many connections as the pool lends.
    assert len({pid for [(pid,)] in await asyncio.gather(*(session(db) for _ in range(10)))}) > 1


async def insert(alias: str, name: str) -> None:
    """Insert one author through vinyl's raw SQL."""
    table = get_backend(alias).wrapper.ops.quote_name(QAuthor._meta.db_table)
    await execute_sql(alias, f"INSERT INTO {table} (name, age, rating) VALUES (%s, 0, 0)", [name])


def django_names(db: DB) -> list[str]:
    """Return the authors' names as Django's own connection sees them (committed rows)."""
    return list(QAuthor.objects.using(db.django).order_by("name").values_list("name", flat=True))


OUTLIVED = (
    r"^A transaction\(using='{alias}'\) block ended while 1 task\(s\) started inside it "
    r"and using it were still running, so it was rolled back: nothing of the block, or of "
    r"those tasks, was committed. Wait for every task started inside a block before the "
    r"block ends: await asyncio.gather\(...\) or use an asyncio.TaskGroup inside the block"
)
ENDED = (
    r"^This task \(or thread\) joined a transaction\(using='{alias}'\) block that has "
    r"ended, so its statement cannot run in that block, and vinyl will not run it outside."
)


async def test_a_task_outliving_its_block_rolls_the_block_back(db: DB) -> None:
    wrote, finish = asyncio.Event(), asyncio.Event()

    async def child() -> None:
        await insert(db.vinyl, "child, first")
        wrote.set()
        await finish.wait()
        await insert(db.vinyl, "child, second")

    with pytest.raises(TransactionManagementError, match=OUTLIVED.format(alias=db.vinyl)):
        async with transaction(db.vinyl):
            await insert(db.vinyl, "owner")
            task = asyncio.create_task(child())
            await wrote.wait()
    finish.set()
    with pytest.raises(TransactionManagementError, match=ENDED.format(alias=db.vinyl)):
        await task
    assert django_names(db) == []
    # The connection went back to the pool clean.
    await insert(db.vinyl, "after")
    assert django_names(db) == ["after"]


async def test_a_task_outliving_a_nested_block_rolls_the_savepoint_back(db: DB) -> None:
    wrote, finish = asyncio.Event(), asyncio.Event()

    async def child() -> None:
        await insert(db.vinyl, "child")
        wrote.set()
        await finish.wait()
        await insert(db.vinyl, "child, late")

    async with transaction(db.vinyl):
        await insert(db.vinyl, "outer")
        with pytest.raises(TransactionManagementError, match=OUTLIVED.format(alias=db.vinyl)):
            async with transaction(db.vinyl):
                task = asyncio.create_task(child())
                await wrote.wait()
        finish.set()
        with pytest.raises(TransactionManagementError, match=ENDED.format(alias=db.vinyl)):
            await task
    assert django_names(db) == ["outer"]


async def test_a_task_that_starts_after_its_block_ended_runs_nothing(db: DB) -> None:
    async with transaction(db.vinyl):
        await insert(db.vinyl, "owner")
        # Not yet started when the block ends: the block cannot know it, and commits.
        task = asyncio.create_task(insert(db.vinyl, "late"))
    with pytest.raises(TransactionManagementError, match=ENDED.format(alias=db.vinyl)):
        await task
    assert django_names(db) == ["owner"]


async def test_a_task_waiting_for_a_nested_block_runs_after_it(db: DB) -> None:
    """The owner waits for its tasks holding nothing; two tasks' blocks take turns."""
    order: list[str] = []
    inside = asyncio.Event()

    async def first() -> None:
        async with transaction(db.vinyl):
            await insert(db.vinyl, "first")
            inside.set()
            # The other task is ready to run a statement: it waits for this block's end.
            await asyncio.sleep(0.05)
            order.append("first ends")

    async def second() -> None:
        await inside.wait()
        async with transaction(db.vinyl):
            order.append("second begins")
            await insert(db.vinyl, "second")

    async with transaction(db.vinyl):
        async with asyncio.TaskGroup() as group:
            group.create_task(first())
            group.create_task(second())
    assert order == ["first ends", "second begins"]
    assert django_names(db) == ["first", "second"]


async def test_a_cancelled_task_inside_a_block_rolls_its_savepoint_back(db: DB) -> None:
    started = asyncio.Event()

    async def child() -> None:
        async with transaction(db.vinyl):
            await insert(db.vinyl, "cancelled")
            started.set()
            await asyncio.sleep(30)

    async with transaction(db.vinyl):
        await insert(db.vinyl, "owner")
        task = asyncio.create_task(child())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The savepoint was rolled back; the block goes on with its connection.
        assert [row[0] for row in await fetch_sql(db.vinyl, "SELECT 1")] == [1]
    assert django_names(db) == ["owner"]


async def test_on_commit_awaits_coroutine_functions_in_order_with_plain_ones(db: DB) -> None:
    calls: list[str] = []

    async def later(name: str) -> None:
        await asyncio.sleep(0)
        calls.append(name)

    async with transaction(db.vinyl):
        on_commit(partial(later, "first"), using=db.vinyl)
        on_commit(partial(calls.append, "second"), using=db.vinyl)
        async with transaction(db.vinyl):
            on_commit(partial(later, "third"), using=db.vinyl)
        with pytest.raises(ZeroDivisionError):
            async with transaction(db.vinyl):
                on_commit(partial(later, "rolled back"), using=db.vinyl)
                1 / 0  # noqa: B018
        # Returning an awaitable is enough, as a coroutine function's call does.
        on_commit(lambda: later("fourth"), using=db.vinyl)
        assert calls == []
    assert calls == ["first", "second", "third", "fourth"]
    with pytest.raises(ZeroDivisionError):
        async with transaction(db.vinyl):
            on_commit(partial(later, "never"), using=db.vinyl)
            1 / 0  # noqa: B018
    assert calls == ["first", "second", "third", "fourth"]


async def test_a_robust_coroutine_callback_logs_its_error(
    db: DB, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    async def fails() -> None:
        await asyncio.sleep(0)
        raise ValueError("no mail server")

    with caplog.at_level(logging.ERROR, logger="vinyl.query.transaction"):
        async with transaction(db.vinyl):
            on_commit(fails, using=db.vinyl, robust=True)
            on_commit(partial(calls.append, "after"), using=db.vinyl)
    assert calls == ["after"]
    assert [r.getMessage() for r in caplog.records] == [
        "Error calling test_a_robust_coroutine_callback_logs_its_error.<locals>.fails in "
        "on_commit() (no mail server)."
    ]


async def test_on_commit_refuses_a_coroutine_function_outside_a_block(db: DB) -> None:
    async def send() -> None:
        pass

    with pytest.raises(TypeError) as raised:
        on_commit(send, using=db.vinyl)
    name = "test_on_commit_refuses_a_coroutine_function_outside_a_block.<locals>.send"
    assert str(raised.value) == (
        f"on_commit() got the coroutine function {name} outside any transaction(using="
        f"'{db.vinyl}') block. There, on_commit() runs its callback at once, as Django's "
        f"does, but on_commit() is a plain function and cannot await it: await {name}() "
        f"yourself, or call on_commit() inside the block whose commit it should follow."
    )


async def test_a_released_pool_slot_goes_to_the_longest_waiting_task() -> None:
    """A release hands its slot to the oldest waiter; a task asking meanwhile queues."""
    slots = ASemaphore(1)
    assert await slots.acquire()
    order: list[str] = []

    async def take(name: str) -> None:
        assert await slots.acquire()
        order.append(name)

    first = asyncio.create_task(take("first"))
    await asyncio.sleep(0)
    second = asyncio.create_task(take("second"))
    await asyncio.sleep(0)
    slots.release()
    # Handed to "first": not free for a newcomer, who times out behind "second".
    assert not await slots.acquire(timeout=0)
    await first
    slots.release()
    await second
    assert order == ["first", "second"]
    slots.release()
    with pytest.raises(ValueError, match="released too many times"):
        slots.release()


async def test_a_slot_handed_to_a_task_as_it_times_out_or_is_cancelled_is_not_lost() -> None:
    """Handed over in the same turn as the timeout: taken; as the cancellation: passed on."""
    slots = ASemaphore(1)
    assert await slots.acquire()
    timed_out = asyncio.create_task(slots.acquire(timeout=0.05))
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    loop.call_at(loop.time() + 0.01, slots.release)
    # The loop blocked past both: the release and the timeout run in one turn, in that
    # order, before the task resumes.
    time.sleep(0.1)  # noqa: ASYNC251
    assert await timed_out
    cancelled = asyncio.create_task(slots.acquire())
    after = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    slots.release()
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert await asyncio.wait_for(after, 1)
    # A waiter that times out with no release leaves the line.
    assert not await slots.acquire(timeout=0.01)
    assert not slots._waiters
